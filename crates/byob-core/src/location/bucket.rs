//! Bucket and container names, by each provider's published rules:
//! S3 general-purpose buckets (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html),
//! GCS buckets (cloud.google.com/storage/docs/buckets#naming), Azure containers
//! (learn.microsoft.com/rest/api/storageservices/naming-and-referencing-containers--blobs--and-metadata).

use std::fmt;

use serde::Serialize;

use super::{FieldError, looks_like_ipv4};

/// Whose naming rules a bucket name follows; each provider module says which apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketNaming {
    S3,
    Gcs,
    /// An Azure container.
    Azure,
    /// A directory under a configured root, named like an S3 bucket.
    Directory,
}

impl BucketNaming {
    /// What the provider calls a bucket, for messages.
    #[must_use]
    pub fn noun(self) -> &'static str {
        match self {
            Self::Azure => "container",
            Self::Directory => "directory",
            Self::S3 | Self::Gcs => "bucket",
        }
    }
}

/// A bucket (S3, GCS), container (Azure) or directory (local) name that the provider would accept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BucketName(String);

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl BucketName {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// # Errors
    /// A [`FieldError`] naming the first rule the name breaks.
    pub fn parse(naming: BucketNaming, field: &str, name: &str) -> Result<Self, FieldError> {
        let err = |rule, msg: String| Err(FieldError::new(field, rule, msg));
        let noun = naming.noun();
        if name.is_empty() {
            return err(crate::rules::BUCKET_NAME_EMPTY, format!("give the {noun} name"));
        }
        let alnum_edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        match naming {
            BucketNaming::S3 | BucketNaming::Directory => {
                if !(3..=63).contains(&name.len()) {
                    return err(
                        crate::rules::BUCKET_NAME_LENGTH,
                        format!("an S3 bucket name has 3-63 characters, not {}", name.len()),
                    );
                }
                if let Some(c) =
                    name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-')))
                {
                    return err(
                        crate::rules::BUCKET_NAME_CHARACTERS,
                        format!("`{c}` is not allowed: use lowercase letters, digits, `.` and `-`"),
                    );
                }
                if !alnum_edge(name.chars().next()) || !alnum_edge(name.chars().last()) {
                    return err(
                        crate::rules::BUCKET_NAME_EDGES,
                        "must begin and end with a lowercase letter or digit".into(),
                    );
                }
                if name.contains("..") {
                    return err(crate::rules::BUCKET_NAME_ADJACENT_DOTS, "must not contain two adjacent dots".into());
                }
                if looks_like_ipv4(name) {
                    return err(crate::rules::BUCKET_NAME_IP_ADDRESS, "must not look like an IP address".into());
                }
                for reserved in ["xn--", "sthree-", "amzn-s3-demo-"] {
                    if name.starts_with(reserved) {
                        return err(
                            crate::rules::BUCKET_NAME_RESERVED,
                            format!("must not begin with `{reserved}` (reserved by AWS)"),
                        );
                    }
                }
                for reserved in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] {
                    if name.ends_with(reserved) {
                        return err(
                            crate::rules::BUCKET_NAME_RESERVED,
                            format!("must not end with `{reserved}` (reserved by AWS)"),
                        );
                    }
                }
            }
            BucketNaming::Gcs => {
                let max = if name.contains('.') { 222 } else { 63 };
                if name.len() < 3 || name.len() > max {
                    return err(
                        crate::rules::BUCKET_NAME_LENGTH,
                        format!("a GCS bucket name has 3-{max} characters, not {}", name.len()),
                    );
                }
                if let Some(c) = name
                    .chars()
                    .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_')))
                {
                    return err(
                        crate::rules::BUCKET_NAME_CHARACTERS,
                        format!("`{c}` is not allowed: use lowercase letters, digits, `-`, `_` and `.`"),
                    );
                }
                if !alnum_edge(name.chars().next()) || !alnum_edge(name.chars().last()) {
                    return err(
                        crate::rules::BUCKET_NAME_EDGES,
                        "must begin and end with a lowercase letter or digit".into(),
                    );
                }
                if name.split('.').any(|part| part.is_empty() || part.len() > 63) {
                    return err(
                        crate::rules::BUCKET_NAME_DOT_SEGMENTS,
                        "each dot-separated part has 1-63 characters".into(),
                    );
                }
                if looks_like_ipv4(name) {
                    return err(crate::rules::BUCKET_NAME_IP_ADDRESS, "must not look like an IP address".into());
                }
                if name.starts_with("goog") || name.contains("google") || name.contains("g00gle") {
                    return err(
                        crate::rules::BUCKET_NAME_RESERVED,
                        "must not begin with `goog` or contain `google` (reserved by Google)".into(),
                    );
                }
            }
            BucketNaming::Azure => {
                if !(3..=63).contains(&name.len()) {
                    return err(
                        crate::rules::BUCKET_NAME_LENGTH,
                        format!("an Azure container name has 3-63 characters, not {}", name.len()),
                    );
                }
                if let Some(c) = name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
                    return err(
                        crate::rules::BUCKET_NAME_CHARACTERS,
                        format!("`{c}` is not allowed: use lowercase letters, digits and `-`"),
                    );
                }
                if !alnum_edge(name.chars().next()) || !alnum_edge(name.chars().last()) {
                    return err(
                        crate::rules::BUCKET_NAME_EDGES,
                        "must begin and end with a lowercase letter or digit".into(),
                    );
                }
                if name.contains("--") {
                    return err(
                        crate::rules::BUCKET_NAME_ADJACENT_HYPHENS,
                        "must not contain two adjacent hyphens".into(),
                    );
                }
            }
        }
        Ok(Self(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(naming: BucketNaming, name: &str) -> Option<&'static str> {
        BucketName::parse(naming, "bucket", name).err().map(|e| e.rule)
    }

    #[test]
    fn s3_rules() {
        for ok in ["abc", "my-bucket.prod-1", &"a".repeat(63)] {
            assert_eq!(rule(BucketNaming::S3, ok), None, "{ok}");
        }
        assert_eq!(rule(BucketNaming::S3, ""), Some("bucket-name-empty"));
        assert_eq!(rule(BucketNaming::S3, "ab"), Some("bucket-name-length"));
        assert_eq!(rule(BucketNaming::S3, &"a".repeat(64)), Some("bucket-name-length"));
        assert_eq!(rule(BucketNaming::S3, "My-Bucket"), Some("bucket-name-characters"));
        assert_eq!(rule(BucketNaming::S3, "my_bucket"), Some("bucket-name-characters"));
        assert_eq!(rule(BucketNaming::S3, "-bucket"), Some("bucket-name-edges"));
        assert_eq!(rule(BucketNaming::S3, "bucket."), Some("bucket-name-edges"));
        assert_eq!(rule(BucketNaming::S3, "my..bucket"), Some("bucket-name-adjacent-dots"));
        assert_eq!(rule(BucketNaming::S3, "192.168.5.4"), Some("bucket-name-ip-address"));
        assert_eq!(rule(BucketNaming::S3, "xn--bucket"), Some("bucket-name-reserved"));
        assert_eq!(rule(BucketNaming::S3, "sthree-data"), Some("bucket-name-reserved"));
        assert_eq!(rule(BucketNaming::S3, "data-s3alias"), Some("bucket-name-reserved"));
        assert_eq!(rule(BucketNaming::S3, "data--ol-s3"), Some("bucket-name-reserved"));
    }

    #[test]
    fn gcs_rules() {
        for ok in ["abc", "my_bucket-1", "example.com.data", &format!("{}.{}", "a".repeat(63), "b".repeat(63))] {
            assert_eq!(rule(BucketNaming::Gcs, ok), None, "{ok}");
        }
        assert_eq!(rule(BucketNaming::Gcs, &"a".repeat(64)), Some("bucket-name-length"));
        assert_eq!(rule(BucketNaming::Gcs, &format!("{}.b", "a".repeat(64))), Some("bucket-name-dot-segments"));
        assert_eq!(rule(BucketNaming::Gcs, "Data"), Some("bucket-name-characters"));
        assert_eq!(rule(BucketNaming::Gcs, "_data"), Some("bucket-name-edges"));
        assert_eq!(rule(BucketNaming::Gcs, "10.0.0.1"), Some("bucket-name-ip-address"));
        assert_eq!(rule(BucketNaming::Gcs, "goog-data"), Some("bucket-name-reserved"));
        assert_eq!(rule(BucketNaming::Gcs, "my-google-data"), Some("bucket-name-reserved"));
    }

    #[test]
    fn azure_rules() {
        for ok in ["abc", "exports-2026", &"a".repeat(63)] {
            assert_eq!(rule(BucketNaming::Azure, ok), None, "{ok}");
        }
        assert_eq!(rule(BucketNaming::Azure, "ab"), Some("bucket-name-length"));
        assert_eq!(rule(BucketNaming::Azure, "my.container"), Some("bucket-name-characters"));
        assert_eq!(rule(BucketNaming::Azure, "my_container"), Some("bucket-name-characters"));
        assert_eq!(rule(BucketNaming::Azure, "container-"), Some("bucket-name-edges"));
        assert_eq!(rule(BucketNaming::Azure, "my--container"), Some("bucket-name-adjacent-hyphens"));
    }
}
