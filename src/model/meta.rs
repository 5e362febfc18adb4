//! What a sample is and where it came from: kind, source, aspect, topic, label, tags.

use serde::{Deserialize, Serialize};

/// The kind of a sample, which decides how it is shown, verified and exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SampleKind {
    Qa,
    Cot,
    Conversation,
    AgentTrajectory,
    Pretrain,
    MultipleChoice,
}

impl SampleKind {
    pub const ALL: [SampleKind; 6] = [
        SampleKind::Qa,
        SampleKind::Cot,
        SampleKind::Conversation,
        SampleKind::AgentTrajectory,
        SampleKind::Pretrain,
        SampleKind::MultipleChoice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SampleKind::Qa => "qa",
            SampleKind::Cot => "cot",
            SampleKind::Conversation => "conversation",
            SampleKind::AgentTrajectory => "agent_trajectory",
            SampleKind::Pretrain => "pretrain",
            SampleKind::MultipleChoice => "multiple_choice",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for SampleKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a sample came from: a line of an imported file, or a generator run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Source {
    File {
        path: String,
        /// 1-based line of the record (JSONL) or of its first byte (JSON array).
        line: u64,
    },
    Generated {
        generator: String,
        model: String,
        prompt: String,
    },
}

/// The diversity label the seeds ask for: positive, negative and boundary cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Label {
    Positive,
    Negative,
    Boundary,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Positive => "positive",
            Label::Negative => "negative",
            Label::Boundary => "boundary",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "positive" => Some(Label::Positive),
            "negative" => Some(Label::Negative),
            "boundary" => Some(Label::Boundary),
            _ => None,
        }
    }
}

/// Everything about a sample that is not revised by edits.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SampleMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aspect: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Anything else a format carried that has no field of its own (kept, exported back).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}
