//! A revision and the verdicts on it in one transaction: a regenerated answer is stored with
//! what the verifiers said about it, or not at all, so the review screen never shows a new
//! revision whose verdicts went missing.

use super::codec::content_json;
use super::reviews::insert_verdict;
use super::samples::insert_revision;
use super::{Result, Store};
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
        let json = content_json(content, sample_id)?;
        let created_at = now();
        let (id, number) = self.write(|tx| {
            let (id, number) = insert_revision(
                tx,
                sample_id,
                &json,
                &content.preview(),
                author,
                &created_at,
            )?;
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
