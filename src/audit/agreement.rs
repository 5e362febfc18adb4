//! Agreement between reviewers: Cohen's kappa over the samples both reviewed, per pair.

use crate::model::ReviewStatus;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Agreement of two reviewers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    pub a: String,
    pub b: String,
    /// Samples both decided on.
    pub shared: u64,
    /// Share of shared samples with the same decision.
    pub observed: f64,
    /// Cohen's kappa; None when it is undefined (no shared samples, or chance agreement is 1).
    pub kappa: Option<f64>,
}

/// Cohen's kappa of paired labels: (p_o - p_e) / (1 - p_e).
pub fn cohen_kappa<T: Eq + std::hash::Hash + Copy>(pairs: &[(T, T)]) -> Option<f64> {
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    let observed = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let mut ca: HashMap<T, f64> = HashMap::new();
    let mut cb: HashMap<T, f64> = HashMap::new();
    for (a, b) in pairs {
        *ca.entry(*a).or_default() += 1.0;
        *cb.entry(*b).or_default() += 1.0;
    }
    let expected: f64 = ca
        .iter()
        .map(|(k, v)| v / n * cb.get(k).copied().unwrap_or(0.0) / n)
        .sum();
    if (1.0 - expected).abs() < 1e-12 {
        return None;
    }
    Some((observed - expected) / (1.0 - expected))
}

/// Agreement for every pair of reviewers, from (sample, reviewer, standing decision) rows.
pub fn agreements(decisions: &[(i64, String, ReviewStatus)]) -> Vec<Agreement> {
    let mut by: BTreeMap<&str, BTreeMap<i64, ReviewStatus>> = BTreeMap::new();
    for (id, who, s) in decisions {
        by.entry(who.as_str()).or_default().insert(*id, *s);
    }
    let names: Vec<&str> = by
        .keys()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for (i, a) in names.iter().enumerate() {
        for b in &names[i + 1..] {
            let pairs: Vec<(ReviewStatus, ReviewStatus)> = by[a]
                .iter()
                .filter_map(|(id, sa)| by[b].get(id).map(|sb| (*sa, *sb)))
                .collect();
            if pairs.is_empty() {
                continue;
            }
            let same = pairs.iter().filter(|(x, y)| x == y).count();
            out.push(Agreement {
                a: a.to_string(),
                b: b.to_string(),
                shared: pairs.len() as u64,
                observed: same as f64 / pairs.len() as f64,
                kappa: cohen_kappa(&pairs),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn textbook_kappa() {
        // Wikipedia's example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa 0.4.
        let mut pairs = Vec::new();
        pairs.extend(std::iter::repeat_n((1, 1), 20));
        pairs.extend(std::iter::repeat_n((1, 0), 5));
        pairs.extend(std::iter::repeat_n((0, 1), 10));
        pairs.extend(std::iter::repeat_n((0, 0), 15));
        assert!((cohen_kappa(&pairs).unwrap() - 0.4).abs() < 1e-9);
        assert_eq!(cohen_kappa::<u8>(&[]), None);
        assert_eq!(cohen_kappa(&[(1, 1), (1, 1)]), None);
    }

    #[test]
    fn pairs_of_reviewers() {
        use ReviewStatus::*;
        let d = vec![
            (1, "ana".to_string(), Accepted),
            (1, "bo".to_string(), Accepted),
            (2, "ana".to_string(), Rejected),
            (2, "bo".to_string(), Accepted),
            (3, "ana".to_string(), Rejected),
            (3, "bo".to_string(), Rejected),
            (4, "cy".to_string(), Accepted),
        ];
        let a = agreements(&d);
        assert_eq!(a.len(), 1);
        assert_eq!(
            (a[0].a.as_str(), a[0].b.as_str(), a[0].shared),
            ("ana", "bo", 3)
        );
        assert!((a[0].kappa.unwrap() - 0.4).abs() < 1e-9, "{a:?}");
    }
}
