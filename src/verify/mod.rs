//! Verifiers: golden-answer match, an LLM judge with a rubric, and trajectory checks for agent
//! samples. Each produces a [`crate::model::NewVerdict`] on a sample's head revision. The judge
//! itself is [`crate::prompting::judge`] (CoT generation asks it too); [`run`] runs it here.

pub mod golden;
pub mod run;
pub mod trajectory;
