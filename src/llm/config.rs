//! Where the model lives: endpoint, key and model from `OPENAI_BASE_URL`, `OPENAI_API_KEY` and
//! `ASSAY_MODEL`, or from named profiles in `<data dir>/config.toml`, so that the generator and
//! the verifier can be different models on different servers.
//!
//! The key is held in [`ApiKey`], whose `Debug` and `Display` print `***`: it cannot reach a log,
//! an error message or the database by accident.

use super::LlmError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A secret. Only [`ApiKey::expose`] gives the text, for the `Authorization` header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Everything needed to talk to one OpenAI-compatible endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// The profile it came from (`env` for environment variables).
    pub profile: String,
    /// Up to and including `/v1`, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub api_key: Option<ApiKey>,
    pub model: String,
    /// Limit for one request (a stream: for each wait between pieces).
    pub timeout: Duration,
    /// How many requests may be in flight at once.
    pub concurrency: usize,
    /// Requests per minute, where the provider limits them.
    pub rpm: Option<u32>,
    pub max_retries: u32,
    /// Ask for SSE streaming (on_token then sees pieces as they come).
    pub stream: bool,
}

impl EndpointConfig {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        EndpointConfig {
            profile: "custom".into(),
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            timeout: Duration::from_secs(120),
            concurrency: 8,
            rpm: None,
            max_retries: 4,
            stream: false,
        }
    }
}

/// A profile in `config.toml`: `[profiles.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    base_url: String,
    model: String,
    /// The name of an environment variable holding the key (preferred: the file holds no secret).
    #[serde(default)]
    api_key_env: Option<String>,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    timeout_secs: Option<u64>,
    #[serde(default)]
    concurrency: Option<usize>,
    #[serde(default)]
    rpm: Option<u32>,
    #[serde(default)]
    max_retries: Option<u32>,
    #[serde(default)]
    stream: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
    /// Everything else in the file belongs to other parts of assay.
    #[serde(flatten)]
    _rest: BTreeMap<String, toml::Value>,
}

/// `<data dir>/config.toml`.
pub fn config_path() -> PathBuf {
    crate::paths::data_dir().join("config.toml")
}

/// The endpoint for `profile`, or, with no profile named, from the environment
/// (`OPENAI_BASE_URL` ...) or else the file's `default` profile. `Ok(None)`: nothing configured.
pub fn resolve(profile: Option<&str>) -> Result<Option<EndpointConfig>, LlmError> {
    resolve_from(&config_path(), profile, &|k| std::env::var(k).ok())
}

/// [`resolve`] with the file and the environment given, for tests.
pub fn resolve_from(
    path: &Path,
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<EndpointConfig>, LlmError> {
    let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let file = read_file(path)?;
    let mut cfg = match profile {
        Some(name) => {
            let p = file.profiles.get(name).ok_or_else(|| {
                LlmError::Config(format!(
                    "no profile [profiles.{name}] in {}; profiles there: {}",
                    path.display(),
                    names(&file)
                ))
            })?;
            from_profile(name, p, &env)?
        }
        None => match env("OPENAI_BASE_URL") {
            Some(url) => {
                let mut c = EndpointConfig::new(
                    url,
                    env("ASSAY_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
                );
                c.profile = "env".into();
                c.api_key = env("OPENAI_API_KEY").map(ApiKey::new);
                c
            }
            None => match file.profiles.get("default") {
                Some(p) => from_profile("default", p, &env)?,
                None => return Ok(None),
            },
        },
    };
    if let Some(n) = env("ASSAY_CONCURRENCY") {
        cfg.concurrency = parse_env("ASSAY_CONCURRENCY", &n)?;
    }
    if let Some(n) = env("ASSAY_RPM") {
        cfg.rpm = Some(parse_env("ASSAY_RPM", &n)?);
    }
    if let Some(n) = env("ASSAY_TIMEOUT_SECS") {
        cfg.timeout = Duration::from_secs(parse_env("ASSAY_TIMEOUT_SECS", &n)?);
    }
    cfg.base_url = cfg.base_url.trim_end_matches('/').to_string();
    if !(cfg.base_url.starts_with("http://") || cfg.base_url.starts_with("https://")) {
        return Err(LlmError::Config(format!(
            "endpoint {:?} (profile {}) must start with http:// or https://",
            cfg.base_url, cfg.profile
        )));
    }
    Ok(Some(cfg))
}

fn parse_env<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, LlmError> {
    v.trim().parse().map_err(|_| {
        LlmError::Config(format!(
            "{name}={v:?} is not a number; set a whole number or unset it"
        ))
    })
}

fn names(file: &ConfigFile) -> String {
    if file.profiles.is_empty() {
        "none".into()
    } else {
        file.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

fn read_file(path: &Path) -> Result<ConfigFile, LlmError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ConfigFile::default()),
        Err(e) => {
            return Err(LlmError::Config(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    // toml's error names the line, column and field.
    let file: ConfigFile =
        toml::from_str(&text).map_err(|e| LlmError::Config(format!("{}: {e}", path.display())))?;
    if file.profiles.values().any(|p| p.api_key.is_some()) {
        check_private(path)?;
    }
    Ok(file)
}

/// A file holding a key must be readable by its owner only (as ssh insists for its keys):
/// refused otherwise, with the fix, rather than used while the key is exposed.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), LlmError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| LlmError::Config(format!("cannot read {}: {e}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(LlmError::Config(format!(
            "{} holds an api_key but other users can read or change it (mode {:o}); run \
             `chmod 600 {}`, or move the key to an environment variable named by api_key_env",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), LlmError> {
    Ok(())
}

fn from_profile(
    name: &str,
    p: &Profile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<EndpointConfig, LlmError> {
    let mut c = EndpointConfig::new(p.base_url.clone(), p.model.clone());
    c.profile = name.to_string();
    c.api_key = match (&p.api_key_env, &p.api_key) {
        (Some(var), _) => Some(ApiKey::new(env(var).ok_or_else(|| {
            LlmError::Config(format!(
                "profile {name} reads its key from ${var}, which is not set; export it"
            ))
        })?)),
        (None, Some(k)) => Some(ApiKey::new(k.clone())),
        (None, None) => None,
    };
    if let Some(t) = p.timeout_secs {
        c.timeout = Duration::from_secs(t);
    }
    if let Some(n) = p.concurrency {
        c.concurrency = n.max(1);
    }
    c.rpm = p.rpm;
    if let Some(n) = p.max_retries {
        c.max_retries = n;
    }
    if let Some(s) = p.stream {
        c.stream = s;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_profiles_resolve_and_the_key_never_prints() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[profiles.judge]\nbase_url = \"http://127.0.0.1:9/v1/\"\nmodel = \"big\"\n\
             api_key_env = \"JUDGE_KEY\"\nconcurrency = 200\nrpm = 60\n",
        )
        .unwrap();
        let env = |k: &str| match k {
            "OPENAI_BASE_URL" => Some("http://localhost:1/v1".to_string()),
            "OPENAI_API_KEY" => Some("sk-secret".to_string()),
            "JUDGE_KEY" => Some("sk-judge".to_string()),
            _ => None,
        };
        let g = resolve_from(&path, None, &env).unwrap().unwrap();
        assert_eq!(g.base_url, "http://localhost:1/v1");
        assert_eq!(g.model, "gpt-4o-mini");
        let j = resolve_from(&path, Some("judge"), &env).unwrap().unwrap();
        assert_eq!(j.base_url, "http://127.0.0.1:9/v1");
        assert_eq!((j.concurrency, j.rpm), (200, Some(60)));
        assert_eq!(j.api_key.as_ref().unwrap().expose(), "sk-judge");
        let shown = format!("{g:?} {j:?}");
        assert!(
            !shown.contains("sk-secret") && !shown.contains("sk-judge"),
            "{shown}"
        );
        let err = resolve_from(&path, Some("nope"), &env)
            .unwrap_err()
            .to_string();
        assert!(err.contains("judge"), "{err}");
        assert!(resolve_from(&path, None, &|_| None).unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_key_in_a_file_others_can_read_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[profiles.x]\nbase_url = \"http://a\"\nmodel = \"m\"\napi_key = \"sk-mode\"\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = resolve_from(&path, Some("x"), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("chmod 600") && err.contains("config.toml") && !err.contains("sk-mode"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let ok = resolve_from(&path, Some("x"), &|_| None).unwrap().unwrap();
        assert_eq!(ok.api_key.unwrap().expose(), "sk-mode");
    }

    #[test]
    fn a_bad_file_names_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "[profiles.x]\nbase_url = \"http://a\"\nmodle = \"m\"\n",
        )
        .unwrap();
        let err = resolve_from(&path, Some("x"), &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("config.toml") && err.contains("modle"),
            "{err}"
        );
    }
}
