//! A wrapper around any backend that a job talks through: it answers repeated requests from the
//! SQLite response cache (so a resumed job never pays twice) and counts requests and tokens for
//! the job. The cache key hashes the backend's description and the request, never a key.
//! Job machinery over the store, not a backend: it lives in `jobs` so that `llm` needs no store.

use crate::llm::{ChatRequest, ChatResponse, Llm, LlmError, TokenSink};
use crate::store::{JobUsage, Store};
use futures::future::BoxFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Requests and tokens since the last [`Meter::take`].
#[derive(Debug, Default)]
pub struct Meter {
    requests: AtomicU64,
    cached: AtomicU64,
    prompt_tokens: AtomicU64,
    completion_tokens: AtomicU64,
}

impl Meter {
    /// The counts so far, resetting them (the job adds them to its row).
    pub fn take(&self) -> JobUsage {
        JobUsage {
            requests: self.requests.swap(0, Ordering::Relaxed),
            cached: self.cached.swap(0, Ordering::Relaxed),
            prompt_tokens: self.prompt_tokens.swap(0, Ordering::Relaxed),
            completion_tokens: self.completion_tokens.swap(0, Ordering::Relaxed),
        }
    }
}

/// A backend behind a response cache and a meter.
pub struct CachedLlm {
    inner: Arc<dyn Llm>,
    cache: Option<Arc<Mutex<Store>>>,
    meter: Arc<Meter>,
    /// Ask the model even when the cache has an answer (the new one replaces it).
    refresh: bool,
}

impl CachedLlm {
    /// `cache`: a connection to the database that holds the cache (None: no caching).
    pub fn new(inner: Arc<dyn Llm>, cache: Option<Arc<Mutex<Store>>>) -> Self {
        CachedLlm {
            inner,
            cache,
            meter: Arc::new(Meter::default()),
            refresh: false,
        }
    }

    /// Like [`CachedLlm::new`], counting into a meter shared with other backends of one job
    /// (the generator and the verifier).
    pub fn with_meter(
        inner: Arc<dyn Llm>,
        cache: Option<Arc<Mutex<Store>>>,
        meter: Arc<Meter>,
    ) -> Self {
        CachedLlm {
            inner,
            cache,
            meter,
            refresh: false,
        }
    }

    /// Does not answer from the cache, only writes to it: `--retry-failed` asks the model again
    /// for the items it retries, which the cached answer (the one that failed) would defeat.
    pub fn refreshing(mut self) -> Self {
        self.refresh = true;
        self
    }

    pub fn meter(&self) -> Arc<Meter> {
        self.meter.clone()
    }

    fn key(&self, req: &ChatRequest) -> u128 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        h.update(self.inner.describe().as_bytes());
        h.update(&[0]);
        h.update(serde_json::to_string(req).unwrap_or_default().as_bytes());
        h.digest128()
    }

    fn lookup(&self, key: u128) -> Option<ChatResponse> {
        let store = self.cache.as_ref()?.lock().ok()?;
        match store.llm_cache_get(key) {
            Ok(Some(text)) => serde_json::from_str(&text).ok(),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("reading the response cache failed: {e}");
                None
            }
        }
    }

    fn remember(&self, key: u128, resp: &ChatResponse) {
        let Some(cache) = &self.cache else { return };
        let Ok(json) = serde_json::to_string(resp) else {
            return;
        };
        if let Ok(mut store) = cache.lock()
            && let Err(e) = store.llm_cache_put(key, &resp.model, &json)
        {
            tracing::warn!("writing the response cache failed: {e}");
        }
    }

    async fn chat_cached(
        &self,
        req: ChatRequest,
        on_token: Option<TokenSink<'_>>,
    ) -> Result<ChatResponse, LlmError> {
        let key = self.key(&req);
        if let Some(hit) = (!self.refresh).then(|| self.lookup(key)).flatten() {
            self.meter.cached.fetch_add(1, Ordering::Relaxed);
            if let Some(sink) = on_token {
                sink(&hit.text);
            }
            return Ok(hit);
        }
        let resp = self.inner.chat(req, on_token).await?;
        self.meter.requests.fetch_add(1, Ordering::Relaxed);
        self.meter
            .prompt_tokens
            .fetch_add(resp.usage.prompt_tokens, Ordering::Relaxed);
        self.meter
            .completion_tokens
            .fetch_add(resp.usage.completion_tokens, Ordering::Relaxed);
        self.remember(key, &resp);
        Ok(resp)
    }
}

impl Llm for CachedLlm {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn chat<'a>(
        &'a self,
        req: ChatRequest,
        on_token: Option<TokenSink<'a>>,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(self.chat_cached(req, on_token))
    }
}
