//! JSON whose bytes do not depend on the order of an object's keys: what content hashes and job
//! keys are computed over.
//!
//! serde_json keeps an object's keys sorted unless its `preserve_order` feature is on, and a
//! feature turned on by any crate in the build is on for all of them (llguidance turns it on: it
//! generates a schema's properties in the order they are written). A hash over the keys' order
//! would then change with the input's order, and with the build: a re-import would no longer be a
//! no-op and a job would no longer resume. So the values a hash covers are written with sorted
//! keys, whatever the feature says; stored content is written the same way, so a database written
//! before reads and hashes exactly as it did.

use serde::{Serialize, Serializer};
use serde_json::Value;

/// `value` with every object's keys sorted, at every depth.
pub fn sorted(value: &Value) -> Value {
    let mut v = value.clone();
    v.sort_all_objects();
    v
}

/// `value` as compact JSON with sorted keys.
pub fn to_string(value: &Value) -> String {
    sorted(value).to_string()
}

/// `#[serde(serialize_with)]` for a JSON value field: written with sorted keys.
pub fn serialize<S: Serializer>(value: &Value, s: S) -> Result<S::Ok, S::Error> {
    sorted(value).serialize(s)
}

/// `#[serde(serialize_with)]` for an optional JSON value field: written with sorted keys.
pub fn serialize_opt<S: Serializer>(value: &Option<Value>, s: S) -> Result<S::Ok, S::Error> {
    value.as_ref().map(sorted).serialize(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_does_not_change_the_bytes() {
        let a: Value =
            serde_json::from_str(r#"{"b":{"y":1,"x":[{"q":1,"p":2}]},"a":"工具"}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"a":"工具","b":{"x":[{"p":2,"q":1}],"y":1}}"#).unwrap();
        assert_eq!(to_string(&a), to_string(&b));
        assert_eq!(
            to_string(&a),
            r#"{"a":"工具","b":{"x":[{"p":2,"q":1}],"y":1}}"#
        );
    }
}
