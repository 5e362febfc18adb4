//! The one timestamp every record carries: now, as RFC 3339 UTC text.
//!
//! It lives in `model`, the bottom layer, so that the store's tables, the formats' export files
//! and the audit's records all write the same text without any of them depending on another.
//! Reading the clock is the only side effect in `model`.

/// Now, as the RFC 3339 UTC text every table and export stores.
pub fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}
