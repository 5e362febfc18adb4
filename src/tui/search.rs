//! The search screen's state: the query line as typed, its error, the cursor, and the live
//! search it drives ([`crate::search`]: query language, engine, results).

use crate::search::Session;
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::Arc;

/// The search screen: what was typed and where the cursor is, over a live search session
/// (reached through `Deref`, as the screen is that session plus its line and cursor).
pub struct Search {
    pub query: String,
    pub error: Option<String>,
    pub cursor: usize,
    session: Session,
}

impl Search {
    /// A search over the database at `db`; `notify` is called when the engine has news (the
    /// loop then ticks it).
    pub fn new(db: PathBuf, notify: Arc<dyn Fn() + Send + Sync>) -> Search {
        Search {
            query: String::new(),
            error: None,
            cursor: 0,
            session: Session::new(db, notify),
        }
    }

    /// Starts matching `filter` and `text` from the first match; the results arrive through
    /// `tick`.
    pub fn submit(
        &mut self,
        generation: u64,
        filter: crate::store::Filter,
        text: &str,
        screen: usize,
    ) {
        self.cursor = 0;
        self.session.submit(generation, filter, text, screen);
    }
}

impl Deref for Search {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

impl DerefMut for Search {
    fn deref_mut(&mut self) -> &mut Session {
        &mut self.session
    }
}
