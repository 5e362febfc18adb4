//! Reads the review workbench needs beyond plain paging: the search index, next-matching
//! lookups, audit items with their status, and reviewers' standing decisions for agreement.
//! Kept apart from `query.rs` so that the TUI's needs do not grow the core paging code.

use super::{DatasetInfo, Filter, Result, SampleRow, Store};
use crate::model::{Decision, ReviewStatus, SampleKind, VerdictSummary};
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

    /// The page of rows around sample `id`: up to `before` rows before it and `after` from it.
    pub fn rows_around(
        &self,
        filter: &Filter,
        id: i64,
        before: usize,
        after: usize,
    ) -> Result<Vec<SampleRow>> {
        let mut rows = self.rows_before(filter, Some(id), before)?;
        rows.extend(self.rows_after(filter, Some(id - 1), after)?);
        Ok(rows)
    }

    /// Rows of the given sample ids, in the order given (missing ids are left out).
    pub fn rows_by_ids(&self, ids: &[i64]) -> Result<Vec<SampleRow>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let filter = Filter::default();
            if let Some(row) = self.list_page(&filter, Some(id - 1), 1)?.into_iter().next()
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

/// A page of list rows in id order after (`forward`) or before `key`. Without narrowing filters
/// the table is walked in rowid order (`NOT INDEXED`): the planner would otherwise pick a
/// (dataset, status, id) index and sort a million ids to find the last page.
pub(crate) fn page_keyed(
    store: &Store,
    filter: &Filter,
    key: Option<i64>,
    limit: usize,
    forward: bool,
) -> Result<Vec<SampleRow>> {
    let plain = filter.kinds.is_empty()
        && filter.statuses.is_empty()
        && filter.verdicts.is_empty()
        && filter.tags.is_empty()
        && filter.aspects.is_empty()
        && !filter.near_duplicates;
    let (mut clause, mut params) = filter.sql();
    if let Some(k) = key {
        params.push(Value::Integer(k));
        clause.push_str(&format!(
            " AND s.id {} ?{}",
            if forward { ">" } else { "<" },
            params.len()
        ));
    }
    params.push(Value::Integer(limit as i64));
    let sql = format!(
        "SELECT s.id, s.kind, s.status, s.verdict, s.aspect, s.preview FROM samples s {}
         WHERE {clause} ORDER BY s.id {} LIMIT ?{}",
        if plain { "NOT INDEXED" } else { "" },
        if forward { "ASC" } else { "DESC" },
        params.len()
    );
    let mut stmt = store.conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
        let kind: String = r.get(1)?;
        let status: String = r.get(2)?;
        let verdict: String = r.get(3)?;
        Ok(SampleRow {
            id: r.get(0)?,
            kind: SampleKind::parse(&kind).unwrap_or(SampleKind::Qa),
            status: ReviewStatus::parse(&status).unwrap_or(ReviewStatus::Unreviewed),
            verdict: VerdictSummary::parse(&verdict).unwrap_or(VerdictSummary::None),
            aspect: r.get(4)?,
            preview: r.get(5)?,
        })
    })?;
    let mut out: Vec<SampleRow> = rows.collect::<Result<_, _>>()?;
    if !forward {
        out.reverse();
    }
    Ok(out)
}

impl Store {
    /// Up to `limit` rows after `after` (None: from the start), id order; fast on huge datasets.
    pub fn rows_after(
        &self,
        filter: &Filter,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SampleRow>> {
        page_keyed(self, filter, after, limit, true)
    }

    /// Up to `limit` rows before `before` (None: from the end), returned in id order.
    pub fn rows_before(
        &self,
        filter: &Filter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SampleRow>> {
        page_keyed(self, filter, before, limit, false)
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
