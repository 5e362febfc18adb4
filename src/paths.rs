//! Where assay keeps files that are not the database: logs and models.
//!
//! `ASSAY_HOME`, else `$XDG_DATA_HOME/assay`, else `~/.local/share/assay`. Written by hand
//! rather than with the `directories` crate: this one rule, with an override for tests and CI,
//! is all assay needs.

use std::path::PathBuf;

/// The data directory (created by whoever writes into it).
pub fn data_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("ASSAY_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(xdg).join("assay");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/assay"),
        None => PathBuf::from(".assay"),
    }
}

/// The log file: `<data dir>/logs/assay.log`.
pub fn log_file() -> PathBuf {
    data_dir().join("logs").join("assay.log")
}

/// Where models are kept: `<data dir>/models`.
pub fn models_dir() -> PathBuf {
    data_dir().join("models")
}
