//! The audit screen's state: the dataset's audit status and its drawn samples as the worker
//! loaded them, and the cursor among the drawn samples. The reviewer walks the draw from here
//! on the review screen; each decision moves the walk on (`AuditScreen::walk_on`).

mod update;
pub mod view;

use crate::audit::AuditStatus;
use crate::store::SampleRow;

#[derive(Debug)]
pub struct AuditScreen {
    /// The status and the drawn samples in the walk's (shuffled) order; `None` until loaded.
    pub loaded: Option<(AuditStatus, Vec<SampleRow>)>,
    pub cursor: usize,
    /// The walk is blind: verifiers' verdicts and other reviewers' decisions stay hidden on a
    /// drawn sample until this reviewer decided it, so that they judge the content alone.
    pub blind: bool,
}

impl Default for AuditScreen {
    fn default() -> AuditScreen {
        AuditScreen {
            loaded: None,
            cursor: 0,
            blind: true,
        }
    }
}
