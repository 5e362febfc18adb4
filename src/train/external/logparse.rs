//! Reading trainers' progress: LLaMA-Factory's `trainer_log.jsonl` lines, and the Hugging Face
//! Trainer's stdout (Python dict lines such as `{'loss': 1.23, 'learning_rate': 2e-05,
//! 'epoch': 0.5}` among tqdm progress bars).
//!
//! Hand-written because the dict lines are Python `repr`, not JSON (single quotes, `nan`), and
//! only flat scalar dicts matter; a Python-literal parser crate would be more than the job.

use crate::store::RunPoint;

/// One `trainer_log.jsonl` line as a point; `None` for lines that carry neither loss nor eval
/// loss (or are not JSON: a line being written is handled by the tail, not here).
pub fn llamafactory_point(line: &str, elapsed_s: f64) -> Option<RunPoint> {
    let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    let num = |k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let p = RunPoint {
        step: v.get("current_steps")?.as_u64()?,
        total_steps: v.get("total_steps").and_then(serde_json::Value::as_u64),
        epoch: num("epoch"),
        loss: num("loss"),
        eval_loss: num("eval_loss"),
        lr: num("lr").or_else(|| num("learning_rate")),
        tokens_per_s: num("throughput"),
        grad_norm: num("grad_norm"),
        elapsed_s,
    };
    (p.loss.is_some() || p.eval_loss.is_some()).then_some(p)
}

/// What a `trainer_log.jsonl` line says besides its point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LlamaFactoryMark {
    /// The trainer's own time since it started (`"elapsed_time": "1 day, 2:03:04"`).
    pub elapsed_s: Option<f64>,
    /// The closing line the Hugging Face Trainer logs when training ends: the last step, and
    /// no loss of any kind (its `train_loss` summary is not a logged loss).
    pub finished: bool,
}

/// Reads [`LlamaFactoryMark`] from a line; `None` for a line that is not a JSON object.
pub fn llamafactory_mark(line: &str) -> Option<LlamaFactoryMark> {
    let v: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    let obj = v.as_object()?;
    let step = obj.get("current_steps").and_then(serde_json::Value::as_u64);
    let total = obj.get("total_steps").and_then(serde_json::Value::as_u64);
    let lossless = !["loss", "eval_loss", "predict_loss"]
        .iter()
        .any(|k| obj.contains_key(*k));
    let finished = matches!((step, total), (Some(s), Some(t)) if t > 0 && s >= t) && lossless;
    let elapsed_s = obj
        .get("elapsed_time")
        .and_then(serde_json::Value::as_str)
        .and_then(timedelta_seconds);
    Some(LlamaFactoryMark {
        elapsed_s,
        finished,
    })
}

/// Python's `str(timedelta)`: `H:MM:SS`, `D day(s), H:MM:SS`, with optional `.ffffff`.
fn timedelta_seconds(s: &str) -> Option<f64> {
    let (days, clock) = match s.split_once(", ") {
        Some((d, c)) => {
            let n: f64 = d.split_whitespace().next()?.parse().ok()?;
            (n, c)
        }
        None => (0.0, s),
    };
    let mut parts = clock.trim().split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let sec: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Some(days * 86400.0 + h * 3600.0 + m * 60.0 + sec)
}

/// The scalar entries of a flat Python dict literal found in `line`: `(key, value)` with the
/// value as a number where it reads as one (quoted numbers included, `nan`/`inf` too).
pub fn python_dict(line: &str) -> Option<Vec<(String, Option<f64>)>> {
    let start = line.find("{'")?;
    let body = &line[start + 1..];
    let end = body.rfind('}')?;
    let body = &body[..end];
    let mut out = Vec::new();
    let mut rest = body.trim();
    while !rest.is_empty() {
        let r = rest.strip_prefix('\'')?;
        let close = r.find('\'')?;
        let key = r[..close].to_string();
        let r = r[close + 1..].trim_start().strip_prefix(':')?.trim_start();
        let (raw, after) = if let Some(q) = r.strip_prefix('\'') {
            let close = q.find('\'')?;
            (&q[..close], &q[close + 1..])
        } else {
            let cut = r.find(',').unwrap_or(r.len());
            (r[..cut].trim(), &r[cut..])
        };
        out.push((key, number(raw)));
        rest = after.trim_start();
        rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
    Some(out)
}

fn number(raw: &str) -> Option<f64> {
    let raw = raw.trim();
    // `tensor(1.23)` appears in some older scripts' logs.
    let raw = raw
        .strip_prefix("tensor(")
        .and_then(|r| r.split([',', ')']).next())
        .unwrap_or(raw);
    raw.parse::<f64>().ok()
}

/// `(done, total)` of a tqdm bar without a description (`" 10%|█  | 10/100 [00:05<00:45, ...]"`).
/// Bars with one (`Map: 100%|...`, dataset preprocessing) return `None`.
pub fn tqdm_progress(line: &str) -> Option<(u64, u64)> {
    let t = line.trim_start();
    let pct = t.find("%|")?;
    if !t[..pct].trim().chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let after_bar = &t[pct + 2..];
    let bar_end = after_bar.find('|')?;
    let counts = after_bar[bar_end + 1..].split_whitespace().next()?;
    let (done, total) = counts.split_once('/')?;
    Some((done.parse().ok()?, total.parse().ok()?))
}

/// Turns a Hugging Face Trainer's output lines into points. The step comes from a `step` key
/// when the script logs one, else from the training progress bar (the first description-less
/// tqdm bar seen: evaluation bars that come later have other totals), else from counting.
#[derive(Debug, Default)]
pub struct HfLogReader {
    train_total: Option<u64>,
    step: u64,
    logged: u64,
}

impl HfLogReader {
    pub fn line(&mut self, line: &str, elapsed_s: f64) -> Option<RunPoint> {
        if let Some((done, total)) = tqdm_progress(line) {
            if self.train_total.is_none() {
                self.train_total = Some(total);
            }
            if self.train_total == Some(total) {
                self.step = done;
            }
        }
        let entries = python_dict(line)?;
        let get = |k: &str| entries.iter().find(|(key, _)| key == k).and_then(|e| e.1);
        let (loss, eval_loss) = (get("loss"), get("eval_loss"));
        if loss.is_none() && eval_loss.is_none() {
            return None;
        }
        self.logged += 1;
        let step = match get("step") {
            Some(s) if s >= 0.0 => s as u64,
            _ if self.train_total.is_some() => self.step,
            _ => self.logged,
        };
        Some(RunPoint {
            step,
            total_steps: self.train_total,
            epoch: get("epoch"),
            loss,
            eval_loss,
            lr: get("learning_rate"),
            tokens_per_s: get("train_tokens_per_second"),
            grad_norm: get("grad_norm"),
            elapsed_s,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_hf_dict_lines_among_tqdm_noise() {
        let mut r = HfLogReader::default();
        assert!(
            r.line(
                "Map: 100%|██████████| 200/200 [00:00<00:00, 9000 examples/s]",
                0.0
            )
            .is_none()
        );
        assert!(
            r.line("  5%|▌         | 5/100 [00:02<00:38,  2.47it/s]", 1.0)
                .is_none()
        );
        let p = r
            .line(
                "{'loss': 2.1379, 'grad_norm': 1.49, 'learning_rate': 1.9e-05, 'epoch': 0.09}",
                2.0,
            )
            .unwrap();
        assert_eq!(
            (p.step, p.total_steps, p.loss, p.lr, p.epoch),
            (5, Some(100), Some(2.1379), Some(1.9e-05), Some(0.09))
        );
        // An eval bar (other total) does not move the training step.
        r.line("100%|██████████| 7/7 [00:00<00:00, 20.1it/s]", 3.0);
        let e = r
            .line(
                "{'eval_loss': '1.5', 'eval_runtime': 0.4, 'epoch': 0.1}",
                3.0,
            )
            .unwrap();
        assert_eq!((e.step, e.eval_loss, e.loss), (5, Some(1.5), None));
        // The closing summary has no loss key: not a point.
        assert!(
            r.line(
                "{'train_runtime': 12.3, 'train_loss': 1.7, 'epoch': 3.0}",
                4.0
            )
            .is_none()
        );
        assert!(r.line("plain text", 4.0).is_none());
        assert!(
            r.line("{'loss': nan, 'epoch': 1}", 4.0)
                .unwrap()
                .loss
                .unwrap()
                .is_nan()
        );
    }

    #[test]
    fn without_a_bar_steps_are_counted() {
        let mut r = HfLogReader::default();
        let a = r.line("{'loss': 1.0}", 0.0).unwrap();
        let b = r.line("{'loss': 0.9, 'step': 20}", 0.0).unwrap();
        assert_eq!((a.step, b.step), (1, 20));
    }

    #[test]
    fn reads_llamafactory_lines() {
        let p = llamafactory_point(
            r#"{"current_steps": 10, "total_steps": 30, "loss": 1.25, "lr": 9e-05, "epoch": 0.5, "percentage": 33.3, "elapsed_time": "0:00:10", "remaining_time": "0:00:20", "throughput": 812.5, "total_tokens": 8125}"#,
            1.0,
        )
        .unwrap();
        assert_eq!(
            (p.step, p.total_steps, p.loss, p.tokens_per_s),
            (10, Some(30), Some(1.25), Some(812.5))
        );
        let e = llamafactory_point(
            r#"{"current_steps": 10, "total_steps": 30, "eval_loss": 1.4}"#,
            1.0,
        )
        .unwrap();
        assert_eq!(e.eval_loss, Some(1.4));
        assert!(llamafactory_point(r#"{"current_steps": 1, "total_st"#, 0.0).is_none());
        assert!(llamafactory_point("", 0.0).is_none());
    }

    #[test]
    fn llamafactory_marks_the_end_and_its_own_clock() {
        let last = llamafactory_mark(
            r#"{"current_steps": 30, "total_steps": 30, "loss": 1.1, "elapsed_time": "0:01:05"}"#,
        )
        .unwrap();
        assert_eq!((last.finished, last.elapsed_s), (false, Some(65.0)));
        let end = llamafactory_mark(
            r#"{"current_steps": 30, "total_steps": 30, "epoch": 3.0, "percentage": 100.0, "elapsed_time": "1 day, 2:03:04", "remaining_time": "0:00:00"}"#,
        )
        .unwrap();
        assert_eq!(
            (end.finished, end.elapsed_s),
            (true, Some(86400.0 + 7384.0))
        );
        let eval =
            llamafactory_mark(r#"{"current_steps": 30, "total_steps": 30, "eval_loss": 1.3}"#);
        assert!(!eval.unwrap().finished);
        assert!(llamafactory_mark("not json").is_none());
        assert_eq!(timedelta_seconds("2 days, 0:00:01.5"), Some(172801.5));
        assert_eq!(timedelta_seconds("1:2"), None);
    }

    #[test]
    fn dict_parser_never_panics_on_odd_text() {
        for s in [
            "{'",
            "{'a",
            "{'a':",
            "{'a': '1",
            "{'a': 1,, 'b'}",
            "}{'x': 1}",
            "{'é': 2}",
        ] {
            let _ = python_dict(s);
            let _ = tqdm_progress(s);
        }
        assert_eq!(python_dict("{'é': 2}").unwrap()[0].1, Some(2.0));
    }
}
