//! Which backend answers: a configured endpoint (environment or profile), otherwise the offline
//! local model. Every command that needs a model gets it here, so the rule lives in one place.

use super::config::{self, EndpointConfig};
use super::openai::OpenAiClient;
use super::{Llm, LlmError};
use std::sync::Arc;

/// Command-line overrides of a profile's limits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    pub concurrency: Option<usize>,
    pub rpm: Option<u32>,
    pub stream: Option<bool>,
}

/// What [`select`] chose, before it is built.
#[derive(Debug, Clone)]
pub enum Backend {
    Endpoint(EndpointConfig),
    /// No endpoint is configured: the offline model.
    Local,
}

/// The backend for `profile` (None: environment, then the file's `default` profile).
pub fn choose(profile: Option<&str>, o: Overrides) -> Result<Backend, LlmError> {
    Ok(match config::resolve(profile)? {
        Some(mut cfg) => {
            if let Some(n) = o.concurrency {
                cfg.concurrency = n.max(1);
            }
            if o.rpm.is_some() {
                cfg.rpm = o.rpm;
            }
            if let Some(s) = o.stream {
                cfg.stream = s;
            }
            Backend::Endpoint(cfg)
        }
        None => Backend::Local,
    })
}

/// Builds the backend [`choose`] picks.
pub fn select(profile: Option<&str>, o: Overrides) -> Result<Arc<dyn Llm>, LlmError> {
    build(choose(profile, o)?)
}

/// Like [`select`], but the offline model only checks its file now and loads its weights on
/// the first request (the TUI: the first frame must not wait for a model it may never use).
pub fn select_lazy(profile: Option<&str>, o: Overrides) -> Result<Arc<dyn Llm>, LlmError> {
    match choose(profile, o)? {
        Backend::Local => Ok(Arc::new(super::local::lazy::LazyLocal::open(
            &super::local::LocalModel::default_path(),
        )?)),
        endpoint => build(endpoint),
    }
}

/// Builds `backend` now; the offline model loads its weights here, so a pipeline fails before
/// its first sample when the file is unusable.
pub fn build(backend: Backend) -> Result<Arc<dyn Llm>, LlmError> {
    match backend {
        Backend::Endpoint(cfg) => Ok(Arc::new(OpenAiClient::new(cfg)?)),
        // No endpoint: the offline model; without its file the error says how to get it.
        Backend::Local => Ok(Arc::new(super::local::LocalModel::load(
            &super::local::LocalModel::default_path(),
        )?)),
    }
}
