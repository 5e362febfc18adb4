//! Verifiers: golden-answer match, an LLM judge with a rubric, and trajectory checks for agent
//! samples. Each produces a [`crate::model::NewVerdict`] on a sample's head revision.

pub mod golden;
pub mod judge;
pub mod run;
pub mod trajectory;
