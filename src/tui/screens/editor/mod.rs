//! The editor screen's state: the four editable fields of a sample (system, question,
//! reasoning, answer), one `TextArea` for the field in focus, and the draft file that autosave
//! writes so that a crash loses at most a few seconds of typing.

mod update;
pub mod view;

use crate::model::{Content, Role, Turn};
use ratatui_textarea::{TextArea, WrapMode};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

pub const FIELDS: [&str; 4] = ["question", "reasoning", "answer", "system"];

/// What a draft file holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub sample_id: i64,
    pub base_revision: i64,
    pub fields: [String; 4],
}

pub struct Editor {
    pub sample_id: i64,
    /// The sample's kind: which verifiers judge the saved edit.
    pub kind: crate::model::SampleKind,
    pub base_revision: i64,
    pub base: Content,
    pub fields: [String; 4],
    pub field: usize,
    pub area: TextArea<'static>,
    pub modified: bool,
    /// Typed since the draft was last written.
    pub draft_dirty: bool,
    /// Ticks since the draft was last written (it is written at most every
    /// [`AUTOSAVE_TICKS`]; the first tick after typing writes).
    pub ticks_since_write: u32,
    pub draft_path: PathBuf,
    pub restored: bool,
    /// The restored draft was made on this earlier revision, not on the head.
    pub drafted_on: Option<i64>,
}

/// Ticks ([`crate::tui::TICK`]) between two writes of the draft: 2 s.
pub const AUTOSAVE_TICKS: u32 = 4;

/// The draft file of a sample: `<drafts dir>/<database id>/<sample id>.json`. The database id
/// is stored inside the database (`Store::id`), so that two files of the same name (projA and
/// projB's `assay.db`) never share drafts, and a moved or renamed file keeps its own.
pub fn draft_path(drafts: &std::path::Path, db_id: &str, sample_id: i64) -> PathBuf {
    // The id is hex from this program; anything else is reduced to a safe file name.
    let dir: String = db_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    drafts.join(dir).join(format!("{sample_id}.json"))
}

fn fields_of(c: &Content) -> [String; 4] {
    let answer = c.answer_turn();
    [
        c.question().unwrap_or("").to_string(),
        answer.and_then(|t| t.reasoning.clone()).unwrap_or_default(),
        answer.map(|t| t.content.clone()).unwrap_or_default(),
        c.system.clone().unwrap_or_default(),
    ]
}

fn area_for(text: &str) -> TextArea<'static> {
    let mut a = TextArea::new(text.split('\n').map(str::to_string).collect());
    a.set_wrap_mode(WrapMode::WordOrGlyph);
    a
}

impl Editor {
    /// Opens the editor on a sample's head; a draft newer than nothing (same base) is restored.
    pub fn open(
        sample_id: i64,
        base_revision: i64,
        base: Content,
        draft_path: PathBuf,
        draft: Option<Draft>,
    ) -> Editor {
        // A draft is never dropped: one made on an earlier revision (its save was refused
        // because the sample changed) is restored too, and `drafted_on` says so, so that the
        // reviewer compares before saving it over the new head.
        let (fields, restored, drafted_on) = match draft {
            Some(d) if d.sample_id == sample_id => {
                let older = (d.base_revision != base_revision).then_some(d.base_revision);
                (d.fields, true, older)
            }
            _ => (fields_of(&base), false, None),
        };
        let area = area_for(&fields[0]);
        Editor {
            sample_id,
            kind: crate::model::SampleKind::Qa,
            base_revision,
            base,
            fields,
            field: 0,
            area,
            modified: restored,
            draft_dirty: false,
            ticks_since_write: AUTOSAVE_TICKS - 1,
            draft_path,
            restored,
            drafted_on,
        }
    }

    /// Stores the focused text back into its field.
    pub fn sync(&mut self) {
        self.fields[self.field] = self.area.lines().join("\n");
    }

    pub fn next_field(&mut self) {
        self.sync();
        self.field = (self.field + 1) % FIELDS.len();
        self.area = area_for(&self.fields[self.field]);
    }

    pub fn draft(&mut self) -> Draft {
        self.sync();
        Draft {
            sample_id: self.sample_id,
            base_revision: self.base_revision,
            fields: self.fields.clone(),
        }
    }

    /// The edited content: the base with the four fields replaced.
    pub fn content(&mut self) -> Content {
        self.sync();
        let mut c = self.base.clone();
        let [question, reasoning, answer, system] = self.fields.clone();
        c.system = (!system.is_empty()).then_some(system);
        match c.turns.iter_mut().find(|t| t.role == Role::User) {
            Some(t) => t.content = question,
            None if !question.is_empty() => c.turns.insert(0, Turn::user(question)),
            None => {}
        }
        match c.turns.iter_mut().rev().find(|t| t.role == Role::Assistant) {
            Some(t) => {
                t.content = answer;
                t.reasoning = (!reasoning.is_empty()).then_some(reasoning);
            }
            None => {
                let mut t = Turn::assistant(answer);
                t.reasoning = (!reasoning.is_empty()).then_some(reasoning);
                c.turns.push(t);
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip_into_content() {
        let base = Content {
            system: None,
            turns: vec![
                Turn::user("税率？"),
                Turn::assistant("13%").with_reasoning("先查表。"),
            ],
            ..Content::default()
        };
        let mut e = Editor::open(1, 1, base.clone(), PathBuf::from("/nonexistent"), None);
        assert_eq!(e.content(), base);
        e.area.insert_str("增值");
        e.next_field();
        e.next_field();
        e.area = area_for("百分之十三");
        let c = e.content();
        assert_eq!(c.question(), Some("增值税率？"));
        assert_eq!(c.answer(), Some("百分之十三"));
        assert_eq!(
            c.answer_turn().and_then(|t| t.reasoning.as_deref()),
            Some("先查表。")
        );
    }

    #[test]
    fn a_draft_is_restored_and_says_when_the_sample_moved_on() {
        let d = Draft {
            sample_id: 1,
            base_revision: 2,
            fields: ["q".into(), String::new(), "a".into(), String::new()],
        };
        let e = Editor::open(1, 2, Content::default(), PathBuf::new(), Some(d.clone()));
        assert!(e.restored && e.fields[0] == "q" && e.drafted_on.is_none());
        let e = Editor::open(1, 3, Content::default(), PathBuf::new(), Some(d.clone()));
        assert!(e.restored && e.drafted_on == Some(2));
        let e = Editor::open(7, 3, Content::default(), PathBuf::new(), Some(d));
        assert!(!e.restored);
    }
}
