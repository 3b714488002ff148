//! Inspecting the start of a CSV file: encoding, delimiter, quoting, header, column names and types.

use byob_core::table::{Column, ColumnType, check_identifier};
use serde::Serialize;
use utoipa::ToSchema;

use super::{
    encoding::{DetectedEncoding, LATIN1_GUESS, MixedEncoding, detect_encoding, mixed_encoding, utf8_reader},
    values::{convert, infer},
};

const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
/// Records of the sample used to choose the delimiter and infer types.
const SAMPLE_RECORDS: usize = 1000;
const PREVIEW_ROWS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct Dialect {
    /// `,`, `;`, a tab or `|`.
    #[schema(value_type = String)]
    #[serde(serialize_with = "as_char")]
    pub delimiter: u8,
    /// Whether fields are quoted with `"` (RFC 4180: `""` inside a quoted field is one quote).
    pub quoted: bool,
    pub has_header: bool,
}

fn as_char<S: serde::Serializer>(b: &u8, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&char::from(*b).to_string())
}

/// What byob found at the start of a file.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Inspection {
    pub encoding: DetectedEncoding,
    pub dialect: Dialect,
    /// Names as the header gives them (`column_N` without a header) and the inferred types.
    pub columns: Vec<Column>,
    /// The first rows as text, after the header.
    pub rows: Vec<Vec<Option<String>>>,
    /// Things to fix before a load (blank or duplicate column names) and things to confirm (a guessed encoding).
    pub warnings: Vec<String>,
    /// Where the sample is UTF-8 damaged in places (a load in `auto` mode refuses it).
    #[serde(skip)]
    pub mixed: Option<MixedEncoding>,
}

/// Why the file cannot be inspected at all.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("the file is empty")]
    Empty,
    #[error("{0}")]
    Unreadable(String),
    #[error(
        "the first record has {found} fields; byob loads at most {MAX_COLUMNS} columns (PostgreSQL's own limit): check the delimiter"
    )]
    TooManyColumns { found: usize },
}

/// Columns a file may have: PostgreSQL's limit for a table, and far more than any real CSV; beyond it a preview
/// would answer with megabytes of empty columns.
const MAX_COLUMNS: usize = 1600;
/// Warnings listed at most; the last one says how many more there were.
const MAX_WARNINGS: usize = 20;

/// Inspects `sample`, the first bytes of the file (`complete` when it is the whole file). `delimiter` and
/// `has_header` override what detection would choose.
///
/// # Errors
/// [`InspectError`] for an empty or unreadable file.
pub fn inspect(
    sample: &[u8],
    complete: bool,
    delimiter: Option<u8>,
    has_header: Option<bool>,
    null_tokens: &[String],
) -> Result<Inspection, InspectError> {
    let encoding = detect_encoding(sample);
    let mut text = String::new();
    let mut decoder = utf8_reader(sample, encoding);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut decoder, &mut bytes).map_err(|e| InspectError::Unreadable(e.to_string()))?;
    text.push_str(&String::from_utf8_lossy(&bytes));
    if !complete {
        // The sample may end inside a record: keep whole lines only.
        if let Some(end) = text.rfind('\n') {
            text.truncate(end + 1);
        }
    }
    if text.trim().is_empty() {
        return Err(InspectError::Empty);
    }
    let delimiter = delimiter.unwrap_or_else(|| choose_delimiter(&text));
    let records = parse(&text, delimiter, SAMPLE_RECORDS + 1);
    let Some(first) = records.first() else { return Err(InspectError::Empty) };
    let width = first.len();
    if width > MAX_COLUMNS {
        return Err(InspectError::TooManyColumns { found: width });
    }
    let is_null = |v: &str| null_tokens.iter().any(|t| t == v);
    let rest: Vec<&Vec<String>> = records.iter().skip(1).filter(|r| r.len() == width).collect();
    let types: Vec<ColumnType> =
        (0..width).map(|i| infer(rest.iter().map(|r| r[i].as_str()).filter(|v| !is_null(v)))).collect();
    let has_header = has_header.unwrap_or_else(|| looks_like_header(first, &types, &is_null));
    let mut warnings = Vec::new();
    let mixed = mixed_encoding(sample);
    if let Some(mixed) = &mixed {
        warnings.push(mixed.message());
    } else if encoding.guessed {
        warnings.push(LATIN1_GUESS.to_string());
    }
    let names: Vec<String> = if has_header {
        first.iter().map(|n| n.trim().to_string()).collect()
    } else {
        (1..=width).map(|i| format!("column_{i}")).collect()
    };
    warnings.extend(name_problems(&names));
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - (MAX_WARNINGS - 1);
        warnings.truncate(MAX_WARNINGS - 1);
        warnings.push(format!("… and {more} more warnings"));
    }
    let types: Vec<ColumnType> = if has_header {
        types
    } else {
        (0..width)
            .map(|i| infer(records.iter().filter(|r| r.len() == width).map(|r| r[i].as_str()).filter(|v| !is_null(v))))
            .collect()
    };
    let columns =
        names.into_iter().zip(types).map(|(name, column_type)| Column { name, column_type, nullable: true }).collect();
    let rows = records
        .iter()
        .skip(usize::from(has_header))
        .take(PREVIEW_ROWS)
        .map(|r| r.iter().map(|v| (!is_null(v)).then(|| v.clone())).collect())
        .collect();
    let quoted = text.contains('"');
    Ok(Inspection { encoding, dialect: Dialect { delimiter, quoted, has_header }, columns, rows, warnings, mixed })
}

fn parse(text: &str, delimiter: u8, max: usize) -> Vec<Vec<String>> {
    let mut reader =
        csv::ReaderBuilder::new().delimiter(delimiter).has_headers(false).flexible(true).from_reader(text.as_bytes());
    reader.records().take(max).filter_map(Result::ok).map(|r| r.iter().map(str::to_string).collect()).collect()
}

/// The delimiter giving the most records with the same number (more than one) of fields.
fn choose_delimiter(text: &str) -> u8 {
    let mut best = (b',', 0usize, 0usize);
    for candidate in DELIMITERS {
        let records = parse(text, candidate, 200);
        let mut counts = std::collections::HashMap::new();
        for r in &records {
            *counts.entry(r.len()).or_insert(0usize) += 1;
        }
        let Some((&fields, &agreeing)) = counts.iter().filter(|(f, _)| **f > 1).max_by_key(|(f, n)| (**n, **f)) else {
            continue;
        };
        if (agreeing, fields) > (best.1, best.2) {
            best = (candidate, agreeing, fields);
        }
    }
    best.0
}

/// A first row is a header unless it is evidently data: it fits the typed columns below it, and nothing in it
/// contradicts them. Files of text only are taken to have a header.
fn looks_like_header(first: &[String], types: &[ColumnType], is_null: &dyn Fn(&str) -> bool) -> bool {
    let mut fits_typed = false;
    for (value, t) in first.iter().zip(types) {
        if *t == ColumnType::Text || is_null(value) {
            continue;
        }
        if convert(value, *t, &mut String::new()).is_err() {
            return true;
        }
        fits_typed = true;
    }
    !fits_typed
}

fn name_problems(names: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (i, name) in names.iter().enumerate() {
        if let Err(e) = check_identifier("column", name) {
            problems.push(format!("column {} has an unusable name: {}; rename it with `columns`", i + 1, e.message));
        } else if !seen.insert(name.to_lowercase()) {
            problems.push(format!("column {} repeats the name `{name}`; rename it with `columns`", i + 1));
        }
    }
    problems
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn run(text: &str) -> Inspection {
        inspect(text.as_bytes(), true, None, None, &[String::new()]).unwrap()
    }

    #[test]
    fn dialects_and_headers() {
        let i = run("id;name;amount\n1;\"a;b\";2.5\n2;c;3\n");
        assert_eq!((i.dialect.delimiter, i.dialect.has_header, i.dialect.quoted), (b';', true, true));
        let types: Vec<_> = i.columns.iter().map(|c| c.column_type).collect();
        assert_eq!(types, [ColumnType::Integer, ColumnType::Text, ColumnType::Decimal]);
        let tabs = run("1\t2024-01-01\n2\t2024-01-02\n");
        assert_eq!((tabs.dialect.delimiter, tabs.dialect.has_header), (b'\t', false));
        assert_eq!(tabs.columns[1].name, "column_2");
        assert_eq!(tabs.columns[1].column_type, ColumnType::Date);
        assert_eq!(run("a|b\nx|y\n").dialect.delimiter, b'|');
        assert!(run("a,b\n").dialect.has_header, "a header alone");
        let dup = run("a,A,\n1,2,3\n");
        assert_eq!(dup.warnings.len(), 2, "{:?}", dup.warnings);
        assert!(matches!(inspect(b"", true, None, None, &[]), Err(InspectError::Empty)));
    }

    #[test]
    fn columns_and_warnings_are_bounded() {
        let commas = format!("{}\n", ",".repeat(256 * 1024));
        let refused = inspect(commas.as_bytes(), true, Some(b','), None, &[String::new()]);
        assert!(matches!(refused, Err(InspectError::TooManyColumns { found: 262_145 })), "{refused:?}");
        // 1,000 blank column names: 20 warnings, the last saying how many more.
        let blanks = format!("{}\n{}\n", ",".repeat(999), "1,".repeat(999) + "1");
        let i = run(&blanks);
        assert_eq!(i.warnings.len(), MAX_WARNINGS, "{:?}", &i.warnings[..3]);
        assert!(i.warnings.last().is_some_and(|w| w.contains("more warnings")));
    }
}
