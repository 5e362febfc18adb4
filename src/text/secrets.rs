//! Secrets in text a trainer (or anything else outside assay) prints: the values of environment
//! variables whose name says they hold a secret (`OPENAI_API_KEY`, `HF_TOKEN`, `WANDB_API_KEY`,
//! `AWS_SECRET_ACCESS_KEY`...) and strings shaped like well-known keys (`sk-...`, `hf_...`,
//! `ghp_...`) become `[redacted]` before a line is stored, written to a log or shown.
//!
//! This is the one policy: the supervisor's log and tail, `runs attach`'s messages and the
//! command-template check (which refuses a secret rather than storing it) all ask here. One
//! Aho-Corasick pass per line finds both the known values and the key prefixes; a prefix only
//! counts at a word start and followed by enough key characters, so `task-list` or a
//! `desk-lamp` stay as they are.

use aho_corasick::{AhoCorasick, Input, MatchKind};
use std::borrow::Cow;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Values shorter than this are not scrubbed: `KEY=1` or `TOKEN=none` would otherwise blank
/// every `1` and `none` in a log, and a real key is never that short.
pub const MIN_SECRET_LEN: usize = 8;

/// Key shapes: a prefix and the least number of key characters after it.
const KEY_PREFIXES: &[(&str, usize)] = &[
    ("sk-", 16),      // OpenAI (sk-proj-..., sk-svcacct-...) and compatible services
    ("sk_live_", 16), // Stripe
    ("hf_", 16),      // Hugging Face
    ("ghp_", 20),     // GitHub personal / OAuth / user / server / refresh tokens
    ("gho_", 20),
    ("ghu_", 20),
    ("ghs_", 20),
    ("ghr_", 20),
    ("github_pat_", 20), // GitHub fine-grained tokens
    ("glpat-", 16),      // GitLab
    ("xoxb-", 10),       // Slack
    ("xoxp-", 10),
    ("xoxa-", 10),
    ("AKIA", 16), // AWS access key ids
];

/// Words of a variable or flag name that say it holds a secret.
const SECRET_WORDS: &[&str] = &[
    "token",
    "key",
    "apikey",
    "secret",
    "password",
    "passwd",
    "credential",
    "credentials",
];

/// Whether a variable or flag name (`HF_TOKEN`, `--api-key`, `wandb_api_key`) names a secret:
/// one of its words, split at `_` and `-`, is token, key, secret, password or the like
/// (`TOKENIZERS_PARALLELISM` and `--max_tokens` do not).
pub fn secret_name(name: &str) -> bool {
    name.trim_start_matches('-')
        .split(['-', '_', '.'])
        .any(|w| SECRET_WORDS.contains(&w.to_ascii_lowercase().as_str()))
}

fn key_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Where a key that starts at `start` with a prefix of `prefix_len` bytes ends, if what follows
/// is long enough to be one (and it starts a word).
fn key_end(text: &[u8], start: usize, prefix_len: usize, min_tail: usize) -> Option<usize> {
    if start > 0 && key_char(text[start - 1]) {
        return None;
    }
    let tail = text[start + prefix_len..]
        .iter()
        .take_while(|&&b| key_char(b))
        .count();
    (tail >= min_tail).then_some(start + prefix_len + tail)
}

/// Whether `s` as a whole looks like a key (one of the shapes above).
pub fn key_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    KEY_PREFIXES
        .iter()
        .any(|(p, min)| s.starts_with(p) && key_end(b, 0, p.len(), *min) == Some(b.len()))
}

/// Whether `s` contains a key-shaped string anywhere.
pub fn contains_key(s: &str) -> bool {
    Scrubber::new(Vec::<String>::new()).scrub(s) != s
}

/// Replaces secrets in lines of text; built once (from the environment) per process.
#[derive(Debug, Clone)]
pub struct Scrubber {
    /// `None` only if the patterns could not be compiled (never seen: they are capped in
    /// number and length); every line is then redacted whole, failing closed.
    finder: Option<AhoCorasick>,
    /// Pattern ids below this are key prefixes (index into [`KEY_PREFIXES`]); the rest are
    /// literal secret values.
    prefixes: usize,
}

impl Default for Scrubber {
    fn default() -> Self {
        Scrubber::from_env()
    }
}

impl Scrubber {
    /// Scrubs key shapes and the values of this process's secret-named environment variables.
    pub fn from_env() -> Scrubber {
        Scrubber::new(
            std::env::vars_os()
                .filter(|(k, _)| k.to_str().is_some_and(secret_name))
                .filter_map(|(_, v)| v.into_string().ok()),
        )
    }

    /// Scrubs key shapes and these literal values (those shorter than [`MIN_SECRET_LEN`] are
    /// left out).
    pub fn new(values: impl IntoIterator<Item = String>) -> Scrubber {
        let mut patterns: Vec<String> = KEY_PREFIXES.iter().map(|(p, _)| p.to_string()).collect();
        let prefixes = patterns.len();
        let mut values: Vec<String> = values
            .into_iter()
            .map(|v| v.trim().to_string())
            .filter(|v| v.chars().count() >= MIN_SECRET_LEN && v.len() <= 4096)
            .take(1024)
            .collect();
        values.sort();
        values.dedup();
        patterns.extend(values);
        let finder = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
            .ok();
        Scrubber { finder, prefixes }
    }

    /// `text` with every secret replaced by [`REDACTED`]; borrowed when there was none.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let Some(finder) = &self.finder else {
            return Cow::Borrowed(REDACTED);
        };
        let bytes = text.as_bytes();
        let mut out = String::new();
        let mut copied = 0;
        let mut at = 0;
        while at < bytes.len() {
            let Some(m) = finder.find(Input::new(bytes).span(at..bytes.len())) else {
                break;
            };
            let id = m.pattern().as_usize();
            let end = if id < self.prefixes {
                let (p, min) = KEY_PREFIXES[id];
                key_end(bytes, m.start(), p.len(), min)
            } else {
                Some(m.end())
            };
            match end {
                Some(end) => {
                    out.push_str(&text[copied..m.start()]);
                    out.push_str(REDACTED);
                    copied = end;
                    at = end;
                }
                // A prefix that is not a key: look again from its next character (every
                // pattern is ASCII-led or a whole value, so a char boundary follows).
                None => at = next_boundary(text, m.start()),
            }
        }
        if copied == 0 && out.is_empty() {
            return Cow::Borrowed(text);
        }
        out.push_str(&text[copied..]);
        Cow::Owned(out)
    }

    /// Scrubs every line.
    pub fn scrub_all(&self, lines: &[String]) -> Vec<String> {
        lines.iter().map(|l| self.scrub(l).into_owned()).collect()
    }
}

fn next_boundary(text: &str, i: usize) -> usize {
    let mut j = i + 1;
    while j < text.len() && !text.is_char_boundary(j) {
        j += 1;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_hold_secrets() {
        for n in [
            "OPENAI_API_KEY",
            "HF_TOKEN",
            "WANDB_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "HUGGING_FACE_HUB_TOKEN",
            "DB_PASSWORD",
            "--hub_token",
            "--api-key",
            "GITHUB_TOKEN",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in [
            "TOKENIZERS_PARALLELISM",
            "--max_tokens",
            "--tokenizer",
            "PATH",
            "PWD",
            "SSH_AUTH_SOCK",
            "KEYBOARD",
        ] {
            assert!(!secret_name(n), "{n}");
        }
    }

    #[test]
    fn values_and_shapes_are_redacted_and_the_rest_kept() {
        let s = Scrubber::new(["hunter2-but-longer".to_string(), "x".to_string()]);
        let line = "login hunter2-but-longer key=sk-proj-AAAAAAAAAAAAAAAAAAAA hf_abcdefghijklmnopqrstu. \
                    ghp_0123456789abcdefghijABCDEFGHIJ done";
        assert_eq!(
            s.scrub(line),
            "login [redacted] key=[redacted] [redacted]. [redacted] done"
        );
        for kept in [
            "task-list desk-lamp sk-short hf_short",
            "the x marks it",
            "askhf_abcdefghijklmnopqrstuvwxyz (not at a word start)",
            "",
            "日本語 sk-",
        ] {
            assert_eq!(s.scrub(kept), kept);
            assert!(matches!(s.scrub(kept), Cow::Borrowed(_)));
        }
        assert_eq!(s.scrub("é sk-AAAAAAAAAAAAAAAAAAAA é"), "é [redacted] é");
        assert!(key_shaped("hf_abcdefghijklmnopqrstu"));
        assert!(!key_shaped("hf_abcdefghijklmnopqrstu and more"));
        assert!(contains_key("a=sk-aaaaaaaaaaaaaaaaaaaaaaaa"));
        assert!(!contains_key("--max_tokens 5"));
    }

    #[test]
    fn the_environment_is_read() {
        // The test binary's own environment: whatever secret-named variable it has must go.
        let s = Scrubber::from_env();
        for (k, v) in std::env::vars() {
            if secret_name(&k) && v.trim().chars().count() >= MIN_SECRET_LEN {
                assert!(!s.scrub(&format!("a {v} b")).contains(v.trim()), "{k}");
            }
        }
    }
}
