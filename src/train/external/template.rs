//! Command templates for external trainers (TRL, Unsloth, xtuner scripts):
//! `python train.py --data {data} --out {output_dir}` is split into words by shell rules
//! (shlex) first and the placeholders are filled in afterwards, word by word, so a value such as
//! a dataset called `x; touch /tmp/pwned` stays one argument. No shell ever runs the result.

use crate::text::secrets::{contains_key, secret_name};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum TemplateError {
    #[error("--cmd {0:?}: unbalanced quotes or a trailing backslash; quote it as a shell would")]
    Split(String),
    #[error("--cmd is empty: give the trainer's command, e.g. 'python train.py --data {{data}}'")]
    Empty,
    #[error("--cmd: unknown placeholder {{{name}}}; known: {known}")]
    Unknown { name: String, known: String },
    #[error(
        "--cmd argument {index} looks like a secret (API key or token); pass secrets through \
         environment variables, which the trainer inherits: the command is stored with the run"
    )]
    Secret { index: usize },
}

/// Splits `template` and fills `{name}` placeholders from `values`; `{{` and `}}` are literal
/// braces.
pub fn expand(
    template: &str,
    values: &BTreeMap<&str, String>,
) -> Result<Vec<String>, TemplateError> {
    let words = shlex::split(template).ok_or_else(|| TemplateError::Split(template.into()))?;
    if words.is_empty() {
        return Err(TemplateError::Empty);
    }
    let argv = words
        .iter()
        .map(|w| fill(w, values))
        .collect::<Result<Vec<_>, _>>()?;
    refuse_secrets(&argv)?;
    Ok(argv)
}

fn fill(word: &str, values: &BTreeMap<&str, String>) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut rest = word;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("{{") {
            out.push('{');
            rest = t;
        } else if let Some(t) = tail.strip_prefix("}}") {
            out.push('}');
            rest = t;
        } else if let Some(t) = tail.strip_prefix('{')
            && let Some(close) = t.find('}')
        {
            let name = &t[..close];
            let value = values.get(name).ok_or_else(|| TemplateError::Unknown {
                name: name.into(),
                known: values
                    .keys()
                    .map(|k| format!("{{{k}}}"))
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            out.push_str(value);
            rest = &t[close + 1..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// A flag that names a secret (`--hub_token`, `--api-key`; not `--tokenizer` or `--max_tokens`),
/// by the one rule in [`crate::text::secrets`].
fn secret_flag(flag: &str) -> bool {
    flag.starts_with("--") && secret_name(flag)
}

/// Refuses key shapes (OpenAI, Hugging Face, GitHub, Slack...) and values of secret-naming flags:
/// the argument vector is stored with the run.
fn refuse_secrets(argv: &[String]) -> Result<(), TemplateError> {
    let mut after_secret_flag = false;
    for (index, a) in argv.iter().enumerate() {
        let shaped = contains_key(a);
        let inline = a
            .split_once('=')
            .is_some_and(|(f, v)| secret_flag(f) && !v.is_empty());
        if shaped || inline || (after_secret_flag && !a.starts_with('-')) {
            return Err(TemplateError::Secret { index });
        }
        after_secret_flag = !a.contains('=') && secret_flag(a);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vals() -> BTreeMap<&'static str, String> {
        BTreeMap::from([
            ("data", "/d/x; touch /tmp/pwned".to_string()),
            ("output_dir", "/o u t".to_string()),
        ])
    }

    #[test]
    fn placeholders_fill_whole_words_without_a_shell() {
        let argv = expand(
            "python 'my train.py' --data {data} --out={output_dir} --json '{{\"a\": 1}}'",
            &vals(),
        )
        .unwrap();
        assert_eq!(
            argv,
            vec![
                "python",
                "my train.py",
                "--data",
                "/d/x; touch /tmp/pwned",
                "--out=/o u t",
                "--json",
                "{\"a\": 1}"
            ]
        );
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason() {
        assert_eq!(expand("", &vals()), Err(TemplateError::Empty));
        assert!(matches!(
            expand("python 'x", &vals()),
            Err(TemplateError::Split(_))
        ));
        assert!(matches!(
            expand("run {nope}", &vals()),
            Err(TemplateError::Unknown { .. })
        ));
        for bad in [
            "train --hub_token hf_abcdefghijklmnopqrstu",
            "train --api-key=abc",
            "train sk-aaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert!(
                matches!(expand(bad, &vals()), Err(TemplateError::Secret { .. })),
                "{bad}"
            );
        }
        assert!(expand("train --tokenizer {data}", &vals()).is_ok());
        assert!(expand("train --max_tokens 5", &vals()).is_ok());
    }
}
