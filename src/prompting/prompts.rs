//! Prompt templates, Chinese and English, compiled in from `src/prompting/prompts/` and
//! overridable by files of the same name in `<data dir>/prompts/<lang>/`. `{name}` marks a
//! placeholder; other braces (JSON examples) are left alone.

use std::path::Path;

/// A prompt language.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

macro_rules! shipped {
    ($($name:literal),*) => {
        fn shipped(lang: Lang, name: &str) -> Option<&'static str> {
            match (lang, name) {
                $( (Lang::Zh, $name) => Some(include_str!(concat!("prompts/zh/", $name, ".txt"))),
                   (Lang::En, $name) => Some(include_str!(concat!("prompts/en/", $name, ".txt"))), )*
                _ => None,
            }
        }
        /// Every template name.
        pub const NAMES: &[&str] = &[$($name),*];
    };
}

shipped!(
    "questions",
    "grounded_answer",
    "cot_solve",
    "cot_continue",
    "cot_complete",
    "step_check",
    "judge",
    "mc_answer",
    "mc_evaluate"
);

/// The template `name` in `lang`: the user's file if there is one, else the shipped one.
pub fn template(lang: Lang, name: &str) -> Result<String, String> {
    template_in(&crate::paths::data_dir().join("prompts"), lang, name)
}

pub fn template_in(dir: &Path, lang: Lang, name: &str) -> Result<String, String> {
    let path = dir.join(lang.as_str()).join(format!("{name}.txt"));
    match std::fs::read_to_string(&path) {
        Ok(text) => return Ok(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(format!(
                "cannot read prompt override {}: {e}",
                path.display()
            ));
        }
    }
    shipped(lang, name)
        .map(str::to_string)
        .ok_or_else(|| format!("no prompt named {name:?}; known: {}", NAMES.join(", ")))
}

/// Fills `{key}` placeholders.
pub fn render(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// Loads and fills a template in one go.
pub fn prompt(lang: Lang, name: &str, vars: &[(&str, &str)]) -> Result<String, String> {
    Ok(render(&template(lang, name)?, vars))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_exists_in_both_languages_and_can_be_overridden() {
        let dir = tempfile::tempdir().unwrap();
        for name in NAMES {
            for lang in [Lang::Zh, Lang::En] {
                assert!(!template_in(dir.path(), lang, name).unwrap().is_empty());
            }
        }
        std::fs::create_dir_all(dir.path().join("en")).unwrap();
        std::fs::write(dir.path().join("en/judge.txt"), "mine {question}").unwrap();
        let t = template_in(dir.path(), Lang::En, "judge").unwrap();
        assert_eq!(render(&t, &[("question", "q?")]), "mine q?");
        assert!(template_in(dir.path(), Lang::En, "nope").is_err());
        let j = template_in(dir.path(), Lang::Zh, "judge").unwrap();
        assert!(render(&j, &[("rubric", "r")]).contains("{\"pass\""));
    }
}
