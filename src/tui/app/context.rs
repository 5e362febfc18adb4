//! What every screen may read: the reviewer, the models, where drafts and the train form's
//! values go, the datasets and the current one with its filter and summary, the terminal size,
//! and the request counter. A screen's reducer takes it as `ctx` next to its own state, so no
//! screen holds another's.

use crate::llm::Llm;
use crate::model::{DatasetStats, ReviewStatus};
use crate::store::{DatasetInfo, Filter};
use std::path::PathBuf;
use std::sync::Arc;

pub struct Context {
    pub reviewer: String,
    pub db_path: PathBuf,
    /// The database's own id (`Store::id`): drafts are kept per database under it.
    pub db_id: String,
    /// Where editor drafts are autosaved.
    pub drafts_dir: PathBuf,
    /// Where the train form keeps the values of the last run started from it.
    pub train_form_file: PathBuf,
    pub llm: Option<Arc<dyn Llm>>,
    /// The LLM judge run on regenerated answers (a configured endpoint), if any.
    pub judge: Option<Arc<dyn Llm>>,
    pub datasets: Vec<DatasetInfo>,
    pub dataset: Option<usize>,
    /// The saved views (`view:NAME` in the search), read when the search opens.
    pub views: Vec<crate::store::SavedView>,
    /// The datasets were read at least once (an empty list then means an empty database).
    pub datasets_loaded: bool,
    /// The dataset to select when the datasets first arrive (by name), if there is one.
    pub open_on: Option<String>,
    /// What the list shows (the dataset, narrowed by a search that was opened).
    pub filter: Filter,
    /// The current dataset's counts (status bar, list title).
    pub summary: Option<DatasetStats>,
    /// The current dataset's audit progress, always in the status bar (short at 80 columns).
    pub audit: Option<crate::audit::AuditStatus>,
    pub size: (u16, u16),
    pub seq: u64,
}

impl Context {
    pub fn new(reviewer: String, db_path: PathBuf, llm: Option<Arc<dyn Llm>>) -> Context {
        Context {
            reviewer,
            drafts_dir: db_path
                .parent()
                .map(|p| p.join("drafts"))
                .unwrap_or_else(|| PathBuf::from("drafts")),
            train_form_file: db_path
                .parent()
                .unwrap_or(std::path::Path::new(""))
                .join(crate::tui::screens::train::memory::FILE_NAME),
            db_path,
            db_id: String::new(),
            llm,
            judge: None,
            datasets: Vec::new(),
            dataset: None,
            open_on: None,
            datasets_loaded: false,
            views: Vec::new(),
            filter: Filter::default(),
            summary: None,
            audit: None,
            size: (80, 24),
            seq: 0,
        }
    }

    /// Rows of the list on screen (the frame minus header, borders and status bar).
    pub fn list_height(&self) -> usize {
        (self.size.1 as usize).saturating_sub(4).max(1)
    }

    pub fn dataset_info(&self) -> Option<&DatasetInfo> {
        self.dataset.and_then(|i| self.datasets.get(i))
    }

    pub fn dataset_id(&self) -> Option<i64> {
        self.dataset_info().map(|d| d.id)
    }

    /// Moves one sample from status `before` to `after` in the summary's counts: a decision
    /// changes one row, so the counts are moved by one instead of recounted (a recount is three
    /// GROUP BYs over the whole dataset).
    pub fn count_moved(&mut self, before: ReviewStatus, after: ReviewStatus) {
        if before == after {
            return;
        }
        if let Some(s) = &mut self.summary {
            if let Some(n) = s.by_status.get_mut(before.as_str()) {
                *n = n.saturating_sub(1);
            }
            *s.by_status.entry(after.as_str().to_string()).or_insert(0) += 1;
        }
    }

    /// Takes `status` as the status bar's audit when it is the current dataset's.
    pub fn keep_audit(&mut self, status: &crate::audit::AuditStatus) {
        if self.dataset_id() == Some(status.dataset_id) {
            self.audit = Some(status.clone());
        }
    }

    /// A new request number: replies to older ones are dropped (latest wins).
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}
