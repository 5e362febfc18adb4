//! The CoT search tree that `assay gen cot` stores with a sample (`meta.extra.cot.tree`), drawn
//! under the sample as an outline: each tried step with its verifier score and visits, the
//! correct final answer marked, so a reviewer sees how the repaired solution was found.

use crate::generate::search::Tree;
use crate::tui::theme::Theme;
use crate::tui::ui::common::heading;
use crate::tui::ui::common::safe_line;
use ratatui::text::{Line, Span};

/// Lines of the outline at most; a search within its call budget rarely needs more.
const MAX_LINES: usize = 60;

/// The outline, or nothing when the sample carries no search tree.
pub fn lines(extra: &serde_json::Map<String, serde_json::Value>, t: &Theme) -> Vec<Line<'static>> {
    let Some(tree) = extra
        .get("cot")
        .and_then(|c| c.get("tree"))
        .and_then(|v| serde_json::from_value::<Tree>(v.clone()).ok())
    else {
        return Vec::new();
    };
    let mut out = vec![heading(
        &format!(
            "search tree: {} nodes, {} model calls, {} after {} correct steps",
            tree.nodes.len(),
            tree.calls,
            if tree.solved.is_some() {
                "solved"
            } else {
                "not solved"
            },
            tree.prefix.len()
        ),
        t.heading,
    )];
    // Depth-first from the root, children in the order they were expanded.
    let mut stack: Vec<(usize, usize)> = tree
        .nodes
        .first()
        .map(|root| root.children.iter().rev().map(|&c| (c, 0)).collect())
        .unwrap_or_default();
    while let Some((id, depth)) = stack.pop() {
        if out.len() >= MAX_LINES {
            out.push(Line::from(Span::styled("  …", t.muted)));
            break;
        }
        let Some(node) = tree.nodes.get(id) else {
            continue;
        };
        let (mark, style) = match node.correct {
            Some(true) => ("✓", t.verdict_pass),
            Some(false) => ("✗", t.verdict_fail),
            None => ("·", t.text),
        };
        let step: String = safe_line(&node.step).chars().take(80).collect();
        out.push(Line::from(vec![
            Span::styled(format!("{}{mark} ", "  ".repeat(depth + 1)), style),
            Span::styled(
                format!("[{:.2}, {} visits] ", node.score, node.visits),
                t.muted,
            ),
            Span::styled(step, style),
        ]));
        stack.extend(node.children.iter().rev().map(|&c| (c, depth + 1)));
    }
    out
}
