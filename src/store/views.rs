//! Saved views: named search queries shared by everyone working on the file.

use super::{Result, Store, StoreError};
use crate::model::now;
use rusqlite::params;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedView {
    pub name: String,
    pub query: String,
    pub saved_by: String,
    pub saved_at: String,
}

impl Store {
    /// Saves `query` as the view `name` (replacing a view of that name).
    pub fn save_view(&mut self, name: &str, query: &str, who: &str) -> Result<()> {
        let valid = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(StoreError::Invalid(format!(
                "{name:?} cannot name a view: use letters, digits, - _ . (it is typed as \
                 view:NAME)"
            )));
        }
        self.write(|tx| {
            tx.execute(
                "INSERT INTO views (name, query, saved_by, saved_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (name) DO UPDATE SET query = ?2, saved_by = ?3, saved_at = ?4",
                params![name, query, who, now()],
            )?;
            Ok(())
        })
    }

    /// Every saved view, by name.
    pub fn views(&self) -> Result<Vec<SavedView>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT name, query, saved_by, saved_at FROM views ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(SavedView {
                name: r.get(0)?,
                query: r.get(1)?,
                saved_by: r.get(2)?,
                saved_at: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Removes the view `name`; whether there was one.
    pub fn remove_view(&mut self, name: &str) -> Result<bool> {
        self.write(|tx| Ok(tx.execute("DELETE FROM views WHERE name = ?1", [name])? > 0))
    }
}
