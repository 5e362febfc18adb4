//! One-time re-quantisation of GGUF weights candle runs slowly on the CPU (Q4_1, Q5_x) to Q8_0,
//! cached next to the original as `<name>.Q8_0.gguf`.
//!
//! Measured on 2 cores (benches/local_llm.rs): SmolLM2 Q4_1 as shipped generates about half as
//! fast as the same weights re-quantised to Q8_0, because candle has SIMD kernels for Q8_0 and
//! Q4_0 but not for Q4_1. Q8_0 keeps more precision than the source, so nothing is lost.

use std::path::{Path, PathBuf};

use candle_core::Device;
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};

use crate::llm::LlmError;

/// Types re-quantised on load; everything else is run as stored.
fn is_slow_on_cpu(t: GgmlDType) -> bool {
    matches!(t, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1)
}

/// Where the Q8_0 copy of `path` is cached: `X.Q4_1.gguf` -> `X.Q8_0.gguf`.
pub fn cache_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = match stem.rsplit_once('.') {
        Some((base, suffix)) if suffix.starts_with('Q') || suffix.starts_with('q') => base,
        _ => stem.as_str(),
    };
    path.with_file_name(format!("{base}.Q8_0.gguf"))
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> LlmError {
    LlmError::Config(format!("{}: {e}", path.display()))
}

/// The file to run for `path`: the cached Q8_0 copy where re-quantising pays (made now if
/// missing), else `path` itself. Where the copy cannot be written, the original is used.
pub fn fast_variant(path: &Path) -> Result<PathBuf, LlmError> {
    let mut file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| io_err(path, format!("not a readable GGUF file ({e})")))?;
    let needs = content
        .tensor_infos
        .values()
        .any(|t| is_slow_on_cpu(t.ggml_dtype) && t.shape.dims().len() == 2);
    if !needs {
        return Ok(path.to_path_buf());
    }
    let cached = cache_path(path);
    if cached.is_file()
        && gguf_file::Content::read(
            &mut std::fs::File::open(&cached).map_err(|e| io_err(&cached, e))?,
        )
        .is_ok()
    {
        return Ok(cached);
    }
    match write_q8_0(&content, &mut file, &cached) {
        Ok(()) => Ok(cached),
        Err(e) => {
            tracing::warn!(path = %cached.display(), error = %e, "cannot cache the Q8_0 copy; running the original, slower");
            Ok(path.to_path_buf())
        }
    }
}

/// Writes a copy of the model with every slow 2-D weight re-quantised to Q8_0 (atomically:
/// to a temporary file, then renamed).
pub fn write_q8_0(
    content: &gguf_file::Content,
    reader: &mut std::fs::File,
    out: &Path,
) -> Result<(), LlmError> {
    let device = Device::Cpu;
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors: Vec<(String, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let info = &content.tensor_infos[name];
        let q = content
            .tensor(reader, name, &device)
            .map_err(|e| io_err(out, format!("reading tensor {name}: {e}")))?;
        let q = if is_slow_on_cpu(info.ggml_dtype) && info.shape.dims().len() == 2 {
            let f = q
                .dequantize(&device)
                .map_err(|e| io_err(out, format!("dequantising {name}: {e}")))?;
            QTensor::quantize(&f, GgmlDType::Q8_0)
                .map_err(|e| io_err(out, format!("quantising {name}: {e}")))?
        } else {
            q
        };
        tensors.push((name.clone(), q));
    }
    let mut metadata: Vec<(&String, &gguf_file::Value)> = content.metadata.iter().collect();
    metadata.sort_by(|a, b| a.0.cmp(b.0));
    let metadata: Vec<(&str, &gguf_file::Value)> =
        metadata.into_iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensor_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let tmp = out.with_extension("gguf.partial");
    let result = (|| {
        let mut w =
            std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?);
        gguf_file::write(&mut w, &metadata, &tensor_refs).map_err(|e| io_err(&tmp, e))?;
        use std::io::Write;
        w.flush().map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, out).map_err(|e| io_err(out, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_path_replaces_the_quant_suffix() {
        assert_eq!(
            cache_path(Path::new("/m/SmolLM2-135M-Instruct.Q4_1.gguf")),
            PathBuf::from("/m/SmolLM2-135M-Instruct.Q8_0.gguf")
        );
        assert_eq!(
            cache_path(Path::new("/m/model.gguf")),
            PathBuf::from("/m/model.Q8_0.gguf")
        );
    }
}
