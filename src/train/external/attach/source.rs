//! Where `runs attach` reads a run's `trainer_log.jsonl`: a local path (a shared file system)
//! or `ssh://[user@]host[:port]/path`. A path ending in `.jsonl` is the log itself; any other
//! path is the bundle's folder, whose log is `output/trainer_log.jsonl`.
//!
//! Hand-parsed rather than with a URL crate: only this one shape is accepted, and every part is
//! checked for what would let it act as an ssh option (a leading `-`) or carry a password.

use std::fmt;
use std::path::PathBuf;

/// A bundle's log, relative to its folder.
pub const BUNDLE_LOG: &str = "output/trainer_log.jsonl";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// The log's path on the host (absolute, or `~/...` under the login's home).
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSource {
    File(PathBuf),
    Ssh(SshTarget),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    #[error(
        "{0:?}: write ssh://[user@]host[:port]/path/to/bundle/ (or the path of its \
         trainer_log.jsonl)"
    )]
    Shape(String),
    #[error("{0:?}: a password in the address is not supported; use an ssh key (ssh-agent, -i)")]
    Password(String),
    #[error("{url:?}: {part} {value:?} cannot start with `-` or hold spaces or control characters")]
    Unsafe {
        url: String,
        part: &'static str,
        value: String,
    },
    #[error("{0:?}: the port must be a number from 1 to 65535")]
    Port(String),
}

fn safe_part(s: &str) -> bool {
    !s.is_empty() && !s.starts_with('-') && !s.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// The log inside `path`: itself when it names a `.jsonl` file, else the bundle's log.
fn log_in(path: &str) -> String {
    if path.ends_with(".jsonl") {
        path.to_string()
    } else {
        format!("{}/{BUNDLE_LOG}", path.trim_end_matches('/'))
    }
}

impl LogSource {
    pub fn parse(s: &str) -> Result<LogSource, SourceError> {
        let Some(rest) = s.strip_prefix("ssh://") else {
            let path = PathBuf::from(s);
            let log = if s.ends_with(".jsonl") {
                path
            } else {
                path.join(BUNDLE_LOG)
            };
            return Ok(LogSource::File(log));
        };
        let shape = || SourceError::Shape(s.to_string());
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => return Err(shape()),
        };
        if path.trim_matches('/').is_empty() {
            return Err(shape());
        }
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => {
                if u.contains(':') {
                    return Err(SourceError::Password(s.to_string()));
                }
                (Some(u.to_string()), h)
            }
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or_else(shape)?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(shape)?),
            };
            (h.to_string(), port)
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => Some(n),
                _ => return Err(SourceError::Port(s.to_string())),
            },
        };
        let unsafe_part = |part, value: &str| SourceError::Unsafe {
            url: s.to_string(),
            part,
            value: value.to_string(),
        };
        if let Some(u) = &user
            && !safe_part(u)
        {
            return Err(unsafe_part("user", u));
        }
        if !safe_part(&host) {
            return Err(unsafe_part("host", &host));
        }
        if path.chars().any(char::is_control) {
            return Err(unsafe_part("path", path));
        }
        // `ssh://host/~/runs/x` is `~/runs/x` on the host.
        let path = match path.strip_prefix("/~/") {
            Some(under_home) => format!("~/{under_home}"),
            None => path.to_string(),
        };
        Ok(LogSource::Ssh(SshTarget {
            user,
            host,
            port,
            path: log_in(&path),
        }))
    }
}

impl fmt::Display for LogSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogSource::File(p) => write!(f, "{}", p.display()),
            LogSource::Ssh(t) => {
                f.write_str("ssh://")?;
                if let Some(u) = &t.user {
                    write!(f, "{u}@")?;
                }
                if t.host.contains(':') {
                    write!(f, "[{}]", t.host)?;
                } else {
                    f.write_str(&t.host)?;
                }
                if let Some(p) = t.port {
                    write!(f, ":{p}")?;
                }
                if !t.path.starts_with('/') {
                    f.write_str("/")?;
                }
                f.write_str(&t.path)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh(s: &str) -> SshTarget {
        match LogSource::parse(s).unwrap() {
            LogSource::Ssh(t) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn addresses_and_paths() {
        let t = ssh("ssh://ann@gpu-1.lab:2222/scratch/run 7/");
        assert_eq!(t.user.as_deref(), Some("ann"));
        assert_eq!((t.host.as_str(), t.port), ("gpu-1.lab", Some(2222)));
        assert_eq!(t.path, "/scratch/run 7/output/trainer_log.jsonl");
        let t = ssh("ssh://127.0.0.1/x/trainer_log.jsonl");
        assert_eq!((t.user, t.port), (None, None));
        assert_eq!(t.path, "/x/trainer_log.jsonl");
        let t = ssh("ssh://[::1]:22/~/b");
        assert_eq!(
            (t.host.as_str(), t.path.as_str()),
            ("::1", "~/b/output/trainer_log.jsonl")
        );
        assert_eq!(
            LogSource::parse("ssh://[::1]:22/~/b").unwrap().to_string(),
            "ssh://[::1]:22/~/b/output/trainer_log.jsonl"
        );
        assert_eq!(
            LogSource::parse("/shared/b").unwrap(),
            LogSource::File("/shared/b/output/trainer_log.jsonl".into())
        );
        assert_eq!(
            LogSource::parse("l.jsonl").unwrap(),
            LogSource::File("l.jsonl".into())
        );
    }

    #[test]
    fn option_injection_and_passwords_are_refused() {
        for bad in [
            "ssh://-oProxyCommand=x/y",
            "ssh://-l@host/y",
            "ssh://a b/y",
            "ssh://host",
            "ssh://host/",
            "ssh://u:pw@host/y",
            "ssh://host:0/y",
            "ssh://host:99999/y",
            "ssh://host:x/y",
            "ssh://[::1/y",
            "ssh://host/a\nb",
        ] {
            assert!(LogSource::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            LogSource::parse("ssh://u:pw@host/y"),
            Err(SourceError::Password(_))
        ));
    }
}
