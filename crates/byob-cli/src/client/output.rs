//! Printing API answers: a table for people, JSON (`--json`) for scripts.

use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use serde_json::Value;

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) if map.contains_key("kind") => {
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
            map.get("member_id").and_then(Value::as_str).map_or_else(|| kind.to_string(), str::to_string)
        }
        Some(other) => other.to_string(),
    }
}

/// Prints `value` (an object, an array, or a `{items, next_cursor}` page) with the given columns.
pub(crate) fn print(value: &Value, columns: &[&str], json: bool) {
    if json {
        println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
        return;
    }
    let (rows, next) = match value {
        Value::Array(items) => (items.clone(), None),
        Value::Object(map) if map.contains_key("items") => (
            map.get("items").and_then(Value::as_array).cloned().unwrap_or_default(),
            map.get("next_cursor").and_then(Value::as_str).map(str::to_string),
        ),
        Value::Null => return,
        other => (vec![other.clone()], None),
    };
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY).set_header(columns.iter().map(|c| c.to_uppercase()));
    for row in &rows {
        table.add_row(columns.iter().map(|c| cell(row.get(*c))));
    }
    println!("{table}");
    if let Some(cursor) = next {
        println!("more: --cursor {cursor}");
    }
}
