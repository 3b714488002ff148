//! The records byob keeps about tenants, their members, tokens, secrets and audit trail.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{AuditId, MemberId, OrgId, SecretId, TokenId};

/// A tenant. Every record and every object key belongs to exactly one org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a member may do in their org. Admins change integrations, connections, members and settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
}

impl Role {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "member" => Some(Self::Member),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// A user of an org.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Member {
    pub id: MemberId,
    pub org_id: OrgId,
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An API token as the catalog keeps it: only a hash of the bearer value is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenMeta {
    pub id: TokenId,
    pub org_id: OrgId,
    pub member_id: MemberId,
    pub name: String,
    /// First characters of the token, enough to recognise it in a list.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

impl TokenMeta {
    #[must_use]
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|exp| now < exp)
    }
}

/// What the API shows of a secret: never its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SecretMeta {
    pub id: SecretId,
    pub org_id: OrgId,
    pub name: String,
    pub description: Option<String>,
    /// Id of the master key the value is currently encrypted under.
    pub key_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the credential itself stops working (a SAS expiry, a key's end of life), if known.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// The server-wide operator token.
    Operator,
    /// A member, through one of their API tokens.
    Member { member_id: MemberId, token_id: TokenId },
    /// byob itself (background work, command-line maintenance).
    System,
    /// A request that presented no valid credentials.
    Anonymous,
}

impl Actor {
    /// A compact text form used for filtering: `operator`, `system`, `anonymous` or the member id.
    #[must_use]
    pub fn key(&self) -> String {
        match self {
            Self::Operator => "operator".into(),
            Self::System => "system".into(),
            Self::Anonymous => "anonymous".into(),
            Self::Member { member_id, .. } => member_id.to_string(),
        }
    }
}

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Success,
    /// Refused for lack of permission.
    Denied,
    /// Refused because the input was invalid or the target did not exist.
    Rejected,
    /// Failed inside byob or a backend.
    Failed,
}

impl AuditOutcome {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
        }
    }

    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Self::Success),
            "denied" => Some(Self::Denied),
            "rejected" => Some(Self::Rejected),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One line of an org's audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: AuditId,
    pub org_id: OrgId,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    /// Stable dotted name, e.g. `member.create`, `secret.update`. Listed in docs/audit.md.
    pub action: String,
    /// The id of the record acted on, when there is one.
    pub target: Option<String>,
    pub outcome: AuditOutcome,
    pub request_id: Option<String>,
    /// Non-secret details (changed field names, error code).
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}
