//! What the new-run form remembers between sessions: the values of the last run the user
//! started from it (trainer, model, template, command, hyperparameters), kept in a small JSON
//! file in assay's data dir (`train-form.json`), so the next form opens on them.
//!
//! A file rather than the store: these are one person's preferences across databases, like
//! the keymap and the theme beside it, not a record of the data; the run itself is recorded in
//! the store. The dataset is not remembered (the form opens on the dataset on screen). Nothing
//! secret is kept: the form has no key or token field, and values are written only after a run
//! started, so a command template carrying a key shape was refused before
//! (`train::external::template`). A missing or unreadable file means the defaults.

use super::{TrainForm, Value};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The file's name in the data dir.
pub const FILE_NAME: &str = "train-form.json";

/// The last started run's form values, by field name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LastValues {
    /// `builtin`, `llamafactory` or `cmd`.
    pub trainer: String,
    /// Every field's text but the dataset's and the trainer's, hidden ones too (switching the
    /// trainer back finds them as they were).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

impl LastValues {
    pub fn of(form: &TrainForm) -> LastValues {
        LastValues {
            trainer: form.trainer(),
            fields: form
                .fields
                .iter()
                .filter(|f| matches!(f.value, Value::Text(_)))
                .map(|f| (f.name.to_string(), f.text()))
                .collect(),
        }
    }

    /// The values in `path`; `None` when there is none or it cannot be read (logged).
    pub fn read(path: &Path) -> Option<LastValues> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!("{}: cannot read: {e}", path.display());
                return None;
            }
        };
        serde_json::from_str(&text)
            .map_err(|e| tracing::warn!("{}: not the form's values: {e}", path.display()))
            .ok()
    }

    /// Writes the values to `path` (then renamed into place, so a crash leaves the old file).
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(self)?)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_the_file_and_bad_files_mean_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join(FILE_NAME);
        assert_eq!(LastValues::read(&path), None);
        let mut form = TrainForm::new(vec!["d".into()], 0, "m.gguf".into(), None);
        form.set_trainer("cmd");
        form.set("command", "python t.py {data}");
        let last = LastValues::of(&form);
        assert!(!last.fields.contains_key("dataset"));
        last.write(&path).unwrap();
        assert_eq!(LastValues::read(&path), Some(last));
        std::fs::write(&path, "{not json").unwrap();
        assert_eq!(LastValues::read(&path), None);
    }
}
