//! Everything a key can do. A keymap file names these in snake_case; each has the one-line
//! description that the help overlay and the status-bar hints show.

macro_rules! actions {
    ($($variant:ident = $name:literal : $desc:literal,)*) => {
        /// A user-level command, bound to keys by the keymap.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $($variant,)* }

        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$variant,)*];

            /// The name used in keymap files.
            pub fn name(self) -> &'static str {
                match self { $(Action::$variant => $name,)* }
            }

            /// One line for the help overlay.
            pub fn describe(self) -> &'static str {
                match self { $(Action::$variant => $desc,)* }
            }

            pub fn parse(name: &str) -> Option<Action> {
                match name { $($name => Some(Action::$variant),)* _ => None }
            }
        }
    };
}

actions! {
    NoOp = "no_op": "unbind the key",
    Quit = "quit": "quit",
    Accept = "accept": "accept the sample",
    Reject = "reject": "reject the sample",
    RejectWithReason = "reject_with_reason": "reject with a reason or tag",
    Skip = "skip": "skip to the next sample, no decision",
    Flag = "flag": "flag the sample for a second look",
    BulkAccept = "bulk_accept": "accept every unreviewed sample shown, as a rule (asks first)",
    BulkReject = "bulk_reject": "reject every unreviewed sample shown, as a rule (asks first)",
    Edit = "edit": "edit the sample (new revision)",
    Regenerate = "regenerate": "regenerate the answer: a candidate beside the original (again: another)",
    TakeCandidate = "take_candidate": "take the regenerated candidate as the new head",
    KeepOriginal = "keep_original": "keep the original and decline the candidate",
    Undo = "undo": "undo the last decision, edit or take (up to 20)",
    Next = "next": "next sample",
    Prev = "prev": "previous sample",
    PageDown = "page_down": "one page down",
    PageUp = "page_up": "one page up",
    First = "first": "first sample",
    Last = "last": "last sample",
    NextUnreviewed = "next_unreviewed": "next unreviewed sample",
    NextFailing = "next_failing": "next sample with a failing verdict",
    Open = "open": "open the selected sample",
    Back = "back": "go back / close",
    Search = "search": "search and filter",
    CycleSort = "cycle_sort": "sort the list: import order, weakest score, longest, shortest",
    Help = "help": "show this help",
    ListScreen = "list_screen": "the sample list",
    AuditScreen = "audit_screen": "the audit: progress, defects, bound",
    DrawAudit = "draw_audit": "draw the audit (or a top-up) for this dataset",
    StatsScreen = "stats_screen": "statistics and reviewer agreement",
    ToggleHistory = "toggle_history": "show revision history and diff",
    HistoryOlder = "history_older": "in the history: pick an older revision",
    HistoryNewer = "history_newer": "in the history: pick a newer revision",
    RevertTo = "revert_to": "make the picked revision the head again (undo with u)",
    NextDataset = "next_dataset": "switch to the next dataset",
    ScrollDown = "scroll_down": "scroll the sample text down",
    ScrollUp = "scroll_up": "scroll the sample text up",
    VerdictsDown = "verdicts_down": "scroll the verdicts pane down",
    VerdictsUp = "verdicts_up": "scroll the verdicts pane up",
    Save = "save": "save the edit as a new revision",
    NextField = "next_field": "edit the next field",
    Confirm = "confirm": "confirm",
    Cancel = "cancel": "cancel",
    TrainScreen = "train_screen": "training runs: start, stop, live loss curves",
    NewRun = "new_run": "start a new training run (form)",
    StopRun = "stop_run": "stop the selected run (SIGINT, then SIGTERM)",
    CompareRun = "compare_run": "pin the selected run to overlay its curves on another",
    PrevField = "prev_field": "edit the previous field",
    NextOption = "next_option": "the next choice of the field",
    PrevOption = "prev_option": "the previous choice of the field",
}

/// What a key is for, the help overlay's sections (in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Decide,
    Move,
    Edit,
    Search,
    Audit,
    Train,
    Screens,
}

impl Group {
    pub const ALL: [Group; 7] = [
        Group::Decide,
        Group::Move,
        Group::Edit,
        Group::Search,
        Group::Audit,
        Group::Train,
        Group::Screens,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::Decide => "decide",
            Group::Move => "move",
            Group::Edit => "edit and history",
            Group::Search => "search",
            Group::Audit => "audit",
            Group::Train => "train",
            Group::Screens => "screens",
        }
    }
}

impl Action {
    /// The help section the action is listed under.
    pub fn group(self) -> Group {
        use Action::*;
        match self {
            Accept | Reject | RejectWithReason | Skip | Flag | BulkAccept | BulkReject
            | Regenerate | TakeCandidate | KeepOriginal | Undo | Confirm | Cancel => Group::Decide,
            Next | Prev | PageDown | PageUp | First | Last | NextUnreviewed | NextFailing
            | Open | ScrollDown | ScrollUp | VerdictsDown | VerdictsUp | NextDataset => Group::Move,
            Edit | Save | NextField | PrevField | NextOption | PrevOption | ToggleHistory
            | HistoryOlder | HistoryNewer | RevertTo => Group::Edit,
            Search | CycleSort => Group::Search,
            AuditScreen | DrawAudit => Group::Audit,
            TrainScreen | NewRun | StopRun | CompareRun => Group::Train,
            NoOp | Quit | Back | Help | ListScreen | StatsScreen => Group::Screens,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.name()), Some(*a));
            assert!(!a.describe().is_empty());
        }
        assert_eq!(Action::parse("frobnicate"), None);
    }
}
