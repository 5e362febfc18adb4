//! Throughput of the HTTP client against the test server with 200 ms latency, at concurrency
//! 1, 8 and 64: achieved requests/s beside the ideal (concurrency / latency). Goal: >= 95%.
//! Run: `cargo bench --bench llm_client`.

#[path = "../tests/support/mod.rs"]
mod support;

use assay::llm::config::EndpointConfig;
use assay::llm::openai::OpenAiClient;
use assay::llm::{ChatMessage, ChatRequest, Llm};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Reply, TestServer};

const LATENCY: Duration = Duration::from_millis(200);

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let server = TestServer::start(LATENCY, |r| {
            Reply::text(format!("answer to {}", r.last_user()))
        })
        .await;
        println!(
            "{:>11} {:>9} {:>10} {:>12} {:>8}",
            "concurrency", "requests", "req/s", "ideal req/s", "of ideal"
        );
        for (concurrency, rounds) in [(1usize, 15usize), (8, 15), (64, 15)] {
            for stream in [false, true] {
                let mut cfg = EndpointConfig::new(server.base_url.clone(), "bench");
                cfg.concurrency = concurrency;
                cfg.stream = stream;
                let client = Arc::new(OpenAiClient::new(cfg)?);
                // Warm the connection pool so that the figure is the steady state.
                run(&client, concurrency, concurrency).await?;
                let n = concurrency * rounds;
                let t = Instant::now();
                run(&client, n, concurrency).await?;
                let secs = t.elapsed().as_secs_f64();
                let rps = n as f64 / secs;
                let ideal = concurrency as f64 / LATENCY.as_secs_f64();
                println!(
                    "{:>11} {:>9} {:>10.1} {:>12.1} {:>7.1}%{}",
                    concurrency,
                    n,
                    rps,
                    ideal,
                    100.0 * rps / ideal,
                    if stream { "  (SSE)" } else { "" }
                );
            }
        }
        anyhow::Ok(())
    })
}

async fn run(client: &Arc<OpenAiClient>, n: usize, concurrency: usize) -> anyhow::Result<()> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move {
                let req = ChatRequest {
                    messages: vec![ChatMessage::user(format!("q{i}"))],
                    ..ChatRequest::default()
                };
                c.chat(req, None).await
            })
        })
        .collect();
    let _ = concurrency;
    for t in tasks {
        t.await??;
    }
    Ok(())
}
