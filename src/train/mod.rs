//! Training: the built-in candle LoRA trainer, external trainers, starting runs from trainer
//! settings, the held-out split, runs and their logs.
//!
//! The built-in trainer fine-tunes models of the llama family (llama, Qwen2 / Qwen2.5, Qwen3)
//! with LoRA on the CPU (a CUDA GPU with the `cuda` feature and `ASSAY_DEVICE=cuda`, see
//! [`device`]): frozen base weights from GGUF or safetensors, PEFT-compatible adapters out.

pub mod adapter;
pub mod attention;
pub mod builtin;
pub mod curves;
pub mod data;
pub mod device;
pub mod error;
pub mod external;
pub mod frozen;
pub mod fused;
pub mod head;
pub mod llama;
pub mod lora;
pub mod loss;
pub mod merge;
pub mod op_input;
pub mod optim;
pub mod plot;
pub mod runs;
pub mod settings;
pub mod split;
pub mod trainer;

pub use crate::llama::{BaseWeights, LlamaConfig};
pub use data::{ByteTokenizer, Example, TextTokenizer, encode_chatml};
pub use error::{Result, TrainError};
pub use frozen::frozen_linear;
pub use llama::LoraLlama;
pub use lora::LoraConfig;
pub use trainer::{Outcome, Point, TrainConfig, Trainer};
