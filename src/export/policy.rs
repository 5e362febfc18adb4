//! Which samples leave assay: accepted ones only, unless asked otherwise. Exports and the data
//! a training run is given both follow this one rule.

use crate::model::ReviewStatus;
use crate::store::Filter;

/// The review statuses taken when none are asked for.
pub const DEFAULT_STATUSES: [ReviewStatus; 1] = [ReviewStatus::Accepted];

/// The statuses an export takes: any with `all` (an empty list filters nothing), those
/// `asked` for, else [`DEFAULT_STATUSES`].
pub fn statuses(all: bool, asked: Vec<ReviewStatus>) -> Vec<ReviewStatus> {
    if all {
        Vec::new()
    } else if asked.is_empty() {
        DEFAULT_STATUSES.to_vec()
    } else {
        asked
    }
}

/// How [`statuses`] reads in a summary or a dataset card; `asked` as the person typed them.
pub fn describe(all: bool, asked: &[String]) -> String {
    match (all, asked.is_empty()) {
        (true, _) => "any review status".to_string(),
        (false, true) => "accepted samples only".to_string(),
        (false, false) => format!("status {}", asked.join("/")),
    }
}

/// The samples of a dataset that go out by default: what a training run trains on.
pub fn accepted(dataset_id: i64) -> Filter {
    Filter {
        statuses: DEFAULT_STATUSES.to_vec(),
        ..Filter::dataset(dataset_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_only_unless_asked() {
        assert_eq!(statuses(false, vec![]), vec![ReviewStatus::Accepted]);
        assert!(statuses(true, vec![]).is_empty());
        let asked = vec![ReviewStatus::Flagged];
        assert_eq!(statuses(false, asked.clone()), asked);
        assert_eq!(describe(false, &[]), "accepted samples only");
        assert_eq!(describe(true, &[]), "any review status");
        assert_eq!(accepted(3).statuses, vec![ReviewStatus::Accepted]);
    }
}
