//! A revision and the verdicts on it in one transaction: a regenerated or edited answer is stored
//! with what the verifiers said about it, or not at all, so the review screen never shows a new
//! revision whose verdicts went missing. An edit names the revision it was made on and is
//! refused when someone changed the sample meanwhile.

use super::codec::content_json;
use super::reviews::insert_verdict;
use super::samples::insert_revision;
use super::{Result, Store, StoreError};
use crate::model::{Content, NewVerdict, Revision, now};

impl Store {
    /// Adds a revision, makes it the head, and records `verdicts` on it, all in one commit.
    pub fn add_revision_with_verdicts(
        &mut self,
        sample_id: i64,
        content: &Content,
        author: &str,
        verdicts: &[NewVerdict],
    ) -> Result<Revision> {
        self.revise(sample_id, None, content, author, verdicts)
    }

    /// As [`Store::add_revision_with_verdicts`] for an edit made on revision `base`: refused as
    /// stale when `base` is no longer the head.
    pub fn add_revision_on(
        &mut self,
        sample_id: i64,
        base: i64,
        content: &Content,
        author: &str,
        verdicts: &[NewVerdict],
    ) -> Result<Revision> {
        self.revise(sample_id, Some(base), content, author, verdicts)
    }

    fn revise(
        &mut self,
        sample_id: i64,
        base: Option<i64>,
        content: &Content,
        author: &str,
        verdicts: &[NewVerdict],
    ) -> Result<Revision> {
        let json = content_json(content, sample_id)?;
        let created_at = now();
        let (id, number) = self.write(|tx| {
            if let Some(base) = base {
                let (head, number): (i64, i64) = tx.query_row(
                    "SELECT s.head_revision_id, r.number FROM samples s
                     JOIN revisions r ON r.id = s.head_revision_id WHERE s.id = ?1",
                    [sample_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                if head != base {
                    let seen: i64 =
                        tx.query_row("SELECT number FROM revisions WHERE id = ?1", [base], |r| {
                            r.get(0)
                        })?;
                    return Err(StoreError::Stale {
                        sample_id,
                        seen,
                        head: number,
                    });
                }
            }
            let (id, number) = insert_revision(tx, sample_id, content, &json, author, &created_at)?;
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
}
