//! A real HTTP server on 127.0.0.1 that speaks OpenAI's `/v1/chat/completions`, plain and SSE,
//! answering from a script (a closure from request to [`Reply`]) with injectable faults: error
//! statuses with `Retry-After`, hangs, truncated streams, invalid JSON, empty choices, and a
//! latency. Hand-written HTTP/1.1 (keep-alive, Content-Length bodies) so that faults can break
//! the protocol on purpose, which a full server library would not allow.
#![allow(dead_code)]

pub mod fixtures;

use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A normal answer with this text (streamed when the request asks for a stream).
    Text(String),
    /// An error status, with an optional `Retry-After` (seconds) or `retry-after-ms` header.
    Status {
        code: u16,
        retry_after: Option<String>,
        retry_after_ms: Option<String>,
    },
    /// Never answer.
    Hang,
    /// Start the answer and close the connection midway.
    Truncated(String),
    /// A 200 whose body is not JSON.
    InvalidJson,
    /// A 200 with `"choices": []`.
    EmptyChoices,
    /// An error status with this body (model or proxy text that ends up in messages).
    StatusBody { code: u16, body: String },
    /// Close the connection with a TCP reset (SO_LINGER 0) before answering.
    Reset,
    /// An SSE stream that sends a malformed event and then stops (plain requests: invalid JSON).
    BrokenStream(String),
    /// A 200 whose JSON is well formed but whose answer text is this (e.g. truncated output the
    /// pipeline must reject, not store).
    Garbage(String),
    /// An answer with this `finish_reason` (`length`: cut off by the token limit) and, where
    /// given, reasoning in a separate field (`reasoning_content` or `reasoning`), plain or
    /// streamed.
    Full {
        text: String,
        finish: String,
        reasoning: Option<(String, String)>,
    },
}

impl Reply {
    pub fn text(s: impl Into<String>) -> Self {
        Reply::Text(s.into())
    }
    pub fn status(code: u16) -> Self {
        Reply::Status {
            code,
            retry_after: None,
            retry_after_ms: None,
        }
    }
}

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct SeenRequest {
    /// 0-based order of arrival.
    pub n: usize,
    pub body: Value,
    pub authorization: Option<String>,
    /// When it arrived (server clock), for checking the waits between a client's retries.
    pub at: std::time::Instant,
}

impl SeenRequest {
    /// The last user message.
    pub fn last_user(&self) -> String {
        self.messages()
            .iter()
            .rev()
            .find(|m| m["role"] == "user")
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_string()
    }
    /// The system message, if any.
    pub fn system(&self) -> String {
        self.messages()
            .iter()
            .find(|m| m["role"] == "system")
            .and_then(|m| m["content"].as_str())
            .unwrap_or("")
            .to_string()
    }
    /// All messages' text, joined: handy for matching on prompt content.
    pub fn all_text(&self) -> String {
        self.messages()
            .iter()
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
    fn messages(&self) -> Vec<Value> {
        self.body["messages"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
    pub fn stream(&self) -> bool {
        self.body["stream"] == true
    }
}

pub type Script = Arc<dyn Fn(&SeenRequest) -> Reply + Send + Sync>;

struct Shared {
    script: Script,
    latency: Duration,
    count: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    seen: Mutex<Vec<SeenRequest>>,
}

/// A running server; it stops with the test's runtime.
pub struct TestServer {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl TestServer {
    pub async fn start(
        latency: Duration,
        script: impl Fn(&SeenRequest) -> Reply + Send + Sync + 'static,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            script: Arc::new(script),
            latency,
            count: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        });
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, s).await;
                });
            }
        });
        TestServer {
            base_url: format!("http://{addr}/v1"),
            shared,
        }
    }

    /// How many requests arrived.
    pub fn count(&self) -> usize {
        self.shared.count.load(Ordering::SeqCst)
    }

    /// The most requests that were being answered at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    pub fn seen(&self) -> Vec<SeenRequest> {
        self.shared.seen.lock().expect("lock").clone()
    }
}

async fn serve(mut sock: TcpStream, s: Arc<Shared>) -> std::io::Result<()> {
    sock.set_nodelay(true)?;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        // Headers.
        let head_end = loop {
            if let Some(p) = find(&buf, b"\r\n\r\n") {
                break p;
            }
            let mut chunk = [0u8; 8192];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut length = 0usize;
        let mut authorization = None;
        for line in head.lines().skip(1) {
            if let Some((k, v)) = line.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = v.trim().parse().unwrap_or(0),
                    "authorization" => authorization = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        let body_start = head_end + 4;
        while buf.len() < body_start + length {
            let mut chunk = [0u8; 8192];
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body: Value =
            serde_json::from_slice(&buf[body_start..body_start + length]).unwrap_or(Value::Null);
        buf.drain(..body_start + length);

        let n = s.count.fetch_add(1, Ordering::SeqCst);
        let req = SeenRequest {
            n,
            body,
            authorization,
            at: std::time::Instant::now(),
        };
        s.seen.lock().expect("lock").push(req.clone());
        let now = s.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        s.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let reply = (s.script)(&req);
        tokio::time::sleep(s.latency).await;
        let keep = answer(&mut sock, &req, reply).await;
        s.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !keep? {
            return Ok(());
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn completion(text: &str) -> Value {
    json!({
        "id": "chatcmpl-test", "object": "chat.completion", "model": "test-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": text.chars().count() as u64}
    })
}

async fn send_plain(
    sock: &mut TcpStream,
    code: u16,
    extra: &str,
    body: &str,
) -> std::io::Result<bool> {
    let head = format!(
        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n",
        body.len()
    );
    // One write: a head and a body in two small writes would meet Nagle's algorithm and the
    // client's delayed ACK, adding ~40 ms to every answer.
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    sock.write_all(&out).await?;
    sock.flush().await?;
    Ok(true)
}

/// Answers; `Ok(false)` when the connection must be closed.
async fn answer(sock: &mut TcpStream, req: &SeenRequest, reply: Reply) -> std::io::Result<bool> {
    match reply {
        Reply::Text(text) if req.stream() => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
            )
            .await?;
            let chars: Vec<char> = text.chars().collect();
            for piece in chars.chunks(4) {
                let p: String = piece.iter().collect();
                let ev = json!({"model": "test-model", "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]});
                sock.write_all(format!("data: {ev}\n\n").as_bytes()).await?;
                sock.flush().await?;
            }
            let end = json!({"model": "test-model", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]});
            let usage = json!({"model": "test-model", "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": chars.len()}});
            sock.write_all(format!("data: {end}\n\ndata: {usage}\n\ndata: [DONE]\n\n").as_bytes())
                .await?;
            sock.flush().await?;
            Ok(false)
        }
        Reply::Text(text) => send_plain(sock, 200, "", &completion(&text).to_string()).await,
        Reply::Status {
            code,
            retry_after,
            retry_after_ms,
        } => {
            let mut extra = String::new();
            if let Some(r) = retry_after {
                extra.push_str(&format!("Retry-After: {r}\r\n"));
            }
            if let Some(r) = retry_after_ms {
                extra.push_str(&format!("retry-after-ms: {r}\r\n"));
            }
            let body = json!({"error": {"message": format!("injected {code}")}}).to_string();
            send_plain(sock, code, &extra, &body).await
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(false)
        }
        Reply::Truncated(text) if req.stream() => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
            )
            .await?;
            let ev = json!({"model": "test-model", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
            sock.write_all(format!("data: {ev}\n\n").as_bytes()).await?;
            sock.flush().await?;
            Ok(false)
        }
        Reply::Truncated(text) => {
            let body = completion(&text).to_string();
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            sock.write_all(head.as_bytes()).await?;
            sock.write_all(&body.as_bytes()[..body.len() / 2]).await?;
            sock.flush().await?;
            Ok(false)
        }
        Reply::InvalidJson => send_plain(sock, 200, "", "{\"choices\": [oops").await,
        Reply::StatusBody { code, body } => send_plain(sock, code, "", &body).await,
        Reply::Reset => {
            // Linger 0: close() sends RST instead of FIN, as a crashed proxy would.
            sock.set_zero_linger()?;
            Ok(false)
        }
        Reply::BrokenStream(text) if req.stream() => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
            )
            .await?;
            let ev = json!({"model": "test-model", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]});
            sock.write_all(
                format!("data: {ev}\n\ndata: {{\"choices\": [{{\"delta\": \n\n").as_bytes(),
            )
            .await?;
            sock.flush().await?;
            Ok(false)
        }
        Reply::BrokenStream(_) => send_plain(sock, 200, "", "{\"choices\": [{\"message\"").await,
        Reply::Garbage(text) => send_plain(sock, 200, "", &completion(&text).to_string()).await,
        Reply::Full {
            text,
            finish,
            reasoning,
        } if req.stream() => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n",
            )
            .await?;
            let mut events = Vec::new();
            if let Some((field, r)) = &reasoning {
                events.push(json!({"model": "test-model", "choices": [{"index": 0, "delta": {field.as_str(): r}, "finish_reason": null}]}));
            }
            events.push(json!({"model": "test-model", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]}));
            events.push(json!({"model": "test-model", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]}));
            for ev in events {
                sock.write_all(format!("data: {ev}\n\n").as_bytes()).await?;
            }
            sock.write_all(b"data: [DONE]\n\n").await?;
            sock.flush().await?;
            Ok(false)
        }
        Reply::Full {
            text,
            finish,
            reasoning,
        } => {
            let mut body = completion(&text);
            body["choices"][0]["finish_reason"] = finish.into();
            if let Some((field, r)) = reasoning {
                body["choices"][0]["message"][field.as_str()] = r.into();
            }
            send_plain(sock, 200, "", &body.to_string()).await
        }
        Reply::EmptyChoices => {
            send_plain(
                sock,
                200,
                "",
                &json!({"model": "test-model", "choices": []}).to_string(),
            )
            .await
        }
    }
}
