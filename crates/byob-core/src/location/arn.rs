//! ARNs byob reads from customers: the IAM role to assume and the KMS key, in the aws, aws-us-gov and aws-cn
//! partitions (docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::FieldError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Partition {
    #[serde(rename = "aws")]
    Aws,
    #[serde(rename = "aws-us-gov")]
    AwsUsGov,
    #[serde(rename = "aws-cn")]
    AwsCn,
}

impl Partition {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::AwsUsGov => "aws-us-gov",
            Self::AwsCn => "aws-cn",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "aws" => Some(Self::Aws),
            "aws-us-gov" => Some(Self::AwsUsGov),
            "aws-cn" => Some(Self::AwsCn),
            _ => None,
        }
    }
}

struct Parts<'a> {
    partition: Partition,
    service: &'a str,
    region: &'a str,
    resource: &'a str,
}

fn split<'a>(field: &str, text: &'a str, example: &str) -> Result<Parts<'a>, FieldError> {
    let pieces: Vec<&str> = text.splitn(6, ':').collect();
    if pieces.len() != 6 || pieces[0] != "arn" {
        return Err(FieldError::new(
            field,
            crate::rules::ARN_FORMAT,
            format!("`{text}` is not an ARN; expected e.g. `{example}`"),
        ));
    }
    let partition = Partition::parse(pieces[1]).ok_or_else(|| {
        FieldError::new(
            field,
            crate::rules::ARN_PARTITION,
            format!("partition `{}` is not aws, aws-us-gov or aws-cn", pieces[1]),
        )
    })?;
    let account = pieces[4];
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(FieldError::new(
            field,
            crate::rules::ARN_ACCOUNT,
            format!("account `{account}` is not a 12-digit AWS account id"),
        ));
    }
    Ok(Parts { partition, service: pieces[2], region: pieces[3], resource: pieces[5] })
}

/// `arn:{partition}:iam::{account}:role/{path/}{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RoleArn(String);

impl fmt::Display for RoleArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl RoleArn {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn partition(&self) -> Partition {
        self.0.split(':').nth(1).and_then(Partition::parse).unwrap_or(Partition::Aws)
    }

    #[must_use]
    pub fn account(&self) -> &str {
        self.0.split(':').nth(4).unwrap_or_default()
    }

    /// # Errors
    /// A [`FieldError`] naming the malformed part.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        const EXAMPLE: &str = "arn:aws:iam::123456789012:role/byob-access";
        let parts = split(field, text, EXAMPLE)?;
        if parts.service != "iam" || !parts.region.is_empty() {
            return Err(FieldError::new(
                field,
                crate::rules::ARN_SERVICE,
                format!("an IAM role ARN reads `arn:{}:iam::…`", parts.partition.as_str()),
            ));
        }
        let Some(path_and_name) = parts.resource.strip_prefix("role/") else {
            return Err(FieldError::new(
                field,
                crate::rules::ARN_RESOURCE,
                "the resource must be `role/<name>`; a user or group ARN cannot be assumed",
            ));
        };
        let (path, name) = path_and_name.rsplit_once('/').map_or(("", path_and_name), |(p, n)| (p, n));
        let name_ok =
            (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
        if !name_ok {
            return Err(FieldError::new(
                field,
                crate::rules::ARN_ROLE_NAME,
                "a role name has 1-64 characters of letters, digits and + = , . @ _ -",
            ));
        }
        let path_ok =
            path.len() <= 510 && path.split('/').all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()));
        if !path.is_empty() && !path_ok {
            return Err(FieldError::new(
                field,
                crate::rules::ARN_ROLE_PATH,
                "the role path has printable segments separated by single `/`",
            ));
        }
        Ok(Self(text.to_string()))
    }
}

/// `arn:{partition}:kms:{region}:{account}:key/{key-id}` or `…:alias/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct KmsKeyArn(String);

impl fmt::Display for KmsKeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl KmsKeyArn {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    #[must_use]
    pub fn region(&self) -> &str {
        self.0.split(':').nth(3).unwrap_or_default()
    }

    /// # Errors
    /// A [`FieldError`] naming the malformed part.
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        const EXAMPLE: &str = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        let parts = split(field, text, EXAMPLE)?;
        if parts.service != "kms" || parts.region.is_empty() {
            return Err(FieldError::new(
                field,
                crate::rules::ARN_SERVICE,
                format!("a KMS key ARN reads `arn:{}:kms:<region>:…`", parts.partition.as_str()),
            ));
        }
        let valid_key = parts.resource.strip_prefix("key/").is_some_and(|id| {
            (id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-'))
                || (id.starts_with("mrk-") && id[4..].chars().all(|c| c.is_ascii_hexdigit()))
        });
        let valid_alias = parts.resource.strip_prefix("alias/").is_some_and(|name| {
            (1..=256).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
        });
        if !valid_key && !valid_alias {
            return Err(FieldError::new(
                field,
                crate::rules::ARN_RESOURCE,
                "the resource must be `key/<key id>` or `alias/<name>`",
            ));
        }
        Ok(Self(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role_rule(text: &str) -> Option<&'static str> {
        RoleArn::parse("role_arn", text).err().map(|e| e.rule)
    }

    #[test]
    fn role_arns_in_every_partition() {
        for (arn, partition) in [
            ("arn:aws:iam::123456789012:role/byob", Partition::Aws),
            ("arn:aws-us-gov:iam::123456789012:role/team/data/byob-access", Partition::AwsUsGov),
            ("arn:aws-cn:iam::123456789012:role/byob+exports@acme", Partition::AwsCn),
        ] {
            let parsed = RoleArn::parse("role_arn", arn);
            assert_eq!(parsed.as_ref().map(RoleArn::partition).ok(), Some(partition), "{arn}");
            assert_eq!(parsed.map(|r| r.account().to_string()).ok().as_deref(), Some("123456789012"));
        }
    }

    #[test]
    fn malformed_role_arns() {
        assert_eq!(role_rule("byob"), Some("arn-format"));
        assert_eq!(role_rule("arn:aws:iam::123456789012"), Some("arn-format"));
        assert_eq!(role_rule("arn:azure:iam::123456789012:role/x"), Some("arn-partition"));
        assert_eq!(role_rule("arn:aws:iam::1234:role/x"), Some("arn-account"));
        assert_eq!(role_rule("arn:aws:s3:::bucket/x"), Some("arn-account"));
        assert_eq!(role_rule("arn:aws:sts::123456789012:role/x"), Some("arn-service"));
        assert_eq!(role_rule("arn:aws:iam:us-east-1:123456789012:role/x"), Some("arn-service"));
        assert_eq!(role_rule("arn:aws:iam::123456789012:user/alice"), Some("arn-resource"));
        assert_eq!(role_rule("arn:aws:iam::123456789012:role/"), Some("arn-role-name"));
        assert_eq!(role_rule(&format!("arn:aws:iam::123456789012:role/{}", "r".repeat(65))), Some("arn-role-name"));
        assert_eq!(role_rule("arn:aws:iam::123456789012:role/a b"), Some("arn-role-name"));
        assert_eq!(role_rule("arn:aws:iam::123456789012:role/team//x"), Some("arn-role-path"));
    }

    #[test]
    fn kms_key_arns() {
        let ok = [
            "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
            "arn:aws-cn:kms:cn-north-1:123456789012:alias/byob-exports",
        ];
        for arn in ok {
            assert!(KmsKeyArn::parse("kms_key", arn).is_ok(), "{arn}");
        }
        let rule = |t: &str| KmsKeyArn::parse("kms_key", t).err().map(|e| e.rule);
        assert_eq!(rule("arn:aws:kms::123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"), Some("arn-service"));
        assert_eq!(rule("arn:aws:kms:us-east-1:123456789012:key/nothex"), Some("arn-resource"));
        assert_eq!(rule("arn:aws:kms:us-east-1:123456789012:secret/x"), Some("arn-resource"));
    }
}
