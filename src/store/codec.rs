//! The JSON columns' encoding: a revision's content written, a sample's source read back.
//!
//! One place for both directions so that import, revisions, sample reads and the pipelined
//! export agree on them and name the same table and column when a value is damaged; it sits
//! below `import` and `samples`, which both need it.

use super::{Result, StoreError};
use crate::model::{Content, Source};

/// A revision's content as stored (JSON).
pub(crate) fn content_json(content: &Content, sample_id: i64) -> Result<String> {
    serde_json::to_string(content).map_err(|e| StoreError::Corrupt {
        table: "revisions",
        column: "content",
        id: sample_id,
        source: e,
    })
}

/// The source of a sample as stored (JSON), read back.
pub(crate) fn parse_source(text: &str, id: i64) -> Result<Source> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt {
        table: "samples",
        column: "source",
        id,
        source: e,
    })
}
