//! Declared tools as trainers want them: a list of `{"name", "description", "parameters"}` with
//! `parameters` in JSON Schema. People write tools by hand as a short name->type map
//! (`{"location": "string"}`); LLaMA-Factory's tool formatter reads `parameters.properties` and
//! fails with `KeyError: 'properties'` on that, so exports convert it, or skip the sample with
//! the reason when a parameter's type cannot be read.

use super::Skip;
use serde_json::{Map, Value, json};

/// JSON Schema type names, and the short names people write for them.
fn schema_type(name: &str) -> Option<&'static str> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "string" | "str" | "text" => "string",
        "number" | "float" | "double" => "number",
        "integer" | "int" => "integer",
        "boolean" | "bool" => "boolean",
        "array" | "list" => "array",
        "object" | "dict" => "object",
        "null" => "null",
        _ => return None,
    })
}

/// `parameters` as JSON Schema: kept when it already is one (`"type": "object"` with
/// `properties`), converted from a name->type map (every parameter required), else why not.
pub fn parameters_schema(tool: &str, params: Option<&Value>) -> Result<Value, Skip> {
    let Some(params) = params.filter(|p| !p.is_null()) else {
        return Ok(json!({"type": "object", "properties": {}}));
    };
    let Value::Object(map) = params else {
        return Err(format!(
            "tool {tool:?}: parameters must be an object (JSON Schema or name->type map)"
        ));
    };
    if map.get("type").and_then(Value::as_str) == Some("object")
        && map.get("properties").is_some_and(Value::is_object)
    {
        return Ok(params.clone());
    }
    if map.is_empty() {
        return Ok(json!({"type": "object", "properties": {}}));
    }
    let mut properties = Map::new();
    for (name, ty) in map {
        let prop = match ty {
            Value::String(t) => match schema_type(t) {
                Some(t) => json!({"type": t}),
                None => {
                    return Err(format!(
                        "tool {tool:?}: parameter {name:?} has unknown type {t:?} (write its \
                         parameters as JSON Schema)"
                    ));
                }
            },
            Value::Object(o) if o.get("type").is_some_and(Value::is_string) => ty.clone(),
            _ => {
                return Err(format!(
                    "tool {tool:?}: parameter {name:?} is neither a type name nor a schema with \
                     \"type\" (write its parameters as JSON Schema)"
                ));
            }
        };
        properties.insert(name.clone(), prop);
    }
    let required: Vec<Value> = properties.keys().cloned().map(Value::String).collect();
    Ok(json!({"type": "object", "properties": properties, "required": required}))
}

/// The declared tools as `[{"name", "description", "parameters"}]` with JSON Schema
/// parameters. Accepts a list or a single tool, each bare or OpenAI-wrapped
/// (`{"type": "function", "function": {...}}`), or the JSON text of either.
pub fn normalize(tools: &Value) -> Result<Vec<Value>, Skip> {
    let parsed;
    let tools = match tools {
        Value::String(s) if s.trim().is_empty() => return Ok(Vec::new()),
        Value::String(s) => {
            parsed = serde_json::from_str::<Value>(s)
                .map_err(|e| format!("its tools are not JSON: {e}"))?;
            &parsed
        }
        v => v,
    };
    let items: Vec<&Value> = match tools {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![tools],
        Value::Null => Vec::new(),
        other => {
            return Err(format!(
                "its tools are {}, not a list of tools",
                super::fields::type_name(other)
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let t = match t.get("function") {
                Some(f) if t.get("type").and_then(Value::as_str) == Some("function") => f,
                _ => t,
            };
            let Some(name) = t.get("name").and_then(Value::as_str) else {
                return Err(format!("tool {i} has no string \"name\""));
            };
            let mut out = Map::new();
            out.insert("name".into(), name.into());
            out.insert(
                "description".into(),
                t.get("description").cloned().unwrap_or_else(|| "".into()),
            );
            out.insert(
                "parameters".into(),
                parameters_schema(name, t.get("parameters"))?,
            );
            Ok(Value::Object(out))
        })
        .collect()
}

/// OpenAI's layout: each tool wrapped as `{"type": "function", "function": {...}}`.
pub fn wrapped(tools: Vec<Value>) -> Vec<Value> {
    tools
        .into_iter()
        .map(|f| json!({"type": "function", "function": f}))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_type_map_becomes_json_schema() {
        let tools = json!([{"name": "get_weather", "description": "d",
                            "parameters": {"location": "string", "days": "int"}}]);
        assert_eq!(
            normalize(&tools).unwrap(),
            vec![
                json!({"name": "get_weather", "description": "d", "parameters": {
                "type": "object",
                "properties": {"location": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["location", "days"]}})
            ]
        );
    }

    #[test]
    fn json_schema_and_wrapped_tools_are_kept() {
        let schema = json!({"type": "object", "properties": {"q": {"type": "string"}}});
        let tools = json!([{"type": "function",
                            "function": {"name": "search", "parameters": schema}}]);
        let out = normalize(&tools).unwrap();
        assert_eq!(out[0]["parameters"], schema);
        assert_eq!(wrapped(out)[0]["function"]["name"], "search");
        let text = Value::String(tools.to_string());
        assert_eq!(normalize(&text).unwrap()[0]["name"], "search");
    }

    #[test]
    fn an_unknown_parameter_type_is_a_reason_to_skip() {
        let tools = json!([{"name": "t", "parameters": {"when": "datetime"}}]);
        let err = normalize(&tools).unwrap_err();
        assert!(
            err.contains("\"when\"") && err.contains("datetime"),
            "{err}"
        );
        let err = normalize(&json!([{"parameters": {}}])).unwrap_err();
        assert!(err.contains("name"), "{err}");
        assert!(normalize(&json!("not json")).is_err());
    }
}
