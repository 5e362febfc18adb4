//! The series a loss chart draws from a run's points (raw and smoothed loss, eval loss,
//! learning rate) and the figures beside it (throughput, ETA); shared by the TUI chart and
//! `assay runs plot`, so both show the same curves.

use crate::store::RunPoint;

/// Smoothing weight of the loss curve, TensorBoard's default.
pub const SMOOTHING: f64 = 0.6;

/// The curves of one run, as (step, value) pairs in step order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curves {
    pub loss: Vec<(f64, f64)>,
    pub smoothed: Vec<(f64, f64)>,
    pub eval_loss: Vec<(f64, f64)>,
    pub lr: Vec<(f64, f64)>,
}

impl Curves {
    pub fn from_points(points: &[RunPoint]) -> Self {
        let pick = |f: fn(&RunPoint) -> Option<f64>| -> Vec<(f64, f64)> {
            points
                .iter()
                .filter_map(|p| f(p).filter(|v| v.is_finite()).map(|v| (p.step as f64, v)))
                .collect()
        };
        let loss = pick(|p| p.loss);
        Curves {
            smoothed: smooth(&loss, SMOOTHING),
            loss,
            eval_loss: pick(|p| p.eval_loss),
            lr: pick(|p| p.lr),
        }
    }

    /// (min, max) over every loss value (raw and eval), or `None` without any.
    pub fn loss_range(&self) -> Option<(f64, f64)> {
        range(self.loss.iter().chain(&self.eval_loss).map(|p| p.1))
    }

    pub fn step_range(&self) -> Option<(f64, f64)> {
        range(
            self.loss
                .iter()
                .chain(&self.eval_loss)
                .chain(&self.lr)
                .map(|p| p.0),
        )
    }

    pub fn lr_range(&self) -> Option<(f64, f64)> {
        range(self.lr.iter().map(|p| p.1))
    }
}

/// (min, max) of finite values.
pub fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values
        .filter(|v| v.is_finite())
        .fold(None, |acc, v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// Widens a range that is a single value, so an axis never has zero length.
pub fn padded((lo, hi): (f64, f64)) -> (f64, f64) {
    if hi - lo > f64::EPSILON * hi.abs().max(1.0) {
        let pad = (hi - lo) * 0.05;
        (lo - pad, hi + pad)
    } else {
        let pad = lo.abs().max(1.0) * 0.1;
        (lo - pad, hi + pad)
    }
}

/// Exponential moving average with TensorBoard's debiasing (the first values are not pulled
/// towards zero).
pub fn smooth(points: &[(f64, f64)], weight: f64) -> Vec<(f64, f64)> {
    let mut last = 0.0;
    let mut n = 0;
    points
        .iter()
        .map(|&(x, y)| {
            last = last * weight + (1.0 - weight) * y;
            n += 1;
            let debias = 1.0 - weight.powi(n);
            (x, if debias > 0.0 { last / debias } else { y })
        })
        .collect()
}

/// Throughput and time left, from the latest points of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Progress {
    pub step: u64,
    pub total_steps: Option<u64>,
    pub tokens_per_s: Option<f64>,
    pub steps_per_s: Option<f64>,
    pub eta_s: Option<f64>,
}

pub fn progress(points: &[RunPoint]) -> Progress {
    let Some(last) = points.last() else {
        return Progress::default();
    };
    let total = points.iter().rev().find_map(|p| p.total_steps);
    let tokens = points.iter().rev().find_map(|p| p.tokens_per_s);
    // Rate over the recorded span: a single slow step (an eval) does not swing the ETA.
    let first = points.first().unwrap_or(last);
    let steps = last.step.saturating_sub(first.step) as f64;
    let secs = last.elapsed_s - first.elapsed_s;
    let rate = (steps > 0.0 && secs > 0.0).then(|| steps / secs);
    let eta = match (total, rate) {
        (Some(t), Some(r)) => Some(t.saturating_sub(last.step) as f64 / r),
        _ => None,
    };
    Progress {
        step: last.step,
        total_steps: total,
        tokens_per_s: tokens,
        steps_per_s: rate,
        eta_s: eta,
    }
}

/// `1h02m`, `3m05s`, `42s`.
pub fn duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(step: u64, loss: Option<f64>, eval: Option<f64>, t: f64) -> RunPoint {
        RunPoint {
            step,
            total_steps: Some(10),
            loss,
            eval_loss: eval,
            lr: Some(1e-4),
            elapsed_s: t,
            ..RunPoint::default()
        }
    }

    #[test]
    fn curves_split_series_and_smooth_without_bias() {
        let pts = vec![
            pt(1, Some(4.0), None, 1.0),
            pt(2, Some(2.0), None, 2.0),
            pt(2, None, Some(3.0), 2.5),
            pt(3, Some(f64::NAN), None, 3.0),
        ];
        let c = Curves::from_points(&pts);
        assert_eq!(c.loss, vec![(1.0, 4.0), (2.0, 2.0)]);
        assert_eq!(c.eval_loss, vec![(2.0, 3.0)]);
        assert_eq!(c.smoothed[0], (1.0, 4.0));
        assert!(c.smoothed[1].1 > 2.0 && c.smoothed[1].1 < 4.0);
        assert_eq!(c.loss_range(), Some((2.0, 4.0)));
        let p = progress(&pts);
        assert_eq!((p.step, p.total_steps), (3, Some(10)));
        assert_eq!(p.steps_per_s, Some(1.0));
        assert_eq!(p.eta_s, Some(7.0));
        assert_eq!(duration(3725.0), "1h02m");
        assert_eq!(duration(65.0), "1m05s");
        assert_eq!(padded((1.0, 1.0)), (0.9, 1.1));
    }
}
