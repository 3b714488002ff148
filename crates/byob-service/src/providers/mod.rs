//! One module per storage provider behind [`StorageProvider`], which owns everything that differs between them:
//! which credential modes it takes and how their input is checked, bucket, region and KMS key rules, connecting
//! (stored credentials → storage client), its setup artifacts, and what verification needs to know (the
//! permission an operation needs in the provider's own words, which artifact fixes it, where its credentials
//! cannot be confined to a prefix, how browser uploads behave). [`of`] is the one place that maps a [`Provider`]
//! to its module; nothing else in byob-service matches on a provider or a credential mode.

mod azure;
mod connector;
mod gcs;
mod input;
mod local;
#[cfg(feature = "memory-provider")]
mod memory;
pub(crate) mod s3;

use async_trait::async_trait;
use byob_core::{
    OrgId,
    integration::{Credentials, Feature, Integration},
    location::{BucketNaming, FieldError, Prefix, Provider, Region, RegionShape},
};
use byob_ports::storage::{StorageClient, StorageError};

pub(crate) use connector::Connector;
pub use connector::{GcpIdentity, StorageSettings};
pub use input::CredentialsInput;
pub(crate) use input::{
    Checked, CredentialContext, MAX_SECRET_BYTES, NewSecret, mode_of_another_provider, new_external_id, secret_text,
};

use crate::{
    Deps, ServiceError,
    artifacts::{ByobIdentity, ProviderSetup},
    permissions::{Limit, Needed, Operation, Subject},
    reports::Outcome,
};

/// The module of a provider: the one mapping.
pub(crate) fn of(provider: Provider) -> &'static dyn StorageProvider {
    match provider {
        Provider::S3 => &s3::S3,
        Provider::Gcs => &gcs::Gcs,
        Provider::Azure => &azure::Azure,
        Provider::Local => &local::Local,
        #[cfg(feature = "memory-provider")]
        Provider::Memory => &memory::Memory,
    }
}

/// The last resort of every prefix limit: a bucket (container) of byob's own.
const OWN_BUCKET: &str = "or give byob a bucket (container) of its own and no prefix";

/// A stored mode its provider's module cannot connect with.
fn unavailable(credentials: &Credentials) -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::CREDENTIAL_MODE_UNAVAILABLE,
        message: format!("byob cannot connect with credential mode `{}` yet", credentials.mode()),
    }
}

/// The provider whose module takes a credential mode.
pub(crate) fn taking(input: &CredentialsInput) -> Option<Provider> {
    Provider::ALL.into_iter().find(|p| of(*p).takes(input))
}

/// An assumed role and the external id byob presents.
pub(crate) struct AssumedRole<'i> {
    pub role_arn: &'i str,
    pub external_id: &'i str,
}

/// How a browser's presigned multipart upload behaves on this provider.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct BrowserUploads {
    /// Each part carries `Content-Range` (a GCS resumable session).
    pub parts_carry_content_range: bool,
    /// A part's answer must expose its ETag, or the upload cannot be completed (S3).
    pub parts_need_etag: bool,
    /// An emulator endpoint that answers no CORS preflight at all is checked by its CORS rules instead.
    pub emulator_skips_preflight: bool,
}

/// Everything provider-specific, in the order an integration meets it: input, connection, setup, verification.
#[async_trait]
pub(crate) trait StorageProvider: Send + Sync {
    // ── input ──
    fn bucket_naming(&self) -> BucketNaming;
    /// The region names accepted; `custom_endpoint` for a store reached at an endpoint of the integration's.
    fn region_shape(&self, custom_endpoint: bool) -> RegionShape;
    /// Why a region must be given, where it must.
    fn region_required(&self, _custom_endpoint: bool) -> Option<&'static str> {
        None
    }
    /// The KMS key, checked against the provider's key format and the bucket's region.
    ///
    /// # Errors
    /// `kms-key-unsupported` unless the provider encrypts with customer keys.
    fn kms_key(&self, provider: Provider, _region: Option<&Region>, _text: &str) -> Result<String, FieldError> {
        Err(FieldError::new(
            "kms_key",
            byob_core::rules::KMS_KEY_UNSUPPORTED,
            format!("a KMS key is not supported for {}", provider.as_str()),
        ))
    }
    /// Whether a credential mode is one of this provider's.
    fn takes(&self, input: &CredentialsInput) -> bool;
    /// Checks a credential input of one of this provider's modes and splits it into what is stored.
    ///
    /// # Errors
    /// A rule naming the field.
    fn check_credentials(&self, input: CredentialsInput, cx: &CredentialContext<'_>) -> Result<Checked, ServiceError>;
    /// Refuses features that the kept credentials cannot serve (a SAS without the letters they need).
    ///
    /// # Errors
    /// A rule naming `field`.
    fn check_features(
        &self,
        _credentials: &Credentials,
        _features: &[Feature],
        _field: &str,
    ) -> Result<(), ServiceError> {
        Ok(())
    }
    /// Binds the per-org identities a mode uses byob's own identity through (and claims the customer's account
    /// for this org), when the integration is saved.
    async fn bind_identities(&self, _deps: &Deps, _org: OrgId, _i: &Integration) -> Result<(), ServiceError> {
        Ok(())
    }

    // ── connection ──
    /// The storage client of an integration.
    ///
    /// # Errors
    /// `credential-mode-unavailable` where the operator has not configured what the mode needs; unusable settings.
    async fn connect(&self, c: &Connector<'_>, i: &Integration, prefix: Prefix) -> Result<StorageClient, ServiceError>;
    /// The role byob assumes, for a mode that assumes one.
    fn assumed_role<'i>(&self, _i: &'i Integration) -> Option<AssumedRole<'i>> {
        None
    }
    /// The object at `key` (the bucket's full key) as data platforms name it, where they read this store.
    fn object_url(&self, _i: &Integration, _key: &str) -> Option<String> {
        None
    }
    /// Credentials with which a data platform may read exactly the object at `key` (the bucket's full key) for
    /// 15 minutes; or why the mode cannot vend them (the load is then streamed by byob).
    async fn vend_object_read(
        &self,
        _c: &Connector<'_>,
        i: &Integration,
        _key: &str,
    ) -> Result<byob_ports::warehouse::PullCredentials, String> {
        Err(format!("byob does not vend read credentials for `{}` integrations yet", i.credentials.mode()))
    }
    /// Whether byob's own identity may mint the integration's tokens directly (it must not); `None` where the
    /// mode does not impersonate or byob has no identity to impersonate with.
    async fn root_may_impersonate(&self, _c: &Connector<'_>, _i: &Integration) -> Option<Result<bool, StorageError>> {
        None
    }

    // ── setup ──
    fn setup(&self) -> &'static dyn ProviderSetup;
    /// byob's identity as this org's setup names it (the org's own account where the mode uses one).
    ///
    /// # Errors
    /// Catalog errors.
    async fn byob_identity(
        &self,
        _deps: &Deps,
        _i: &Integration,
        base: ByobIdentity,
    ) -> Result<ByobIdentity, ServiceError> {
        Ok(base)
    }

    // ── verification ──
    /// What an operation needs on this integration, in the provider's words, and where the fix is.
    fn needs(&self, s: &Subject<'_>, op: Operation) -> Needed;
    /// Where the credentials cannot be confined to the prefix at all.
    fn prefix_limit(&self, _i: &Integration) -> Option<Limit> {
        None
    }
    /// A refusal that is the credentials' own (a rotated account key), whichever check met it.
    fn credentials_refused(&self, _s: &Subject<'_>, _err: &StorageError) -> Option<Outcome> {
        None
    }
    /// `credentials-sas-permissions`: whether a SAS grants what the enabled features need.
    fn sas_permissions(&self, _s: &Subject<'_>) -> Outcome {
        Outcome::skipped("not a SAS credential")
    }
    /// The fix for public access where the setup has no artifact for it.
    fn public_access_fix(&self) -> Option<&'static str> {
        None
    }
    fn browser_uploads(&self) -> BrowserUploads {
        BrowserUploads::default()
    }
}
