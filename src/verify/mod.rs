//! Verifiers: golden-answer match, an LLM judge with a rubric, and trajectory checks for agent
//! samples. Each produces a [`crate::model::NewVerdict`] on a sample's head revision; which of
//! them apply to a sample is [`applicable()`], and `regenerate` asks for a new answer and
//! verifies it in one go. The judge itself is [`crate::prompting::judge`] (CoT generation asks
//! it too); [`run`] runs it here.

pub mod applicable;
pub mod first_wrong;
pub mod golden;
pub mod regenerate;
pub mod run;
pub mod trajectory;

pub use applicable::{Which, applicable};
