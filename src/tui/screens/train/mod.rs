//! The train screen's state: the runs (as the store has them), the points loaded per run, the
//! run overlaid for comparison, and the new-run form with its validation. Pure data: the
//! reducer (`update`) changes it, the worker (`tui::train_worker`) fills it, `view` draws it.

mod update;
pub mod view;

use crate::store::{RunInfo, RunPoint};
use crate::train::external::TrainerSpec;
use crate::train::settings::{Missing, Settings, TrainerKind};
use std::collections::HashMap;
use std::path::PathBuf;

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
}

pub const TRAINERS: [&str; 3] = ["builtin", "llamafactory", "cmd"];

/// Which fields a trainer uses (the others are shown dimmed and ignored).
pub fn used_by(field: &str, trainer: &str) -> bool {
    match field {
        "template" => trainer == "llamafactory",
        "command" => trainer == "cmd",
        _ => true,
    }
}

/// The new-run form.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainForm {
    pub fields: Vec<Field>,
    pub focus: usize,
    /// The field at fault and why, after a failed start.
    pub error: Option<(usize, String)>,
}

impl TrainForm {
    pub fn new(datasets: Vec<String>, current: usize, base: String) -> TrainForm {
        let t = |name, help, v: &str| Field {
            name,
            help,
            value: Value::Text(v.to_string()),
        };
        let d = Settings::default();
        TrainForm {
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
                    "model",
                    "builtin: GGUF file or HF folder; others: Hugging Face id or folder",
                    &base,
                ),
                t(
                    "template",
                    "LLaMA-Factory chat template (qwen, llama3...)",
                    &d.template,
                ),
                t(
                    "command",
                    "python train.py --data {data} --out {output_dir} (no shell)",
                    "",
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
        }
    }

    pub fn get(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .map(Field::text)
            .unwrap_or_default()
    }

    fn index(&self, name: &str) -> usize {
        self.fields.iter().position(|f| f.name == name).unwrap_or(0)
    }

    pub fn trainer(&self) -> String {
        self.get("trainer")
    }

    pub fn focus_by(&mut self, delta: isize) {
        let n = self.fields.len() as isize;
        self.focus = (self.focus as isize + delta).rem_euclid(n.max(1)) as usize;
    }

    pub fn cycle(&mut self, delta: isize) {
        if let Some(Value::Choice(opts, i)) = self.fields.get_mut(self.focus).map(|f| &mut f.value)
            && !opts.is_empty()
        {
            *i = (*i as isize + delta).rem_euclid(opts.len() as isize) as usize;
        }
    }

    pub fn type_char(&mut self, c: char) {
        if let Some(Value::Text(s)) = self.fields.get_mut(self.focus).map(|f| &mut f.value) {
            s.push(c);
        }
    }

    pub fn backspace(&mut self) {
        if let Some(Value::Text(s)) = self.fields.get_mut(self.focus).map(|f| &mut f.value) {
            s.pop();
        }
    }

    /// The dataset name and trainer settings, or the field at fault and why.
    pub fn validate(&self) -> Result<(String, TrainerSpec), (usize, String)> {
        let num = |name: &str| -> Result<f64, (usize, String)> {
            let raw = self.get(name);
            match raw.trim().parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
                _ => Err((
                    self.index(name),
                    format!("{name}: {raw:?} is not a number ≥ 0"),
                )),
            }
        };
        let int = |name: &str, min: usize| -> Result<usize, (usize, String)> {
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
        let lr = num("lr")?;
        if lr <= 0.0 {
            return Err((self.index("lr"), "lr: must be above 0".into()));
        }
        let (epochs, max_steps) = (num("epochs")?, int("max_steps", 0)?);
        if epochs <= 0.0 && max_steps == 0 {
            return Err((self.index("epochs"), "set epochs > 0 or max_steps".into()));
        }
        let rank = int("rank", 1)?;
        let alpha = num("alpha")?;
        let batch_size = int("batch_size", 1)?;
        let max_seq_len = int("max_seq_len", 2)?;
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
        let (trainer, base, command) = match self.trainer().as_str() {
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

    #[test]
    fn the_form_validates_and_points_at_the_bad_field() {
        let mut f = TrainForm::new(vec!["a".into(), "b".into()], 1, "m.gguf".into());
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
}
