//! Reads the review workbench needs beyond plain paging: the search index, next-matching
//! lookups, audit items with their status, and reviewers' standing decisions for agreement.
//! Kept apart from `query.rs` so that the TUI's needs do not grow the core paging code.

use super::{DatasetInfo, Filter, Result, SampleRow, Store};
use crate::model::{Decision, ReviewStatus};
use rusqlite::types::Value;

impl Store {
    /// Calls `f(id, text)` for every matching sample, where text is its question preview and the
    /// start of its answer (`answer_chars` characters) — what search matches against. Streams.
    pub fn for_each_search_text(
        &self,
        filter: &Filter,
        answer_chars: usize,
        mut f: impl FnMut(i64, String) -> bool,
    ) -> Result<()> {
        let (clause, mut params) = filter.sql();
        params.push(Value::Integer(answer_chars as i64));
        let sql = format!(
            "SELECT s.id, s.preview,
                    substr(coalesce(json_extract(r.content, '$.turns[#-1].content'), ''), 1, ?{})
             FROM samples s JOIN revisions r ON r.id = s.head_revision_id
             WHERE {clause} ORDER BY s.id",
            params.len()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let preview: String = r.get(1)?;
            let answer: String = r.get(2)?;
            let text = if answer.is_empty() || answer == preview {
                preview
            } else {
                format!("{preview}  → {}", answer.replace('\n', " "))
            };
            if !f(id, text) {
                break;
            }
        }
        Ok(())
    }

    /// The page of rows around sample `id` in the filter's order: up to `before` rows before
    /// it and `after` from it, with how many came before.
    pub fn rows_around(
        &self,
        filter: &Filter,
        id: i64,
        before: usize,
        after: usize,
    ) -> Result<(Vec<SampleRow>, usize)> {
        let mut rows = self.list_page_before(filter, Some(id), before)?;
        let n = rows.len();
        rows.extend(self.list_page_from(filter, id, after)?);
        Ok((rows, n))
    }

    /// Rows of the given sample ids, in the order given (missing ids are left out).
    pub fn rows_by_ids(&self, ids: &[i64]) -> Result<Vec<SampleRow>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let filter = Filter::default();
            if let Some(row) = self.list_page_from(&filter, *id, 1)?.into_iter().next()
                && row.id == *id
            {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// Every reviewer's standing decision per sample of a dataset (retracts applied), as
    /// (sample id, reviewer, status), for agreement statistics.
    pub fn standing_decisions(&self, dataset_id: i64) -> Result<Vec<(i64, String, ReviewStatus)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT v.sample_id, v.reviewer, v.decision FROM reviews v
             JOIN samples s ON s.id = v.sample_id WHERE s.dataset_id = ?1
             ORDER BY v.sample_id, v.reviewer, v.id",
        )?;
        let rows = stmt.query_map([dataset_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut out: Vec<(i64, String, ReviewStatus)> = Vec::new();
        let mut stack: Vec<ReviewStatus> = Vec::new();
        let mut current: Option<(i64, String)> = None;
        let flush =
            |cur: &Option<(i64, String)>, stack: &mut Vec<ReviewStatus>, out: &mut Vec<_>| {
                if let (Some((id, who)), Some(s)) = (cur, stack.last()) {
                    out.push((*id, who.clone(), *s));
                }
                stack.clear();
            };
        for row in rows {
            let (id, who, decision) = row?;
            if current.as_ref() != Some(&(id, who.clone())) {
                flush(&current, &mut stack, &mut out);
                current = Some((id, who));
            }
            match Decision::parse(&decision) {
                Some(Decision::Retract) => {
                    stack.pop();
                }
                Some(d) => stack.extend(ReviewStatus::from_decision(d)),
                None => {}
            }
        }
        flush(&current, &mut stack, &mut out);
        Ok(out)
    }
}

/// A sample whose reviewers disagree on its head revision.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Conflict {
    pub sample_id: i64,
    pub revision_id: i64,
    pub preview: String,
    /// Each reviewer's decisions on the head revision, oldest first.
    pub decisions: Vec<(String, Decision, String)>,
}

impl Store {
    /// The samples of a dataset in conflict between reviewers, with who decided what.
    pub fn conflicts(&self, dataset_id: i64) -> Result<Vec<Conflict>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT s.id, s.head_revision_id, s.preview, v.reviewer, v.decision, v.reason
             FROM samples s JOIN reviews v ON v.revision_id = s.head_revision_id
             WHERE s.dataset_id = ?1 AND s.status = 'conflict' ORDER BY s.id, v.id",
        )?;
        let rows = stmt.query_map([dataset_id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out: Vec<Conflict> = Vec::new();
        for row in rows {
            let (id, rev, preview, who, decision, reason) = row?;
            let Some(decision) = Decision::parse(&decision) else {
                continue;
            };
            match out.last_mut() {
                Some(c) if c.sample_id == id => c.decisions.push((who, decision, reason)),
                _ => out.push(Conflict {
                    sample_id: id,
                    revision_id: rev,
                    preview,
                    decisions: vec![(who, decision, reason)],
                }),
            }
        }
        Ok(out)
    }

    /// Datasets without their sample counts (counting a million rows is not free).
    pub fn dataset_names(&self) -> Result<Vec<DatasetInfo>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name, created_at FROM datasets ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok(DatasetInfo {
                id: r.get(0)?,
                name: r.get(1)?,
                created_at: r.get(2)?,
                samples: 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}
