//! The train screen's state: the runs (as the store has them), the points loaded per run, the
//! run overlaid for comparison, and the new-run form (each trainer's fields, the last values it
//! opens on, a refusal of the audit gate) with its validation. Pure data: the reducer
//! (`update`) changes it, the worker (`tui::train_worker`) fills it, `view` draws it.

pub mod memory;
mod update;
pub mod view;

use crate::store::{RunInfo, RunPoint};
use crate::train::external::TrainerSpec;
use crate::train::settings::{Missing, Settings, TrainerKind};
pub use memory::LastValues;
use std::collections::HashMap;
use std::path::PathBuf;
pub use update::IDLE_POLL_TICKS;

/// Points of one run loaded so far; `seq` is the last one's number (the next poll asks after
/// it, so a live run costs only its new points).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadedPoints {
    pub seq: i64,
    pub points: Vec<RunPoint>,
}

#[derive(Debug, Default)]
pub struct TrainPanel {
    pub runs: Vec<RunInfo>,
    pub cursor: usize,
    /// A second run drawn over the selected one.
    pub compare: Option<i64>,
    pub points: HashMap<i64, LoadedPoints>,
    pub form: Option<TrainForm>,
    /// The assay executable that supervises runs (the running binary; set by tests).
    pub exe: Option<PathBuf>,
    /// A refresh is in flight: ticks do not pile up requests.
    pub polling: bool,
    /// Select this run once the list has it (a run just started).
    pub select: Option<i64>,
    /// The values the last run was started with (from the file, or this session's start);
    /// a new form opens on them.
    pub last: Option<LastValues>,
    /// A start is in flight, with the form's values to keep once it started.
    pub starting: Option<LastValues>,
    /// Ticks since the last poll while no run was active.
    pub idle_ticks: u32,
}

impl TrainPanel {
    pub fn selected(&self) -> Option<&RunInfo> {
        self.runs.get(self.cursor)
    }

    pub fn run(&self, id: i64) -> Option<&RunInfo> {
        self.runs.iter().find(|r| r.id == id)
    }

    pub fn points_of(&self, id: i64) -> &[RunPoint] {
        self.points.get(&id).map_or(&[], |p| p.points.as_slice())
    }
}

/// What a form field holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// One of the options, by index.
    Choice(Vec<String>, usize),
    Text(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: &'static str,
    pub help: &'static str,
    pub value: Value,
}

impl Field {
    pub fn text(&self) -> String {
        match &self.value {
            Value::Choice(opts, i) => opts.get(*i).cloned().unwrap_or_default(),
            Value::Text(s) => s.clone(),
        }
    }

    /// The help line under the form, for the chosen trainer (the model means a different
    /// thing to each).
    pub fn help_for(&self, trainer: &str) -> &'static str {
        match (self.name, trainer) {
            ("model", "builtin") => "a GGUF file or a Hugging Face folder (the base to adapt)",
            ("model", "llamafactory") => "a Hugging Face id or folder (model_name_or_path)",
            ("model", _) => "optional: fills {model} in the command",
            _ => self.help,
        }
    }
}

pub const TRAINERS: [&str; 3] = ["builtin", "llamafactory", "cmd"];

/// Which fields a trainer uses; the form shows only those.
pub fn used_by(field: &str, trainer: &str) -> bool {
    match field {
        "dataset" | "trainer" | "model" => true,
        "template" => trainer == "llamafactory",
        "command" => trainer == "cmd",
        // A command template gets its settings from its own flags.
        _ => trainer != "cmd",
    }
}

/// The new-run form.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainForm {
    /// Every trainer's fields; those of the chosen trainer are shown (`visible`).
    pub fields: Vec<Field>,
    /// Index into `fields`, always a visible one.
    pub focus: usize,
    /// The field at fault and why, after a failed start.
    pub error: Option<(usize, String)>,
    /// The audit gate refused the last start: what the dataset still needs. A waiver with a
    /// reason (the prompt line) may start it anyway.
    pub refused: Option<String>,
    /// Something was typed or chosen since the form opened.
    pub touched: bool,
}

impl TrainForm {
    /// A form on `datasets` (`current` chosen) with the defaults, or the values the last run
    /// was started with (`last`) where it has them.
    pub fn new(
        datasets: Vec<String>,
        current: usize,
        base: String,
        last: Option<&LastValues>,
    ) -> TrainForm {
        let t = |name, help, v: &str| Field {
            name,
            help,
            value: Value::Text(v.to_string()),
        };
        let d = Settings::default();
        let mut form = TrainForm {
            fields: vec![
                Field {
                    name: "dataset",
                    help: "its accepted samples are trained on; the audit gate applies (←/→)",
                    value: Value::Choice(datasets, current),
                },
                Field {
                    name: "trainer",
                    help: "builtin: candle on this machine; llamafactory; cmd: a script (←/→)",
                    value: Value::Choice(TRAINERS.iter().map(|s| s.to_string()).collect(), 0),
                },
                t(
                    "command",
                    "python train.py --data {data} --out {output_dir} (no shell)",
                    "",
                ),
                t("model", "the model to adapt", &base),
                t(
                    "template",
                    "LLaMA-Factory chat template (qwen, llama3...)",
                    &d.template,
                ),
                t("rank", "LoRA rank", &d.rank.to_string()),
                t("alpha", "LoRA alpha", &d.alpha.to_string()),
                t("lr", "learning rate", &d.lr.to_string()),
                t(
                    "epochs",
                    "passes over the data (ignored if max steps > 0)",
                    &d.epochs.to_string(),
                ),
                t(
                    "max_steps",
                    "optimiser steps (0: use epochs)",
                    &d.max_steps.to_string(),
                ),
                t("batch_size", "samples per step", &d.batch_size.to_string()),
                t(
                    "max_seq_len",
                    "tokens per sample",
                    &d.max_seq_len.to_string(),
                ),
            ],
            focus: 0,
            error: None,
            refused: None,
            touched: false,
        };
        if let Some(last) = last {
            form.apply(last);
        }
        form
    }

    /// Takes the values of the last run started (all but the dataset).
    pub fn apply(&mut self, last: &LastValues) {
        self.set_trainer(&last.trainer);
        for (name, v) in &last.fields {
            self.set(name, v);
        }
        if !self.visible().contains(&self.focus) {
            self.focus = 0;
        }
    }

    pub fn get(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(Field::text)
            .unwrap_or_default()
    }

    /// Sets a text field by name (other names are ignored: a file from another version).
    pub fn set(&mut self, name: &str, value: &str) {
        if let Some(Value::Text(s)) = self
            .fields
            .iter_mut()
            .find(|f| f.name == name)
            .map(|f| &mut f.value)
        {
            *s = value.to_string();
        }
    }

    /// Chooses a trainer by name (an unknown one is ignored).
    pub fn set_trainer(&mut self, name: &str) {
        if let Some(Value::Choice(opts, i)) = self
            .fields
            .iter_mut()
            .find(|f| f.name == "trainer")
            .map(|f| &mut f.value)
            && let Some(k) = opts.iter().position(|o| o == name)
        {
            *i = k;
        }
    }

    fn index(&self, name: &str) -> usize {
        self.fields.iter().position(|f| f.name == name).unwrap_or(0)
    }

    pub fn trainer(&self) -> String {
        self.get("trainer")
    }

    /// The indices of the fields the chosen trainer uses, in order.
    pub fn visible(&self) -> Vec<usize> {
        let trainer = self.trainer();
        (0..self.fields.len())
            .filter(|&i| used_by(self.fields[i].name, &trainer))
            .collect()
    }

    /// Moves the focus by `delta` visible fields, wrapping around.
    pub fn focus_by(&mut self, delta: isize) {
        let shown = self.visible();
        let at = shown.iter().position(|&i| i == self.focus).unwrap_or(0) as isize;
        let n = shown.len().max(1) as isize;
        self.focus = shown
            .get((at + delta).rem_euclid(n) as usize)
            .copied()
            .unwrap_or(0);
    }

    /// The next or previous option of the focused choice. Choosing another trainer changes
    /// the fields shown; the focus stays on the trainer, and an error about a field that is
    /// no longer shown goes.
    pub fn cycle(&mut self, delta: isize) {
        if let Some(Value::Choice(opts, i)) = self.fields.get_mut(self.focus).map(|f| &mut f.value)
            && !opts.is_empty()
        {
            *i = (*i as isize + delta).rem_euclid(opts.len() as isize) as usize;
            self.touched = true;
            self.refused = None;
            if let Some((at, _)) = self.error
                && !self.visible().contains(&at)
            {
                self.error = None;
            }
        }
    }

    pub fn type_char(&mut self, c: char) {
        if let Some(Value::Text(s)) = self.fields.get_mut(self.focus).map(|f| &mut f.value) {
            s.push(c);
            self.touched = true;
        }
    }

    pub fn backspace(&mut self) {
        if let Some(Value::Text(s)) = self.fields.get_mut(self.focus).map(|f| &mut f.value) {
            s.pop();
            self.touched = true;
        }
    }

    /// The dataset name and trainer settings, or the field at fault and why.
    /// Only the fields the chosen trainer uses are read; the others keep their defaults.
    pub fn validate(&self) -> Result<(String, TrainerSpec), (usize, String)> {
        let trainer = self.trainer();
        let d = Settings::default();
        let num = |name: &str, default: f64| -> Result<f64, (usize, String)> {
            if !used_by(name, &trainer) {
                return Ok(default);
            }
            let raw = self.get(name);
            match raw.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err((
                    self.index(name),
                    format!("{name}: {raw:?} is not a number ≥ 0"),
                )),
            }
        };
        let int = |name: &str, min: usize, default: usize| -> Result<usize, (usize, String)> {
            if !used_by(name, &trainer) {
                return Ok(default);
            }
            let raw = self.get(name);
            match raw.trim().parse::<usize>() {
                Ok(v) if v >= min => Ok(v),
                _ => Err((
                    self.index(name),
                    format!("{name}: {raw:?} is not a whole number ≥ {min}"),
                )),
            }
        };
        let dataset = self.get("dataset");
        if dataset.is_empty() {
            return Err((self.index("dataset"), "no dataset: import one first".into()));
        }
        let lr = num("lr", d.lr)?;
        if lr <= 0.0 {
            return Err((self.index("lr"), "lr: must be above 0".into()));
        }
        let (epochs, max_steps) = (num("epochs", d.epochs)?, int("max_steps", 0, d.max_steps)?);
        if epochs <= 0.0 && max_steps == 0 {
            return Err((self.index("epochs"), "set epochs > 0 or max_steps".into()));
        }
        let rank = int("rank", 1, d.rank)?;
        let alpha = num("alpha", d.alpha)?;
        let batch_size = int("batch_size", 1, d.batch_size)?;
        let max_seq_len = int("max_seq_len", 2, d.max_seq_len)?;
        let model = self.get("model").trim().to_string();
        let need = |name: &str, v: &str| -> Result<(), (usize, String)> {
            if v.trim().is_empty() {
                Err((
                    self.index(name),
                    format!("{name}: required for this trainer"),
                ))
            } else {
                Ok(())
            }
        };
        let (trainer, base, command) = match trainer.as_str() {
            "builtin" => {
                need("model", &model)?;
                (TrainerKind::Builtin, Some(PathBuf::from(&model)), None)
            }
            "llamafactory" => {
                need("model", &model)?;
                need("template", &self.get("template"))?;
                (TrainerKind::Llamafactory, None, None)
            }
            _ => {
                need("command", &self.get("command"))?;
                (TrainerKind::Cmd, None, Some(self.get("command")))
            }
        };
        let settings = Settings {
            trainer,
            base,
            model: (!model.is_empty()).then_some(model),
            template: self.get("template").trim().to_string(),
            command,
            rank,
            alpha,
            lr,
            epochs,
            max_steps,
            batch_size,
            max_seq_len,
            ..Settings::default()
        };
        let spec = settings.spec().map_err(|m| {
            let name = match m {
                Missing::Model => "model",
                Missing::Command => "command",
            };
            (
                self.index(name),
                format!("{name}: required for this trainer"),
            )
        })?;
        Ok((dataset, spec))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(f: &TrainForm) -> Vec<&'static str> {
        f.visible().into_iter().map(|i| f.fields[i].name).collect()
    }

    #[test]
    fn the_form_validates_and_points_at_the_bad_field() {
        let mut f = TrainForm::new(vec!["a".into(), "b".into()], 1, "m.gguf".into(), None);
        let (ds, spec) = f.validate().unwrap();
        assert_eq!((ds.as_str(), spec.kind()), ("b", "builtin"));
        f.focus = f.index("rank");
        f.backspace();
        f.type_char('x');
        let (i, why) = f.validate().unwrap_err();
        assert_eq!(f.fields[i].name, "rank");
        assert!(why.contains("\"x\""));
        f.backspace();
        f.type_char('4');
        f.focus = f.index("trainer");
        f.cycle(-1);
        assert_eq!(f.trainer(), "cmd");
        let (i, _) = f.validate().unwrap_err();
        assert_eq!(f.fields[i].name, "command");
        f.focus = f.index("command");
        for c in "python t.py {data}".chars() {
            f.type_char(c);
        }
        assert_eq!(f.validate().unwrap().1.kind(), "cmd");
        f.focus_by(-100);
        assert!(f.focus < f.fields.len());
    }

    #[test]
    fn only_the_chosen_trainers_fields_are_shown_and_focused() {
        let mut f = TrainForm::new(vec!["a".into()], 0, "m.gguf".into(), None);
        let tuned = [
            "rank",
            "alpha",
            "lr",
            "epochs",
            "max_steps",
            "batch_size",
            "max_seq_len",
        ];
        let with = |head: &[&'static str]| -> Vec<&'static str> {
            head.iter().chain(tuned.iter()).copied().collect()
        };
        assert_eq!(names(&f), with(&["dataset", "trainer", "model"]));
        // A bad value in a field the next trainer does not use stops nothing there.
        f.focus = f.index("lr");
        f.type_char('x');
        assert!(f.validate().is_err());
        f.focus = f.index("trainer");
        f.cycle(1);
        assert_eq!(f.trainer(), "llamafactory");
        assert_eq!(
            names(&f),
            with(&["dataset", "trainer", "model", "template"])
        );
        assert_eq!(f.fields[f.focus].name, "trainer", "the cursor stays put");
        f.cycle(1);
        assert_eq!(f.trainer(), "cmd");
        assert_eq!(names(&f), ["dataset", "trainer", "command", "model"]);
        f.set("command", "python t.py {data}");
        assert_eq!(f.validate().unwrap().1.kind(), "cmd", "lr is not read");
        // Moving walks the shown fields only, both ways round.
        let mut seen = Vec::new();
        for _ in 0..4 {
            f.focus_by(1);
            seen.push(f.fields[f.focus].name);
        }
        assert_eq!(seen, ["command", "model", "dataset", "trainer"]);
        f.focus_by(-1);
        assert_eq!(f.fields[f.focus].name, "dataset");
    }

    #[test]
    fn the_form_opens_on_the_last_values() {
        let mut first = TrainForm::new(vec!["a".into()], 0, "m.gguf".into(), None);
        first.set_trainer("llamafactory");
        first.set("model", "Qwen/Qwen2.5-1.5B");
        first.set("template", "qwen");
        first.set("rank", "16");
        let last = LastValues::of(&first);
        let f = TrainForm::new(
            vec!["a".into(), "b".into()],
            1,
            "m.gguf".into(),
            Some(&last),
        );
        assert_eq!(f.trainer(), "llamafactory");
        assert_eq!(
            (f.get("model"), f.get("template"), f.get("rank")),
            ("Qwen/Qwen2.5-1.5B".into(), "qwen".into(), "16".into())
        );
        assert_eq!(f.get("dataset"), "b", "the dataset on screen");
        assert!(!f.touched);
        // A file from another version: unknown names and trainers are ignored.
        let odd = LastValues {
            trainer: "unsloth".into(),
            fields: [("gpus".to_string(), "8".to_string())].into(),
        };
        let f = TrainForm::new(vec!["a".into()], 0, "m.gguf".into(), Some(&odd));
        assert_eq!(f.trainer(), "builtin");
    }
}
