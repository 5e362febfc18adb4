//! The JSON schemas of the replies the verifier prompts ask for: the step check and the judge.
//!
//! A schema is what the prompt's "Reply with JSON only: {...}" line says, in the same key order.
//! The local model samples under it (llguidance masks every token that would break it), so a
//! small offline model answers these prompts with parseable JSON; an endpoint is asked for a
//! JSON object and its reply read by the tolerant parsers in [`super::parse`] and
//! [`super::judge`], which accept the same keys. Strings are bounded so that a rambling model
//! reaches the closing brace inside the token limit; the layout is compact (`", "` and `": "`,
//! no free whitespace) for the same reason.

use serde_json::{Value, json};

/// The longest reason or rationale, in characters.
const REASON_CHARS: u32 = 240;

/// llguidance's layout options, carried in the schema (`x-guidance`).
fn layout() -> Value {
    json!({"whitespace_flexible": false, "item_separator": ", ", "key_separator": ": "})
}

/// `{"correct": bool, "score": 0..1, "reason": "..."}`: is every step so far correct?
pub fn step_check() -> Value {
    json!({
        "type": "object",
        "properties": {
            "correct": {"type": "boolean"},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "reason": {"type": "string", "maxLength": REASON_CHARS},
        },
        "required": ["correct", "score", "reason"],
        "additionalProperties": false,
        "x-guidance": layout(),
    })
}

/// `{"pass": bool, "score": 0..1, "rationale": "...", "first_wrong_step": n or null}`.
pub fn judge() -> Value {
    json!({
        "type": "object",
        "properties": {
            "pass": {"type": "boolean"},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "rationale": {"type": "string", "maxLength": REASON_CHARS},
            "first_wrong_step": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]},
        },
        "required": ["pass", "score", "rationale", "first_wrong_step"],
        "additionalProperties": false,
        "x-guidance": layout(),
    })
}
