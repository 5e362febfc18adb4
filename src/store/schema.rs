//! The schema as a list of migrations, applied in order and tracked by SQLite's `user_version`
//! (rusqlite_migration), so an old database file is brought up to date when it is opened.

use rusqlite_migration::{M, Migrations};

/// Every migration, oldest first. Append only: a shipped migration never changes.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/001_core.sql")),
        M::up(include_str!("migrations/002_text.sql")),
        M::up(include_str!("migrations/003_audit.sql")),
        M::up(include_str!("migrations/004_jobs.sql")),
        M::up(include_str!("migrations/005_runs.sql")),
        M::up(include_str!("migrations/006_search.sql")),
        M::up(include_str!("migrations/007_review_integrity.sql")),
        M::up(include_str!("migrations/008_rules.sql")),
        M::up(include_str!("migrations/009_views.sql")),
        M::up(include_str!("migrations/010_sort.sql")),
        M::up(include_str!("migrations/011_run_follows.sql")),
    ])
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }
}
