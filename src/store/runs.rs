//! Training runs (migration 005): the trainer and its settings, the exact sample revisions it
//! trained on, its status and process, and every logged point, so that a run outlives the
//! process that watched it and `assay runs` or a reopened TUI can show it again.

use super::samples::{SAMPLE_COLUMNS, sample_from_row};
use super::{Result, SampleRecord, Store, StoreError};
use crate::model::now;
use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

/// Where a run is in its life. `Stopping` is a stop that was asked for and not yet obeyed.
/// `External`: its trainer runs on another machine (a bundle from `assay train --bundle`) and
/// nothing here follows it now; while `assay runs attach` follows it, it is `Running`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Stopping,
    Completed,
    Failed,
    Stopped,
    External,
}

impl RunStatus {
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Stopping,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Stopped,
        RunStatus::External,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Stopping => "stopping",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Stopped => "stopped",
            RunStatus::External => "external",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Still has (or is about to have) a process working on it.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            RunStatus::Queued | RunStatus::Running | RunStatus::Stopping
        )
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run to record before it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRun {
    /// `builtin`, `llamafactory` or `cmd`.
    pub trainer: String,
    pub dataset_id: Option<i64>,
    /// The settings, as JSON; callers keep secrets out of it.
    pub config: serde_json::Value,
    pub out_dir: String,
}

/// A run as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    pub id: i64,
    pub trainer: String,
    pub dataset_id: Option<i64>,
    pub dataset: Option<String>,
    pub config: serde_json::Value,
    pub status: RunStatus,
    pub stop_requested: bool,
    pub exit_code: Option<i32>,
    pub message: Option<String>,
    pub pid: Option<u32>,
    pub child_pid: Option<u32>,
    pub out_dir: String,
    pub artifacts: Vec<String>,
    pub log_tail: Vec<String>,
    pub total_steps: Option<u64>,
    pub samples: u64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
}

/// One logged point of a run. A trainer may log train loss and eval loss as separate points of
/// the same step, so every value but the step is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunPoint {
    pub step: u64,
    pub total_steps: Option<u64>,
    pub epoch: Option<f64>,
    pub loss: Option<f64>,
    pub eval_loss: Option<f64>,
    pub lr: Option<f64>,
    pub tokens_per_s: Option<f64>,
    pub grad_norm: Option<f64>,
    /// Seconds since the run started.
    pub elapsed_s: f64,
}

const RUN_COLUMNS: &str = "r.id, r.trainer, r.dataset_id, d.name, r.config, r.status,
    r.stop_requested, r.exit_code, r.message, r.pid, r.child_pid, r.out_dir, r.artifacts,
    r.log_tail, r.total_steps, r.samples, r.created_at, r.started_at, r.ended_at";

fn json_col<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    i: usize,
    column: &'static str,
    id: i64,
) -> Result<T> {
    let text: String = row.get(i)?;
    serde_json::from_str(&text).map_err(|source| StoreError::Corrupt {
        table: "runs",
        column,
        id,
        source,
    })
}

fn run_from_row(row: &Row<'_>) -> Result<RunInfo> {
    let id: i64 = row.get(0)?;
    let status: String = row.get(5)?;
    Ok(RunInfo {
        id,
        trainer: row.get(1)?,
        dataset_id: row.get(2)?,
        dataset: row.get(3)?,
        config: json_col(row, 4, "config", id)?,
        status: RunStatus::parse(&status)
            .ok_or_else(|| StoreError::Invalid(format!("run {id}: unknown status {status:?}")))?,
        stop_requested: row.get::<_, i64>(6)? != 0,
        exit_code: row.get(7)?,
        message: row.get(8)?,
        pid: row.get(9)?,
        child_pid: row.get(10)?,
        out_dir: row.get(11)?,
        artifacts: json_col(row, 12, "artifacts", id)?,
        log_tail: json_col(row, 13, "log_tail", id)?,
        total_steps: row.get::<_, Option<i64>>(14)?.map(|n| n.max(0) as u64),
        samples: row.get::<_, i64>(15)?.max(0) as u64,
        created_at: row.get(16)?,
        started_at: row.get(17)?,
        ended_at: row.get(18)?,
    })
}

fn point_from_row(row: &Row<'_>) -> rusqlite::Result<(i64, RunPoint)> {
    Ok((
        row.get(0)?,
        RunPoint {
            step: row.get::<_, i64>(1)?.max(0) as u64,
            total_steps: row.get::<_, Option<i64>>(2)?.map(|n| n.max(0) as u64),
            epoch: row.get(3)?,
            loss: row.get(4)?,
            eval_loss: row.get(5)?,
            lr: row.get(6)?,
            tokens_per_s: row.get(7)?,
            grad_norm: row.get(8)?,
            elapsed_s: row.get(9)?,
        },
    ))
}

/// SQLite would store NaN as NULL anyway; infinities are dropped too so that a chart's axis is
/// never stretched to infinity (a diverged loss shows as a gap, and the log tail says why).
pub(super) fn finite(x: Option<f64>) -> Option<f64> {
    x.filter(|v| v.is_finite())
}

/// SQLite integers are i64; a count past that is clamped rather than wrapped negative.
pub(super) fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Appends points (numbered after the run's last) and sets the log tail, inside `tx`.
pub(super) fn insert_points(
    tx: &rusqlite::Transaction<'_>,
    id: i64,
    points: &[RunPoint],
    log_tail: Option<&[String]>,
) -> Result<()> {
    let mut seq: i64 = tx.query_row(
        "SELECT coalesce(max(seq), 0) FROM run_points WHERE run_id = ?1",
        [id],
        |r| r.get(0),
    )?;
    let mut stmt = tx.prepare_cached(
        "INSERT INTO run_points (run_id, seq, step, total_steps, epoch, loss, eval_loss,
             lr, tokens_per_s, grad_norm, elapsed_s)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    for p in points {
        seq += 1;
        stmt.execute(params![
            id,
            seq,
            sql_int(p.step),
            p.total_steps.map(sql_int),
            finite(p.epoch),
            finite(p.loss),
            finite(p.eval_loss),
            finite(p.lr),
            finite(p.tokens_per_s),
            finite(p.grad_norm),
            p.elapsed_s
        ])?;
    }
    if let Some(total) = points.iter().rev().find_map(|p| p.total_steps) {
        tx.execute(
            "UPDATE runs SET total_steps = ?2 WHERE id = ?1",
            params![id, sql_int(total)],
        )?;
    }
    if let Some(tail) = log_tail {
        let json = serde_json::to_string(tail).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "UPDATE runs SET log_tail = ?2 WHERE id = ?1",
            params![id, json],
        )?;
    }
    Ok(())
}

impl Store {
    /// Records a queued run with its dataset snapshot: (sample id, revision id) pairs.
    pub fn create_run(&mut self, run: &NewRun, snapshot: &[(i64, i64)]) -> Result<i64> {
        let t = now();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO runs (trainer, dataset_id, config, out_dir, samples, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    run.trainer,
                    run.dataset_id,
                    run.config.to_string(),
                    run.out_dir,
                    snapshot.len() as i64,
                    t
                ],
            )?;
            let id = tx.last_insert_rowid();
            let mut stmt = tx.prepare_cached(
                "INSERT INTO run_samples (run_id, sample_id, revision_id) VALUES (?1, ?2, ?3)",
            )?;
            for (sample, revision) in snapshot {
                stmt.execute(params![id, sample, revision])?;
            }
            Ok(id)
        })
    }

    /// The run `id`.
    pub fn run(&self, id: i64) -> Result<RunInfo> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r LEFT JOIN datasets d ON d.id = r.dataset_id
             WHERE r.id = ?1"
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let mut rows = stmt.query([id])?;
        match rows.next()? {
            Some(row) => run_from_row(row),
            None => Err(StoreError::not_found(format!(
                "run {id} (list runs with `assay runs list`)"
            ))),
        }
    }

    /// Every run, newest first.
    pub fn runs(&self) -> Result<Vec<RunInfo>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r LEFT JOIN datasets d ON d.id = r.dataset_id
             ORDER BY r.id DESC"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            out.push(run_from_row(row)?);
        }
        Ok(out)
    }

    /// The (sample id, revision id) pairs a run trained on, by sample id.
    pub fn run_snapshot(&self, id: i64) -> Result<Vec<(i64, i64)>> {
        let mut stmt = self.conn.prepare(
            "SELECT sample_id, revision_id FROM run_samples WHERE run_id = ?1 ORDER BY sample_id",
        )?;
        let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Calls `f` with every sample of a run's snapshot, carrying the revision it trained on
    /// (not the sample's head now, which an edit may have moved on).
    pub fn for_each_run_sample(
        &self,
        id: i64,
        mut f: impl FnMut(SampleRecord) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        let sql = format!(
            "SELECT {SAMPLE_COLUMNS} FROM run_samples rs JOIN samples s ON s.id = rs.sample_id
             JOIN revisions r ON r.id = rs.revision_id WHERE rs.run_id = ?1 ORDER BY s.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query([id])?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            f(sample_from_row(row)?)?;
            n += 1;
        }
        Ok(n)
    }

    /// Marks a run running, owned by process `pid`.
    pub fn start_run(&mut self, id: i64, pid: u32) -> Result<()> {
        let t = now();
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET status = CASE WHEN stop_requested = 1 THEN 'stopping'
                     ELSE 'running' END, pid = ?2, started_at = ?3 WHERE id = ?1",
                params![id, pid, t],
            )?;
            Ok(())
        })
    }

    /// Replaces a run's configuration and output folder (once its data has been written).
    pub fn set_run_setup(
        &mut self,
        id: i64,
        config: &serde_json::Value,
        out_dir: &str,
    ) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET config = ?2, out_dir = ?3 WHERE id = ?1",
                params![id, config.to_string(), out_dir],
            )?;
            Ok(())
        })
    }

    pub fn set_run_child(&mut self, id: i64, child_pid: Option<u32>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET child_pid = ?2 WHERE id = ?1",
                params![id, child_pid],
            )?;
            Ok(())
        })
    }

    pub fn set_run_artifacts(&mut self, id: i64, artifacts: &[String]) -> Result<()> {
        let json = serde_json::to_string(artifacts).unwrap_or_else(|_| "[]".into());
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET artifacts = ?2 WHERE id = ?1",
                params![id, json],
            )?;
            Ok(())
        })
    }

    /// Appends points (numbered after the run's last) and keeps the log tail current, in one
    /// transaction.
    pub fn add_run_points(
        &mut self,
        id: i64,
        points: &[RunPoint],
        log_tail: Option<&[String]>,
    ) -> Result<()> {
        self.write(|tx| insert_points(tx, id, points, log_tail))
    }

    /// The points of a run after sequence number `after_seq` (0: all), with their numbers.
    pub fn run_points(&self, id: i64, after_seq: i64) -> Result<Vec<(i64, RunPoint)>> {
        self.run_points_page(id, after_seq, usize::MAX)
    }

    /// At most `limit` points of a run after sequence number `after_seq`: a poller reads a huge
    /// run in slices through the (run_id, seq) key, each slice costing only its own rows.
    pub fn run_points_page(
        &self,
        id: i64,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<(i64, RunPoint)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT seq, step, total_steps, epoch, loss, eval_loss, lr, tokens_per_s, grad_norm,
                 elapsed_s FROM run_points WHERE run_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![id, after_seq, limit], point_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Asks an active run to stop; its owner obeys. Returns false when the run had already
    /// ended.
    pub fn request_run_stop(&mut self, id: i64) -> Result<bool> {
        self.run(id)?;
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE runs SET stop_requested = 1, status = 'stopping'
                 WHERE id = ?1 AND status IN ('queued', 'running', 'stopping')",
                [id],
            )? == 1)
        })
    }

    pub fn run_stop_requested(&self, id: i64) -> Result<bool> {
        let v: Option<i64> = self
            .conn
            .query_row("SELECT stop_requested FROM runs WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(v == Some(1))
    }

    /// Ends a run: its final status, the exit code of its trainer (if it had one), a message
    /// (why it failed) and its last log lines.
    pub fn finish_run(
        &mut self,
        id: i64,
        status: RunStatus,
        exit_code: Option<i32>,
        message: Option<&str>,
        log_tail: &[String],
    ) -> Result<()> {
        let t = now();
        let tail = serde_json::to_string(log_tail).unwrap_or_else(|_| "[]".into());
        self.write(|tx| {
            tx.execute(
                "UPDATE runs SET status = ?2, exit_code = ?3, message = ?4, log_tail = ?5,
                     ended_at = ?6, child_pid = NULL WHERE id = ?1",
                params![id, status.as_str(), exit_code, message, tail, t],
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_records_points_stop_and_end() {
        let mut store = Store::open_in_memory().unwrap();
        let id = store
            .create_run(
                &NewRun {
                    trainer: "cmd".into(),
                    dataset_id: None,
                    config: serde_json::json!({"argv": ["x"]}),
                    out_dir: "/tmp/x".into(),
                },
                &[],
            )
            .unwrap();
        assert_eq!(store.run(id).unwrap().status, RunStatus::Queued);
        store.start_run(id, 42).unwrap();
        let p = RunPoint {
            step: 1,
            total_steps: Some(10),
            loss: Some(2.5),
            elapsed_s: 0.5,
            ..RunPoint::default()
        };
        let tail = vec!["hello".to_string()];
        store
            .add_run_points(id, &[p.clone(), p.clone()], Some(&tail))
            .unwrap();
        let pts = store.run_points(id, 0).unwrap();
        assert_eq!(pts.len(), 2);
        assert_eq!(pts[1].0, 2);
        assert_eq!(store.run_points(id, 1).unwrap().len(), 1);
        let run = store.run(id).unwrap();
        assert_eq!(
            (run.status, run.pid, run.total_steps),
            (RunStatus::Running, Some(42), Some(10))
        );
        assert_eq!(run.log_tail, tail);
        assert!(store.request_run_stop(id).unwrap());
        assert!(store.run_stop_requested(id).unwrap());
        store
            .finish_run(id, RunStatus::Stopped, Some(130), None, &tail)
            .unwrap();
        assert!(!store.request_run_stop(id).unwrap());
        assert_eq!(store.run(id).unwrap().status, RunStatus::Stopped);
        assert!(store.run(id + 1).is_err());
    }

    #[test]
    fn a_huge_run_is_read_in_slices_that_add_up() {
        let mut store = Store::open_in_memory().unwrap();
        let run = NewRun {
            trainer: "cmd".into(),
            dataset_id: None,
            config: serde_json::json!({}),
            out_dir: "/tmp/x".into(),
        };
        let id = store.create_run(&run, &[]).unwrap();
        let points: Vec<RunPoint> = (1..=200_000)
            .map(|step| RunPoint {
                step,
                loss: Some(1.0 / step as f64),
                ..RunPoint::default()
            })
            .collect();
        store.add_run_points(id, &points, None).unwrap();
        let (mut seq, mut read, mut slices) = (0, Vec::new(), 0);
        loop {
            let page = store.run_points_page(id, seq, 20_000).unwrap();
            if page.is_empty() {
                break;
            }
            assert!(page.len() <= 20_000);
            seq = page.last().unwrap().0;
            read.extend(page.into_iter().map(|(_, p)| p));
            slices += 1;
        }
        assert_eq!(slices, 10);
        assert_eq!(read, points);
    }
}
