//! The model architectures the llama runtime computes, and what each adds to llama's maths:
//! Qwen2 (biases on the q, k and v projections) and Qwen3 (an RMSNorm over each head of q and
//! of k, before RoPE). Everything else (RMSNorm, SwiGLU MLP, half-split RoPE, grouped-query
//! attention, tied or untied output) is shared, so one trainer and one inference forward serve
//! all three, each branching once per layer on these flags.

use serde::{Deserialize, Serialize};

/// A Hugging Face `model_type` (GGUF `general.architecture`) that assay runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Architecture {
    /// Llama, and Mistral without sliding-window attention (the same maths).
    #[default]
    #[serde(alias = "mistral")]
    Llama,
    /// Qwen2 and Qwen2.5.
    Qwen2,
    Qwen3,
}

/// The names `model_type` may take, for error messages.
pub const SUPPORTED: &str = "llama, mistral, qwen2, qwen3";

impl Architecture {
    /// The architecture a config's `model_type` or a GGUF's `general.architecture` names.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "llama" | "mistral" => Some(Self::Llama),
            "qwen2" => Some(Self::Qwen2),
            "qwen3" => Some(Self::Qwen3),
            _ => None,
        }
    }

    /// The error message for an architecture assay does not compute.
    pub fn unsupported(name: &str) -> String {
        format!(
            "model architecture `{name}` is not supported by assay's built-in trainer and \
             evaluator (supported: {SUPPORTED}); train it with --trainer llamafactory"
        )
    }

    /// `model_type` as transformers writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Llama => "llama",
            Self::Qwen2 => "qwen2",
            Self::Qwen3 => "qwen3",
        }
    }

    /// The transformers class of a causal LM of this architecture (`architectures` in config.json).
    pub fn hf_class(self) -> &'static str {
        match self {
            Self::Llama => "LlamaForCausalLM",
            Self::Qwen2 => "Qwen2ForCausalLM",
            Self::Qwen3 => "Qwen3ForCausalLM",
        }
    }

    /// Whether q, k and v carry biases (Qwen2's projections; o and the MLP have none).
    pub fn qkv_bias(self) -> bool {
        self == Self::Qwen2
    }

    /// Whether q and k are RMS-normed per head before RoPE (Qwen3's `q_norm`, `k_norm`).
    pub fn qk_norm(self) -> bool {
        self == Self::Qwen3
    }

    /// Whether llama.cpp stores the q and k rows permuted for interleaved RoPE: it does for
    /// llama only; Qwen GGUFs keep Hugging Face's row order (llama.cpp's "neox" RoPE).
    pub fn gguf_permutes_qk(self) -> bool {
        self == Self::Llama
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_mistral_is_llama() {
        for a in [
            Architecture::Llama,
            Architecture::Qwen2,
            Architecture::Qwen3,
        ] {
            assert_eq!(Architecture::from_name(a.name()), Some(a));
            let json = serde_json::to_value(a).unwrap();
            assert_eq!(json, serde_json::json!(a.name()));
        }
        let m: Architecture = serde_json::from_str("\"mistral\"").unwrap();
        assert_eq!(m, Architecture::Llama);
        assert_eq!(Architecture::from_name("gemma2"), None);
        let msg = Architecture::unsupported("gemma2");
        assert!(msg.contains("`gemma2`") && msg.contains("qwen3") && msg.contains("llamafactory"));
    }
}
