//! The offline default model: a GGUF (SmolLM2-135M-Instruct unless `--model PATH` names another
//! llama, qwen2 or qwen3 GGUF). On the CPU these run on assay's own Q4_1 / Q8_0 forward
//! (`fast_llama`), elsewhere on candle-transformers (CUDA in a `--features cuda` build). `LocalModel` puts the
//! synchronous engine behind the async `Llm` trait.

pub mod constrain;
pub mod engine;
pub mod fast_llama;
pub mod fetch;
pub mod lazy;
pub mod requant;
pub mod template;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use candle_core::Device;
use candle_core::quantized::gguf_file;
use futures::FutureExt;
use futures::future::BoxFuture;

use self::engine::{Engine, GenOptions, Weights};
use super::{ChatRequest, ChatResponse, Llm, LlmError, TokenSink, Usage};
use crate::llama::GgufTokenizer;

/// How many times weights were loaded in this process (tests check that start-up loads none).
static LOADS: AtomicUsize = AtomicUsize::new(0);

/// Weight loads so far in this process.
pub fn load_count() -> usize {
    LOADS.load(Ordering::Relaxed)
}

/// File name of the default model as shipped.
pub const DEFAULT_MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";

/// What to do when the model file is missing, for every error that finds it so.
pub const HOW_TO_GET: &str = "run `assay model fetch` to download the default model, or pass \
                              --model PATH to a llama, qwen2 or qwen3 GGUF";

/// The local model, shared by any number of callers; requests take turns on the one engine.
pub struct LocalModel {
    engine: Arc<Mutex<Engine>>,
    name: String,
    path: PathBuf,
    device_name: &'static str,
    defaults: GenOptions,
}

/// Facts about a loaded model, for `assay model info`.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub architecture: String,
    pub weight_type: String,
    pub parameters: u64,
    pub vocab_size: usize,
}

fn config_err(path: &Path, what: impl std::fmt::Display) -> LlmError {
    LlmError::Config(format!("{}: {what}", path.display()))
}

impl LocalModel {
    /// Where `assay model fetch` puts the default model.
    pub fn default_path() -> PathBuf {
        crate::paths::models_dir().join(DEFAULT_MODEL_FILE)
    }

    /// Loads a GGUF. Formats candle runs slowly on the CPU are re-quantised once to Q8_0 and
    /// the result cached next to the file (see `requant`).
    pub fn load(path: &Path) -> Result<Self, LlmError> {
        Self::load_with(path, Backend::Auto)
    }

    /// Loads a GGUF run by `backend` ([`Backend::Candle`]: candle-transformers everywhere, as
    /// the benchmarks compare and as tests use in a debug build, where candle is the optimised
    /// dependency and assay's own forward is not).
    pub fn load_with(path: &Path, backend: Backend) -> Result<Self, LlmError> {
        if !path.is_file() {
            return Err(config_err(
                path,
                format!("no model file here; {HOW_TO_GET}"),
            ));
        }
        let device = select_device();
        let run_path = file_to_run(path, &device)?;
        let engine = load_engine_with(&run_path, &device, backend)?;
        let name = run_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".into());
        Ok(Self {
            engine: Arc::new(Mutex::new(engine)),
            name,
            path: run_path,
            device_name: if device.is_cuda() { "cuda" } else { "cpu" },
            defaults: GenOptions::default(),
        })
    }

    /// The file actually run (the Q8_0 cache where one was made).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sampling settings used where a request leaves them open (top-k, repeat penalty...).
    pub fn with_defaults(mut self, defaults: GenOptions) -> Self {
        self.defaults = defaults;
        self
    }

    /// Runs `f` on the engine (blocking), for the benchmark and tests.
    pub fn with_engine<T>(&self, f: impl FnOnce(&mut Engine) -> T) -> Result<T, LlmError> {
        let mut engine = self
            .engine
            .lock()
            .map_err(|_| LlmError::Config("the local model crashed earlier; reload it".into()))?;
        Ok(f(&mut engine))
    }

    fn options_for(&self, req: &ChatRequest) -> GenOptions {
        let mut opts = self.defaults.clone();
        if let Some(t) = req.temperature {
            opts.temperature = f64::from(t.max(0.0));
        }
        if let Some(p) = req.top_p {
            opts.top_p = Some(f64::from(p));
        }
        if let Some(n) = req.max_tokens {
            opts.max_tokens = n as usize;
        }
        opts.seed = req.seed.unwrap_or_else(rand::random);
        opts.stop = req.stop.clone();
        opts.json_schema = match (&req.json_schema, req.json_mode) {
            (Some(schema), _) => Some(schema.clone()),
            // JSON asked for without a schema: any object.
            (None, true) => Some(serde_json::json!({"type": "object"})),
            (None, false) => None,
        };
        opts
    }
}

/// The file `load` runs on `device` for `path`: the cached Q8_0 copy where it pays (made now if
/// missing), else `path` itself. `assay model fetch` calls it so the copy is made once, up front,
/// and only where it will be used.
pub fn file_to_run(path: &Path, device: &Device) -> Result<PathBuf, LlmError> {
    if device.is_cpu() && needs_q8_copy(path)? {
        requant::fast_variant(path)
    } else {
        Ok(path.to_path_buf())
    }
}

/// Where the CPU runs `path` from, without making anything: the Q8_0 copy when it is used and
/// already made, else `path`.
pub fn cpu_runs_as(path: &Path) -> Result<PathBuf, LlmError> {
    let cache = requant::cache_path(path);
    Ok(if needs_q8_copy(path)? && cache.is_file() {
        cache
    } else {
        path.to_path_buf()
    })
}

/// Whether the CPU should run the cached Q8_0 copy: assay's own llama forward runs Q4_1 and
/// Q8_0 as stored (Q4_1 has fewer bytes to read per token, which is what limits generation);
/// other architectures and types go through candle, which is faster on the Q8_0 copy.
fn needs_q8_copy(path: &Path) -> Result<bool, LlmError> {
    let mut file = std::fs::File::open(path).map_err(|e| config_err(path, e))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| config_err(path, format!("not a readable GGUF file ({e})")))?;
    let llama = runs_fast(&content);
    let other_slow = content.tensor_infos.values().any(|t| {
        matches!(
            t.ggml_dtype,
            candle_core::quantized::GgmlDType::Q5_0 | candle_core::quantized::GgmlDType::Q5_1
        )
    });
    Ok(!llama || other_slow)
}

/// CUDA where the build has it and a GPU is present, else the CPU. (`--features cuda` needs the
/// CUDA toolkit at build time: without `nvcc`, cudarc's build script stops the build.)
fn select_device() -> Device {
    if cfg!(feature = "cuda") {
        Device::cuda_if_available(0).unwrap_or(Device::Cpu)
    } else {
        Device::Cpu
    }
}

/// Which implementation runs the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// assay's own forward for llama on the CPU, candle for the rest.
    Auto,
    /// candle-transformers' quantized llama / qwen2 / qwen3 everywhere.
    Candle,
}

/// Reads the GGUF header, weights and tokenizer ([`Backend::Auto`]).
pub fn load_engine(path: &Path, device: &Device) -> Result<Engine, LlmError> {
    load_engine_with(path, device, Backend::Auto)
}

/// Reads the GGUF header, weights and tokenizer, run by `backend` on the default threads.
pub fn load_engine_with(
    path: &Path,
    device: &Device,
    backend: Backend,
) -> Result<Engine, LlmError> {
    load_engine_threads(path, device, backend, fast_llama::default_threads())
}

/// Reads the GGUF header, weights and tokenizer, run by `backend`; assay's own forward uses
/// `threads` threads (candle's use its own pool).
pub fn load_engine_threads(
    path: &Path,
    device: &Device,
    backend: Backend,
    threads: usize,
) -> Result<Engine, LlmError> {
    LOADS.fetch_add(1, Ordering::Relaxed);
    let mut file = std::fs::File::open(path).map_err(|e| config_err(path, e))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| config_err(path, format!("not a readable GGUF file ({e})")))?;
    let arch = metadata_str(&content, "general.architecture").unwrap_or_default();
    if let Some(t) = metadata_str(&content, "tokenizer.chat_template")
        && !template::is_chatml(&t)
    {
        tracing::warn!(path = %path.display(), "the model's chat template is not ChatML; using ChatML anyway");
    }
    let tokenizer = GgufTokenizer::from_gguf(&content).map_err(|e| config_err(path, e))?;
    let fast = backend == Backend::Auto && device.is_cpu() && runs_fast(&content);
    let weights = match arch.as_str() {
        _ if fast => Weights::Fast(Box::new(
            fast_llama::FastLlama::from_gguf(&content, &mut file, engine::MAX_SEQ_LEN, threads)
                .map_err(|e| config_err(path, format!("cannot load the {arch} weights: {e}")))?,
        )),
        "llama" => Weights::Llama(
            candle_transformers::models::quantized_llama::ModelWeights::from_gguf(
                content, &mut file, device,
            )
            .map_err(|e| config_err(path, format!("cannot load the llama weights: {e}")))?,
        ),
        "qwen2" => Weights::Qwen2(
            candle_transformers::models::quantized_qwen2::ModelWeights::from_gguf(
                content, &mut file, device,
            )
            .map_err(|e| config_err(path, format!("cannot load the qwen2 weights: {e}")))?,
        ),
        "qwen3" => Weights::Qwen3(
            candle_transformers::models::quantized_qwen3::ModelWeights::from_gguf(
                content, &mut file, device,
            )
            .map_err(|e| config_err(path, format!("cannot load the qwen3 weights: {e}")))?,
        ),
        other => {
            return Err(config_err(
                path,
                format!(
                    "architecture `{other}` is not supported (llama, qwen2 or qwen3 GGUF files only)"
                ),
            ));
        }
    };
    let mut stop_ids: Vec<u32> = [template::END_OF_TURN, "<|endoftext|>"]
        .iter()
        .filter_map(|t| tokenizer.token_id(t))
        .collect();
    if stop_ids.is_empty() {
        return Err(config_err(
            path,
            "the vocabulary has no <|im_end|> token: not a ChatML model",
        ));
    }
    stop_ids.dedup();
    Ok(Engine {
        weights,
        tokenizer,
        device: device.clone(),
        stop_ids,
        grammars: None,
    })
}

/// Whether assay's own forward runs this GGUF: a dense model of the llama family.
fn runs_fast(content: &gguf_file::Content) -> bool {
    let arch = metadata_str(content, "general.architecture").unwrap_or_default();
    matches!(arch.as_str(), "llama" | "qwen2" | "qwen3")
        && !content
            .metadata
            .contains_key(&format!("{arch}.expert_count"))
}

fn metadata_str(content: &gguf_file::Content, key: &str) -> Option<String> {
    content
        .metadata
        .get(key)
        .and_then(|v| v.to_string().ok())
        .cloned()
}

/// Reads a GGUF's header only: architecture, weight type, parameter count, vocabulary size.
pub fn inspect(path: &Path) -> Result<ModelInfo, LlmError> {
    let mut file = std::fs::File::open(path).map_err(|e| config_err(path, e))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| config_err(path, format!("not a readable GGUF file ({e})")))?;
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    let mut parameters = 0u64;
    for info in content.tensor_infos.values() {
        let n = info.shape.elem_count() as u64;
        parameters += n;
        *counts.entry(format!("{:?}", info.ggml_dtype)).or_default() += n;
    }
    let weight_type = counts
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(t, _)| t.clone())
        .unwrap_or_default();
    let vocab_size = content
        .metadata
        .get("tokenizer.ggml.tokens")
        .and_then(|v| v.to_vec().ok())
        .map_or(0, Vec::len);
    Ok(ModelInfo {
        architecture: metadata_str(&content, "general.architecture").unwrap_or_default(),
        weight_type,
        parameters,
        vocab_size,
    })
}

/// Sets the flag when dropped: a caller that drops the `chat` future stops the generation.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Llm for LocalModel {
    fn describe(&self) -> String {
        format!("local:{} ({})", self.name, self.device_name)
    }

    fn chat<'a>(
        &'a self,
        req: ChatRequest,
        on_token: Option<TokenSink<'a>>,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        async move {
            if req.messages.is_empty() {
                return Err(LlmError::Config("the request has no messages".into()));
            }
            let prompt = template::render(&req.messages);
            let opts = self.options_for(&req);
            let engine = Arc::clone(&self.engine);
            let cancel = Arc::new(AtomicBool::new(false));
            let guard = CancelOnDrop(Arc::clone(&cancel));
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
            let task = tokio::task::spawn_blocking(move || {
                let mut engine = engine.lock().map_err(|_| {
                    LlmError::Config("the local model crashed earlier; reload it".into())
                })?;
                engine.generate(&prompt, &opts, &cancel, &mut |piece| {
                    // The receiver is gone only when the caller stopped listening.
                    let _ = tx.send(piece.to_string());
                })
            });
            while let Some(piece) = rx.recv().await {
                if let Some(sink) = on_token {
                    sink(&piece);
                }
            }
            let generated = task.await.map_err(|e| LlmError::Request {
                message: format!("the local model's thread failed: {e}"),
                retryable: false,
            })??;
            drop(guard);
            Ok(ChatResponse {
                text: generated.text,
                model: self.describe(),
                usage: Usage {
                    prompt_tokens: generated.prompt_tokens as u64,
                    completion_tokens: generated.tokens.len() as u64,
                },
                finish_reason: Some(generated.finish_reason.to_string()),
                reasoning: None,
            })
        }
        .boxed()
    }
}
