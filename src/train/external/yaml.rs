//! YAML values written so that every reader takes them as meant, PyYAML (YAML 1.1, what
//! LLaMA-Factory and SkyPilot load with) included: strings double-quoted with every character
//! outside printable ASCII escaped, so a model path holding quotes, colons, `#` or a newline
//! stays one inert string; floats always with a `.` and a signed exponent (`2.0e-05`), since
//! PyYAML reads `2e-5` as the *string* "2e-5"; lists and maps in flow style.
//!
//! Written by hand because only scalars and flow collections are ever needed, and a YAML
//! serializer crate would not know PyYAML's float rule either.

use serde_json::Value;
use std::fmt::Write;

/// A string as a double-quoted YAML scalar.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            ' '..='~' => out.push(c),
            // Writing to a String cannot fail.
            c if (c as u32) <= 0xff => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// A float that YAML 1.1 and 1.2 both read as a float.
pub fn float(x: f64) -> String {
    if x.is_nan() {
        return ".nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let (mantissa, exp) = match format!("{x:e}").split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().unwrap_or(0)),
        None => (x.to_string(), 0),
    };
    let mantissa = if mantissa.contains('.') {
        mantissa
    } else {
        format!("{mantissa}.0")
    };
    if (-4..=15).contains(&exp) {
        // Plain notation reads better for the usual values (0.1, 3.0, 0.0002).
        let plain = format!("{x}");
        return if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        };
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// A JSON value as a YAML flow value.
pub fn value(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => float(f),
            _ => n.to_string(),
        },
        Value::String(s) => string(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", string(k), value(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_keep_a_dot_and_a_signed_exponent() {
        assert_eq!(float(2e-5), "2.0e-05");
        assert_eq!(float(1.5e-7), "1.5e-07");
        assert_eq!(float(0.0002), "0.0002");
        assert_eq!(float(3.0), "3.0");
        assert_eq!(float(0.1), "0.1");
        assert_eq!(float(1e20), "1.0e+20");
        assert_eq!(float(-2.5e-9), "-2.5e-09");
        assert_eq!(float(f64::NAN), ".nan");
        // Every float form matches PyYAML's float resolver (YAML 1.1).
        for x in [2e-5, 1e-4, 0.5, 12.0, 1e300, 7e-300, -3e-6] {
            let f = float(x);
            assert!(f.contains('.'), "{f}");
            assert_eq!(f.parse::<f64>().unwrap(), x, "{f}");
            if let Some((_, e)) = f.split_once('e') {
                assert!(e.starts_with('+') || e.starts_with('-'), "{f}");
            }
        }
    }

    #[test]
    fn strings_are_inert_and_ascii() {
        assert_eq!(string("a\"b\\c\nd: #e"), r#""a\"b\\c\nd: #e""#);
        assert_eq!(string("é\u{7f}\u{85}😀"), r#""\xe9\x7f\x85\U0001f600""#);
        assert_eq!(
            value(&json!({"a": [1, 2.5e-6, true, null, "x"]})),
            r#"{"a": [1, 2.5e-06, true, null, "x"]}"#
        );
    }
}
