//! The database worker: a thread that owns its own `Store` and answers the app's requests, so
//! that SQLite never runs on the event loop. Every request gets exactly one final reply, typed by
//! its [`RequestKind`]: its result, `Failed` (with the kind, so that a failure releases only what
//! waited on that request), or `Superseded` when a newer request of the same kind (paging,
//! loading a sample, search) made it stale (latest wins). Decisions are never dropped; their reply
//! is sent only after the commit, and while another process holds the write lock the worker says
//! so every second (`Waiting`) and keeps trying until the commit lands or the reviewer cancels.

use crate::audit::{self, AuditStatus, agreement::Agreement};
use crate::curate::rules;
use crate::model::{
    Content, DatasetStats, Decision, Review, ReviewStatus, Revision, SampleKind, Verdict,
};
use crate::store::{
    DatasetInfo, DecisionInput, Filter, HeadMoved, SampleRecord, SampleRow, Store, StoreError,
};
use crate::verify::first_wrong::{FirstWrong, first_wrong_on_head};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Rows the worker read for a [`PageAt`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    pub rows: Vec<SampleRow>,
    /// For [`PageAt::Around`]: how many rows come before the anchor sample's place.
    pub before: usize,
}

impl Page {
    pub fn of(rows: Vec<SampleRow>) -> Self {
        Page { rows, before: 0 }
    }
}

/// Where a page of the list starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageAt {
    Start,
    End,
    After(i64),
    Before(i64),
    Around(i64),
}

/// A sample with everything the review screen shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Detail {
    pub record: SampleRecord,
    pub verdicts: Vec<Verdict>,
    pub revisions: Vec<Revision>,
    /// Verdicts on the revision before the head, shown beside the new ones after a regeneration.
    pub previous_verdicts: Vec<Verdict>,
    pub reviews: Vec<Review>,
    /// A regenerated answer waiting beside the head, with its verdicts.
    pub candidate: Option<(Revision, Vec<Verdict>)>,
    /// The step to mark as the first wrong one on the head, carried over from the verdict of an
    /// earlier revision where the head's own verdicts name none (`gen cot` judges revision 1).
    pub first_wrong: Option<FirstWrong>,
}

#[derive(Clone)]
pub enum Request {
    Datasets,
    Views,
    Summary {
        dataset_id: i64,
    },
    Page {
        seq: u64,
        filter: Filter,
        at: PageAt,
        limit: usize,
    },
    Detail {
        seq: u64,
        sample_id: i64,
    },
    Decide {
        sample_id: i64,
        /// The revision the reviewer saw (for an undo: the one the undone decision was on).
        revision_id: i64,
        decision: Decision,
        reason: String,
        reviewer: String,
        undo: bool,
    },
    /// An edit: a new head on top of `base` (refused if the head moved since), with the
    /// verdicts of the verifiers that need no model; the draft is removed once it is committed.
    SaveRevision {
        sample_id: i64,
        base: i64,
        kind: SampleKind,
        content: Box<Content>,
        author: String,
        draft: Option<PathBuf>,
    },
    /// A regeneration: a candidate beside the head `base`, with its verdicts.
    SaveCandidate {
        sample_id: i64,
        base: i64,
        content: Box<Content>,
        author: String,
        verdicts: Vec<crate::model::NewVerdict>,
    },
    TakeCandidate {
        sample_id: i64,
        candidate: i64,
        reviewer: String,
    },
    DeclineCandidate {
        sample_id: i64,
        candidate: i64,
    },
    /// Makes an earlier revision the head again (from the history, or undo of an edit or a
    /// take).
    Revert {
        sample_id: i64,
        to: i64,
        reviewer: String,
        undo: bool,
    },
    Find {
        seq: u64,
        filter: Filter,
        after: i64,
    },
    Audit {
        dataset_id: i64,
    },
    /// The dataset's audit status alone, for the status bar (cheap: the drawn items only).
    AuditState {
        dataset_id: i64,
    },
    /// What a decision by rule on `filter` would decide (the count the reviewer confirms).
    PlanRule {
        decision: Decision,
        filter: Filter,
        rule: String,
    },
    /// The decision by rule itself (planned again: heads are bound as read now).
    ApplyRule {
        decision: Decision,
        filter: Filter,
        rule: String,
        reviewer: String,
    },
    /// Draw the dataset's audit, or a top-up for samples added since.
    DrawAudit {
        dataset_id: i64,
        seed: u64,
    },
    Stats {
        dataset_id: i64,
    },
    Train(super::train_worker::TrainRequest),
    ReadDraft {
        sample_id: i64,
        path: PathBuf,
    },
    WriteDraft {
        path: PathBuf,
        json: String,
    },
    RemoveDraft {
        path: PathBuf,
    },
}

/// What moved a sample's head (or kept it, for a declined candidate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadChange {
    /// A candidate was taken.
    Take,
    /// A candidate was declined: the head stays.
    Decline,
    /// An earlier revision was picked in the history.
    Revert,
    /// An edit or a take was undone.
    Undo,
}

/// Which request a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    Datasets,
    Views,
    Summary,
    Page,
    Detail,
    Decide,
    SaveRevision,
    SaveCandidate,
    HeadMove,
    Find,
    Audit,
    AuditState,
    PlanRule,
    ApplyRule,
    DrawAudit,
    Stats,
    Train,
    ReadDraft,
    WriteDraft,
    RemoveDraft,
}

impl RequestKind {
    /// What the request does, for messages ("saving the decision failed: ...").
    pub fn what(self) -> &'static str {
        match self {
            RequestKind::Datasets => "listing datasets",
            RequestKind::Views => "reading the saved views",
            RequestKind::Summary => "counting samples",
            RequestKind::Page => "reading the list",
            RequestKind::Detail => "loading the sample",
            RequestKind::Decide => "saving the decision",
            RequestKind::SaveRevision => "saving the revision",
            RequestKind::SaveCandidate => "saving the regenerated answer",
            RequestKind::HeadMove => "changing the head revision",
            RequestKind::Find => "finding the next sample",
            RequestKind::Audit => "reading the audit",
            RequestKind::AuditState => "reading the audit's progress",
            RequestKind::PlanRule => "counting the samples for the rule",
            RequestKind::ApplyRule => "deciding by rule",
            RequestKind::DrawAudit => "drawing the audit",
            RequestKind::Stats => "computing statistics",
            RequestKind::Train => "reading training runs",
            RequestKind::ReadDraft => "reading the draft",
            RequestKind::WriteDraft => "writing the draft",
            RequestKind::RemoveDraft => "removing the draft",
        }
    }

    /// Writes a reviewer waits on: retried while the database is locked, never dropped.
    fn is_commit(self) -> bool {
        matches!(
            self,
            RequestKind::Decide
                | RequestKind::SaveRevision
                | RequestKind::SaveCandidate
                | RequestKind::HeadMove
        )
    }
}

impl Request {
    pub fn kind(&self) -> RequestKind {
        match self {
            Request::Datasets => RequestKind::Datasets,
            Request::Views => RequestKind::Views,
            Request::Summary { .. } => RequestKind::Summary,
            Request::Page { .. } => RequestKind::Page,
            Request::Detail { .. } => RequestKind::Detail,
            Request::Decide { .. } => RequestKind::Decide,
            Request::SaveRevision { .. } => RequestKind::SaveRevision,
            Request::SaveCandidate { .. } => RequestKind::SaveCandidate,
            Request::TakeCandidate { .. }
            | Request::DeclineCandidate { .. }
            | Request::Revert { .. } => RequestKind::HeadMove,
            Request::Find { .. } => RequestKind::Find,
            Request::Audit { .. } => RequestKind::Audit,
            Request::AuditState { .. } => RequestKind::AuditState,
            Request::PlanRule { .. } => RequestKind::PlanRule,
            Request::ApplyRule { .. } => RequestKind::ApplyRule,
            Request::DrawAudit { .. } => RequestKind::DrawAudit,
            Request::Stats { .. } => RequestKind::Stats,
            Request::Train(_) => RequestKind::Train,
            Request::ReadDraft { .. } => RequestKind::ReadDraft,
            Request::WriteDraft { .. } => RequestKind::WriteDraft,
            Request::RemoveDraft { .. } => RequestKind::RemoveDraft,
        }
    }

    /// Requests of one kind where only the latest matters.
    fn latest_wins(&self) -> bool {
        matches!(
            self.kind(),
            RequestKind::Page | RequestKind::Detail | RequestKind::Find | RequestKind::AuditState
        )
    }
}

/// Generation jobs the stats screen lists, newest first.
const JOBS_SHOWN: usize = 8;

/// What the stats screen shows: counts, reviewer agreement, diversity and generation jobs.
#[derive(Debug, Clone, Default)]
pub struct StatsPanel {
    pub stats: Option<DatasetStats>,
    pub agreement: Vec<Agreement>,
    pub diversity: Option<crate::text::diversity::Diversity>,
    pub jobs: Vec<crate::store::JobInfo>,
}

/// A decision by rule, counted and waiting for the reviewer's yes on the prompt line.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedRule {
    pub decision: Decision,
    pub filter: Filter,
    /// The rule as stored with each decision.
    pub rule: String,
    /// Unreviewed samples it will decide.
    pub count: usize,
    pub left_for_audit: u64,
    pub already: u64,
}

#[derive(Debug, Clone)]
pub enum Reply {
    Datasets(Vec<DatasetInfo>),
    Views(Vec<crate::store::SavedView>),
    Summary {
        dataset_id: i64,
        stats: Option<DatasetStats>,
    },
    AuditState(Box<AuditStatus>),
    RulePlanned(PlannedRule),
    RuleApplied {
        decision: Decision,
        outcome: crate::curate::rules::Outcome,
    },
    Page {
        seq: u64,
        at: PageAt,
        page: Page,
    },
    Detail {
        seq: u64,
        detail: Box<Detail>,
    },
    Decided {
        review: Review,
        before: ReviewStatus,
        status: ReviewStatus,
        undo: bool,
    },
    Saved {
        revision: Box<Revision>,
        /// The head it replaced, and the sample's status before (the counts move by one).
        base: i64,
        before: ReviewStatus,
    },
    CandidateSaved {
        revision: Box<Revision>,
    },
    HeadMoved {
        moved: HeadMoved,
        how: HeadChange,
    },
    Found {
        seq: u64,
        row: Option<SampleRow>,
    },
    Audit {
        status: Box<AuditStatus>,
        rows: Vec<SampleRow>,
    },
    Drew {
        outcome: audit::DrawOutcome,
        status: Box<AuditStatus>,
        rows: Vec<SampleRow>,
    },
    Stats(Box<StatsPanel>),
    Train(super::train_worker::TrainReply),
    DraftWritten,
    DraftRead {
        sample_id: i64,
        draft: Option<super::screens::editor::Draft>,
    },
    /// The request failed; `stale` when it was refused because the sample changed meanwhile.
    Failed {
        kind: RequestKind,
        error: String,
        stale: bool,
    },
    /// A newer request of the same kind made this one stale; it was not run.
    Superseded {
        kind: RequestKind,
    },
    /// A commit waits for another process's write lock (not a final reply).
    Waiting {
        kind: RequestKind,
        secs: u64,
    },
}

/// How long one try at the write lock waits before the worker reports that it is waiting.
const LOCK_STEP: Duration = Duration::from_secs(1);

/// The app's handle on the worker thread.
pub struct Worker {
    tx: mpsc::Sender<Request>,
    /// Set by the app to give up a commit that waits for the database.
    cancel: Arc<AtomicBool>,
}

impl Worker {
    /// Starts the worker on `store`; replies go to `reply` (the event loop's channel).
    pub fn spawn(store: Store, reply: impl Fn(Reply) + Send + 'static) -> Worker {
        let (tx, rx) = mpsc::channel::<Request>();
        let cancel = Arc::new(AtomicBool::new(false));
        let cancelled = cancel.clone();
        std::thread::Builder::new()
            .name("assay-db".into())
            .spawn(move || {
                let mut store = store;
                if let Err(e) = store.set_busy_timeout(LOCK_STEP) {
                    tracing::warn!("cannot shorten the busy timeout: {e}");
                }
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    let (run, dropped) = latest_only(batch);
                    for kind in dropped {
                        reply(Reply::Superseded { kind });
                    }
                    for req in run {
                        reply(handle_waiting(&mut store, req, &cancelled, &reply));
                    }
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!("cannot start the database thread: {e}"));
        Worker { tx, cancel }
    }

    pub fn send(&self, req: Request) {
        if self.tx.send(req).is_err() {
            tracing::error!("the database thread has stopped");
        }
    }

    /// Gives up the commit that waits for the database lock (it answers `Failed`).
    pub fn cancel_waiting(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
}

/// Splits a batch into the requests to run and the kinds of those that a later request of the
/// same kind makes stale.
fn latest_only(batch: Vec<Request>) -> (Vec<Request>, Vec<RequestKind>) {
    let kinds: Vec<(RequestKind, bool)> =
        batch.iter().map(|r| (r.kind(), r.latest_wins())).collect();
    let mut run = Vec::new();
    let mut dropped = Vec::new();
    for (i, r) in batch.into_iter().enumerate() {
        let (kind, latest_wins) = kinds[i];
        if latest_wins && kinds[i + 1..].iter().any(|(k, _)| *k == kind) {
            dropped.push(kind);
        } else {
            run.push(r);
        }
    }
    (run, dropped)
}

/// Answers one request. Also used directly by tests and benchmarks that run without a thread.
pub fn handle(store: &mut Store, req: Request) -> Reply {
    let kind = req.kind();
    match try_handle(store, req) {
        Ok(r) => r,
        Err(e) => failed(kind, e),
    }
}

fn failed(kind: RequestKind, e: anyhow::Error) -> Reply {
    tracing::warn!("{} failed: {e:#}", kind.what());
    let stale = matches!(
        e.downcast_ref::<StoreError>(),
        Some(StoreError::Stale { .. })
    );
    Reply::Failed {
        kind,
        error: format!("{e:#}"),
        stale,
    }
}

/// As [`handle`], but a commit that finds the database locked by another process is retried
/// until it lands or `cancel` is set, saying every `LOCK_STEP` how long it has waited.
fn handle_waiting(
    store: &mut Store,
    req: Request,
    cancel: &AtomicBool,
    progress: &dyn Fn(Reply),
) -> Reply {
    let kind = req.kind();
    if !kind.is_commit() {
        return handle(store, req);
    }
    // A cancel applies to the commit that is waiting: the app sends one only while it shows
    // the wait (keys, and so other commits, are queued meanwhile).
    cancel.store(false, Ordering::SeqCst);
    let start = Instant::now();
    loop {
        // A commit lands whole or not at all, so trying it again is safe.
        match try_handle(store, req.clone()) {
            Ok(r) => return r,
            Err(e) if is_busy(&e) && !cancel.load(Ordering::SeqCst) => {
                progress(Reply::Waiting {
                    kind,
                    secs: start.elapsed().as_secs(),
                });
            }
            Err(e) if is_busy(&e) => {
                return failed(
                    kind,
                    anyhow::anyhow!(
                        "cancelled after waiting {} s for the database (another process holds \
                         its write lock); nothing was recorded",
                        start.elapsed().as_secs()
                    ),
                );
            }
            Err(e) => return failed(kind, e),
        }
    }
}

fn is_busy(e: &anyhow::Error) -> bool {
    e.downcast_ref::<StoreError>()
        .is_some_and(StoreError::is_busy)
}

fn try_handle(store: &mut Store, req: Request) -> anyhow::Result<Reply> {
    Ok(match req {
        Request::Datasets => Reply::Datasets(store.dataset_names()?),
        Request::Views => Reply::Views(store.views()?),
        Request::Summary { dataset_id } => Reply::Summary {
            dataset_id,
            stats: store.stats(Some(dataset_id))?.into_iter().next(),
        },
        Request::Page {
            seq,
            filter,
            at,
            limit,
        } => {
            let page = match at {
                PageAt::Start => Page::of(store.list_page(&filter, None, limit)?),
                PageAt::End => Page::of(store.list_page_before(&filter, None, limit)?),
                PageAt::After(id) => Page::of(store.list_page(&filter, Some(id), limit)?),
                PageAt::Before(id) => Page::of(store.list_page_before(&filter, Some(id), limit)?),
                PageAt::Around(id) => {
                    let (rows, before) =
                        store.rows_around(&filter, id, limit / 2, limit - limit / 2)?;
                    Page { rows, before }
                }
            };
            Reply::Page { seq, at, page }
        }
        Request::Detail { seq, sample_id } => {
            let record = store.sample(sample_id)?;
            let verdicts = store.verdicts(record.head.id)?;
            let revisions = store.revisions(sample_id)?;
            // The revision before the head, by number (candidates and all).
            let previous_verdicts = match revisions.iter().rfind(|r| r.number < record.head.number)
            {
                Some(prev) => store.verdicts(prev.id)?,
                None => Vec::new(),
            };
            let reviews = store.reviews(sample_id)?;
            let candidate = match store.pending_candidate(sample_id)? {
                Some(c) => {
                    let v = store.verdicts(c.id)?;
                    Some((c, v))
                }
                None => None,
            };
            let first_wrong = first_wrong_on_head(&record.head, &revisions, |id| {
                if id == record.head.id {
                    Ok(verdicts.clone())
                } else {
                    store.verdicts(id)
                }
            })?;
            Reply::Detail {
                seq,
                detail: Box::new(Detail {
                    record,
                    verdicts,
                    revisions,
                    previous_verdicts,
                    reviews,
                    candidate,
                    first_wrong,
                }),
            }
        }
        Request::Decide {
            sample_id,
            revision_id,
            decision,
            reason,
            reviewer,
            undo,
        } => {
            let d = store.decide(&DecisionInput {
                sample_id,
                revision_id,
                reviewer: &reviewer,
                decision,
                reason: &reason,
                adjudicates: false,
            })?;
            Reply::Decided {
                review: d.review,
                before: d.before,
                status: d.status,
                undo,
            }
        }
        Request::SaveRevision {
            sample_id,
            base,
            kind,
            content,
            author,
            draft,
        } => {
            // An edit is judged again by every verifier that needs no model (golden match,
            // trajectory checks); the judge asks a model and runs with `assay verify`.
            let verdicts: Vec<_> = crate::verify::applicable::applicable(kind, &content)
                .into_iter()
                .filter_map(|w| crate::verify::applicable::direct_verdict(w, kind, &content))
                .collect();
            let before = store.sample(sample_id)?.status;
            let revision = store.add_revision_on(sample_id, base, &content, &author, &verdicts)?;
            // Only now that the revision is committed may the draft go.
            if let Some(path) = draft {
                remove_file(&path)?;
            }
            Reply::Saved {
                revision: Box::new(revision),
                base,
                before,
            }
        }
        Request::SaveCandidate {
            sample_id,
            base,
            content,
            author,
            verdicts,
        } => Reply::CandidateSaved {
            revision: Box::new(store.add_candidate(sample_id, base, &content, &author, &verdicts)?),
        },
        Request::TakeCandidate {
            sample_id,
            candidate,
            reviewer,
        } => Reply::HeadMoved {
            moved: store.take_candidate(sample_id, candidate, &reviewer)?,
            how: HeadChange::Take,
        },
        Request::DeclineCandidate {
            sample_id,
            candidate,
        } => {
            store.decline_candidate(sample_id, candidate)?;
            let head = store.sample(sample_id)?;
            Reply::HeadMoved {
                moved: HeadMoved {
                    sample_id,
                    from: head.head.id,
                    to: head.head.id,
                    before: head.status,
                    status: head.status,
                },
                how: HeadChange::Decline,
            }
        }
        Request::Revert {
            sample_id,
            to,
            reviewer,
            undo,
        } => Reply::HeadMoved {
            moved: store.revert_to(sample_id, to, &reviewer)?,
            how: if undo {
                HeadChange::Undo
            } else {
                HeadChange::Revert
            },
        },
        Request::Find { seq, filter, after } => {
            let mut row = store.list_page(&filter, Some(after), 1)?.into_iter().next();
            if row.is_none() {
                // Wrap around to the start of the list.
                row = store.list_page(&filter, None, 1)?.into_iter().next();
            }
            Reply::Found { seq, row }
        }
        Request::Audit { dataset_id } => {
            let (status, rows) = audit_rows(store, dataset_id)?;
            Reply::Audit { status, rows }
        }
        Request::AuditState { dataset_id } => {
            Reply::AuditState(Box::new(audit::status(store, dataset_id)?))
        }
        Request::PlanRule {
            decision,
            filter,
            rule,
        } => {
            rules::check(decision, &filter)?;
            let plan = rules::plan(store, &filter)?;
            Reply::RulePlanned(PlannedRule {
                decision,
                filter,
                rule,
                count: plan.heads.len(),
                left_for_audit: plan.left_for_audit,
                already: plan.already,
            })
        }
        Request::ApplyRule {
            decision,
            filter,
            rule,
            reviewer,
        } => {
            rules::check(decision, &filter)?;
            let plan = rules::plan(store, &filter)?;
            let outcome = rules::apply(store, &plan, decision, &reviewer, "", &rule)?;
            Reply::RuleApplied { decision, outcome }
        }
        Request::DrawAudit { dataset_id, seed } => {
            let outcome = audit::draw(store, dataset_id, &audit::DrawPlan::seeded(seed))?;
            let (status, rows) = audit_rows(store, dataset_id)?;
            Reply::Drew {
                outcome,
                status,
                rows,
            }
        }
        Request::Train(r) => Reply::Train(super::train_worker::handle(store, r)?),
        Request::Stats { dataset_id } => Reply::Stats(Box::new(StatsPanel {
            stats: store.stats(Some(dataset_id))?.into_iter().next(),
            agreement: audit::agreement::agreements(&store.standing_decisions(dataset_id)?),
            diversity: Some(crate::curate::diversity::for_dataset(store, dataset_id)?),
            jobs: store.jobs()?.into_iter().take(JOBS_SHOWN).collect(),
        })),
        Request::ReadDraft { sample_id, path } => {
            let draft = match std::fs::read_to_string(&path) {
                // An unreadable draft is reported in the log and not restored, never fatal.
                Ok(text) => serde_json::from_str(&text)
                    .map_err(|e| tracing::warn!("draft {} unreadable: {e}", path.display()))
                    .ok(),
                Err(_) => None,
            };
            Reply::DraftRead { sample_id, draft }
        }
        Request::WriteDraft { path, json } => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            // Write then rename, so a crash mid-write never leaves a torn draft.
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, json)?;
            std::fs::rename(&tmp, &path)?;
            Reply::DraftWritten
        }
        Request::RemoveDraft { path } => {
            remove_file(&path)?;
            Reply::DraftWritten
        }
    })
}

/// Removes a file that may already be gone.
fn remove_file(path: &std::path::Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// The audit's status and its drawn samples' rows, in the walk's (shuffled) order.
fn audit_rows(
    store: &Store,
    dataset_id: i64,
) -> anyhow::Result<(Box<AuditStatus>, Vec<SampleRow>)> {
    let status = audit::status(store, dataset_id)?;
    let ids = match (status.audit_id, status.seed) {
        (Some(id), Some(seed)) => audit::walk_order(store.audit_items_by_round(id)?, seed),
        _ => Vec::new(),
    };
    // A drawn sample that only a rule decided waits for a person in the walk: shown as
    // unreviewed (and blind), as the audit counts it.
    let by_rule = store.decided_by_rule_only(&ids)?;
    let mut rows = store.rows_by_ids(&ids)?;
    for r in &mut rows {
        if by_rule.contains(&r.id) {
            r.status = crate::model::ReviewStatus::Unreviewed;
        }
    }
    Ok((Box::new(status), rows))
}
