//! Where the built-in trainer runs: the CPU unless `ASSAY_DEVICE` asks for a CUDA GPU.
//!
//! The CPU stays the default even in a `--features cuda` build: there each decoder layer is one
//! fused op ([`super::fused`]), and a run that quietly moved to a GPU would change its numerics
//! and speed without being asked. Inference (`llm::local`, `eval`) picks a GPU by itself.

use super::error::{Result, TrainError};
use candle_core::Device;

/// The environment variable that picks the trainer's device: `cpu` (default), `cuda` (GPU 0)
/// or `cuda:N`.
pub const ENV: &str = "ASSAY_DEVICE";

/// The device `ASSAY_DEVICE` names, opened.
pub fn from_env() -> Result<Device> {
    match std::env::var(ENV) {
        Ok(v) => open(&v),
        Err(std::env::VarError::NotPresent) => Ok(Device::Cpu),
        Err(std::env::VarError::NotUnicode(_)) => Err(bad("is not valid UTF-8".into())),
    }
}

/// Opens the device a setting names: `cpu`, `cuda` or `cuda:N` (case and spaces ignored).
pub fn open(setting: &str) -> Result<Device> {
    let s = setting.trim().to_ascii_lowercase();
    let ordinal = match s.as_str() {
        "" | "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        _ => match s.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => n,
            _ => {
                return Err(bad(format!(
                    "is {setting:?}; use cpu, cuda or cuda:N (N the GPU's number)"
                )));
            }
        },
    };
    if !cfg!(feature = "cuda") {
        return Err(bad(format!(
            "asks for {setting:?}, but this assay was built without CUDA: build it with \
             `cargo build --release --features cuda` (needs nvcc), or unset {ENV}"
        )));
    }
    Device::new_cuda(ordinal).map_err(|e| bad(format!("asks for {setting:?}: {e}")))
}

/// The device as `ASSAY_DEVICE` spells it: `cpu`, `cuda:N`.
pub fn label(device: &Device) -> String {
    match device.location() {
        candle_core::DeviceLocation::Cuda { gpu_id } => format!("cuda:{gpu_id}"),
        candle_core::DeviceLocation::Cpu => "cpu".into(),
        candle_core::DeviceLocation::Metal { gpu_id } => format!("metal:{gpu_id}"),
    }
}

fn bad(message: String) -> TrainError {
    TrainError::BadConfig {
        field: ENV.into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_is_the_default_and_the_spelling_is_lenient() {
        for s in ["", "cpu", " CPU "] {
            let d = open(s).unwrap();
            assert!(d.is_cpu(), "{s:?}");
            assert_eq!(label(&d), "cpu");
        }
    }

    #[test]
    fn a_bad_setting_names_the_variable_and_the_choices() {
        for s in ["gpu", "cuda:x", "cuda:-1", "metal"] {
            let e = open(s).unwrap_err().to_string();
            assert!(
                e.contains(ENV) && e.contains("cpu, cuda or cuda:N"),
                "{s}: {e}"
            );
        }
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_without_the_feature_says_how_to_build_it() {
        for s in ["cuda", "cuda:1"] {
            let e = open(s).unwrap_err().to_string();
            assert!(e.contains("--features cuda") && e.contains(ENV), "{s}: {e}");
        }
    }
}
