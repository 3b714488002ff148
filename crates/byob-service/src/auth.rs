//! Who the caller is (authentication) and what they may do in an org (authorization).
//!
//! Tokens are 256-bit random values, so a fast hash (SHA-256) is enough to store them safely; a slow password
//! hash would only add latency to every request.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use byob_core::{Actor, MemberId, OrgId, Role, Sensitive, TokenId, random};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Deps, ServiceError};

/// Prefix of every bearer token byob issues, so leaked tokens are easy to scan for.
pub(crate) const TOKEN_PREFIX: &str = "byob_";
/// A token's last use is written at most once a minute.
const TOUCH_GRANULARITY_MS: i64 = 60_000;

/// The operator token, kept only as a hash.
#[derive(Clone)]
pub struct OperatorToken([u8; 32]);

impl std::fmt::Debug for OperatorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorToken([redacted])")
    }
}

impl OperatorToken {
    #[must_use]
    pub fn new(token: &Sensitive<String>) -> Self {
        Self(Sha256::digest(token.expose().as_bytes()).into())
    }

    /// A fresh random operator token, in the same format as member tokens.
    ///
    /// # Errors
    /// When the OS has no randomness.
    pub fn generate() -> Result<Sensitive<String>, ServiceError> {
        new_bearer_value()
    }
}

pub(crate) fn new_bearer_value() -> Result<Sensitive<String>, ServiceError> {
    let bytes = random::bytes::<32>().map_err(|e| ServiceError::SecretBox(e.into()))?;
    Ok(Sensitive::new(format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))))
}

pub(crate) fn token_hash(token: &str) -> String {
    hex_lower(&Sha256::digest(token.as_bytes()))
}

fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Operator,
    Member {
        org_id: OrgId,
        member_id: MemberId,
        token_id: TokenId,
        role: Role,
    },
    /// byob itself (command-line maintenance, background work).
    System,
}

/// What an operation requires of the caller inside an org.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any member of the org.
    Member,
    /// An admin of the org.
    Admin,
    /// An admin, or the member the operation is about (their own tokens).
    AdminOrSelf(MemberId),
    /// The member the operation is about, not another admin: what acts in a member's name (a new token) is made
    /// by that member (or the operator, who gives an org its first tokens).
    Own(MemberId),
    /// The server-wide operator only.
    Operator,
}

impl Access {
    /// The OpenAPI security scope that documents this requirement.
    #[must_use]
    pub fn scope(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Admin => "admin",
            Self::AdminOrSelf(_) | Self::Own(_) => "self",
            Self::Operator => "operator",
        }
    }
}

impl Principal {
    #[must_use]
    pub fn actor(&self) -> Actor {
        match self {
            Self::Operator => Actor::Operator,
            Self::System => Actor::System,
            Self::Member { member_id, token_id, .. } => Actor::Member { member_id: *member_id, token_id: *token_id },
        }
    }

    /// Whether the caller may know that `org` exists. Another org's caller gets "not found", never "forbidden".
    ///
    /// # Errors
    /// `NotFound` for a member of another org.
    pub fn can_see(&self, org: OrgId) -> Result<(), ServiceError> {
        match self {
            Self::Member { org_id, .. } if *org_id != org => {
                Err(ServiceError::not_found(byob_core::codes::ORGANIZATION_NOT_FOUND, org))
            }
            _ => Ok(()),
        }
    }

    /// # Errors
    /// `Forbidden` naming the role the operation needs.
    pub fn require(&self, access: Access) -> Result<(), ServiceError> {
        let allowed = match (self, access) {
            (Self::Operator | Self::System, _) => true,
            (Self::Member { .. }, Access::Operator) => false,
            (Self::Member { .. }, Access::Member) => true,
            (Self::Member { role, .. }, Access::Admin) => *role == Role::Admin,
            (Self::Member { role, member_id, .. }, Access::AdminOrSelf(subject)) => {
                *role == Role::Admin || *member_id == subject
            }
            (Self::Member { member_id, .. }, Access::Own(subject)) => *member_id == subject,
        };
        if allowed {
            return Ok(());
        }
        Err(ServiceError::Forbidden(match access {
            Access::Operator => "only the operator token may do this".into(),
            Access::AdminOrSelf(_) => "only an admin of the organization, or the member concerned, may do this".into(),
            Access::Own(_) => "only the member concerned may create their tokens: a token acts in its member's name, \
                               so an admin may revoke another member's tokens but not create them"
                .into(),
            _ => format!("this needs the `{}` role in the organization", access.scope()),
        }))
    }
}

/// Turns a bearer token into a [`Principal`].
#[derive(Debug, Clone)]
pub struct Authenticator {
    deps: Deps,
    operator: OperatorToken,
}

impl Authenticator {
    #[must_use]
    pub fn new(deps: Deps, operator: OperatorToken) -> Self {
        Self { deps, operator }
    }

    /// # Errors
    /// `Unauthenticated` for a missing, unknown, expired or revoked token; catalog errors.
    pub async fn authenticate(&self, bearer: Option<&str>) -> Result<Principal, ServiceError> {
        let token = bearer.filter(|t| !t.is_empty()).ok_or(ServiceError::Unauthenticated)?;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if bool::from(digest.ct_eq(&self.operator.0)) {
            return Ok(Principal::Operator);
        }
        if !token.starts_with(TOKEN_PREFIX) {
            return Err(ServiceError::Unauthenticated);
        }
        let now = self.deps.clock.now();
        let Some((meta, member)) = self.deps.catalog.find_token(&hex_lower(&digest)).await? else {
            return Err(ServiceError::Unauthenticated);
        };
        if !meta.is_usable_at(now) {
            return Err(ServiceError::Unauthenticated);
        }
        if let Err(err) = self.deps.catalog.touch_token(meta.id, now, TOUCH_GRANULARITY_MS).await {
            tracing::warn!(token = %meta.id, error = %err, "could not record token use");
        }
        Ok(Principal::Member { org_id: member.org_id, member_id: member.id, token_id: meta.id, role: member.role })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(role: Role) -> (Principal, OrgId, MemberId) {
        let org = OrgId::generate();
        let me = MemberId::generate();
        (Principal::Member { org_id: org, member_id: me, token_id: TokenId::generate(), role }, org, me)
    }

    #[test]
    fn another_orgs_caller_is_told_not_found() {
        let (p, _, _) = member(Role::Admin);
        assert!(matches!(p.can_see(OrgId::generate()), Err(ServiceError::NotFound { .. })));
    }

    #[test]
    fn members_are_forbidden_admin_work_but_may_manage_themselves() {
        let (p, org, me) = member(Role::Member);
        assert!(p.can_see(org).is_ok());
        assert!(p.require(Access::Member).is_ok());
        assert!(matches!(p.require(Access::Admin), Err(ServiceError::Forbidden(_))));
        assert!(p.require(Access::AdminOrSelf(me)).is_ok());
        assert!(p.require(Access::AdminOrSelf(MemberId::generate())).is_err());
        let (admin, _, _) = member(Role::Admin);
        assert!(admin.require(Access::Operator).is_err());
        assert!(Principal::Operator.require(Access::Operator).is_ok());
    }

    #[test]
    fn bearer_values_are_prefixed_and_unguessable() -> Result<(), ServiceError> {
        let a = new_bearer_value()?;
        let b = new_bearer_value()?;
        assert!(a.expose().starts_with(TOKEN_PREFIX));
        assert_eq!(a.expose().len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
        Ok(())
    }
}
