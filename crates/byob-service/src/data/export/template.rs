//! Path templates: where each file of a run goes under the destination's prefix. Placeholders are replaced by
//! values byob makes (ids, UTC times, zero-padded part numbers), never by the caller's text, and the rendered
//! key is checked segment by segment, so a key can never leave the prefix.

use byob_core::location::{FieldError, Prefix};
use chrono::{DateTime, Utc};

const FIELD: &str = "path_template";
pub(crate) const PLACEHOLDERS: [&str; 6] = ["org", "export", "run_id", "date", "datetime", "part"];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Placeholder(&'static str),
}

/// A checked template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathTemplate {
    pieces: Vec<Piece>,
}

/// The values of one run.
#[derive(Debug, Clone)]
pub(crate) struct RunValues {
    pub org: String,
    pub export: String,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
}

fn error(rule: byob_core::rules::Rule, message: impl Into<String>) -> FieldError {
    FieldError::new(FIELD, rule, message.into())
}

impl PathTemplate {
    /// # Errors
    /// A [`FieldError`] naming the rule broken: `path-template-empty`, `path-template-braces`,
    /// `path-template-placeholder`, `path-template-part-position`, `path-template-part-missing`, or a key rule
    /// (`prefix-…`) for what the rendered key would break.
    pub(crate) fn parse(text: &str, split: bool) -> Result<Self, FieldError> {
        if text.trim().is_empty() {
            return Err(error(
                byob_core::rules::PATH_TEMPLATE_EMPTY,
                "give a path such as `exports/{{export}}/{{run_id}}/part-{{part}}.csv`",
            ));
        }
        let mut pieces = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match (rest.find("{{"), rest.find("}}")) {
                (Some(open), close) if close.is_none_or(|c| c > open) => {
                    if open > 0 {
                        pieces.push(Piece::Literal(rest[..open].to_string()));
                    }
                    let after = &rest[open + 2..];
                    let end = after.find("}}").ok_or_else(|| {
                        error(
                            byob_core::rules::PATH_TEMPLATE_BRACES,
                            format!("`{{{{` at byte {} is never closed", text.len() - rest.len() + open),
                        )
                    })?;
                    let name = after[..end].trim();
                    let known = PLACEHOLDERS.iter().find(|p| **p == name).ok_or_else(|| {
                        error(
                            byob_core::rules::PATH_TEMPLATE_PLACEHOLDER,
                            format!("`{{{{{name}}}}}` is not a placeholder; use one of {}", list()),
                        )
                    })?;
                    pieces.push(Piece::Placeholder(known));
                    rest = &after[end + 2..];
                }
                (_, Some(close)) => {
                    return Err(error(
                        byob_core::rules::PATH_TEMPLATE_BRACES,
                        format!("`}}}}` at byte {} closes nothing", text.len() - rest.len() + close),
                    ));
                }
                (None, None) => {
                    if rest.contains('{') || rest.contains('}') {
                        return Err(error(
                            byob_core::rules::PATH_TEMPLATE_BRACES,
                            "single braces are not allowed; placeholders are written `{{name}}`",
                        ));
                    }
                    pieces.push(Piece::Literal(rest.to_string()));
                    rest = "";
                }
                (Some(_), None) => return Err(error(byob_core::rules::PATH_TEMPLATE_BRACES, "unbalanced braces")),
            }
        }
        let template = Self { pieces };
        let rendered = template.render_sample();
        if let Some(dir_end) = rendered.rfind('/') {
            let with_part = template.render(&sample_values(), 7);
            if with_part[..dir_end.min(with_part.len())] != rendered[..dir_end] {
                return Err(error(
                    byob_core::rules::PATH_TEMPLATE_PART_POSITION,
                    "`{{part}}` may appear only in the file name (after the last `/`), so all files of a run share one folder",
                ));
            }
        }
        if split && !template.pieces.contains(&Piece::Placeholder("part")) {
            return Err(error(
                byob_core::rules::PATH_TEMPLATE_PART_MISSING,
                "a run split into several files needs `{{part}}` in the file name, or the files would overwrite each other",
            ));
        }
        let checked = Prefix::parse(FIELD, &rendered)?;
        if checked.is_root() {
            return Err(error(byob_core::rules::PATH_TEMPLATE_EMPTY, "the template renders to an empty key"));
        }
        Ok(template)
    }

    fn render_sample(&self) -> String {
        self.render(&sample_values(), 1)
    }

    /// The key of file `part` (1-based) of a run, relative to the destination's prefix.
    pub(crate) fn render(&self, values: &RunValues, part: u32) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Placeholder(name) => out.push_str(&match *name {
                    "org" => values.org.clone(),
                    "export" => values.export.clone(),
                    "run_id" => values.run_id.clone(),
                    "date" => values.started_at.format("%Y-%m-%d").to_string(),
                    // ISO-8601's basic form: no `:`, which some tools and file systems refuse in names.
                    "datetime" => values.started_at.format("%Y%m%dT%H%M%SZ").to_string(),
                    _ => format!("{part:05}"),
                }),
            }
        }
        out
    }

    /// The folder of a run's files (`""` for the prefix itself), where the manifest and marker go.
    pub(crate) fn folder(&self, values: &RunValues) -> String {
        let key = self.render(values, 1);
        key.rfind('/').map_or_else(String::new, |i| key[..i].to_string())
    }
}

fn list() -> String {
    PLACEHOLDERS.iter().map(|p| format!("`{{{{{p}}}}}`")).collect::<Vec<_>>().join(", ")
}

fn sample_values() -> RunValues {
    RunValues {
        org: "org_00000000000000000000000000".into(),
        export: "exp_00000000000000000000000000".into(),
        run_id: "job_00000000000000000000000000".into(),
        started_at: DateTime::<Utc>::UNIX_EPOCH,
    }
}

/// `folder/name` joined, for keys next to the files.
pub(crate) fn beside(folder: &str, name: &str) -> String {
    if folder.is_empty() { name.to_string() } else { format!("{folder}/{name}") }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn values() -> RunValues {
        RunValues {
            org: "org_a".into(),
            export: "exp_b".into(),
            run_id: "job_c".into(),
            started_at: DateTime::parse_from_rfc3339("2026-11-22T10:15:30Z").unwrap().with_timezone(&Utc),
        }
    }

    #[test]
    fn renders_every_placeholder() {
        let t = PathTemplate::parse("x/{{org}}/{{export}}/{{date}}/{{datetime}}-{{run_id}}/part-{{ part }}.csv", true)
            .unwrap();
        assert_eq!(t.render(&values(), 3), "x/org_a/exp_b/2026-11-22/20261122T101530Z-job_c/part-00003.csv");
        assert_eq!(t.folder(&values()), "x/org_a/exp_b/2026-11-22/20261122T101530Z-job_c");
    }

    #[test]
    fn refuses_bad_templates_by_rule() {
        let rule = |text: &str, split: bool| PathTemplate::parse(text, split).unwrap_err().rule;
        assert_eq!(rule("", false), "path-template-empty");
        assert_eq!(rule("a/{{date", false), "path-template-braces");
        assert_eq!(rule("a/date}}", false), "path-template-braces");
        assert_eq!(rule("a/{date}", false), "path-template-braces");
        assert_eq!(rule("a/{{when}}", false), "path-template-placeholder");
        assert_eq!(rule("a/{{part}}/x.csv", false), "path-template-part-position");
        assert_eq!(rule("a/x.csv", true), "path-template-part-missing");
        assert_eq!(rule("../x.csv", false), "prefix-dot-segment");
        assert_eq!(rule("/x.csv", false), "prefix-leading-slash");
        assert_eq!(rule("a//x.csv", false), "prefix-empty-segment");
        assert_eq!(rule("a/{{date}}/../../x", false), "prefix-dot-segment");
    }
}
