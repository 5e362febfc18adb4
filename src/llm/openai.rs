//! The HTTP backend: OpenAI-compatible `/chat/completions`, plain or streamed (SSE), with JSON
//! mode, retries (see [`super::retry`]), a per-request timeout, a concurrency limit and an
//! optional requests-per-minute pace. The key goes into the `Authorization` header and nowhere
//! else: errors carry the endpoint, the status and the start of the body, never the key.
//!
//! A stream that breaks midway is retried from the start, so `on_token` may see the beginning
//! of an answer twice; the returned [`ChatResponse`] is the one to keep.

use super::config::EndpointConfig;
use super::retry::{RetryPolicy, is_retryable_status, retry_after};
use super::sse::SseParser;
use super::{ChatRequest, ChatResponse, Llm, LlmError, TokenSink, Usage};
use crate::text::sanitize::excerpt;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

/// A client for one endpoint and model. Cheap to share behind an `Arc`.
pub struct OpenAiClient {
    http: reqwest::Client,
    cfg: EndpointConfig,
    permits: Arc<Semaphore>,
    /// The earliest start of the next request when a requests-per-minute limit is set.
    next_slot: Option<Mutex<Instant>>,
    retry: RetryPolicy,
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // cfg's own Debug redacts the key.
        f.debug_struct("OpenAiClient")
            .field("cfg", &self.cfg)
            .finish()
    }
}

/// One failed try, and whether another may help.
struct Failure {
    error: LlmError,
    retryable: bool,
    wait: Option<Duration>,
}

impl Failure {
    fn transient(error: LlmError) -> Self {
        Failure {
            error,
            retryable: true,
            wait: None,
        }
    }
}

impl OpenAiClient {
    pub fn new(cfg: EndpointConfig) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .connect_timeout(cfg.timeout.min(Duration::from_secs(30)))
            .pool_max_idle_per_host(cfg.concurrency.max(1))
            .build()
            .map_err(|e| LlmError::Config(format!("cannot build the HTTP client: {e}")))?;
        let retry = RetryPolicy {
            max_retries: cfg.max_retries,
            ..RetryPolicy::default()
        };
        Ok(Self::with_policy(cfg, http, retry))
    }

    /// A client with its own retry policy (tests shorten the waits).
    pub fn with_policy(cfg: EndpointConfig, http: reqwest::Client, retry: RetryPolicy) -> Self {
        OpenAiClient {
            permits: Arc::new(Semaphore::new(cfg.concurrency.max(1))),
            next_slot: cfg
                .rpm
                .filter(|&r| r > 0)
                .map(|_| Mutex::new(Instant::now())),
            http,
            cfg,
            retry,
        }
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }

    fn url(&self) -> String {
        format!("{}/chat/completions", self.cfg.base_url)
    }

    fn body(&self, req: &ChatRequest) -> Value {
        let mut body = json!({ "model": self.cfg.model, "messages": req.messages });
        let o = body.as_object_mut();
        if let Some(o) = o {
            if let Some(t) = req.temperature {
                o.insert("temperature".into(), json!(t));
            }
            if let Some(t) = req.top_p {
                o.insert("top_p".into(), json!(t));
            }
            if let Some(t) = req.max_tokens {
                o.insert("max_tokens".into(), json!(t));
            }
            if let Some(s) = req.seed {
                o.insert("seed".into(), json!(s));
            }
            if !req.stop.is_empty() {
                o.insert("stop".into(), json!(req.stop));
            }
            if req.json_mode {
                o.insert("response_format".into(), json!({ "type": "json_object" }));
            }
            if self.cfg.stream {
                o.insert("stream".into(), json!(true));
                o.insert("stream_options".into(), json!({ "include_usage": true }));
            }
        }
        body
    }

    /// Waits for the requests-per-minute pace, if one is set.
    async fn pace(&self) {
        let (Some(slot), Some(rpm)) = (&self.next_slot, self.cfg.rpm) else {
            return;
        };
        let start = {
            let mut next = slot.lock().await;
            let (start, following) = pace_slot(*next, Instant::now(), rpm);
            *next = following;
            start
        };
        tokio::time::sleep_until(start).await;
    }

    async fn chat_with_retries(
        &self,
        req: ChatRequest,
        on_token: Option<TokenSink<'_>>,
    ) -> Result<ChatResponse, LlmError> {
        let body = self.body(&req);
        let mut attempt = 0;
        loop {
            let result = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| LlmError::Cancelled)?;
                self.pace().await;
                self.once(&body, on_token).await
            };
            let failure = match result {
                Ok(r) => return Ok(r),
                Err(f) => f,
            };
            if !failure.retryable || attempt >= self.retry.max_retries {
                return Err(match failure.error {
                    LlmError::Request { message, retryable } if attempt > 0 => LlmError::Request {
                        message: format!("{message} (after {} attempts)", attempt + 1),
                        retryable,
                    },
                    e => e,
                });
            }
            let Some(wait) = self
                .retry
                .delay(attempt, failure.wait, rand::random::<f64>())
            else {
                return Err(LlmError::Request {
                    message: format!(
                        "{} asked to retry after more than 60 s; giving up: {}",
                        self.cfg.base_url, failure.error
                    ),
                    retryable: true,
                });
            };
            tracing::warn!(endpoint = %self.cfg.base_url, attempt, ?wait, "retrying: {}", failure.error);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn once(
        &self,
        body: &Value,
        on_token: Option<TokenSink<'_>>,
    ) -> Result<ChatResponse, Failure> {
        let mut rb = self.http.post(self.url()).json(body);
        if let Some(key) = &self.cfg.api_key {
            rb = rb.bearer_auth(key.expose());
        }
        if !self.cfg.stream {
            rb = rb.timeout(self.cfg.timeout);
        }
        let send = tokio::time::timeout(self.cfg.timeout, rb.send()).await;
        let resp = match send {
            Err(_) => return Err(Failure::transient(self.timed_out())),
            Ok(Err(e)) => return Err(self.transport(e)),
            Ok(Ok(r)) => r,
        };
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            let wait = retry_after(resp.headers());
            let text = resp.text().await.unwrap_or_default();
            let hint = match status {
                401 | 403 => " (check OPENAI_API_KEY or the profile's api_key_env)",
                404 => " (check OPENAI_BASE_URL: it should end in /v1, and the model name)",
                _ => "",
            };
            let retryable = is_retryable_status(status);
            return Err(Failure {
                error: LlmError::Request {
                    message: format!(
                        "{} answered HTTP {status}{hint}: {}",
                        self.url(),
                        excerpt(&self.redact(text.clone()))
                    ),
                    retryable,
                },
                retryable,
                wait,
            });
        }
        if self.cfg.stream {
            self.read_stream(resp, on_token).await
        } else {
            let text = resp.text().await.map_err(|e| self.transport(e))?;
            let r = self.parse_plain(&text).map_err(Failure::transient)?;
            if let Some(sink) = on_token {
                sink(&r.text);
            }
            Ok(r)
        }
    }

    /// Hides the key in text from the server: some proxies echo the request's headers back in
    /// their error bodies, which end up in messages, logs and job items' failure reasons.
    fn redact(&self, text: String) -> String {
        match &self.cfg.api_key {
            Some(key) if !key.expose().is_empty() && text.contains(key.expose()) => {
                text.replace(key.expose(), "***")
            }
            _ => text,
        }
    }

    fn timed_out(&self) -> LlmError {
        LlmError::Request {
            message: format!(
                "{} did not answer within {:?} (raise timeout_secs or ASSAY_TIMEOUT_SECS)",
                self.url(),
                self.cfg.timeout
            ),
            retryable: true,
        }
    }

    fn transport(&self, e: reqwest::Error) -> Failure {
        if e.is_timeout() {
            return Failure::transient(self.timed_out());
        }
        // Connection refused, reset, DNS: all worth another try. reqwest's message names the
        // URL, which holds no secret (the key travels in a header).
        let e = e.without_url();
        Failure::transient(LlmError::Request {
            message: format!("cannot reach {}: {e}", self.url()),
            retryable: true,
        })
    }

    fn parse_plain(&self, text: &str) -> Result<ChatResponse, LlmError> {
        let v: Value = serde_json::from_str(text).map_err(|e| {
            LlmError::BadResponse(format!(
                "{} sent invalid JSON ({e}): {}",
                self.url(),
                excerpt(&self.redact(text.to_string()))
            ))
        })?;
        let choice = v["choices"].get(0).ok_or_else(|| {
            LlmError::BadResponse(format!(
                "{} sent no choices: {}",
                self.url(),
                excerpt(&self.redact(text.to_string()))
            ))
        })?;
        let content = &choice["message"]["content"];
        let text_out = match content {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        Ok(ChatResponse {
            text: text_out,
            model: v["model"].as_str().unwrap_or(&self.cfg.model).to_string(),
            usage: usage_of(&v["usage"]),
            finish_reason: choice["finish_reason"].as_str().map(str::to_string),
            reasoning: reasoning_of(&choice["message"])
                .map(str::to_string)
                .filter(|r| !r.trim().is_empty()),
        })
    }

    async fn read_stream(
        &self,
        resp: reqwest::Response,
        on_token: Option<TokenSink<'_>>,
    ) -> Result<ChatResponse, Failure> {
        let mut stream = resp.bytes_stream();
        let mut parser = SseParser::default();
        let mut text = String::new();
        let mut model = self.cfg.model.clone();
        let mut usage = Usage::default();
        let mut finish: Option<String> = None;
        let mut reasoning = String::new();
        let mut done = false;
        let mut any_choice = false;
        while !done {
            let next = tokio::time::timeout(self.cfg.timeout, stream.next()).await;
            let chunk = match next {
                Err(_) => return Err(Failure::transient(self.timed_out())),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(self.transport(e)),
                Ok(Some(Ok(c))) => c,
            };
            for data in parser.push(&chunk) {
                if data.trim() == "[DONE]" {
                    done = true;
                    break;
                }
                let v: Value = serde_json::from_str(&data).map_err(|e| {
                    Failure::transient(LlmError::BadResponse(format!(
                        "{} streamed invalid JSON ({e}): {}",
                        self.url(),
                        excerpt(&self.redact(data.clone()))
                    )))
                })?;
                if let Some(m) = v["model"].as_str() {
                    model = m.to_string();
                }
                if v["usage"].is_object() {
                    usage = usage_of(&v["usage"]);
                }
                if let Some(choice) = v["choices"].get(0) {
                    any_choice = true;
                    if let Some(piece) = reasoning_of(&choice["delta"]) {
                        reasoning.push_str(piece);
                    }
                    if let Some(piece) = choice["delta"]["content"].as_str() {
                        text.push_str(piece);
                        if let Some(sink) = on_token {
                            sink(piece);
                        }
                    }
                    if let Some(f) = choice["finish_reason"].as_str() {
                        finish = Some(f.to_string());
                    }
                }
            }
        }
        if !done && finish.is_none() {
            return Err(Failure::transient(LlmError::BadResponse(format!(
                "{} ended the stream early after {} characters (no finish_reason, no [DONE])",
                self.url(),
                text.chars().count()
            ))));
        }
        if !any_choice {
            return Err(Failure::transient(LlmError::BadResponse(format!(
                "{} streamed no choices",
                self.url()
            ))));
        }
        Ok(ChatResponse {
            text,
            model,
            usage,
            finish_reason: finish,
            reasoning: (!reasoning.trim().is_empty()).then_some(reasoning),
        })
    }
}

/// The reasoning a message or delta carries beside its content: DeepSeek and vLLM send
/// `reasoning_content`, OpenRouter and Ollama `reasoning`.
fn reasoning_of(message: &Value) -> Option<&str> {
    message["reasoning_content"]
        .as_str()
        .or_else(|| message["reasoning"].as_str())
}

fn usage_of(v: &Value) -> Usage {
    Usage {
        prompt_tokens: v["prompt_tokens"].as_u64().unwrap_or(0),
        completion_tokens: v["completion_tokens"].as_u64().unwrap_or(0),
    }
}

impl Llm for OpenAiClient {
    fn describe(&self) -> String {
        format!("{} @ {}", self.cfg.model, self.cfg.base_url)
    }

    fn chat<'a>(
        &'a self,
        req: ChatRequest,
        on_token: Option<TokenSink<'a>>,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(self.chat_with_retries(req, on_token))
    }
}

/// With `rpm` requests a minute, a request arriving at `now` when the next free slot is `next`
/// starts at the later of the two; the slot after it is one interval on.
fn pace_slot(next: Instant, now: Instant, rpm: u32) -> (Instant, Instant) {
    let start = next.max(now);
    (
        start,
        start + Duration::from_secs_f64(60.0 / f64::from(rpm.max(1))),
    )
}

#[cfg(test)]
mod pace_tests {
    use super::*;

    #[test]
    fn requests_are_spaced_by_the_rate() {
        let t0 = Instant::now();
        // 120 a minute: one every 500 ms. Three requests at once go out at 0, 0.5 and 1.0 s.
        let mut next = t0;
        let mut starts = Vec::new();
        for _ in 0..3 {
            let (start, following) = pace_slot(next, t0, 120);
            starts.push(start - t0);
            next = following;
        }
        assert_eq!(starts, [0, 500, 1000].map(Duration::from_millis).to_vec());
        // A request after a quiet spell goes at once; the slot is not banked.
        let late = t0 + Duration::from_secs(10);
        assert_eq!(pace_slot(next, late, 120).0, late);
    }
}
