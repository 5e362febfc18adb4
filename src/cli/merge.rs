//! `assay merge`: fold a LoRA adapter into its base and write a Hugging Face model folder
//! (safetensors, config, tokenizer) that transformers loads without PEFT (the capability is
//! [`crate::train::merge`]).

use super::GlobalArgs;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The adapter folder (`adapter_config.json` + `adapter_model.safetensors`).
    #[arg(long)]
    pub adapter: PathBuf,
    /// The base model: a GGUF file or a Hugging Face folder (default: the one the adapter names).
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// The model folder to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Also write `probe.json`: this text's token ids and the last position's logits with and
    /// without the adapter, to compare with another implementation.
    #[arg(long, value_name = "TEXT")]
    pub probe: Option<String>,
}

pub fn run(_global: &GlobalArgs, args: Args) -> anyhow::Result<()> {
    let base = match args.base {
        Some(b) => b,
        None => crate::train::merge::recorded_base(&args.adapter)?,
    };
    let merged =
        crate::train::merge::merge(&base, &args.adapter, &args.out, args.probe.as_deref())?;
    super::output::line(format!(
        "merged {} into {}: {} written to {}",
        args.adapter.display(),
        merged.base.display(),
        merged
            .files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect::<Vec<_>>()
            .join(", "),
        args.out.display()
    ))?;
    Ok(())
}
