//! Evaluation: a base model, alone or with a LoRA adapter merged in, answers held-out items
//! greedily; answers are scored against golden answers or option keys, accuracy is reported
//! with an exact confidence interval, and wrong answers return as samples to review.

pub mod candle_qwen;
pub mod error;
pub mod failures;
pub mod fast;
pub mod generate;
pub mod items;
pub mod model;
pub mod report;
pub mod run;
pub mod score;

pub use error::{EvalError, Result};
pub use items::EvalItem;
pub use report::{Report, Tally};
