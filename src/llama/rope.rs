//! Rotary position embeddings as a model's config asks for them: the base `rope_theta` and the
//! scaling (`linear`, `dynamic`, `llama3`), read from the top level and `rope_scaling`
//! (transformers 4) or from `rope_parameters` (transformers 5 writes `rope_theta` there; a
//! reader that looks only at the top level silently uses 10,000 instead of SmolLM2's 100,000).
//! Any other scaling type stops with an error naming the key, never a silent default.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a model stretches its rotary frequencies beyond the trained context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rope_type", rename_all = "snake_case")]
pub enum RopeScaling {
    /// Positions divided by `factor`.
    Linear { factor: f64 },
    /// NTK-aware scaling that transformers applies only to sequences longer than
    /// `max_position_embeddings`; within that length (all assay trains and scores on) the
    /// frequencies are the default ones.
    Dynamic { factor: f64 },
    /// Llama 3.1's frequency-dependent scaling.
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_position_embeddings: usize,
    },
}

/// The rotary settings of a Hugging Face `config.json`: `(rope_theta, scaling)`. Errors name
/// the key at fault and why.
pub fn from_hf(v: &Value) -> Result<(f64, Option<RopeScaling>), (String, String)> {
    let params = v.get("rope_parameters").filter(|p| !p.is_null());
    let theta_key = if params.and_then(|p| p.get("rope_theta")).is_some() {
        "rope_parameters.rope_theta"
    } else {
        "rope_theta"
    };
    let theta = match params
        .and_then(|p| p.get("rope_theta"))
        .or_else(|| v.get("rope_theta"))
    {
        None | Some(Value::Null) => 10_000.0,
        Some(t) => t.as_f64().filter(|t| *t > 0.0).ok_or_else(|| {
            (
                theta_key.to_string(),
                "must be a positive number".to_string(),
            )
        })?,
    };
    // transformers 5 keeps the scaling in `rope_parameters` beside the theta; 4 in `rope_scaling`.
    let (key, scaling) = match (params, v.get("rope_scaling").filter(|s| !s.is_null())) {
        (_, Some(s)) => ("rope_scaling", s),
        (Some(p), None) => ("rope_parameters", p),
        (None, None) => return Ok((theta, None)),
    };
    Ok((theta, scaling_of(key, scaling, v)?))
}

fn scaling_of(
    key: &str,
    s: &Value,
    config: &Value,
) -> Result<Option<RopeScaling>, (String, String)> {
    let kind = s
        .get("rope_type")
        .or_else(|| s.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let num = |name: &str| -> Result<f64, (String, String)> {
        s.get(name)
            .and_then(Value::as_f64)
            .filter(|x| *x > 0.0)
            .ok_or_else(|| {
                (
                    format!("{key}.{name}"),
                    format!("{kind} rope scaling needs a positive number here"),
                )
            })
    };
    Ok(match kind {
        "default" => None,
        "linear" => Some(RopeScaling::Linear {
            factor: num("factor")?,
        }),
        "dynamic" => Some(RopeScaling::Dynamic {
            factor: num("factor")?,
        }),
        "llama3" => Some(RopeScaling::Llama3 {
            factor: num("factor")?,
            low_freq_factor: num("low_freq_factor")?,
            high_freq_factor: num("high_freq_factor")?,
            original_max_position_embeddings: s
                .get("original_max_position_embeddings")
                .or_else(|| config.get("max_position_embeddings"))
                .and_then(Value::as_u64)
                .ok_or_else(|| {
                    (
                        format!("{key}.original_max_position_embeddings"),
                        "llama3 rope scaling needs it".to_string(),
                    )
                })? as usize,
        }),
        other => {
            return Err((
                format!("{key}.rope_type"),
                format!(
                    "rope scaling {other:?} is not supported (only default, linear, dynamic and \
                     llama3); training or scoring with plain RoPE would silently give other logits"
                ),
            ));
        }
    })
}

/// `rope_scaling` in a config assay wrote or transformers 4 wrote (`type` or `rope_type`).
pub fn deserialize_scaling<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<RopeScaling>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    scaling_of("rope_scaling", &v, &Value::Null)
        .map_err(|(k, why)| serde::de::Error::custom(format!("{k}: {why}")))
}

/// The inverse frequencies of each rotary pair for a head of `head_dim`.
pub fn inv_freq(theta: f64, scaling: Option<&RopeScaling>, head_dim: usize) -> Vec<f64> {
    let base: Vec<f64> = (0..head_dim / 2)
        .map(|i| 1.0 / theta.powf(2.0 * i as f64 / head_dim as f64))
        .collect();
    match scaling {
        None | Some(RopeScaling::Dynamic { .. }) => base,
        Some(RopeScaling::Linear { factor }) => base.into_iter().map(|f| f / factor).collect(),
        Some(RopeScaling::Llama3 {
            factor,
            low_freq_factor,
            high_freq_factor,
            original_max_position_embeddings,
        }) => {
            // transformers' `_compute_llama3_parameters`.
            let old = *original_max_position_embeddings as f64;
            let low_wavelen = old / low_freq_factor;
            let high_wavelen = old / high_freq_factor;
            base.into_iter()
                .map(|f| {
                    let wavelen = 2.0 * std::f64::consts::PI / f;
                    if wavelen < high_wavelen {
                        f
                    } else if wavelen > low_wavelen {
                        f / factor
                    } else {
                        let smooth = (old / wavelen - low_freq_factor)
                            / (high_freq_factor - low_freq_factor);
                        (1.0 - smooth) * f / factor + smooth * f
                    }
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn theta_is_read_from_rope_parameters_as_transformers_5_writes_it() {
        let v = json!({"rope_parameters": {"rope_theta": 100000.0, "rope_type": "default"}});
        assert_eq!(from_hf(&v), Ok((100_000.0, None)));
        assert_eq!(from_hf(&json!({"rope_theta": 5e5})), Ok((5e5, None)));
        assert_eq!(from_hf(&json!({})), Ok((10_000.0, None)));
    }

    #[test]
    fn linear_dynamic_and_llama3_scaling_are_read() {
        let v = json!({"rope_theta": 1e4, "rope_scaling": {"type": "linear", "factor": 2.0}});
        assert_eq!(
            from_hf(&v).unwrap().1,
            Some(RopeScaling::Linear { factor: 2.0 })
        );
        let v = json!({"rope_scaling": {"rope_type": "dynamic", "factor": 4.0}});
        assert_eq!(
            from_hf(&v).unwrap().1,
            Some(RopeScaling::Dynamic { factor: 4.0 })
        );
        let v = json!({"rope_parameters": {"rope_type": "llama3", "rope_theta": 5e5,
            "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192}});
        let (theta, s) = from_hf(&v).unwrap();
        assert_eq!(theta, 5e5);
        let inv = inv_freq(theta, s.as_ref(), 128);
        let plain = inv_freq(theta, None, 128);
        // High frequencies are kept, the lowest divided by the factor.
        assert_eq!(inv[0], plain[0]);
        assert!((inv[63] - plain[63] / 8.0).abs() < 1e-15);
        let lin = inv_freq(1e4, Some(&RopeScaling::Linear { factor: 2.0 }), 8);
        assert_eq!(lin[1], inv_freq(1e4, None, 8)[1] / 2.0);
    }

    #[test]
    fn an_unsupported_scaling_names_its_key() {
        let v = json!({"rope_scaling": {"rope_type": "yarn", "factor": 4.0}});
        let (key, why) = from_hf(&v).unwrap_err();
        assert_eq!(key, "rope_scaling.rope_type");
        assert!(why.contains("yarn"), "{why}");
        let v = json!({"rope_scaling": {"type": "linear"}});
        assert_eq!(from_hf(&v).unwrap_err().0, "rope_scaling.factor");
    }
}
