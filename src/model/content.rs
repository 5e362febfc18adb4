//! What a sample says: system prompt, turns, golden answer, tools and options.
//!
//! One shape serves every kind: a QA is one user and one assistant turn, a CoT keeps its
//! reasoning in the assistant turn's `reasoning`, an agent trajectory uses `tool_calls` and tool
//! turns, a pre-training chunk is a single assistant turn with no user turn.

use serde::{Deserialize, Serialize};

/// Who speaks a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Assistant,
    /// A tool's observation, answering an assistant's tool call.
    Tool,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// A call of a declared tool made by an assistant turn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    /// The arguments as JSON (an object in well-formed data; kept as given otherwise), written
    /// with sorted keys (see [`super::canonical`]).
    #[serde(serialize_with = "super::canonical::serialize")]
    pub arguments: serde_json::Value,
}

/// One turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    /// The visible text: the question, the final answer, or a tool's observation.
    #[serde(default)]
    pub content: String,
    /// Chain-of-thought or an agent's thought, kept apart from the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool turn: which call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Turn {
    pub fn user(content: impl Into<String>) -> Self {
        Self::new(Role::User, content)
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new(Role::Assistant, content)
    }

    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Turn {
            role,
            content: content.into(),
            reasoning: None,
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    pub fn with_reasoning(mut self, reasoning: impl Into<String>) -> Self {
        self.reasoning = Some(reasoning.into());
        self
    }
}

/// The content of one revision of a sample.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Content {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(default)]
    pub turns: Vec<Turn>,
    /// The reference answer a verifier compares with (CAMEL golden answers, option letters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub golden: Option<String>,
    /// Declared tools (agent trajectories, ShareGPT `tools`, OpenAI function specs), as given,
    /// written with sorted keys (see [`super::canonical`]).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::canonical::serialize_opt"
    )]
    pub tools: Option<serde_json::Value>,
    /// Options of a multiple-choice item, lettered A, B, C... in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

impl Content {
    /// The first user turn: the question of a QA, CoT or multiple-choice sample.
    pub fn question(&self) -> Option<&str> {
        self.turns
            .iter()
            .find(|t| t.role == Role::User)
            .map(|t| t.content.as_str())
    }

    /// The last assistant turn: the answer (or, for pre-training, the text).
    pub fn answer_turn(&self) -> Option<&Turn> {
        self.turns.iter().rev().find(|t| t.role == Role::Assistant)
    }

    pub fn answer(&self) -> Option<&str> {
        self.answer_turn().map(|t| t.content.as_str())
    }

    /// A stable hash of the content, used to make re-imports a no-op.
    pub fn hash(&self) -> u128 {
        // serde_json writes struct fields in declaration order and the JSON values inside with
        // sorted keys, so equal content gives equal bytes.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        xxhash_rust::xxh3::xxh3_128(&bytes)
    }

    /// How long the sample is, in characters: the system prompt and every turn's content and
    /// reasoning, what a model trains on (the list sorts by it; migration 010 computes the same
    /// sum in SQL for samples stored before it).
    pub fn chars(&self) -> i64 {
        let count = |s: &str| s.chars().count();
        let turns: usize = self
            .turns
            .iter()
            .map(|t| count(&t.content) + t.reasoning.as_deref().map_or(0, count))
            .sum();
        (turns + self.system.as_deref().map_or(0, count)) as i64
    }

    /// One line that identifies the sample in a list: the question, else the first text.
    pub fn preview(&self) -> String {
        let text = self
            .question()
            .or_else(|| self.turns.first().map(|t| t.content.as_str()))
            .unwrap_or("");
        let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        line.chars().take(200).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_tools(tools: &str, arguments: &str) -> Content {
        let mut call = Turn::assistant("");
        call.tool_calls.push(ToolCall {
            id: None,
            name: "search".into(),
            arguments: serde_json::from_str(arguments).unwrap(),
        });
        Content {
            turns: vec![Turn::user("找一下"), call],
            tools: Some(serde_json::from_str(tools).unwrap()),
            ..Content::default()
        }
    }

    #[test]
    fn the_order_of_json_keys_changes_neither_hash_nor_stored_bytes() {
        let a = with_tools(
            r#"[{"name":"search","parameters":{"type":"object","properties":{}}}]"#,
            r#"{"q":"税","limit":3}"#,
        );
        let b = with_tools(
            r#"[{"parameters":{"properties":{},"type":"object"},"name":"search"}]"#,
            r#"{"limit":3,"q":"税"}"#,
        );
        assert_eq!(a, b);
        assert_eq!(a.hash(), b.hash());
        let stored = serde_json::to_string(&a).unwrap();
        assert_eq!(stored, serde_json::to_string(&b).unwrap());
        assert!(
            stored.contains(r#"{"limit":3,"q":"税"}"#)
                && stored.contains(
                    r#"{"name":"search","parameters":{"properties":{},"type":"object"}}"#
                ),
            "{stored}"
        );
    }
}
