//! Input rules shared by the use cases; each rejection names the field and the rule.

use chrono::{DateTime, Utc};

use crate::ServiceError;

pub(crate) const MAX_NAME_CHARS: usize = 200;

/// A display name: not blank, at most 200 characters, no control characters. Returns it trimmed.
pub(crate) fn display_name(field: &str, value: &str) -> Result<String, ServiceError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ServiceError::invalid(field, "must not be empty"));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::invalid(field, format!("must be at most {MAX_NAME_CHARS} characters")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(ServiceError::invalid(field, "must not contain control characters"));
    }
    Ok(trimmed.to_string())
}

/// A machine name (secrets): 1–64 of `A-Z a-z 0-9 . _ -`, starting with a letter or digit.
pub(crate) fn machine_name(field: &str, value: &str) -> Result<String, ServiceError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let starts_ok = value.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if value.is_empty() || value.len() > 64 || !starts_ok || !value.chars().all(ok_char) {
        return Err(ServiceError::invalid(
            field,
            "must be 1-64 characters of letters, digits, `.`, `_` or `-`, starting with a letter or digit",
        ));
    }
    Ok(value.to_string())
}

pub(crate) fn email(field: &str, value: Option<&str>) -> Result<Option<String>, ServiceError> {
    let Some(value) = value.map(str::trim) else { return Ok(None) };
    let valid = value.len() <= 254
        && value.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(ServiceError::invalid(field, "must be an email address such as `ada@example.com`"));
    }
    Ok(Some(value.to_string()))
}

pub(crate) fn future_time(
    field: &str,
    value: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, ServiceError> {
    match value {
        Some(at) if at <= now => Err(ServiceError::invalid(field, format!("must be in the future (now is {now})"))),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(display_name("name", "  Acme ").ok(), Some("Acme".into()));
        assert!(display_name("name", "   ").is_err());
        assert!(display_name("name", &"x".repeat(201)).is_err());
        assert!(display_name("name", "a\u{0}b").is_err());
    }

    #[test]
    fn machine_names_allow_only_safe_characters() {
        assert!(machine_name("name", "aws-access-key.prod_1").is_ok());
        for bad in ["", "-x", "a/b", "../x", "a b", &"x".repeat(65)] {
            assert!(machine_name("name", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_need_a_domain() {
        assert!(email("email", Some("ada@example.com")).is_ok());
        assert!(email("email", Some("ada")).is_err());
        assert!(email("email", Some("ada@localhost")).is_err());
        assert_eq!(email("email", None).ok(), Some(None));
    }
}
