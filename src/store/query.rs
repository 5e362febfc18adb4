//! Filtered, paged reads: the list screen's pages, counts, and streaming iteration for export.
//!
//! Pages are keyed by sample id (`id > after`), never by OFFSET, so that page 10,000 of a
//! million-sample dataset costs what page 1 costs.

use super::samples::{SAMPLE_COLUMNS, sample_from_row};
use super::{Result, SampleRecord, Store};
use crate::model::{ReviewStatus, SampleKind, VerdictSummary};
use rusqlite::types::Value;
use serde::Serialize;

/// Which samples to read. Empty lists mean "any".
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub dataset_id: Option<i64>,
    pub kinds: Vec<SampleKind>,
    pub statuses: Vec<ReviewStatus>,
    pub verdicts: Vec<VerdictSummary>,
    pub tags: Vec<String>,
    pub aspects: Vec<String>,
    /// Only samples that belong to a near-duplicate cluster.
    pub near_duplicates: bool,
}

impl Filter {
    pub fn dataset(id: i64) -> Self {
        Filter {
            dataset_id: Some(id),
            ..Filter::default()
        }
    }

    /// The narrowing beyond the dataset in the search language (`status:unreviewed
    /// verdict:fail,mixed`), empty when there is none: what a screen shows as the active filter.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut key = |k: &str, values: Vec<&str>| {
            if !values.is_empty() {
                parts.push(format!("{k}:{}", values.join(",")));
            }
        };
        key("status", self.statuses.iter().map(|s| s.as_str()).collect());
        key(
            "verdict",
            self.verdicts.iter().map(|v| v.as_str()).collect(),
        );
        key("kind", self.kinds.iter().map(|k| k.as_str()).collect());
        key("aspect", self.aspects.iter().map(String::as_str).collect());
        key("tag", self.tags.iter().map(String::as_str).collect());
        if self.near_duplicates {
            parts.push("dup:yes".into());
        }
        parts.join(" ")
    }

    /// The WHERE clause (over `samples s`) and its parameters.
    pub(crate) fn sql(&self) -> (String, Vec<Value>) {
        self.sql_with(false)
    }

    /// As [`Filter::sql`], for reads that walk samples in id order (see `sql_with`).
    pub(crate) fn sql_scan(&self) -> (String, Vec<Value>) {
        self.sql_with(true)
    }

    /// `scan`: walk samples in id order instead of through the dataset indexes. A whole-dataset
    /// read ordered by id would otherwise go through a dataset index and then sort every row
    /// (contents included) in memory, about 1 GB for a million samples.
    fn sql_with(&self, scan: bool) -> (String, Vec<Value>) {
        let mut clauses = vec!["1 = 1".to_string()];
        let mut params: Vec<Value> = Vec::new();
        if let Some(id) = self.dataset_id {
            params.push(Value::Integer(id));
            // A unary + keeps SQLite from using an index for this term.
            let column = if scan {
                "+s.dataset_id"
            } else {
                "s.dataset_id"
            };
            clauses.push(format!("{column} = ?{}", params.len()));
        }
        let mut any_of = |column: &str, values: Vec<String>| {
            if values.is_empty() {
                return;
            }
            let mut marks = Vec::new();
            for v in values {
                params.push(Value::Text(v));
                marks.push(format!("?{}", params.len()));
            }
            clauses.push(format!("{column} IN ({})", marks.join(", ")));
        };
        any_of(
            "s.kind",
            self.kinds.iter().map(|k| k.as_str().into()).collect(),
        );
        any_of(
            "s.status",
            self.statuses.iter().map(|k| k.as_str().into()).collect(),
        );
        any_of(
            "s.verdict",
            self.verdicts.iter().map(|k| k.as_str().into()).collect(),
        );
        any_of("s.aspect", self.aspects.clone());
        if !self.tags.is_empty() {
            let mut marks = Vec::new();
            for t in &self.tags {
                params.push(Value::Text(t.clone()));
                marks.push(format!("?{}", params.len()));
            }
            clauses.push(format!(
                "s.id IN (SELECT sample_id FROM sample_tags WHERE tag IN ({}))",
                marks.join(", ")
            ));
        }
        if self.near_duplicates {
            clauses.push("s.dup_cluster IS NOT NULL".into());
        }
        (clauses.join(" AND "), params)
    }
}

/// One row of the list screen: what it shows without loading the content.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SampleRow {
    pub id: i64,
    /// The head revision when the row was read: a decision made from the list binds to it.
    pub head_revision_id: i64,
    pub kind: SampleKind,
    pub status: ReviewStatus,
    pub verdict: VerdictSummary,
    pub aspect: Option<String>,
    pub preview: String,
}

impl Store {
    /// Up to `limit` rows after sample id `after` (None: from the start), in id order.
    pub fn list_page(
        &self,
        filter: &Filter,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SampleRow>> {
        self.page(filter, after, limit, true)
    }

    /// Up to `limit` rows before sample id `before` (None: from the end), returned in id order
    /// (for paging up and for jumping to the last page).
    pub fn list_page_before(
        &self,
        filter: &Filter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SampleRow>> {
        let mut rows = self.page(filter, before, limit, false)?;
        rows.reverse();
        Ok(rows)
    }

    /// Without narrowing filters the table is walked in rowid order (`NOT INDEXED`): the planner
    /// would otherwise pick a (dataset, status, id) index and sort a million ids to find the
    /// last page.
    fn page(
        &self,
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
            "SELECT s.id, s.kind, s.status, s.verdict, s.aspect, s.preview, s.head_revision_id
             FROM samples s {}
             WHERE {clause} ORDER BY s.id {} LIMIT ?{}",
            if plain { "NOT INDEXED" } else { "" },
            if forward { "ASC" } else { "DESC" },
            params.len()
        );
        let mut stmt = self.conn.prepare_cached(&sql)?;
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
                head_revision_id: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many samples match.
    pub fn count(&self, filter: &Filter) -> Result<u64> {
        let (clause, params) = filter.sql();
        let sql = format!("SELECT count(*) FROM samples s WHERE {clause}");
        let n: i64 = self
            .conn
            .prepare_cached(&sql)?
            .query_row(rusqlite::params_from_iter(params), |r| r.get(0))?;
        Ok(n as u64)
    }

    /// Calls `f` on every matching sample with its head revision, in id order, streaming: only
    /// one sample is in memory at a time.
    pub fn for_each_sample(
        &self,
        filter: &Filter,
        mut f: impl FnMut(SampleRecord) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        let (clause, params) = filter.sql_scan();
        let sql = format!(
            "SELECT {SAMPLE_COLUMNS} FROM samples s
             JOIN revisions r ON r.id = s.head_revision_id WHERE {clause} ORDER BY s.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
        let mut n = 0;
        while let Some(row) = rows.next()? {
            f(sample_from_row(row)?)?;
            n += 1;
        }
        Ok(n)
    }
}
