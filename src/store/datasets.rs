//! Datasets: named collections of samples.

use super::{Result, Store, StoreError};
use crate::model::now;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetInfo {
    pub id: i64,
    pub name: String,
    pub samples: u64,
    pub created_at: String,
}

impl Store {
    /// The id of the dataset called `name`, creating it if it does not exist.
    pub fn ensure_dataset(&mut self, name: &str) -> Result<i64> {
        if name.trim().is_empty() {
            return Err(StoreError::Invalid("a dataset name cannot be empty".into()));
        }
        if let Some(id) = self.dataset_id(name)? {
            return Ok(id);
        }
        self.write(|tx| {
            tx.execute(
                "INSERT OR IGNORE INTO datasets (name, created_at) VALUES (?1, ?2)",
                params![name, now()],
            )?;
            Ok(
                tx.query_row("SELECT id FROM datasets WHERE name = ?1", [name], |r| {
                    r.get(0)
                })?,
            )
        })
    }

    /// Deletes the dataset `id` if nothing refers to it (no sample, import, audit, job or run):
    /// a failed or empty import leaves no empty dataset behind. Returns whether it was deleted.
    pub fn remove_dataset_if_unused(&mut self, id: i64) -> Result<bool> {
        self.write(|tx| {
            let n = tx.execute(
                "DELETE FROM datasets WHERE id = ?1
                   AND NOT EXISTS (SELECT 1 FROM samples WHERE dataset_id = ?1)
                   AND NOT EXISTS (SELECT 1 FROM imports WHERE dataset_id = ?1)
                   AND NOT EXISTS (SELECT 1 FROM audits WHERE dataset_id = ?1)
                   AND NOT EXISTS (SELECT 1 FROM audit_waivers WHERE dataset_id = ?1)
                   AND NOT EXISTS (SELECT 1 FROM jobs WHERE dataset_id = ?1)
                   AND NOT EXISTS (SELECT 1 FROM runs WHERE dataset_id = ?1)",
                [id],
            )?;
            Ok(n > 0)
        })
    }

    /// The id of the dataset called `name`, if there is one.
    pub fn dataset_id(&self, name: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .query_row("SELECT id FROM datasets WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Like `dataset_id`, but a missing dataset is an error that lists the ones there are.
    pub fn require_dataset(&self, name: &str) -> Result<i64> {
        match self.dataset_id(name)? {
            Some(id) => Ok(id),
            None => {
                let names: Vec<String> = self.datasets()?.into_iter().map(|d| d.name).collect();
                Err(StoreError::Invalid(format!(
                    "no dataset named {name:?} in {}; datasets here: {}",
                    self.path.display(),
                    if names.is_empty() {
                        "none (import one with `assay import`)".to_string()
                    } else {
                        names.join(", ")
                    }
                )))
            }
        }
    }

    pub fn datasets(&self) -> Result<Vec<DatasetInfo>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT d.id, d.name, d.created_at,
                    (SELECT count(*) FROM samples s WHERE s.dataset_id = d.id)
             FROM datasets d ORDER BY d.name",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(DatasetInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                created_at: r.get(2)?,
                samples: r.get::<_, i64>(3)? as u64,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
