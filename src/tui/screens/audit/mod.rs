//! The audit screen's state: the dataset's audit status and its drawn samples as the worker
//! loaded them, and the cursor among the drawn samples. The reviewer walks the draw from here
//! on the review screen; each decision moves the walk on (`AuditScreen::walk_on`).

mod update;
pub mod view;

use crate::audit::AuditStatus;
use crate::store::SampleRow;

#[derive(Debug, Default)]
pub struct AuditScreen {
    /// The status and the drawn samples in draw order; `None` until loaded.
    pub loaded: Option<(AuditStatus, Vec<SampleRow>)>,
    pub cursor: usize,
}
