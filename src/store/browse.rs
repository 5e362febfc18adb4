//! Reads the review workbench needs beyond plain paging: search candidates, neighbours, agreement.
//! Kept apart from `query.rs` so that the TUI's needs do not grow the core paging code.

