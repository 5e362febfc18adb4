//! Which revision is a sample's head, besides "the newest": a regenerated answer waits beside
//! the head as a **candidate** until a reviewer takes or declines it, and a reviewer can move
//! the head back to any earlier revision (undo of an edit, a take, or a revert from the
//! history). Every move is logged in `head_moves` and refreshes the sample's preview, verdict
//! summary and review status in the same commit, so the status always describes the content
//! that the head holds.

use super::codec::content_json;
use super::reviews::{insert_verdict, refresh_status, verdict_summary};
use super::{Result, Store, StoreError};
use crate::model::{Content, NewVerdict, ReviewStatus, Revision, now};
use rusqlite::{OptionalExtension, Transaction, params};

/// A head move, committed.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadMoved {
    pub sample_id: i64,
    /// The revision that was the head.
    pub from: i64,
    /// The revision that is the head now.
    pub to: i64,
    pub before: ReviewStatus,
    pub status: ReviewStatus,
}

impl Store {
    /// Stores a regenerated answer beside the head revision `base` (the one it was asked on),
    /// with its verdicts; the head stays as it is. A candidate still pending from before is
    /// declined. Refused as stale when `base` is no longer the head.
    pub fn add_candidate(
        &mut self,
        sample_id: i64,
        base: i64,
        content: &Content,
        author: &str,
        verdicts: &[NewVerdict],
    ) -> Result<Revision> {
        let json = content_json(content, sample_id)?;
        let created_at = now();
        let (id, number) = self.write(|tx| {
            let head = head_of(tx, sample_id)?;
            if head != base {
                return Err(stale(tx, sample_id, base, head)?);
            }
            tx.execute(
                "UPDATE revisions SET candidate = 'declined'
                 WHERE sample_id = ?1 AND candidate = 'pending'",
                [sample_id],
            )?;
            let number: i64 = tx.query_row(
                "SELECT coalesce(max(number), 0) + 1 FROM revisions WHERE sample_id = ?1",
                [sample_id],
                |r| r.get(0),
            )?;
            tx.execute(
                "INSERT INTO revisions (sample_id, number, content, author, created_at, candidate)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending')",
                params![sample_id, number, json, author, created_at],
            )?;
            let id = tx.last_insert_rowid();
            for v in verdicts {
                insert_verdict(tx, id, v, &created_at)?;
            }
            Ok((id, number))
        })?;
        Ok(Revision {
            id,
            sample_id,
            number,
            content: content.clone(),
            author: author.to_string(),
            created_at,
        })
    }

    /// The candidate waiting beside the head, if any.
    pub fn pending_candidate(&self, sample_id: i64) -> Result<Option<Revision>> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT id, number, content, author, created_at FROM revisions
                 WHERE sample_id = ?1 AND candidate = 'pending' ORDER BY number DESC LIMIT 1",
            )?
            .query_row([sample_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .optional()?;
        row.map(|(id, number, content, author, created_at)| {
            Ok(Revision {
                id,
                sample_id,
                number,
                content: parse_content(id, &content)?,
                author,
                created_at,
            })
        })
        .transpose()
    }

    /// Makes the pending candidate `candidate` the head: the sample is unreviewed until someone
    /// decides on it.
    pub fn take_candidate(
        &mut self,
        sample_id: i64,
        candidate: i64,
        who: &str,
    ) -> Result<HeadMoved> {
        self.write(|tx| {
            let changed = tx.execute(
                "UPDATE revisions SET candidate = 'taken'
                 WHERE id = ?1 AND sample_id = ?2 AND candidate = 'pending'",
                params![candidate, sample_id],
            )?;
            if changed == 0 {
                return Err(StoreError::Invalid(format!(
                    "sample {sample_id} has no pending candidate {candidate} (taken, declined \
                     or replaced by a newer one): reload the sample"
                )));
            }
            move_head(tx, sample_id, candidate, who, "take")
        })
    }

    /// Keeps the head and declines the pending candidate (it stays in the history).
    pub fn decline_candidate(&mut self, sample_id: i64, candidate: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE revisions SET candidate = 'declined'
                 WHERE id = ?1 AND sample_id = ?2 AND candidate = 'pending'",
                params![candidate, sample_id],
            )?;
            Ok(())
        })
    }

    /// Makes an earlier revision the head again (undo of an edit or a take, or a revert from
    /// the history). The decisions made on that revision count again: it holds exactly the
    /// content they were made on.
    pub fn revert_to(&mut self, sample_id: i64, revision: i64, who: &str) -> Result<HeadMoved> {
        self.write(|tx| {
            let owner: Option<(i64, Option<String>)> = tx
                .query_row(
                    "SELECT sample_id, candidate FROM revisions WHERE id = ?1",
                    [revision],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match owner {
                Some((s, c)) if s == sample_id && c.as_deref() != Some("pending") => {}
                Some((s, _)) if s == sample_id => {
                    return Err(StoreError::Invalid(format!(
                        "revision {revision} of sample {sample_id} is a pending candidate: take \
                         it instead of reverting to it"
                    )));
                }
                _ => {
                    return Err(StoreError::not_found(format!(
                        "revision {revision} of sample {sample_id}"
                    )));
                }
            }
            move_head(tx, sample_id, revision, who, "revert")
        })
    }
}

fn head_of(tx: &Transaction<'_>, sample_id: i64) -> Result<i64> {
    tx.query_row(
        "SELECT head_revision_id FROM samples WHERE id = ?1",
        [sample_id],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::not_found(format!("sample {sample_id}")))
}

fn stale(tx: &Transaction<'_>, sample_id: i64, seen: i64, head: i64) -> Result<StoreError> {
    let number = |id: i64| -> Result<i64> {
        Ok(
            tx.query_row("SELECT number FROM revisions WHERE id = ?1", [id], |r| {
                r.get(0)
            })?,
        )
    };
    Ok(StoreError::Stale {
        sample_id,
        seen: number(seen)?,
        head: number(head)?,
    })
}

fn parse_content(id: i64, json: &str) -> Result<Content> {
    serde_json::from_str(json).map_err(|e| StoreError::Corrupt {
        table: "revisions",
        column: "content",
        id,
        source: e,
    })
}

/// Points the sample at revision `to`, logs the move, and refreshes what follows the head.
fn move_head(
    tx: &Transaction<'_>,
    sample_id: i64,
    to: i64,
    who: &str,
    how: &str,
) -> Result<HeadMoved> {
    let (from, before): (i64, String) = tx.query_row(
        "SELECT head_revision_id, status FROM samples WHERE id = ?1",
        [sample_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let before = ReviewStatus::parse(&before).unwrap_or(ReviewStatus::Unreviewed);
    if from == to {
        return Ok(HeadMoved {
            sample_id,
            from,
            to,
            before,
            status: before,
        });
    }
    let json: String = tx.query_row("SELECT content FROM revisions WHERE id = ?1", [to], |r| {
        r.get(0)
    })?;
    let content = parse_content(to, &json)?;
    tx.execute(
        "UPDATE samples SET head_revision_id = ?1, preview = ?2, chars = ?3, verdict = ?4,
             score = (SELECT min(ifnull(score, passed)) FROM verdicts WHERE revision_id = ?1)
         WHERE id = ?5",
        params![
            to,
            content.preview(),
            content.chars(),
            verdict_summary(tx, to)?.as_str(),
            sample_id
        ],
    )?;
    tx.execute(
        "INSERT INTO head_moves (sample_id, from_revision_id, to_revision_id, who, how, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![sample_id, from, to, who, how, now()],
    )?;
    let status = refresh_status(tx, sample_id)?;
    Ok(HeadMoved {
        sample_id,
        from,
        to,
        before,
        status,
    })
}
