//! Loading a base model with the tokenizer that goes with it, the one loader training and
//! evaluation share: a GGUF file (its own tokenizer) or a Hugging Face folder (`config.json`,
//! `*.safetensors`, `tokenizer.json`).

use std::path::Path;

use candle_core::Device;
use candle_core::quantized::gguf_file;

use super::error::{LlamaError, Result, io_err};
use super::tokenizer::{GgufTokenizer, TextTokenizer};
use super::weights::BaseWeights;

/// Base weights and their tokenizer: a GGUF's own, or a folder's `tokenizer.json`.
pub fn load_base(path: &Path, device: &Device) -> Result<(BaseWeights, Box<dyn TextTokenizer>)> {
    let unusable = |path: &Path, message: String| LlamaError::Unusable {
        path: path.to_path_buf(),
        message,
    };
    if path.is_dir() {
        let file = path.join("tokenizer.json");
        let tok = tokenizers::Tokenizer::from_file(&file)
            .map_err(|e| unusable(&file, format!("cannot read the tokenizer: {e}")))?;
        let base = BaseWeights::from_hf_dir(path, device)?;
        return Ok((base, Box::new(tok)));
    }
    if !path.is_file() {
        return Err(unusable(
            path,
            "no base model here: pass --base PATH or run `assay model fetch`".into(),
        ));
    }
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| unusable(path, format!("not a readable GGUF file: {e}")))?;
    let tok = GgufTokenizer::from_gguf(&content)
        .map_err(|e| unusable(path, format!("reading its tokenizer: {e}")))?;
    let base = BaseWeights::from_gguf(path, device)?;
    Ok((base, Box::new(tok)))
}
