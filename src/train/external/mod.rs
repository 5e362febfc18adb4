//! External trainers (LLaMA-Factory, or any command such as a TRL / Unsloth / xtuner script)
//! and the detached supervisor that runs every training run, so that a run outlives the TUI or
//! shell that started it and is found again in the store; LLaMA-Factory runs written as a
//! bundle for other machines (`bundle`), and followed from here while they train (`attach`).

pub mod attach;
pub mod bundle;
pub mod command;
pub mod files;
pub mod launch;
pub mod llamafactory;
pub mod logparse;
pub mod signals;
pub mod spec;
pub mod supervise;
pub mod tail;
pub mod template;
pub mod yaml;

pub use launch::{
    NewRunRequest, create_bundle_run, create_run, is_bundle, reconcile, spawn_supervisor, supervise,
};
pub use spec::{BundleSpec, DeepSpeed, Launch, LlamaFactorySpec, RunConfig, TrainerSpec};
