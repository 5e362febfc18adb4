//! The database worker: a thread that owns its own `Store` and answers the app's requests, so
//! that SQLite never runs on the event loop. Requests made stale by a newer one of the same kind
//! (paging, loading a sample, search) are dropped: latest wins. Decisions are never dropped, and
//! their reply is sent only after the commit.

use crate::audit::{self, AuditStatus, agreement::Agreement};
use crate::model::{Content, DatasetStats, Decision, Review, ReviewStatus, Revision, Verdict};
use crate::store::{DatasetInfo, Filter, SampleRecord, SampleRow, Store};
use std::path::PathBuf;
use std::sync::mpsc;

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
}

pub enum Request {
    Datasets,
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
        decision: Decision,
        reason: String,
        reviewer: String,
        undo: bool,
    },
    SaveRevision {
        sample_id: i64,
        content: Box<Content>,
        author: String,
        /// Verdicts on the new revision (a regeneration's), committed with it.
        verdicts: Vec<crate::model::NewVerdict>,
    },
    Find {
        seq: u64,
        filter: Filter,
        after: i64,
    },
    Audit {
        dataset_id: i64,
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

impl Request {
    /// Requests of one kind where only the latest matters.
    fn latest_wins_kind(&self) -> Option<u8> {
        match self {
            Request::Page { .. } => Some(1),
            Request::Detail { .. } => Some(2),
            Request::Find { .. } => Some(3),
            _ => None,
        }
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

#[derive(Debug, Clone)]
pub enum Reply {
    Datasets(Vec<DatasetInfo>),
    Summary {
        dataset_id: i64,
        stats: Option<DatasetStats>,
    },
    Page {
        seq: u64,
        at: PageAt,
        rows: Vec<SampleRow>,
    },
    Detail {
        seq: u64,
        detail: Box<Detail>,
    },
    Decided {
        review: Review,
        status: ReviewStatus,
        undo: bool,
    },
    Saved {
        revision: Box<Revision>,
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
    Failed {
        what: String,
        error: String,
    },
}

/// The app's handle on the worker thread.
pub struct Worker {
    tx: mpsc::Sender<Request>,
}

impl Worker {
    /// Starts the worker on `store`; replies go to `reply` (the event loop's channel).
    pub fn spawn(store: Store, reply: impl Fn(Reply) + Send + 'static) -> Worker {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("assay-db".into())
            .spawn(move || {
                let mut store = store;
                while let Ok(first) = rx.recv() {
                    let mut batch = vec![first];
                    batch.extend(rx.try_iter());
                    for req in latest_only(batch) {
                        reply(handle(&mut store, req));
                    }
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!("cannot start the database thread: {e}"));
        Worker { tx }
    }

    pub fn send(&self, req: Request) {
        if self.tx.send(req).is_err() {
            tracing::error!("the database thread has stopped");
        }
    }
}

/// Drops every request that a later one of the same kind in the batch makes stale.
fn latest_only(batch: Vec<Request>) -> Vec<Request> {
    let mut keep = vec![true; batch.len()];
    for (i, r) in batch.iter().enumerate() {
        if let Some(k) = r.latest_wins_kind()
            && batch[i + 1..]
                .iter()
                .any(|l| l.latest_wins_kind() == Some(k))
        {
            keep[i] = false;
        }
    }
    batch
        .into_iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(r))
        .collect()
}

/// Answers one request. Also used directly by tests and benchmarks that run without a thread.
pub fn handle(store: &mut Store, req: Request) -> Reply {
    let what = request_name(&req);
    match try_handle(store, req) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("{what} failed: {e:#}");
            Reply::Failed {
                what: what.to_string(),
                error: format!("{e:#}"),
            }
        }
    }
}

fn request_name(req: &Request) -> &'static str {
    match req {
        Request::Datasets => "listing datasets",
        Request::Summary { .. } => "counting samples",
        Request::Page { .. } => "reading the list",
        Request::Detail { .. } => "loading the sample",
        Request::Decide { .. } => "saving the decision",
        Request::SaveRevision { .. } => "saving the revision",
        Request::Find { .. } => "finding the next sample",
        Request::Audit { .. } => "reading the audit",
        Request::Stats { .. } => "computing statistics",
        Request::DrawAudit { .. } => "drawing the audit",
        Request::Train(_) => "reading training runs",
        Request::ReadDraft { .. } => "reading the draft",
        Request::WriteDraft { .. } => "writing the draft",
        Request::RemoveDraft { .. } => "removing the draft",
    }
}

fn try_handle(store: &mut Store, req: Request) -> anyhow::Result<Reply> {
    Ok(match req {
        Request::Datasets => Reply::Datasets(store.dataset_names()?),
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
            let rows = match at {
                PageAt::Start => store.list_page(&filter, None, limit)?,
                PageAt::End => store.list_page_before(&filter, None, limit)?,
                PageAt::After(id) => store.list_page(&filter, Some(id), limit)?,
                PageAt::Before(id) => store.list_page_before(&filter, Some(id), limit)?,
                PageAt::Around(id) => {
                    store.rows_around(&filter, id, limit / 2, limit - limit / 2)?
                }
            };
            Reply::Page { seq, at, rows }
        }
        Request::Detail { seq, sample_id } => {
            let record = store.sample(sample_id)?;
            let verdicts = store.verdicts(record.head.id)?;
            let revisions = store.revisions(sample_id)?;
            let previous_verdicts = match revisions.iter().rev().nth(1) {
                Some(prev) => store.verdicts(prev.id)?,
                None => Vec::new(),
            };
            let reviews = store.reviews(sample_id)?;
            Reply::Detail {
                seq,
                detail: Box::new(Detail {
                    record,
                    verdicts,
                    revisions,
                    previous_verdicts,
                    reviews,
                }),
            }
        }
        Request::Decide {
            sample_id,
            decision,
            reason,
            reviewer,
            undo,
        } => {
            let head = store.sample(sample_id)?.head.id;
            let review = store.add_review(sample_id, head, &reviewer, decision, &reason)?;
            let status = store.sample(sample_id)?.status;
            Reply::Decided {
                review,
                status,
                undo,
            }
        }
        Request::SaveRevision {
            sample_id,
            content,
            author,
            verdicts,
        } => Reply::Saved {
            revision: Box::new(
                store.add_revision_with_verdicts(sample_id, &content, &author, &verdicts)?,
            ),
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
        Request::DrawAudit { dataset_id, seed } => {
            let outcome = audit::draw(store, dataset_id, None, seed)?;
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
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e.into()),
            }
            Reply::DraftWritten
        }
    })
}

/// The audit's status and its drawn samples' rows, in draw (id) order.
fn audit_rows(
    store: &Store,
    dataset_id: i64,
) -> anyhow::Result<(Box<AuditStatus>, Vec<SampleRow>)> {
    let status = audit::status(store, dataset_id)?;
    let ids = match status.audit_id {
        Some(id) => store.audit_sample_ids(id)?,
        None => Vec::new(),
    };
    Ok((Box::new(status), store.rows_by_ids(&ids)?))
}
