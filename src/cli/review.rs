//! `assay review`: review decisions from the command line, for scripted workflows (a second
//! reviewer's pass from a spreadsheet, a fixture, a CI job): accept, reject or flag samples by
//! id, and edit a sample's answer. As in the TUI, a decision binds to the revision the reviewer
//! saw: `--revision N`, or the head as this command reads it, and the store refuses it when the
//! head has moved since. An edit is a new revision, judged again by every verifier that needs no
//! model, and leaves the sample unreviewed until someone accepts it.
//!
//! `--filter QUERY` decides by rule (accept every sample whose verifiers all pass, reject a
//! cluster of duplicates): only unreviewed samples, never those drawn for the audit, each
//! decision recorded with its query so that the audit, which must be a person's look at
//! random samples, never counts it.

use super::GlobalArgs;
use crate::curate::rules;
use crate::model::{Decision, Revision};
use crate::store::{DecisionInput, Store};
use anyhow::{Context, bail};

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Accept samples: their head revision, or the one --revision names.
    Accept(Decide),
    /// Reject samples.
    Reject(Decide),
    /// Flag samples for a second look.
    Flag(Decide),
    /// Replace a sample's answer with a new revision (it is unreviewed until accepted).
    Edit(Edit),
}

#[derive(Debug, clap::Args)]
pub struct Decide {
    /// The sample ids.
    #[arg(required_unless_present = "filter", conflicts_with = "filter")]
    pub ids: Vec<i64>,
    /// Decide every sample the query matches instead (the search language's filter keys:
    /// `verdict:pass status:unreviewed kind:cot aspect:A tag:T dup:yes`), as a rule: the
    /// samples drawn for the dataset's audit are left for a person, and the audit never counts
    /// a rule's decision as reviewed.
    #[arg(long, value_name = "QUERY")]
    pub filter: Option<String>,
    /// The dataset the filter applies to (or `dataset:NAME` in the query).
    #[arg(long, requires = "filter")]
    pub dataset: Option<String>,
    /// With --filter: say how many samples would be decided, decide nothing.
    #[arg(long, requires = "filter")]
    pub dry_run: bool,
    /// The revision number you reviewed (with one sample id); refused if it is no longer the
    /// head.
    #[arg(long)]
    pub revision: Option<i64>,
    /// Why (kept with the decision).
    #[arg(long, default_value = "")]
    pub reason: String,
}

#[derive(Debug, clap::Args)]
pub struct Edit {
    /// The sample id.
    pub id: i64,
    /// The new answer: the text of the sample's last assistant turn.
    #[arg(long)]
    pub answer: String,
    /// The new reasoning of that turn (kept as it is when not given).
    #[arg(long)]
    pub reasoning: Option<String>,
    /// The revision number you edited; refused if it is no longer the head.
    #[arg(long)]
    pub revision: Option<i64>,
}

pub fn run(global: &GlobalArgs, command: Command) -> anyhow::Result<()> {
    let mut store = Store::open_existing(&global.db)?;
    match command {
        Command::Accept(d) => decide(&mut store, global, Decision::Accept, d),
        Command::Reject(d) => decide(&mut store, global, Decision::Reject, d),
        Command::Flag(d) => decide(&mut store, global, Decision::Flag, d),
        Command::Edit(e) => edit(&mut store, global, e),
    }
}

/// The revision `number` of a sample, or its head.
fn seen_revision(store: &Store, sample_id: i64, number: Option<i64>) -> anyhow::Result<Revision> {
    let record = store.sample(sample_id)?;
    match number {
        None => Ok(record.head),
        Some(n) => store
            .revisions(sample_id)?
            .into_iter()
            .find(|r| r.number == n)
            .with_context(|| format!("sample {sample_id} has no revision {n}")),
    }
}

fn decide(
    store: &mut Store,
    global: &GlobalArgs,
    decision: Decision,
    d: Decide,
) -> anyhow::Result<()> {
    if let Some(query) = d.filter.clone() {
        return decide_by_rule(store, global, decision, &d, &query);
    }
    if d.revision.is_some() && d.ids.len() != 1 {
        bail!("--revision names the revision of one sample; give one sample id with it");
    }
    let mut refused = 0;
    for id in d.ids {
        let outcome = seen_revision(store, id, d.revision).and_then(|seen| {
            let done = store.decide(&DecisionInput {
                sample_id: id,
                revision_id: seen.id,
                reviewer: &global.reviewer,
                decision,
                reason: &d.reason,
                adjudicates: false,
            })?;
            Ok((seen.number, done))
        });
        match outcome {
            Ok((number, done)) => super::output::line(format!(
                "sample {id} rev {number}: {} by {} (was {}, now {})",
                decision.as_str(),
                crate::text::sanitize::sanitize_line(&global.reviewer),
                done.before.as_str(),
                done.status.as_str()
            ))?,
            Err(e) => {
                refused += 1;
                eprintln!("sample {id}: not decided: {e:#}");
            }
        }
    }
    if refused > 0 {
        bail!("{refused} decision(s) refused (see above); the others are committed");
    }
    Ok(())
}

/// `--filter QUERY`: the rule's decisions ([`crate::curate::rules`]), on each matching
/// sample's head as read.
fn decide_by_rule(
    store: &mut Store,
    global: &GlobalArgs,
    decision: Decision,
    d: &Decide,
    query: &str,
) -> anyhow::Result<()> {
    if d.revision.is_some() {
        bail!("--revision names one sample's revision; a --filter decides each sample's head");
    }
    let datasets = store.dataset_names()?;
    let default = match &d.dataset {
        Some(name) => Some(store.require_dataset(name)?),
        None => None,
    };
    let query =
        &crate::search::query::expand_views(query, &store.views()?).map_err(anyhow::Error::msg)?;
    let (filter, text) =
        crate::search::query::parse_query(query, &datasets, default).map_err(anyhow::Error::msg)?;
    if !text.trim().is_empty() {
        bail!(
            "a rule decides by filter keys only ({}); {text:?} is fuzzy text, which matches \
             approximately: search for it in the TUI, or give the sample ids",
            crate::search::query::KEYS
        );
    }
    rules::check(decision, &filter)?;
    let plan = rules::plan(store, &filter)?;
    let verb = decision.as_str();
    let safe_query = crate::text::sanitize::sanitize_line(query);
    if d.dry_run {
        return super::output::line(format!(
            "would {verb} {} samples matching `{safe_query}`; left as they are: {} drawn for \
             the audit (a person reviews those), {} already decided",
            plan.heads.len(),
            plan.left_for_audit,
            plan.already
        ));
    }
    let rule = format!("filter: {query}");
    let out = rules::apply(store, &plan, decision, &global.reviewer, &d.reason, &rule)?;
    super::output::line(format!(
        "{verb}: {} samples matching `{safe_query}` by {} (as a rule); left as they are: {} \
         drawn for the audit (a person reviews those), {} already decided, {} changed while \
         this ran",
        out.decided,
        crate::text::sanitize::sanitize_line(&global.reviewer),
        out.left_for_audit,
        out.already,
        out.stale
    ))
}

fn edit(store: &mut Store, global: &GlobalArgs, e: Edit) -> anyhow::Result<()> {
    let base = seen_revision(store, e.id, e.revision)?;
    let kind = store.sample(e.id)?.kind;
    let mut content = base.content.clone();
    let turn = content
        .turns
        .iter_mut()
        .rev()
        .find(|t| t.role == crate::model::Role::Assistant)
        .with_context(|| format!("sample {} has no answer to edit", e.id))?;
    turn.content = e.answer;
    if let Some(r) = e.reasoning {
        turn.reasoning = Some(r);
    }
    if content == base.content {
        bail!("sample {}: the edit changes nothing", e.id);
    }
    let verdicts: Vec<_> = crate::verify::applicable::applicable(kind, &content)
        .into_iter()
        .filter_map(|w| crate::verify::applicable::direct_verdict(w, kind, &content))
        .collect();
    let revision = store.add_revision_on(e.id, base.id, &content, &global.reviewer, &verdicts)?;
    let judged: Vec<String> = verdicts
        .iter()
        .map(|v| format!("{} {}", v.verifier, if v.passed { "pass" } else { "fail" }))
        .collect();
    super::output::line(format!(
        "sample {} rev {} saved on rev {} (unreviewed; verdicts: {})",
        e.id,
        revision.number,
        base.number,
        if judged.is_empty() {
            "none without a model".to_string()
        } else {
            judged.join(", ")
        }
    ))?;
    Ok(())
}
