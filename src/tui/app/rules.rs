//! The list's decisions by rule (`B` accept, `ctrl-x` reject): every unreviewed sample the list
//! shows, through `curate::rules` as `assay review accept --filter` does. The worker first counts
//! what the rule would decide; the reviewer confirms that count on the prompt line; the worker
//! then plans again (heads bound as read then) and commits; the list, counts and audit reload.

use super::{App, Prompt, Screen};
use crate::curate::rules::Outcome;
use crate::model::Decision;
use crate::tui::worker::{PlannedRule, Request};

impl App {
    /// Asks the worker what a rule `decision` on the list's filter would decide.
    pub(super) fn plan_rule(&mut self, decision: Decision) {
        if self.screen != Screen::List {
            return;
        }
        let Some(name) = self.dataset_info().map(|d| d.name.clone()) else {
            self.fail("no dataset: a rule decides within one dataset");
            return;
        };
        let filter = self.ctx.filter.clone();
        let narrowed = filter.describe();
        let rule = format!("tui: dataset:{name} {narrowed}")
            .trim_end()
            .to_string();
        self.db(Request::PlanRule {
            decision,
            filter,
            rule,
        });
    }

    /// The count came back: ask the reviewer (nothing to decide: say so).
    pub(super) fn on_rule_planned(&mut self, plan: PlannedRule) {
        if plan.count == 0 {
            self.say(format!(
                "no unreviewed sample here to decide by rule ({} drawn for the audit, {} \
                 already decided)",
                plan.left_for_audit, plan.already
            ));
            return;
        }
        self.prompt = Some(Prompt::Rule(plan));
    }

    /// Confirmed on the prompt line.
    pub(super) fn apply_rule(&mut self, plan: PlannedRule) {
        self.db(Request::ApplyRule {
            decision: plan.decision,
            filter: plan.filter,
            rule: plan.rule,
            reviewer: self.ctx.reviewer.clone(),
        });
    }

    /// The rule is committed: the list, its counts and the audit are read again.
    pub(super) fn on_rule_applied(&mut self, decision: Decision, o: Outcome) {
        self.committed += o.decided as u64;
        self.say(format!(
            "{} {} samples as a rule (committed); left: {} drawn for the audit, {} already \
             decided, {} changed meanwhile",
            match decision {
                Decision::Reject => "rejected",
                _ => "accepted",
            },
            o.decided,
            o.left_for_audit,
            o.already,
            o.stale
        ));
        self.reload_around_cursor();
        if let Some(dataset_id) = self.ctx.dataset_id() {
            self.db(Request::Summary { dataset_id });
            self.db(Request::AuditState { dataset_id });
        }
    }
}

/// The prompt line's question for a planned rule: the answer keys first, then the counts being
/// confirmed (fits 80 columns).
pub fn question(p: &PlannedRule) -> String {
    format!(
        "enter: {} {} unreviewed as a rule (keeps {} audit, {} decided) · esc: no",
        p.decision.as_str(),
        p.count,
        p.left_for_audit,
        p.already
    )
}
