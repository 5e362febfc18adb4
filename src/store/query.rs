//! Filtered, paged reads: the list screen's pages, counts, and streaming iteration for export.
//!
//! Pages are keyed by the sort key and sample id (`(key, id) > (key of after, after)`), never by
//! OFFSET, so that page 10,000 of a million-sample dataset costs what page 1 costs, in id order
//! or sorted by score or length (each sort has an index over (dataset, key, id)).

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
    /// The order rows are listed in (counts, exports and rules ignore it).
    pub order: Order,
}

/// What the list is sorted by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// Import order.
    #[default]
    Id,
    /// The weakest verdict on the head revision; samples no verifier judged come last.
    Score,
    /// Characters of the head revision (`Content::chars`).
    Length,
}

/// A sort key and its direction; ties are broken by id in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Order {
    pub key: SortKey,
    pub descending: bool,
}

impl Order {
    /// Every order the list cycles through, in the order it cycles: import order, weakest
    /// score first, longest first, shortest first.
    pub const CYCLE: [Order; 4] = [
        Order::by(SortKey::Id, false),
        Order::by(SortKey::Score, false),
        Order::by(SortKey::Length, true),
        Order::by(SortKey::Length, false),
    ];

    pub const fn by(key: SortKey, descending: bool) -> Self {
        Order { key, descending }
    }

    /// The next order of [`Order::CYCLE`] (import order after one not in it).
    pub fn next(self) -> Order {
        let i = Order::CYCLE.iter().position(|o| *o == self);
        Order::CYCLE[i.map_or(0, |i| (i + 1) % Order::CYCLE.len())]
    }

    /// As the query language writes it: `sort:score`, `sort:-length`; empty for import order.
    pub fn describe(self) -> String {
        let name = match self.key {
            SortKey::Id if !self.descending => return String::new(),
            SortKey::Id => "id",
            SortKey::Score => "score",
            SortKey::Length => "length",
        };
        format!("sort:{}{name}", if self.descending { "-" } else { "" })
    }

    /// How a person reads the order: "weakest score first".
    pub fn label(self) -> &'static str {
        match (self.key, self.descending) {
            (SortKey::Id, false) => "import order",
            (SortKey::Id, true) => "newest first",
            (SortKey::Score, false) => "weakest score first",
            (SortKey::Score, true) => "strongest score first",
            (SortKey::Length, false) => "shortest first",
            (SortKey::Length, true) => "longest first",
        }
    }

    /// Parses the value of `sort:` (`score`, `-score`, `length`, `-length`, `id`, `-id`).
    pub fn parse(value: &str) -> Option<Order> {
        let (descending, name) = match value.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let key = match name {
            "id" => SortKey::Id,
            "score" => SortKey::Score,
            "length" | "len" | "chars" => SortKey::Length,
            _ => return None,
        };
        Some(Order { key, descending })
    }

    /// The SQL expression rows are ordered by before their id (the one its index is over).
    fn key_sql(self, table: &str) -> Option<String> {
        match self.key {
            SortKey::Id => None,
            SortKey::Score => Some(format!("ifnull({table}.score, 2.0)")),
            SortKey::Length => Some(format!("{table}.chars")),
        }
    }
}

/// Where a page starts, relative to an anchor sample in the filter's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// From the first (forward) or the last (backward) row.
    Open,
    /// Rows strictly after (forward) or before (backward) the anchor.
    Past(i64),
    /// The anchor itself and the rows after it (forward only).
    From(i64),
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
    /// The order is not narrowing: [`Order::label`] says it.
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

    /// Whether anything narrows the rows beyond the dataset (the sort order does not).
    fn narrows(&self) -> bool {
        !(self.kinds.is_empty()
            && self.statuses.is_empty()
            && self.verdicts.is_empty()
            && self.tags.is_empty()
            && self.aspects.is_empty()
            && !self.near_duplicates)
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
    /// Up to `limit` rows after sample `after` in the filter's order (None: from the start).
    pub fn list_page(
        &self,
        filter: &Filter,
        after: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SampleRow>> {
        self.page(filter, after.map_or(Bound::Open, Bound::Past), limit, true)
    }

    /// Up to `limit` rows before sample `before` (None: from the end), returned in the filter's
    /// order (for paging up and for jumping to the last page).
    pub fn list_page_before(
        &self,
        filter: &Filter,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<SampleRow>> {
        let mut rows = self.page(
            filter,
            before.map_or(Bound::Open, Bound::Past),
            limit,
            false,
        )?;
        rows.reverse();
        Ok(rows)
    }

    /// Up to `limit` rows from sample `id` on, itself first when it matches the filter.
    pub fn list_page_from(&self, filter: &Filter, id: i64, limit: usize) -> Result<Vec<SampleRow>> {
        self.page(filter, Bound::From(id), limit, true)
    }

    /// One page in either direction. In import order without narrowing filters the table is
    /// walked in rowid order (`NOT INDEXED`): the planner would otherwise pick a (dataset,
    /// status, id) index and sort a million ids to find the last page. Sorted pages compare
    /// (key, id) row values against the anchor's, which the (dataset, key, id) index answers.
    fn page(
        &self,
        filter: &Filter,
        bound: Bound,
        limit: usize,
        forward: bool,
    ) -> Result<Vec<SampleRow>> {
        let order = filter.order;
        // Rows come back in `forward` order of the filter's order.
        let ascending = forward != order.descending;
        let (mut clause, mut params) = filter.sql();
        let anchor = match bound {
            Bound::Open => None,
            Bound::Past(id) => Some((id, if ascending { ">" } else { "<" })),
            Bound::From(id) => Some((id, if ascending { ">=" } else { "<=" })),
        };
        let key = order.key_sql("s");
        if let Some((id, op)) = anchor {
            params.push(Value::Integer(id));
            let n = params.len();
            match &key {
                None => clause.push_str(&format!(" AND s.id {op} ?{n}")),
                Some(k) => clause.push_str(&format!(
                    " AND ({k}, s.id) {op} ((SELECT {} FROM samples a WHERE a.id = ?{n}), ?{n})",
                    order.key_sql("a").unwrap_or_default()
                )),
            }
        }
        params.push(Value::Integer(limit as i64));
        let direction = if ascending { "ASC" } else { "DESC" };
        let order_by = match &key {
            None => format!("s.id {direction}"),
            Some(k) => format!("{k} {direction}, s.id {direction}"),
        };
        let not_indexed = key.is_none() && !filter.narrows();
        let sql = format!(
            "SELECT s.id, s.kind, s.status, s.verdict, s.aspect, s.preview, s.head_revision_id
             FROM samples s {}
             WHERE {clause} ORDER BY {order_by} LIMIT ?{}",
            if not_indexed { "NOT INDEXED" } else { "" },
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
