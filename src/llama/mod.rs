//! The llama runtime that inference (`llm::local`), training (`train`) and evaluation (`eval`)
//! share: the architectures of the llama family it computes (`arch`: llama, Qwen2, Qwen3), a
//! model's shape (`config`, its rotary frequencies in `rope`), its frozen f32 weights from GGUF or safetensors
//! (`weights`), the one tokenizer trait with its three tokenizers (`tokenizer`), and the one
//! loader of a base model with its tokenizer (`load`). It sits on the CPU numerics layer
//! (`cpu`) and below everything that runs a model.

pub mod arch;
pub mod config;
pub mod error;
pub mod load;
pub mod rope;
pub mod tokenizer;
pub mod weights;

pub use arch::Architecture;
pub use config::LlamaConfig;
pub use error::LlamaError;
pub use load::load_base;
pub use tokenizer::{ByteTokenizer, GgufTokenizer, TextTokenizer};
pub use weights::BaseWeights;
