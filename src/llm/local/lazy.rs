//! The local model loaded on first use, for the TUI: opening it only checks that the file is
//! there (so the status line can name the backend, or say how to get the model), and the
//! weights load on a blocking thread when the first request comes, once, however many ask.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::sync::OnceCell;

use super::{HOW_TO_GET, LocalModel};
use crate::llm::{ChatRequest, ChatResponse, Llm, LlmError, TokenSink};

/// A [`LocalModel`] that loads when first asked.
pub struct LazyLocal {
    path: PathBuf,
    name: String,
    model: OnceCell<Arc<LocalModel>>,
}

impl LazyLocal {
    /// Checks that `path` is a file; reads nothing else.
    pub fn open(path: &Path) -> Result<Self, LlmError> {
        if !path.is_file() {
            return Err(LlmError::Config(format!(
                "{}: no model file here; {HOW_TO_GET}",
                path.display()
            )));
        }
        Ok(Self {
            path: path.to_path_buf(),
            name: path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
            model: OnceCell::new(),
        })
    }

    pub fn is_loaded(&self) -> bool {
        self.model.initialized()
    }

    /// The model, loaded now on a blocking thread if this is the first use. A failed load is
    /// not remembered: the next request tries again (the user may have fetched the file).
    pub async fn get(&self) -> Result<&Arc<LocalModel>, LlmError> {
        self.model
            .get_or_try_init(|| async {
                let path = self.path.clone();
                tokio::task::spawn_blocking(move || LocalModel::load(&path))
                    .await
                    .map_err(|e| LlmError::Request {
                        message: format!("loading the local model failed: {e}"),
                        retryable: false,
                    })?
                    .map(Arc::new)
            })
            .await
    }
}

impl Llm for LazyLocal {
    fn describe(&self) -> String {
        match self.model.get() {
            Some(m) => m.describe(),
            None => format!("local:{} (loads on first use)", self.name),
        }
    }

    fn chat<'a>(
        &'a self,
        req: ChatRequest,
        on_token: Option<TokenSink<'a>>,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        async move { self.get().await?.chat(req, on_token).await }.boxed()
    }
}
