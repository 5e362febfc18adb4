//! Tree search over reasoning steps (MCTS): UCT selection from the root, expansion by sampling
//! one next step from the node's prefix, step-level scoring by the verifier, backpropagation of
//! the reward; a node whose step states a final answer is terminal and is checked. The search
//! spends at most a budget of LLM calls and keeps the whole tree, which is stored with the
//! sample and shown in the TUI.

use crate::prompting::extract::marked_answer;
use crate::prompting::steps::split_steps;
use crate::prompting::steps::step_key as dedup_key;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// One node: a step appended to its parent's path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: usize,
    pub parent: Option<usize>,
    /// The step this node adds (the root's is empty: it stands for the prefix).
    pub step: String,
    pub children: Vec<usize>,
    pub visits: u32,
    /// Sum of backpropagated rewards.
    pub value: f64,
    /// The verifier's score of this node's path (or the check of its final answer).
    pub score: f64,
    pub terminal: bool,
    /// For a terminal node: whether its final answer was judged correct.
    pub correct: Option<bool>,
    /// The verifier judged the path up to this step wrong: never part of a returned solution.
    #[serde(default)]
    pub wrong: bool,
    /// Expansions from this node that repeated a child's step (or were empty), not added.
    #[serde(default)]
    pub duplicates: u32,
}

/// The search tree, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tree {
    /// The steps before the root (the last correct prefix).
    pub prefix: Vec<String>,
    pub nodes: Vec<Node>,
    pub calls: u32,
    /// The terminal node judged correct, if the search found one.
    pub solved: Option<usize>,
}

/// Limits of one search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// LLM calls the search may spend (expansions, scores and checks together).
    pub budget: u32,
    /// Children per node before UCT descends below it.
    pub branching: usize,
    /// Steps below the root after which a path is abandoned.
    pub max_depth: usize,
    /// UCT exploration constant.
    pub c: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            budget: 24,
            branching: 2,
            max_depth: 8,
            c: 1.4,
        }
    }
}

/// What the search asks of the models. Each call costs one from the budget, except a final
/// check that `check` answers without a model (golden answers).
pub trait Oracle {
    /// One next step after `path` (`seed` varies the sample).
    fn expand(&self, path: &[String], seed: u64) -> impl Future<Output = Result<String, String>>;
    /// The verifier's view of the steps so far: whether they are all correct, and a score in
    /// [0, 1].
    fn score(&self, path: &[String]) -> impl Future<Output = Result<(bool, f64), String>>;
    /// Whether [`Oracle::check`] asks a model (and so needs a call left in the budget).
    fn check_costs_a_call(&self) -> bool {
        true
    }
    /// Whether a path ending in `answer` is correct, and whether that cost a model call.
    fn check(
        &self,
        path: &[String],
        answer: &str,
    ) -> impl Future<Output = Result<(bool, bool), String>>;
}

impl Tree {
    fn new(prefix: Vec<String>) -> Tree {
        let root = Node {
            id: 0,
            parent: None,
            step: String::new(),
            children: Vec::new(),
            visits: 0,
            value: 0.0,
            score: 1.0,
            terminal: false,
            correct: None,
            wrong: false,
            duplicates: 0,
        };
        Tree {
            prefix,
            nodes: vec![root],
            calls: 0,
            solved: None,
        }
    }

    /// The full steps of a node: the prefix, then the steps on the way down.
    pub fn path(&self, id: usize) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cur = Some(id);
        while let Some(i) = cur {
            ids.push(i);
            cur = self.nodes[i].parent;
        }
        let mut steps = self.prefix.clone();
        for i in ids.into_iter().rev().skip(1) {
            steps.push(self.nodes[i].step.clone());
        }
        steps
    }

    fn depth(&self, mut id: usize) -> usize {
        let mut d = 0;
        while let Some(p) = self.nodes[id].parent {
            d += 1;
            id = p;
        }
        d
    }

    fn uct(&self, parent: usize, child: usize, c: f64) -> f64 {
        let n = &self.nodes[child];
        if n.visits == 0 {
            return f64::INFINITY;
        }
        let pv = f64::from(self.nodes[parent].visits.max(1));
        n.value / f64::from(n.visits) + c * (pv.ln() / f64::from(n.visits)).sqrt()
    }

    /// Descends by UCT to a node that can still be expanded.
    fn select(&self, limits: &Limits) -> Option<usize> {
        let mut id = 0;
        loop {
            let n = &self.nodes[id];
            if n.terminal {
                return None;
            }
            let open: Vec<usize> = n
                .children
                .iter()
                .copied()
                .filter(|&c| !self.exhausted(c))
                .collect();
            // Expansions that only repeated a step count toward the node's width, so one node
            // cannot swallow the budget with duplicates.
            let width = n.children.len() + n.duplicates as usize;
            if width < limits.branching || open.is_empty() {
                return (width < limits.branching).then_some(id);
            }
            id = open.into_iter().max_by(|&a, &b| {
                self.uct(id, a, limits.c)
                    .total_cmp(&self.uct(id, b, limits.c))
            })?;
        }
    }

    /// A subtree with nothing left to expand.
    fn exhausted(&self, id: usize) -> bool {
        let n = &self.nodes[id];
        n.terminal
            || (!n.children.is_empty()
                && n.children.iter().all(|&c| self.exhausted(c))
                && n.children.len() >= 2)
    }

    fn backpropagate(&mut self, mut id: usize, reward: f64) {
        loop {
            let n = &mut self.nodes[id];
            n.visits += 1;
            n.value += reward;
            match n.parent {
                Some(p) => id = p,
                None => break,
            }
        }
    }

    /// Whether a node may be part of a returned solution: a real step (not empty), not judged
    /// wrong, not a final answer judged incorrect.
    fn usable(&self, id: usize) -> bool {
        let n = &self.nodes[id];
        !n.step.trim().is_empty() && !n.wrong && n.correct != Some(false)
    }

    /// The most promising path's leaf: greedy by mean value from the root, through usable
    /// nodes only, so a step the verifier judged wrong is never in it.
    pub fn best_leaf(&self) -> usize {
        let mut id = 0;
        let mean = |i: usize| self.nodes[i].value / f64::from(self.nodes[i].visits.max(1));
        while let Some(next) = self.nodes[id]
            .children
            .iter()
            .copied()
            .filter(|&c| self.usable(c))
            .max_by(|&a, &b| mean(a).total_cmp(&mean(b)))
        {
            id = next;
        }
        id
    }

    /// Every step the verifier judged wrong or whose final answer was incorrect.
    pub fn wrong_steps(&self) -> Vec<String> {
        self.nodes
            .iter()
            .filter(|n| n.wrong || n.correct == Some(false))
            .map(|n| n.step.clone())
            .collect()
    }
}

/// Searches from `prefix` until a correct final answer is found or the budget is spent.
pub async fn search(oracle: &impl Oracle, prefix: Vec<String>, limits: Limits) -> Tree {
    let mut tree = Tree::new(prefix);
    let mut seed = 0u64;
    while tree.calls < limits.budget {
        let Some(leaf) = tree.select(&limits) else {
            break;
        };
        let path = tree.path(leaf);
        seed += 1;
        tree.calls += 1;
        let step = match oracle.expand(&path, seed).await {
            Ok(s) => split_steps(&s).into_iter().next().unwrap_or_default(),
            Err(e) => {
                tracing::warn!("tree search expansion failed: {e}");
                String::new()
            }
        };
        let id = tree.nodes.len();
        // A step already tried from this node (or an empty one) is not a new node: the call is
        // spent, the tree stays free of duplicates.
        let duplicate = step.trim().is_empty()
            || tree.nodes[leaf]
                .children
                .iter()
                .any(|&c| dedup_key(&tree.nodes[c].step) == dedup_key(&step));
        if duplicate {
            tree.backpropagate(leaf, 0.0);
            tree.nodes[leaf].duplicates += 1;
            continue;
        }
        let mut node = Node {
            id,
            parent: Some(leaf),
            step: step.clone(),
            children: Vec::new(),
            visits: 0,
            value: 0.0,
            score: 0.0,
            terminal: false,
            correct: None,
            wrong: false,
            duplicates: 0,
        };
        let mut child_path = path;
        child_path.push(step.clone());
        let reward = if let Some(answer) = marked_answer(&step) {
            node.terminal = true;
            let costs = oracle.check_costs_a_call();
            if costs && tree.calls >= limits.budget {
                // No call left to check it: unchecked, so never taken as solved.
                0.0
            } else {
                match oracle.check(&child_path, &answer).await {
                    Ok((ok, paid)) => {
                        tree.calls += u32::from(paid || costs);
                        node.correct = Some(ok);
                        if ok { 1.0 } else { 0.0 }
                    }
                    Err(_) => {
                        tree.calls += u32::from(costs);
                        0.0
                    }
                }
            }
        } else if tree.calls >= limits.budget {
            0.0
        } else {
            tree.calls += 1;
            let (ok, s) = oracle.score(&child_path).await.unwrap_or((false, 0.0));
            node.wrong = !ok;
            // Below a wrong step nothing can be right: do not spend calls there.
            if node.wrong || tree.depth(leaf) + 1 >= limits.max_depth {
                node.terminal = true;
            }
            s.clamp(0.0, 1.0)
        };
        node.score = reward;
        tree.nodes.push(node);
        tree.nodes[leaf].children.push(id);
        tree.backpropagate(id, reward);
        if tree.nodes[id].correct == Some(true) {
            tree.solved = Some(id);
            break;
        }
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy problem: count to 3; the right path is "1", "2", "答案是：3". Wrong steps say "x".
    struct Toy;
    impl Oracle for Toy {
        async fn expand(&self, path: &[String], seed: u64) -> Result<String, String> {
            if seed.is_multiple_of(2) {
                return Ok(format!("x{seed}"));
            }
            Ok(match path.len() {
                0 => "1".into(),
                1 => "2".into(),
                _ => "答案是：3".into(),
            })
        }
        async fn score(&self, path: &[String]) -> Result<(bool, f64), String> {
            Ok(if path.iter().any(|s| s.starts_with('x')) {
                (false, 0.0)
            } else {
                (true, 0.9)
            })
        }
        fn check_costs_a_call(&self) -> bool {
            false
        }
        async fn check(&self, path: &[String], answer: &str) -> Result<(bool, bool), String> {
            Ok((
                answer == "3" && !path.iter().any(|s| s.starts_with('x')),
                false,
            ))
        }
    }

    #[tokio::test]
    async fn finds_the_right_path_and_keeps_the_tree() {
        let tree = search(&Toy, vec![], Limits::default()).await;
        let solved = tree.solved.expect("solved");
        assert_eq!(tree.path(solved), vec!["1", "2", "答案是：3"]);
        assert!(tree.nodes.len() > 3, "explored alternatives too");
        assert!(tree.calls <= Limits::default().budget);
        let root = &tree.nodes[0];
        assert_eq!(root.visits as usize, tree.nodes.len() - 1);
    }

    /// Like [`Toy`] without a golden answer: the final check asks the verifier (a paid call),
    /// and every expansion repeats "x" or an answer that is wrong.
    struct Paid;
    impl Oracle for Paid {
        async fn expand(&self, _: &[String], seed: u64) -> Result<String, String> {
            Ok(match seed % 3 {
                0 => "x".into(),
                1 => "答案是：4".into(),
                _ => String::new(),
            })
        }
        async fn score(&self, _: &[String]) -> Result<(bool, f64), String> {
            Ok((false, 0.2))
        }
        async fn check(&self, _: &[String], _: &str) -> Result<(bool, bool), String> {
            Ok((false, true))
        }
    }

    #[tokio::test]
    async fn the_budget_counts_every_call_including_the_final_check() {
        for budget in 0..8 {
            let limits = Limits {
                budget,
                ..Limits::default()
            };
            let tree = search(&Paid, vec![], limits).await;
            assert!(
                tree.calls <= budget,
                "budget {budget}: {} calls",
                tree.calls
            );
        }
        let limits = Limits {
            budget: 1,
            ..Limits::default()
        };
        // Budget 1: the expansion is the one call; its answer cannot be checked too.
        let tree = search(&Paid, vec![], limits).await;
        assert_eq!(tree.calls, 1);
        assert!(tree.nodes.iter().all(|n| n.correct.is_none()));
    }

    #[tokio::test]
    async fn duplicates_and_empty_steps_are_not_nodes_and_wrong_steps_are_not_solutions() {
        let limits = Limits {
            budget: 30,
            ..Limits::default()
        };
        let tree = search(&Paid, vec!["0".into()], limits).await;
        for n in &tree.nodes[1..] {
            assert!(!n.step.is_empty(), "an empty node");
            let parent = &tree.nodes[n.parent.unwrap()];
            let same = parent
                .children
                .iter()
                .filter(|&&c| tree.nodes[c].step == n.step)
                .count();
            assert_eq!(same, 1, "duplicate sibling {:?}", n.step);
        }
        assert!(tree.solved.is_none());
        let best = tree.path(tree.best_leaf());
        let wrong = tree.wrong_steps();
        assert!(!wrong.is_empty());
        assert_eq!(best, vec!["0"], "only the prefix is usable: {best:?}");
        assert!(best.iter().all(|s| !wrong.contains(s) || s == "0"));
    }

    #[tokio::test]
    async fn stops_at_the_budget() {
        let limits = Limits {
            budget: 3,
            ..Limits::default()
        };
        let tree = search(&Toy, vec!["0".into()], limits).await;
        assert!(tree.calls <= 3);
        assert_eq!(tree.path(0), vec!["0"]);
    }
}
