//! Jobs, their items and the LLM response cache (migration 004).
//!
//! A job is a list of items, each pending, running, done or failed with its reason. Rerunning a
//! job after a crash puts its running items back to pending; items that are done are never
//! redone, which is what makes a resumed job lose nothing and duplicate nothing.

use super::{Result, Store};
use crate::model::now;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use std::collections::BTreeMap;

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobInfo {
    pub id: i64,
    pub job_key: String,
    pub kind: String,
    pub dataset_id: Option<i64>,
    pub params: serde_json::Value,
    pub status: String,
    pub cancel_requested: bool,
    pub requests: u64,
    pub cached: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub summary: serde_json::Value,
    pub created_at: String,
    pub updated_at: String,
    /// Items by status (`pending`, `running`, `done`, `failed`).
    pub items: BTreeMap<String, u64>,
}

/// One item of a job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobItem {
    pub key: String,
    pub seq: i64,
    pub input: serde_json::Value,
    pub status: String,
    pub reason: Option<String>,
    pub attempts: u32,
    pub output: Option<serde_json::Value>,
}

/// Token and request counts to add to a job.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobUsage {
    pub requests: u64,
    pub cached: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

const JOB_COLUMNS: &str = "id, job_key, kind, dataset_id, params, status, cancel_requested,
    requests, cached, prompt_tokens, completion_tokens, summary, created_at, updated_at";

fn json_or_text(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

impl Store {
    /// The job with `job_key`, created (status running) if there is none. Returns the job and
    /// whether it was created now.
    pub fn open_job(
        &mut self,
        job_key: &str,
        kind: &str,
        dataset_id: Option<i64>,
        params: &serde_json::Value,
    ) -> Result<(JobInfo, bool)> {
        let t = now();
        let created = self.write(|tx| {
            Ok(tx.execute(
                "INSERT OR IGNORE INTO jobs (job_key, kind, dataset_id, params, created_at,
                     updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![job_key, kind, dataset_id, params.to_string(), t],
            )? == 1)
        })?;
        let id: i64 =
            self.conn
                .query_row("SELECT id FROM jobs WHERE job_key = ?1", [job_key], |r| {
                    r.get(0)
                })?;
        Ok((self.job(id)?, created))
    }

    /// The job `id` with its item counts.
    pub fn job(&self, id: i64) -> Result<JobInfo> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
        let job = self
            .conn
            .query_row(&sql, [id], job_from_row)
            .optional()?
            .ok_or_else(|| {
                super::StoreError::not_found(format!("job {id} (list jobs with `assay gen jobs`)"))
            })?;
        self.with_counts(job)
    }

    /// Every job, newest first.
    pub fn jobs(&self) -> Result<Vec<JobInfo>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY id DESC");
        let mut stmt = self.conn.prepare(&sql)?;
        let jobs: Vec<JobInfo> = stmt
            .query_map([], job_from_row)?
            .collect::<Result<_, _>>()?;
        jobs.into_iter().map(|j| self.with_counts(j)).collect()
    }

    fn with_counts(&self, mut job: JobInfo) -> Result<JobInfo> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT status, count(*) FROM job_items WHERE job_id = ?1 GROUP BY status",
        )?;
        let rows = stmt.query_map([job.id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })?;
        for row in rows {
            let (status, n) = row?;
            job.items.insert(status, n);
        }
        Ok(job)
    }

    /// Adds items that the job does not have yet (by key), in order; returns how many were new.
    pub fn add_job_items(
        &mut self,
        job_id: i64,
        items: &[(String, serde_json::Value)],
    ) -> Result<u64> {
        let t = now();
        self.write(|tx| {
            let mut seq: i64 = tx.query_row(
                "SELECT coalesce(max(seq), 0) FROM job_items WHERE job_id = ?1",
                [job_id],
                |r| r.get(0),
            )?;
            let mut stmt = tx.prepare_cached(
                "INSERT OR IGNORE INTO job_items (job_id, item_key, seq, input, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            let mut added = 0;
            for (key, input) in items {
                seq += 1;
                added += stmt.execute(params![job_id, key, seq, input.to_string(), t])? as u64;
            }
            Ok(added)
        })
    }

    /// Puts items left running by a killed process back to pending, and the job to running.
    pub fn resume_job(&mut self, job_id: i64) -> Result<u64> {
        let t = now();
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE job_items SET status = 'pending', updated_at = ?2
                 WHERE job_id = ?1 AND status = 'running'",
                params![job_id, t],
            )?;
            tx.execute(
                "UPDATE jobs SET status = 'running', cancel_requested = 0, updated_at = ?2
                 WHERE id = ?1",
                params![job_id, t],
            )?;
            Ok(n as u64)
        })
    }

    /// Items of a job with the given status (every item when `None`), in order.
    pub fn job_items(&self, job_id: i64, status: Option<&str>) -> Result<Vec<JobItem>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT item_key, seq, input, status, reason, attempts, output FROM job_items
             WHERE job_id = ?1 AND (?2 IS NULL OR status = ?2) ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![job_id, status], |r| {
            Ok(JobItem {
                key: r.get(0)?,
                seq: r.get(1)?,
                input: json_or_text(r.get(2)?),
                status: r.get(3)?,
                reason: r.get(4)?,
                attempts: r.get(5)?,
                output: r.get::<_, Option<String>>(6)?.map(json_or_text),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Marks an item running (one more attempt).
    pub fn start_job_item(&mut self, job_id: i64, key: &str) -> Result<()> {
        let t = now();
        self.write(|tx| {
            tx.execute(
                "UPDATE job_items SET status = 'running', attempts = attempts + 1, updated_at = ?3
                 WHERE job_id = ?1 AND item_key = ?2",
                params![job_id, key, t],
            )?;
            Ok(())
        })
    }

    /// Marks an item done with its output, or failed with its reason.
    pub fn finish_job_item(
        &mut self,
        job_id: i64,
        key: &str,
        result: std::result::Result<&serde_json::Value, &str>,
    ) -> Result<()> {
        let t = now();
        let (status, output, reason) = match result {
            Ok(out) => ("done", Some(out.to_string()), None),
            Err(reason) => ("failed", None, Some(reason.to_string())),
        };
        self.write(|tx| {
            tx.execute(
                "UPDATE job_items SET status = ?3, output = ?4, reason = ?5, updated_at = ?6
                 WHERE job_id = ?1 AND item_key = ?2",
                params![job_id, key, status, output, reason, t],
            )?;
            Ok(())
        })
    }

    /// Puts failed items back to pending (for `--retry-failed`); returns how many.
    pub fn retry_failed_items(&mut self, job_id: i64) -> Result<u64> {
        let t = now();
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE job_items SET status = 'pending', reason = NULL, updated_at = ?2
                 WHERE job_id = ?1 AND status = 'failed'",
                params![job_id, t],
            )? as u64)
        })
    }

    /// Adds requests and tokens to a job's counters.
    pub fn add_job_usage(&mut self, job_id: i64, u: JobUsage) -> Result<()> {
        let t = now();
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET requests = requests + ?2, cached = cached + ?3,
                     prompt_tokens = prompt_tokens + ?4,
                     completion_tokens = completion_tokens + ?5, updated_at = ?6 WHERE id = ?1",
                params![
                    job_id,
                    u.requests as i64,
                    u.cached as i64,
                    u.prompt_tokens as i64,
                    u.completion_tokens as i64,
                    t
                ],
            )?;
            Ok(())
        })
    }

    /// Sets a job's status (`running`, `done`, `failed`, `cancelled`) and summary.
    pub fn set_job_status(
        &mut self,
        job_id: i64,
        status: &str,
        summary: &serde_json::Value,
    ) -> Result<()> {
        let t = now();
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET status = ?2, summary = ?3, updated_at = ?4 WHERE id = ?1",
                params![job_id, status, summary.to_string(), t],
            )?;
            Ok(())
        })
    }

    /// Asks a running job (in this or another process) to stop after its current items.
    pub fn request_job_cancel(&mut self, job_id: i64) -> Result<()> {
        let t = now();
        let n = self.write(|tx| {
            Ok(tx.execute(
                "UPDATE jobs SET cancel_requested = 1, updated_at = ?2 WHERE id = ?1",
                params![job_id, t],
            )?)
        })?;
        if n == 0 {
            return Err(super::StoreError::not_found(format!("job {job_id}")));
        }
        Ok(())
    }

    pub fn job_cancel_requested(&self, job_id: i64) -> Result<bool> {
        Ok(self
            .conn
            .prepare_cached("SELECT cancel_requested FROM jobs WHERE id = ?1")?
            .query_row([job_id], |r| r.get(0))
            .optional()?
            .unwrap_or(false))
    }

    /// A cached model answer for the request hashed to `key`.
    pub fn llm_cache_get(&self, key: u128) -> Result<Option<String>> {
        Ok(self
            .conn
            .prepare_cached("SELECT response FROM llm_cache WHERE key = ?1")?
            .query_row([&key.to_le_bytes()[..]], |r| r.get(0))
            .optional()?)
    }

    pub fn llm_cache_put(&mut self, key: u128, model: &str, response: &str) -> Result<()> {
        let t = now();
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO llm_cache (key, model, response, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![&key.to_le_bytes()[..], model, response, t],
            )?;
            Ok(())
        })
    }
}

fn job_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobInfo> {
    Ok(JobInfo {
        id: r.get(0)?,
        job_key: r.get(1)?,
        kind: r.get(2)?,
        dataset_id: r.get(3)?,
        params: json_or_text(r.get(4)?),
        status: r.get(5)?,
        cancel_requested: r.get(6)?,
        requests: r.get::<_, i64>(7)? as u64,
        cached: r.get::<_, i64>(8)? as u64,
        prompt_tokens: r.get::<_, i64>(9)? as u64,
        completion_tokens: r.get::<_, i64>(10)? as u64,
        summary: json_or_text(r.get(11)?),
        created_at: r.get(12)?,
        updated_at: r.get(13)?,
        items: BTreeMap::new(),
    })
}
