//! External trainers (LLaMA-Factory, or any command such as a TRL / Unsloth / xtuner script)
//! and the detached supervisor that runs every training run, so that a run outlives the TUI or
//! shell that started it and is found again in the store.

pub mod command;
pub mod launch;
pub mod llamafactory;
pub mod logparse;
pub mod signals;
pub mod spec;
pub mod supervise;
pub mod tail;
pub mod template;

pub use launch::{NewRunRequest, create_run, reconcile, spawn_supervisor, supervise};
pub use spec::{Launch, LlamaFactorySpec, RunConfig, TrainerSpec};
