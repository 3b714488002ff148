//! Opaque, prefixed identifiers (`org_…`, `mem_…`). The suffix is a lowercase ULID, so ids sort by creation
//! time, which keyset paging relies on.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;
use ulid::Ulid;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("`{value}` is not a valid {kind} id: expected `{prefix}_` followed by 26 base32 characters")]
pub struct IdError {
    pub kind: &'static str,
    pub prefix: &'static str,
    pub value: String,
}

macro_rules! define_id {
    ($name:ident, $prefix:literal, $kind:literal) => {
        #[doc = concat!("Identifier of a ", $kind, ", written `", $prefix, "_<ulid>`.")]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Ulid);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            pub const KIND: &'static str = $kind;

            #[must_use]
            pub fn generate() -> Self {
                Self(Ulid::new())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}_{}", $prefix, self.0.to_string().to_ascii_lowercase())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(self, f)
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let err = || IdError { kind: $kind, prefix: $prefix, value: s.chars().take(64).collect() };
                let rest = s.strip_prefix(concat!($prefix, "_")).ok_or_else(err)?;
                if rest.len() != 26 {
                    return Err(err());
                }
                Ulid::from_string(&rest.to_ascii_uppercase()).map(Self).map_err(|_| err())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = String::deserialize(deserializer)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .description(Some(concat!("Identifier of a ", $kind, ".")))
                    .pattern(Some(concat!("^", $prefix, "_[0-9a-hjkmnp-tv-z]{26}$")))
                    .examples([serde_json::json!(concat!($prefix, "_01jd3m8t5v7k2q9x4c6b8n0r1s"))])
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

/// A fresh error id (`err_…`): shown to a user instead of an internal cause, and logged with the cause.
#[must_use]
pub fn new_error_id() -> String {
    format!("err_{}", Ulid::new().to_string().to_ascii_lowercase())
}

define_id!(OrgId, "org", "organization");
define_id!(MemberId, "mem", "member");
define_id!(TokenId, "tok", "API token");
define_id!(SecretId, "sec", "secret");
define_id!(AuditId, "aud", "audit entry");
define_id!(IntegrationId, "int", "integration");
define_id!(VerificationId, "ver", "verification run");
define_id!(EventId, "evt", "event");
define_id!(WebhookId, "whk", "webhook endpoint");
define_id!(ConnectionId, "con", "data-platform connection");
define_id!(UploadId, "upl", "upload");
define_id!(JobId, "job", "job");
define_id!(DeliveryId, "dlv", "webhook delivery");
define_id!(ExportId, "exp", "export");
define_id!(ImportId, "imp", "import");
define_id!(AttachmentId, "att", "attachment");
define_id!(MigrationId, "mig", "migration");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = OrgId::generate();
        let text = id.to_string();
        assert!(text.starts_with("org_"));
        assert_eq!(text.parse::<OrgId>(), Ok(id));
    }

    #[test]
    fn rejects_wrong_prefix_length_and_alphabet() {
        let mem = MemberId::generate().to_string();
        assert!(mem.parse::<OrgId>().is_err());
        assert!("org_".parse::<OrgId>().is_err());
        assert!("org_../../etc/passwd".parse::<OrgId>().is_err());
        assert!("org_0000000000000000000000000u".parse::<OrgId>().is_err());
    }
}
