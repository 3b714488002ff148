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
        // A job's progress, as a person reads it: `66 B / 66 B, 2 rows`.
        Some(Value::Object(map)) if map.contains_key("bytes_done") => progress(map),
        // A failure: `code: message`.
        Some(Value::Object(map)) if map.contains_key("code") && map.contains_key("message") => format!(
            "{}: {}",
            map.get("code").and_then(Value::as_str).unwrap_or_default(),
            map.get("message").and_then(Value::as_str).unwrap_or_default()
        ),
        Some(other) => other.to_string(),
    }
}

fn progress(map: &serde_json::Map<String, Value>) -> String {
    let number = |key: &str| map.get(key).and_then(Value::as_u64);
    let mut text = human_bytes(number("bytes_done").unwrap_or(0));
    if let Some(total) = number("bytes_total") {
        text.push_str(&format!(" / {}", human_bytes(total)));
    }
    let rows = number("rows_done").unwrap_or(0);
    text.push_str(&format!(", {rows} row{}", if rows == 1 { "" } else { "s" }));
    if let Some(rejected) = number("rows_rejected").filter(|r| *r > 0) {
        text.push_str(&format!(", {rejected} rejected"));
    }
    text
}

/// Bytes in decimal units, as storage consoles show them: `66 B`, `1.5 MB`.
pub(crate) fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn progress_reads_as_a_person_would() {
        let p = json!({ "bytes_done": 66, "bytes_total": 66, "rows_done": 2, "rows_rejected": 0 });
        assert_eq!(cell(Some(&p)), "66 B / 66 B, 2 rows");
        let p = json!({ "bytes_done": 1_500_000, "bytes_total": null, "rows_done": 1, "rows_rejected": 3 });
        assert_eq!(cell(Some(&p)), "1.5 MB, 1 row, 3 rejected");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(2_000_000_000), "2.0 GB");
    }

    #[test]
    fn an_error_is_its_code_and_message() {
        let e = json!({ "code": "table-missing", "message": "table t does not exist" });
        assert_eq!(cell(Some(&e)), "table-missing: table t does not exist");
    }
}
