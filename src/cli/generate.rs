//! `assay gen`: generation pipelines as resumable jobs (rerun the same command to resume),
//! with a progress bar on stderr, Ctrl-C to cancel, and `jobs` / `show` / `cancel` to look.

use super::GlobalArgs;
use crate::generate::{answers, cot, mc, questions};
use crate::jobs::{CachedLlm, CancelFlag, Ctx, Meter, Progress, RunSummary};
use crate::llm::select::{self, Overrides};
use crate::prompting::prompts::Lang;
use crate::store::Store;
use anyhow::Context;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

/// Which models answer, and how hard to push them.
#[derive(Debug, Clone, clap::Args)]
pub struct LlmArgs {
    /// Profile for the generator ([profiles.NAME] in <data dir>/config.toml); default: the
    /// environment (OPENAI_BASE_URL, OPENAI_API_KEY, ASSAY_MODEL).
    #[arg(long)]
    pub generator_profile: Option<String>,
    /// Profile for the verifier / judge; default: the generator's.
    #[arg(long)]
    pub verifier_profile: Option<String>,
    /// Requests in flight at once (default 8, or the profile's).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Requests per minute, where the provider limits them.
    #[arg(long)]
    pub rpm: Option<u32>,
    /// Stream answers (SSE).
    #[arg(long)]
    pub stream: bool,
    /// Prompt language.
    #[arg(long, value_enum, default_value = "zh")]
    pub lang: Lang,
    /// Do not read or write the response cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Run the job's failed items again (done items are kept); rerunning without it only
    /// resumes pending ones.
    #[arg(long)]
    pub retry_failed: bool,
}

// The pipelines' flags, each converted into its pipeline's `Params`. The structs carry no doc
// comment: the subcommand variant's is the help.
#[derive(Debug, clap::Args)]
pub struct QuestionsArgs {
    #[arg(long)]
    pub topic: String,
    /// An aspect (repeat for several).
    #[arg(long = "aspect", required = true)]
    pub aspects: Vec<String>,
    #[arg(short = 'n', long, default_value_t = 5)]
    pub per_aspect: usize,
    /// The dataset the questions go into.
    #[arg(long)]
    pub dataset: String,
    #[arg(long, default_value_t = 0.8)]
    pub temperature: f32,
    #[command(flatten)]
    pub llm: LlmArgs,
}

impl From<QuestionsArgs> for questions::Params {
    fn from(a: QuestionsArgs) -> Self {
        questions::Params {
            topic: a.topic,
            aspects: a.aspects,
            per_aspect: a.per_aspect,
            dataset: a.dataset,
            temperature: a.temperature,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct AnswersArgs {
    #[arg(long)]
    pub questions: String,
    #[arg(long)]
    pub documents: String,
    #[arg(long)]
    pub output: String,
    #[arg(long, default_value_t = 4)]
    pub top_k: usize,
    #[arg(long, default_value_t = 0.3)]
    pub min_coverage: f64,
    #[arg(long, default_value_t = 0.3)]
    pub temperature: f32,
    #[command(flatten)]
    pub llm: LlmArgs,
}

impl From<AnswersArgs> for answers::Params {
    fn from(a: AnswersArgs) -> Self {
        answers::Params {
            questions: a.questions,
            documents: a.documents,
            output: a.output,
            top_k: a.top_k,
            min_coverage: a.min_coverage,
            temperature: a.temperature,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct CotArgs {
    #[arg(long)]
    pub input: String,
    #[arg(long)]
    pub output: String,
    /// Samples for self-consistency when an item has no golden answer.
    #[arg(long, default_value_t = 5)]
    pub samples: u32,
    /// LLM calls the tree search may spend per item.
    #[arg(long, default_value_t = 24)]
    pub budget: u32,
    #[arg(long, default_value_t = 0.3)]
    pub temperature: f32,
    #[command(flatten)]
    pub llm: LlmArgs,
}

impl From<CotArgs> for cot::Params {
    fn from(a: CotArgs) -> Self {
        cot::Params {
            input: a.input,
            output: a.output,
            samples: a.samples,
            budget: a.budget,
            temperature: a.temperature,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct McArgs {
    #[arg(long)]
    pub input: String,
    #[arg(long)]
    pub output: String,
    #[arg(long, default_value_t = 0.3)]
    pub temperature: f32,
    #[command(flatten)]
    pub llm: LlmArgs,
}

impl From<McArgs> for mc::Params {
    fn from(a: McArgs) -> Self {
        mc::Params {
            input: a.input,
            output: a.output,
            temperature: a.temperature,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Questions from a topic and aspects, N per aspect.
    Questions(QuestionsArgs),
    /// Answers grounded in document chunks (BM25 over a dataset made by `assay chunk`).
    Answers(AnswersArgs),
    /// Chain-of-thought with a verifier and tree search.
    Cot(CotArgs),
    /// Answer / evaluate agents for multiple-choice items; prints accuracy.
    Mc(McArgs),
    /// List jobs with their item counts and token use.
    Jobs,
    /// A job's items: status and, for failed ones, the reason.
    Show { id: i64 },
    /// Ask a running job (in any process) to stop after its current items.
    Cancel { id: i64 },
}

/// Builds the pipeline context: generator and verifier behind the cache and one meter.
pub fn context(global: &GlobalArgs, a: &LlmArgs) -> anyhow::Result<Ctx> {
    let o = Overrides {
        concurrency: a.concurrency,
        rpm: a.rpm,
        stream: a.stream.then_some(true),
    };
    let gen_backend = select::choose(a.generator_profile.as_deref(), o)?;
    let concurrency = match &gen_backend {
        select::Backend::Endpoint(c) => c.concurrency,
        select::Backend::Local => 1,
    };
    let generator = select::build(gen_backend)?;
    let verifier = match &a.verifier_profile {
        Some(p) => select::select(Some(p), o)?,
        None => generator.clone(),
    };
    let cache = if a.no_cache {
        None
    } else {
        Some(Arc::new(Mutex::new(Store::open(&global.db)?)))
    };
    let meter = Arc::new(Meter::default());
    let cached = |llm, cache| {
        let c = CachedLlm::with_meter(llm, cache, meter.clone());
        Arc::new(if a.retry_failed { c.refreshing() } else { c })
    };
    Ok(Ctx {
        generator: cached(generator, cache.clone()),
        verifier: cached(verifier, cache),
        meter,
        lang: a.lang,
        concurrency,
        cancel: CancelFlag::default(),
        retry_failed: a.retry_failed,
    })
}

/// A progress bar on stderr when it is a terminal; nothing otherwise.
pub fn progress_bar(label: &str) -> indicatif::ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        indicatif::ProgressBar::new(0)
    } else {
        indicatif::ProgressBar::hidden()
    };
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    bar
}

/// Runs `f` on a runtime with Ctrl-C wired to the job's cancel flag.
pub fn run_job<T>(
    ctx: &Ctx,
    label: &str,
    f: impl AsyncFnOnce(&(dyn Fn(Progress) + Send + Sync)) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let bar = progress_bar(label);
    let b2 = bar.clone();
    let on_progress = move |p: Progress| {
        b2.set_length(p.total);
        b2.set_position(p.done + p.failed);
    };
    let cancel = ctx.cancel.clone();
    let out = rt.block_on(async move {
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "cancelling: aborting the requests in flight (rerun the command to resume)"
                );
                cancel.cancel();
            }
            // A second Ctrl-C leaves at once.
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        });
        f(&on_progress).await
    });
    bar.finish_and_clear();
    // Requests dropped by a cancel may leave blocking work (the local model) behind: do not
    // wait for it.
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    out
}

/// Prints how a job ended and returns its exit code ([`RunSummary::exit_code`]).
fn report(s: &RunSummary, extra: serde_json::Value) -> anyhow::Result<ExitCode> {
    for (key, reason) in &s.failures {
        eprintln!("item {key} failed: {reason}");
    }
    let mut v = serde_json::to_value(s)?;
    if let (Some(o), serde_json::Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
        o.remove("failures");
        o.insert("failed_items".into(), s.failures.len().into());
    }
    super::output::json(&v)?;
    if s.status == "cancelled" {
        eprintln!(
            "job {} cancelled with {} items pending; rerun the same command to resume",
            s.job_id, s.pending
        );
    } else if s.failed > 0 {
        eprintln!(
            "job {}: {} of {} items failed; `assay gen show {}` lists why, and the same command \
             with --retry-failed runs them again",
            s.job_id,
            s.failed,
            s.done + s.failed + s.pending,
            s.job_id
        );
    }
    Ok(ExitCode::from(s.exit_code()))
}

/// Runs a `gen` subcommand; the exit code says whether items failed (see README, "Exit codes").
pub fn run(global: &GlobalArgs, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Questions(a) => {
            let ctx = context(global, &a.llm)?;
            let mut store = Store::open(&global.db)?;
            let p = questions::Params::from(a);
            let s = run_job(&ctx, "questions", async |prog| {
                questions::run(&mut store, &ctx, &p, prog).await
            })?;
            report(&s, serde_json::json!({}))
        }
        Command::Answers(a) => {
            let ctx = context(global, &a.llm)?;
            let mut store = Store::open(&global.db)?;
            let p = answers::Params::from(a);
            let s = run_job(&ctx, "answers", async |prog| {
                answers::run(&mut store, &ctx, &p, prog).await
            })?;
            report(&s, serde_json::json!({}))
        }
        Command::Cot(a) => {
            let ctx = context(global, &a.llm)?;
            let mut store = Store::open(&global.db)?;
            let p = cot::Params::from(a);
            let s = run_job(&ctx, "cot", async |prog| {
                cot::run(&mut store, &ctx, &p, prog).await
            })?;
            report(&s, serde_json::json!({}))
        }
        Command::Mc(a) => {
            let ctx = context(global, &a.llm)?;
            let mut store = Store::open(&global.db)?;
            let p = mc::Params::from(a);
            let (s, acc) = run_job(&ctx, "answer/evaluate", async |prog| {
                mc::run(&mut store, &ctx, &p, prog).await
            })?;
            report(
                &s,
                serde_json::json!({ "accuracy": { "correct": acc.correct, "graded": acc.graded,
                    "failed": acc.failed, "rate": acc.rate() } }),
            )
        }
        Command::Jobs => {
            let store = Store::open_existing(&global.db)?;
            super::output::json(&store.jobs()?)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { id } => {
            let store = Store::open_existing(&global.db)?;
            let job = store.job(id)?;
            let items = store.job_items(id, None)?;
            let items: Vec<_> = items
                .into_iter()
                .map(|i| serde_json::json!({ "key": i.key, "status": i.status, "attempts": i.attempts, "reason": i.reason, "output": i.output }))
                .collect();
            super::output::json(&serde_json::json!({ "job": job, "items": items }))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Cancel { id } => {
            let mut store = Store::open_existing(&global.db)?;
            store.request_job_cancel(id)?;
            eprintln!("job {id}: cancel requested; it aborts the items in flight");
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        crate::cli::Cli::command().debug_assert();
    }
}
