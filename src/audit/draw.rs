//! The draw: max(100, configured) samples uniformly without replacement, stratified by source and
//! aspect in proportion (largest remainder), seeded so that a draw can be reproduced; and top-up
//! draws at the first draw's rate for samples added later.

use super::{AuditError, Result};
use crate::store::{AuditRecord, Store};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// The least number of samples an audit draws (all of them when a dataset is smaller).
pub const MIN_AUDIT: u64 = 100;

/// The acceptance threshold an audit gets when none is given: the gate opens when the upper
/// bound on the defect rate is at most 10%.
pub const DEFAULT_MAX_DEFECT_RATE: f64 = 0.10;

/// How to draw an audit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawPlan {
    /// Samples to draw; below [`MIN_AUDIT`] it is raised to it.
    pub size: Option<u64>,
    /// Random seed, so that the draw can be reproduced.
    pub seed: u64,
    /// The acceptance threshold on the upper bound of the defect rate (0..1), fixed with the
    /// draw so that it is chosen before anyone looks at the results.
    pub max_defect_rate: f64,
    /// Draw a new audit even if the dataset has one (after the data was improved).
    pub fresh: bool,
}

impl DrawPlan {
    pub fn seeded(seed: u64) -> DrawPlan {
        DrawPlan {
            size: None,
            seed,
            max_defect_rate: DEFAULT_MAX_DEFECT_RATE,
            fresh: false,
        }
    }
}

/// What `draw` did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DrawOutcome {
    /// A first audit was drawn.
    Drawn {
        audit_id: i64,
        drawn: u64,
        population: u64,
        /// Why the number drawn differs from the size asked for, when it does.
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// Samples added since the audit were covered by a top-up at the audit's rate.
    ToppedUp {
        audit_id: i64,
        added: u64,
        drawn: u64,
        round: i64,
    },
    /// The audit already covers every sample.
    UpToDate { audit_id: i64 },
}

/// Why a first draw of `drawn` out of `population` differs from the `asked` size.
fn size_note(asked: Option<u64>, drawn: u64, population: u64) -> Option<String> {
    let asked_for = asked.unwrap_or(MIN_AUDIT);
    if drawn == asked_for {
        return None;
    }
    Some(
        if drawn == population && population < asked_for.max(MIN_AUDIT) {
            format!(
                "drew all {population} samples: the dataset is smaller than the {} an audit draws",
                asked_for.max(MIN_AUDIT)
            )
        } else {
            format!(
                "asked for {asked_for}, drew {drawn}: an audit draws at least {MIN_AUDIT} random \
             samples (the rule this project follows: a person reviews at least 100 before a \
             dataset is used)"
            )
        },
    )
}

/// Picks `n` of `population` (id, stratum) pairs: strata get shares in proportion to their size
/// (largest remainder), and within a stratum a uniform draw without replacement. Returned by id.
pub fn stratified_sample(population: &[(i64, String)], n: usize, seed: u64) -> Vec<(i64, String)> {
    if n >= population.len() {
        return population.to_vec();
    }
    let mut strata: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (_, s)) in population.iter().enumerate() {
        strata.entry(s.as_str()).or_default().push(i);
    }
    let total = population.len() as f64;
    let mut shares: Vec<(&str, usize, f64)> = strata
        .iter()
        .map(|(k, v)| {
            let exact = n as f64 * v.len() as f64 / total;
            (*k, exact.floor() as usize, exact - exact.floor())
        })
        .collect();
    let mut left = n - shares.iter().map(|s| s.1).sum::<usize>();
    // Largest remainders first; ties broken by stratum name (BTreeMap order) for determinism.
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| shares[b].2.total_cmp(&shares[a].2).then(a.cmp(&b)));
    for i in order {
        if left == 0 {
            break;
        }
        if shares[i].1 < strata[shares[i].0].len() {
            shares[i].1 += 1;
            left -= 1;
        }
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n);
    for (name, take, _) in shares {
        let members = &strata[name];
        for j in rand::seq::index::sample(&mut rng, members.len(), take.min(members.len())) {
            out.push(population[members[j]].clone());
        }
    }
    out.sort_by_key(|(id, _)| *id);
    out
}

/// Draws the audit of a dataset, or tops it up when samples were added since (a new audit with
/// `plan.fresh`). A size below [`MIN_AUDIT`] is raised to it, and the outcome says so.
pub fn draw(store: &mut Store, dataset_id: i64, plan: &DrawPlan) -> Result<DrawOutcome> {
    if !(0.0..=1.0).contains(&plan.max_defect_rate) {
        return Err(AuditError::Invalid(format!(
            "--max-defect-rate {} is not a rate: give a number from 0 to 1 (0.1 is 10%)",
            plan.max_defect_rate
        )));
    }
    let target = plan.size.unwrap_or(MIN_AUDIT).max(MIN_AUDIT);
    let latest = match plan.fresh {
        true => None,
        false => store.latest_audit(dataset_id)?,
    };
    match latest {
        None => {
            let population = store.audit_population(dataset_id, 0)?;
            let Some(max_id) = population.iter().map(|p| p.0).max() else {
                return Err(AuditError::Invalid(
                    "the dataset has no samples to audit; import some first".into(),
                ));
            };
            let items = stratified_sample(&population, target as usize, plan.seed);
            let record = AuditRecord {
                id: 0,
                dataset_id,
                seed: plan.seed,
                target,
                population: population.len() as u64,
                drawn: items.len() as u64,
                covered_max_id: max_id,
                max_defect_rate: plan.max_defect_rate,
                created_at: crate::model::now(),
            };
            let audit_id = store.create_audit(&record, &items)?;
            Ok(DrawOutcome::Drawn {
                audit_id,
                drawn: items.len() as u64,
                population: population.len() as u64,
                note: size_note(plan.size, items.len() as u64, population.len() as u64),
            })
        }
        Some(audit) => {
            let added = store.audit_population(dataset_id, audit.covered_max_id)?;
            let Some(max_id) = added.iter().map(|p| p.0).max() else {
                return Ok(DrawOutcome::UpToDate { audit_id: audit.id });
            };
            let n = top_up_size(&audit, added.len() as u64);
            // A different stream per top-up, still reproducible from the audit's seed.
            let items = stratified_sample(&added, n as usize, audit.seed ^ max_id as u64);
            let round = store.top_up_audit(audit.id, &items, max_id)?;
            Ok(DrawOutcome::ToppedUp {
                audit_id: audit.id,
                added: added.len() as u64,
                drawn: items.len() as u64,
                round,
            })
        }
    }
}

/// The order the audit walk visits drawn samples in: shuffled per round, reproducibly from the
/// audit's seed, so that the reviewer's attention does not follow the order of the file.
pub fn walk_order(mut ids_by_round: Vec<(i64, i64)>, seed: u64) -> Vec<i64> {
    use rand::seq::SliceRandom;
    ids_by_round.sort();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_a0d1);
    let mut out = Vec::with_capacity(ids_by_round.len());
    for chunk in ids_by_round.chunk_by(|a, b| a.0 == b.0) {
        let mut ids: Vec<i64> = chunk.iter().map(|(_, id)| *id).collect();
        ids.shuffle(&mut rng);
        out.extend(ids);
    }
    out
}

/// The number of new samples to draw so that they are audited at the first draw's rate
/// (rounded up: a single new sample in a fully audited dataset is still looked at).
fn top_up_size(audit: &AuditRecord, added: u64) -> u64 {
    if audit.population == 0 {
        return added;
    }
    (added * audit.drawn).div_ceil(audit.population).min(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pop(strata: &[(&str, usize)]) -> Vec<(i64, String)> {
        let mut out = Vec::new();
        for (name, n) in strata {
            for _ in 0..*n {
                out.push((out.len() as i64 + 1, name.to_string()));
            }
        }
        out
    }

    #[test]
    fn proportional_and_without_replacement() {
        let p = pop(&[("a", 700), ("b", 200), ("c", 100)]);
        let s = stratified_sample(&p, 100, 7);
        assert_eq!(s.len(), 100);
        let count = |k: &str| s.iter().filter(|x| x.1 == k).count();
        assert_eq!((count("a"), count("b"), count("c")), (70, 20, 10));
        let mut ids: Vec<i64> = s.iter().map(|x| x.0).collect();
        ids.dedup();
        assert_eq!(ids.len(), 100);
    }

    #[test]
    fn seeded_and_reproducible() {
        let p = pop(&[("a", 500), ("b", 333)]);
        assert_eq!(stratified_sample(&p, 100, 1), stratified_sample(&p, 100, 1));
        assert_ne!(stratified_sample(&p, 100, 1), stratified_sample(&p, 100, 2));
    }

    #[test]
    fn small_population_is_taken_whole() {
        let p = pop(&[("a", 40)]);
        assert_eq!(stratified_sample(&p, 100, 1).len(), 40);
    }

    #[test]
    fn remainders_fill_the_target() {
        let p = pop(&[("a", 1), ("b", 1), ("c", 1), ("d", 997)]);
        let s = stratified_sample(&p, 100, 3);
        assert_eq!(s.len(), 100);
    }

    #[test]
    fn uniform_within_a_stratum() {
        // Each of 10 items drawn 3 at a time over many seeds comes up ~30% of the time.
        let p = pop(&[("a", 10)]);
        let mut hits = [0u32; 10];
        for seed in 0..2000 {
            for (id, _) in stratified_sample(&p, 3, seed) {
                hits[(id - 1) as usize] += 1;
            }
        }
        for h in hits {
            assert!((450..750).contains(&h), "{hits:?}");
        }
    }

    #[test]
    fn size_notes() {
        assert_eq!(size_note(None, 100, 5000), None);
        assert_eq!(size_note(Some(250), 250, 5000), None);
        let small = size_note(Some(10), 37, 37).unwrap();
        assert!(small.contains("all 37"), "{small}");
        let raised = size_note(Some(10), 100, 5000).unwrap();
        assert!(raised.contains("at least 100"), "{raised}");
    }

    #[test]
    fn walk_is_shuffled_per_round_and_reproducible() {
        let ids: Vec<(i64, i64)> = (1..=50)
            .map(|i| (0, i))
            .chain((51..=60).map(|i| (1, i)))
            .collect();
        let a = walk_order(ids.clone(), 3);
        assert_eq!(a, walk_order(ids.clone(), 3));
        assert_ne!(a[..50], (1..=50).collect::<Vec<_>>()[..]);
        let mut first: Vec<i64> = a[..50].to_vec();
        first.sort();
        assert_eq!(first, (1..=50).collect::<Vec<_>>());
        assert!(a[50..].iter().all(|id| *id > 50));
    }

    #[test]
    fn top_up_keeps_the_rate() {
        let a = AuditRecord {
            id: 1,
            dataset_id: 1,
            seed: 0,
            target: 100,
            population: 1000,
            drawn: 100,
            covered_max_id: 1000,
            max_defect_rate: 0.1,
            created_at: String::new(),
        };
        assert_eq!(top_up_size(&a, 500), 50);
        assert_eq!(top_up_size(&a, 1), 1);
        assert_eq!(top_up_size(&a, 15), 2);
    }
}
