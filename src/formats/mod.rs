//! Readers and writers for every fine-tuning data format (see ../shared/FORMATS.md).
//!
//! Reading is streaming: `scan` cuts a file into raw records in bounded memory, each format's
//! `parse` turns one JSON record into samples, `read::Reader` ties them together and turns every
//! failure into a `Rejection`. Writing goes the other way through each format's `to_json`.

pub mod agent;
pub mod alpaca;
pub mod camel;
pub mod choice;
pub mod detect;
pub mod fields;
pub mod folders;
pub mod openai;
pub mod preference;
pub mod pretrain;
pub mod read;
pub mod rejects;
pub mod scan;
pub mod shape;
pub mod sharegpt;
pub mod tools;
pub mod write;
pub mod xtuner;

pub use read::{Item, ReadOptions, Reader, Rejection};
pub use scan::DEFAULT_MAX_RECORD_BYTES;
pub use sharegpt::Tags;
pub use write::{SampleWriter, WriteSummary};

use crate::model::{Content, SampleKind, SampleMeta};

/// A record format assay reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum Format {
    /// `{"instruction", "input", "output", "system", "history"}` (LLaMA-Factory default).
    Alpaca,
    /// `{"conversations": [{"from", "value"}], "system", "tools"}`.
    Sharegpt,
    /// `{"messages": [{"role", "content", "tool_calls"}]}`.
    Openai,
    /// xtuner `{"conversation": [{"system", "input", "output"}]}`.
    Xtuner,
    /// `{"tools": [...], "conversation": [{"role", "content": {"thought", "action", ...}}]}`.
    Agent,
    /// CAMEL golden answers: one object mapping question to answer.
    CamelGolden,
    /// CAMEL's export: `{"solutions", "golden_answers", "export_time"}`.
    CamelExport,
    /// `{"problem", "questions": [{"question", "options", "answer"}]}`.
    Choice,
    /// Pre-training `{"text"}`.
    Pretrain,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::Alpaca,
        Format::Sharegpt,
        Format::Openai,
        Format::Xtuner,
        Format::Agent,
        Format::CamelGolden,
        Format::CamelExport,
        Format::Choice,
        Format::Pretrain,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Alpaca => "alpaca",
            Format::Sharegpt => "sharegpt",
            Format::Openai => "openai",
            Format::Xtuner => "xtuner",
            Format::Agent => "agent",
            Format::CamelGolden => "camel-golden",
            Format::CamelExport => "camel-export",
            Format::Choice => "choice",
            Format::Pretrain => "pretrain",
        }
    }

    /// CAMEL files are one JSON object for the whole file, not one record per sample.
    pub fn is_single_object(self) -> bool {
        matches!(self, Format::CamelGolden | Format::CamelExport)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one field of a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Path of the field, such as `conversations[2].value`; empty for the record itself.
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The parts of a stored sample a writer needs.
#[derive(Debug, Clone, Copy)]
pub struct SampleView<'a> {
    pub kind: SampleKind,
    pub content: &'a Content,
    pub meta: &'a SampleMeta,
}

/// Why a writer could not carry a sample (counted and printed by the exporter).
pub type Skip = String;
