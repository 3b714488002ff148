//! The facts about an integration that every provider's artifacts are built from.

use byob_core::integration::{Feature, Integration};

/// Key prefixes byob uses under the integration prefix.
pub(crate) const UPLOADS_DIR: &str = "uploads/";
pub(crate) const PROBES_DIR: &str = ".byob/";

pub(crate) struct Spec<'a> {
    pub(crate) integration: &'a Integration,
}

impl Spec<'_> {
    /// `prefix/` (or empty for the bucket root), the start of every key byob writes.
    pub(crate) fn key_prefix(&self) -> String {
        self.integration.key_prefix()
    }

    pub(crate) fn under(&self, dir: &str) -> String {
        format!("{}{dir}", self.key_prefix())
    }

    pub(crate) fn has(&self, feature: Feature) -> bool {
        self.integration.features.contains(&feature)
    }

    /// Whether any enabled feature writes objects (everything but imports).
    pub(crate) fn writes(&self) -> bool {
        self.integration.features.iter().any(|f| *f != Feature::Imports)
    }

    /// The staging TTL in whole days (lifecycle rules count days), at least one.
    pub(crate) fn ttl_days(&self) -> u32 {
        self.integration.staging_ttl_days()
    }

    /// A name safe everywhere (IAM, Terraform, SQL identifiers): from the integration id.
    pub(crate) fn slug(&self) -> String {
        format!("byob_{}", self.integration.id.to_string().replace('-', "_"))
    }

    pub(crate) fn origins(&self) -> &[String] {
        &self.integration.allowed_origins
    }
}

/// A SQL string literal: single quotes doubled.
pub(crate) fn sql_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_literals_double_quotes() {
        assert_eq!(sql_literal("s3://a/b'c/"), "'s3://a/b''c/'");
    }
}
