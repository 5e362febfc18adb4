//! The `assay` binary: parse the command line, set up logging, run a subcommand or the TUI.

use anyhow::Context;
use assay::cli::Cli;
use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let _log_guard = init_logging();
    match run(cli) {
        Ok(code) => code,
        // `| head` closed stdout: the reader has what it wanted; end quietly.
        Err(err)
            if err
                .chain()
                .any(|c| c.is::<assay::cli::output::StdoutClosed>()) =>
        {
            std::process::ExitCode::from(assay::cli::output::PIPE_CLOSED_EXIT)
        }
        Err(err) => {
            // Errors quote file names and server text: escape what could drive the terminal.
            let text = error_text(&err);
            let text = assay::text::sanitize::sanitize(&text);
            tracing::error!("{text}");
            eprintln!("error: {text}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes, each said once: a cause whose words the message already carries
/// (a wrapped SQLite or OS error that the outer message quotes) is not repeated.
fn error_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    use assay::cli::*;
    let g = &cli.global;
    let tui = |db: std::path::PathBuf, dataset: Option<String>| {
        assay::tui::run(&assay::tui::Options {
            db,
            reviewer: g.reviewer.clone(),
            dataset,
        })
    };
    match cli.command {
        None => tui(g.db.clone(), None)?,
        Some(Command::Import(a)) => return import::run(g, a),
        Some(Command::Export(a)) => return export::run(g, a),
        Some(Command::Stats(a)) => stats::run(g, a)?,
        Some(Command::Demo(a)) => {
            // The demo loads its database; the TUI opens on it from here, not from the CLI.
            if let Some(db) = demo::run(g, a)? {
                tui(db, Some(demo::OPEN_ON.to_string()))?;
            }
        }
        Some(Command::Audit(c)) => audit::run(g, c)?,
        Some(Command::Chunk(a)) => chunk::run(g, a)?,
        Some(Command::Dedup(a)) => dedup::run(g, a)?,
        Some(Command::Gen(c)) => return generate::run(g, c),
        Some(Command::Verify(a)) => verify::run(g, a)?,
        Some(Command::Model(c)) => model::run(g, c)?,
        Some(Command::Train(a)) => train::run(g, a)?,
        Some(Command::Runs(c)) => runs::run(g, c)?,
        Some(Command::Eval(a)) => eval::run(g, a)?,
        Some(Command::Merge(a)) => merge::run(g, a)?,
        Some(Command::Review(c)) => review::run(g, c)?,
        Some(Command::Backup(a)) => backup::run(g, a)?,
        Some(Command::Views(c)) => views::run(g, c)?,
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Logs go to a file (never stdout: the TUI owns the terminal), level from `ASSAY_LOG`.
fn init_logging() -> Option<()> {
    let path = assay::paths::log_file();
    let dir = path.parent()?;
    std::fs::create_dir_all(dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening log file {}", path.display()))
        .ok()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("ASSAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    Some(())
}
