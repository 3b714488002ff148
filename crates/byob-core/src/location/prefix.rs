//! The key prefix under which byob keeps an integration's objects. byob builds every object key under it, so
//! the prefix is held to the characters AWS calls safe in keys, in slash-separated segments.

use std::fmt;

use serde::Serialize;

use super::FieldError;

const MAX_PREFIX_BYTES: usize = 512;

/// A normalised prefix: no leading or trailing `/`, no empty, `.` or `..` segments. Empty means the bucket root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Prefix(String);

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn safe_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '!' | '-' | '_' | '.' | '*' | '\'' | '(' | ')')
}

impl Prefix {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// Accepts `exports/acme` and `exports/acme/` (one trailing slash is dropped).
    ///
    /// # Errors
    /// A [`FieldError`] naming the first rule broken.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let err = |rule, msg: String| Err(FieldError::new(field, rule, msg));
        if text.starts_with('/') {
            return err(
                crate::rules::PREFIX_LEADING_SLASH,
                "must not begin with `/`; write `exports/acme`, not `/exports/acme`".into(),
            );
        }
        let trimmed = text.strip_suffix('/').unwrap_or(text);
        if trimmed.is_empty() {
            return Ok(Self::default());
        }
        if trimmed.len() > MAX_PREFIX_BYTES {
            return err(crate::rules::PREFIX_LENGTH, format!("must be at most {MAX_PREFIX_BYTES} bytes"));
        }
        for segment in trimmed.split('/') {
            match segment {
                "" => {
                    return err(
                        crate::rules::PREFIX_EMPTY_SEGMENT,
                        "must not contain `//` or end with more than one `/`".into(),
                    );
                }
                "." | ".." => {
                    return err(crate::rules::PREFIX_DOT_SEGMENT, format!("must not contain a `{segment}` segment"));
                }
                _ => {}
            }
            if let Some(c) = segment.chars().find(|c| !safe_char(*c)) {
                return err(
                    crate::rules::PREFIX_CHARACTERS,
                    format!(
                        "`{}` is not allowed: use letters, digits and ! - _ . * ' ( ) between `/`",
                        c.escape_default()
                    ),
                );
            }
        }
        Ok(Self(trimmed.to_string()))
    }

    /// `prefix/child` (or `child` at the root). The caller is responsible for `child` being a key byob built.
    #[must_use]
    pub fn join(&self, child: &str) -> String {
        if self.is_root() { child.to_string() } else { format!("{}/{child}", self.0) }
    }
}

/// Checks the key of an object the customer put in their bucket (an import's file): it can hold any character
/// its owner chose (`:` in ISO-8601 timestamps, spaces), but never leaves the prefix: no leading `/`, no empty,
/// `.` or `..` segment, no control character, at most 1024 bytes.
///
/// # Errors
/// A [`FieldError`] with rule `key-empty`, `key-length`, `prefix-leading-slash`, `prefix-empty-segment`,
/// `prefix-dot-segment` or `key-control-character`.
pub fn check_existing_key(field: &str, key: &str) -> Result<(), FieldError> {
    let err = |rule, msg: String| Err(FieldError::new(field, rule, msg));
    if key.is_empty() {
        return err(crate::rules::KEY_EMPTY, "name an object, e.g. `folder/file.csv`".into());
    }
    if key.len() > 1024 {
        return err(crate::rules::KEY_LENGTH, "an object key has at most 1024 bytes".into());
    }
    if key.starts_with('/') {
        return err(
            crate::rules::PREFIX_LEADING_SLASH,
            format!("must not begin with `/`; write `{}`", key.trim_start_matches('/')),
        );
    }
    if key.chars().any(char::is_control) {
        return err(crate::rules::KEY_CONTROL_CHARACTER, "must not contain control characters".into());
    }
    for segment in key.split('/') {
        match segment {
            "" => return err(crate::rules::PREFIX_EMPTY_SEGMENT, "must not contain `//` or end with `/`".into()),
            "." | ".." => {
                return err(crate::rules::PREFIX_DOT_SEGMENT, format!("must not contain a `{segment}` segment"));
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Option<&'static str> {
        Prefix::parse("prefix", text).err().map(|e| e.rule)
    }

    #[test]
    fn normalises_and_joins() {
        assert_eq!(Prefix::parse("prefix", "exports/acme/").unwrap_or_default().as_str(), "exports/acme");
        assert!(Prefix::parse("prefix", "").unwrap_or_default().is_root());
        assert!(Prefix::parse("prefix", "/").is_err());
        assert_eq!(Prefix::parse("prefix", "a/b").unwrap_or_default().join("c.csv"), "a/b/c.csv");
        assert_eq!(Prefix::default().join("c.csv"), "c.csv");
    }

    #[test]
    fn rejects_unsafe_prefixes() {
        assert_eq!(rule("/exports"), Some("prefix-leading-slash"));
        assert_eq!(rule("a//b"), Some("prefix-empty-segment"));
        assert_eq!(rule("a/b//"), Some("prefix-empty-segment"));
        assert_eq!(rule("a/../b"), Some("prefix-dot-segment"));
        assert_eq!(rule(".."), Some("prefix-dot-segment"));
        assert_eq!(rule("a/./b"), Some("prefix-dot-segment"));
        assert_eq!(rule("a b"), Some("prefix-characters"));
        assert_eq!(rule("a\\b"), Some("prefix-characters"));
        assert_eq!(rule("a\nb"), Some("prefix-characters"));
        assert_eq!(rule("caf\u{e9}"), Some("prefix-characters"));
        assert_eq!(rule(&"a".repeat(513)), Some("prefix-length"));
        assert_eq!(rule("Data-2026_(v1)/x.y"), None);
    }

    #[test]
    fn existing_keys_may_hold_any_character_but_stay_inside() {
        assert!(check_existing_key("k", "in/2022-09-30T00:00:00Z-rev.csv").is_ok());
        assert!(check_existing_key("k", "in/with space.csv").is_ok());
        let rule = |k: &str| check_existing_key("k", k).unwrap_err().rule;
        assert_eq!(rule(""), "key-empty");
        assert_eq!(rule("/abs"), "prefix-leading-slash");
        assert_eq!(rule("a/../b"), "prefix-dot-segment");
        assert_eq!(rule("a//b"), "prefix-empty-segment");
        assert_eq!(rule("a/b/"), "prefix-empty-segment");
        assert_eq!(rule("a\u{7}b"), "key-control-character");
    }
}
