//! Tree search over reasoning steps (MCTS): UCT selection from the root, expansion by sampling
//! one next step from the node's prefix, step-level scoring by the verifier, backpropagation of
//! the reward; a node whose step states a final answer is terminal and is checked. The search
//! spends at most a budget of LLM calls and keeps the whole tree, which is stored with the
//! sample and shown in the TUI.

use crate::prompting::extract::final_answer;
use crate::prompting::steps::split_steps;
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
    /// The verifier's score in [0, 1] of the steps so far.
    fn score(&self, path: &[String]) -> impl Future<Output = Result<f64, String>>;
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
            if n.children.len() < limits.branching || open.is_empty() {
                return (n.children.len() < limits.branching).then_some(id);
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

    /// The most promising path's leaf: greedy by mean value from the root.
    pub fn best_leaf(&self) -> usize {
        let mut id = 0;
        while let Some(&next) = self.nodes[id].children.iter().max_by(|&&a, &&b| {
            let m = |i: usize| self.nodes[i].value / f64::from(self.nodes[i].visits.max(1));
            m(a).total_cmp(&m(b))
        }) {
            if self.nodes[next].correct == Some(false) {
                break;
            }
            id = next;
        }
        id
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
        let duplicate = tree.nodes[leaf]
            .children
            .iter()
            .any(|&c| tree.nodes[c].step == step);
        let mut node = Node {
            id,
            parent: Some(leaf),
            step: step.clone(),
            children: Vec::new(),
            visits: 0,
            value: 0.0,
            score: 0.0,
            terminal: step.is_empty() || duplicate,
            correct: None,
        };
        let mut child_path = path;
        child_path.push(step.clone());
        let reward = if node.terminal {
            0.0
        } else if let Some(answer) = final_answer(&step) {
            node.terminal = true;
            match oracle.check(&child_path, &answer).await {
                Ok((ok, paid)) => {
                    tree.calls += u32::from(paid);
                    node.correct = Some(ok);
                    if ok { 1.0 } else { 0.0 }
                }
                Err(_) => 0.0,
            }
        } else if tree.calls >= limits.budget {
            0.0
        } else {
            tree.calls += 1;
            let s = oracle
                .score(&child_path)
                .await
                .unwrap_or(0.0)
                .clamp(0.0, 1.0);
            if tree.depth(leaf) + 1 >= limits.max_depth {
                node.terminal = true;
            }
            s
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
        async fn score(&self, path: &[String]) -> Result<f64, String> {
            Ok(if path.iter().any(|s| s.starts_with('x')) {
                0.0
            } else {
                0.9
            })
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
