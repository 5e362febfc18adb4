//! The HTTP client against the test server on 127.0.0.1: plain, SSE, JSON mode, and every
//! injected fault (429 with Retry-After, 500, 503, hang past the timeout, truncated stream,
//! invalid JSON, empty choices, refused connection), the concurrency limit and the cache.

mod support;

use assay::jobs::CachedLlm;
use assay::llm::config::{ApiKey, EndpointConfig};
use assay::llm::openai::OpenAiClient;
use assay::llm::retry::RetryPolicy;
use assay::llm::{ChatMessage, ChatRequest, Llm, LlmError};
use assay::store::Store;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::{Reply, TestServer};

const KEY: &str = "sk-test-never-shown";

fn client(server: &TestServer, stream: bool, retries: u32, timeout_ms: u64) -> OpenAiClient {
    let mut cfg = EndpointConfig::new(server.base_url.clone(), "m1");
    cfg.api_key = Some(ApiKey::new(KEY));
    cfg.stream = stream;
    cfg.timeout = Duration::from_millis(timeout_ms);
    cfg.concurrency = 4;
    let policy = RetryPolicy {
        max_retries: retries,
        initial: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    };
    OpenAiClient::with_policy(cfg, reqwest::Client::new(), policy)
}

fn ask(q: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![ChatMessage::user(q)],
        ..ChatRequest::default()
    }
}

/// A script that plays `faults` for the first requests, then answers "ok".
fn then_ok(faults: Vec<Reply>) -> impl Fn(&support::SeenRequest) -> Reply + Send + Sync {
    move |r| {
        faults
            .get(r.n)
            .cloned()
            .unwrap_or_else(|| Reply::text("ok"))
    }
}

#[tokio::test]
async fn plain_answer_sends_the_key_only_in_the_header_and_counts_tokens() {
    let server = TestServer::start(Duration::ZERO, |r| {
        Reply::text(format!("echo {}", r.last_user()))
    })
    .await;
    let c = client(&server, false, 0, 5_000);
    let mut req = ask("你好");
    req.json_mode = true;
    req.temperature = Some(0.2);
    let r = c.chat(req, None).await.unwrap();
    assert_eq!(r.text, "echo 你好");
    assert_eq!(r.usage.prompt_tokens, 10);
    let seen = server.seen();
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(seen[0].body["response_format"]["type"], "json_object");
    assert_eq!(seen[0].body["model"], "m1");
    assert!(!format!("{c:?} {}", c.describe()).contains(KEY));
}

#[tokio::test]
async fn streaming_assembles_deltas_and_reports_pieces() {
    let text = "第一步：2+2=4。The answer is 4.";
    let server = TestServer::start(Duration::ZERO, move |_| Reply::text(text)).await;
    let c = client(&server, true, 0, 5_000);
    let pieces = Mutex::new(Vec::<String>::new());
    let sink = |p: &str| pieces.lock().unwrap().push(p.to_string());
    let r = c.chat(ask("q"), Some(&sink)).await.unwrap();
    assert_eq!(r.text, text);
    assert_eq!(r.finish_reason.as_deref(), Some("stop"));
    assert_eq!(r.usage.completion_tokens, text.chars().count() as u64);
    let pieces = pieces.into_inner().unwrap();
    assert!(pieces.len() > 3, "{pieces:?}");
    assert_eq!(pieces.concat(), text);
    assert_eq!(server.seen()[0].body["stream"], true);
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_and_retried() {
    let server = TestServer::start(
        Duration::ZERO,
        then_ok(vec![
            Reply::Status {
                code: 429,
                retry_after: Some("0".into()),
                retry_after_ms: None,
            },
            Reply::Status {
                code: 429,
                retry_after: None,
                retry_after_ms: Some("30".into()),
            },
        ]),
    )
    .await;
    let r = client(&server, false, 3, 5_000)
        .chat(ask("q"), None)
        .await
        .unwrap();
    assert_eq!(r.text, "ok");
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn a_retry_after_beyond_sixty_seconds_gives_up_at_once() {
    let server = TestServer::start(Duration::ZERO, |_| Reply::Status {
        code: 429,
        retry_after: Some("120".into()),
        retry_after_ms: None,
    })
    .await;
    let err = client(&server, false, 3, 5_000)
        .chat(ask("q"), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("60 s"), "{err}");
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn server_errors_500_and_503_are_retried() {
    let server = TestServer::start(
        Duration::ZERO,
        then_ok(vec![Reply::status(500), Reply::status(503)]),
    )
    .await;
    let r = client(&server, true, 2, 5_000)
        .chat(ask("q"), None)
        .await
        .unwrap();
    assert_eq!(r.text, "ok");
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn retries_stop_after_the_limit_and_the_error_names_the_status_not_the_key() {
    let server = TestServer::start(Duration::ZERO, |_| Reply::status(503)).await;
    let err = client(&server, false, 2, 5_000)
        .chat(ask("q"), None)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("503") && msg.contains("after 3 attempts"),
        "{msg}"
    );
    assert!(!msg.contains(KEY));
    assert_eq!(server.count(), 3);
}

#[tokio::test]
async fn client_errors_are_not_retried_and_say_what_to_check() {
    let server = TestServer::start(Duration::ZERO, |_| Reply::status(401)).await;
    let err = client(&server, false, 3, 5_000)
        .chat(ask("q"), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
    assert!(!err.to_string().contains(KEY));
    assert_eq!(server.count(), 1);
}

#[tokio::test]
async fn a_hang_past_the_timeout_is_cut_and_retried() {
    for stream in [false, true] {
        let server = TestServer::start(Duration::ZERO, then_ok(vec![Reply::Hang])).await;
        let r = client(&server, stream, 1, 300)
            .chat(ask("q"), None)
            .await
            .unwrap();
        assert_eq!(r.text, "ok");
        assert_eq!(server.count(), 2);
        let server = TestServer::start(Duration::ZERO, |_| Reply::Hang).await;
        let err = client(&server, stream, 1, 200)
            .chat(ask("q"), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("did not answer within"), "{err}");
    }
}

#[tokio::test]
async fn a_truncated_stream_is_an_error_and_is_retried() {
    let server = TestServer::start(
        Duration::ZERO,
        then_ok(vec![Reply::Truncated("half an ans".into())]),
    )
    .await;
    let r = client(&server, true, 1, 5_000)
        .chat(ask("q"), None)
        .await
        .unwrap();
    assert_eq!(r.text, "ok");
    let server = TestServer::start(Duration::ZERO, |_| Reply::Truncated("half".into())).await;
    let err = client(&server, true, 1, 5_000)
        .chat(ask("q"), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ended the stream early"), "{err}");
    let server = TestServer::start(Duration::ZERO, |_| Reply::Truncated("half".into())).await;
    assert!(
        client(&server, false, 0, 5_000)
            .chat(ask("q"), None)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn invalid_json_and_empty_choices_are_bad_responses() {
    let server = TestServer::start(Duration::ZERO, then_ok(vec![Reply::InvalidJson])).await;
    assert_eq!(
        client(&server, false, 1, 5_000)
            .chat(ask("q"), None)
            .await
            .unwrap()
            .text,
        "ok"
    );
    let server = TestServer::start(Duration::ZERO, |_| Reply::InvalidJson).await;
    let err = client(&server, false, 1, 5_000)
        .chat(ask("q"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::BadResponse(ref m) if m.contains("invalid JSON")),
        "{err}"
    );
    let server = TestServer::start(Duration::ZERO, |_| Reply::EmptyChoices).await;
    let err = client(&server, false, 1, 5_000)
        .chat(ask("q"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::BadResponse(ref m) if m.contains("no choices")),
        "{err}"
    );
    assert_eq!(server.count(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_retried_then_reported() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cfg = EndpointConfig::new(format!("http://127.0.0.1:{port}/v1"), "m");
    cfg.api_key = Some(ApiKey::new(KEY));
    let policy = RetryPolicy {
        max_retries: 1,
        initial: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
    };
    let c = OpenAiClient::with_policy(cfg, reqwest::Client::new(), policy);
    let err = c.chat(ask("q"), None).await.unwrap_err().to_string();
    assert!(err.contains("cannot reach") && !err.contains(KEY), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_concurrency_limit_holds() {
    let server = TestServer::start(Duration::from_millis(30), |_| Reply::text("ok")).await;
    let mut cfg = EndpointConfig::new(server.base_url.clone(), "m");
    cfg.concurrency = 3;
    let c = Arc::new(OpenAiClient::new(cfg).unwrap());
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.chat(ask(&format!("{i}")), None).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.count(), 12);
    assert!(
        server.max_in_flight() <= 3 && server.max_in_flight() >= 2,
        "{}",
        server.max_in_flight()
    );
}

#[tokio::test]
async fn the_cache_answers_a_repeated_request_without_the_server() {
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let server = TestServer::start(Duration::ZERO, move |_| {
        c2.fetch_add(1, Ordering::SeqCst);
        Reply::text("cached answer")
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("a.db")).unwrap();
    let inner: Arc<dyn Llm> = Arc::new(client(&server, false, 0, 5_000));
    let cached = CachedLlm::new(inner.clone(), Some(Arc::new(Mutex::new(store))));
    let a = cached.chat(ask("same"), None).await.unwrap();
    let b = cached.chat(ask("same"), None).await.unwrap();
    assert_eq!(a, b);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let u = cached.meter().take();
    assert_eq!((u.requests, u.cached, u.prompt_tokens), (1, 1, 10));
    // A fresh process (new connection) still finds it; the key is not in the file.
    let store = Store::open(&dir.path().join("a.db")).unwrap();
    let again = CachedLlm::new(inner, Some(Arc::new(Mutex::new(store))));
    again.chat(ask("same"), None).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let bytes = std::fs::read(dir.path().join("a.db")).unwrap();
    assert!(!bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes()));
}
