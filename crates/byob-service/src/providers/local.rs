//! A directory on byob's host: the default storage, and integrations only where the operator allows them
//! (development). Nothing to set up; byob's user needs the file system's permission.

use async_trait::async_trait;
use byob_core::{
    integration::{Credentials, Integration},
    location::{BucketNaming, Prefix, RegionShape},
};
use byob_ports::storage::StorageClient;

use super::{Checked, Connector, CredentialContext, CredentialsInput, StorageProvider};
use crate::{
    ServiceError,
    artifacts::{NoSetup, ProviderSetup},
    permissions::{Needed, Operation, Subject},
};

pub(crate) struct Local;

#[async_trait]
impl StorageProvider for Local {
    fn bucket_naming(&self) -> BucketNaming {
        BucketNaming::Directory
    }
    fn region_shape(&self, _: bool) -> RegionShape {
        RegionShape::Token
    }
    fn takes(&self, input: &CredentialsInput) -> bool {
        matches!(input, CredentialsInput::Local)
    }
    fn check_credentials(&self, input: CredentialsInput, cx: &CredentialContext<'_>) -> Result<Checked, ServiceError> {
        if !matches!(input, CredentialsInput::Local) {
            return Err(super::mode_of_another_provider(&input));
        }
        if !cx.allow_local {
            return Err(byob_core::location::FieldError::new(
                "provider",
                byob_core::rules::PROVIDER_LOCAL_DISABLED,
                "local-directory integrations are for development; the operator has not enabled them",
            )
            .into());
        }
        Ok(Checked::inline(Credentials::Local))
    }
    /// Integrations on a directory are validated and verified, but byob does not connect to them yet.
    async fn connect(&self, _: &Connector<'_>, i: &Integration, _: Prefix) -> Result<StorageClient, ServiceError> {
        Err(super::unavailable(&i.credentials))
    }
    fn setup(&self) -> &'static dyn ProviderSetup {
        &NoSetup
    }
    fn needs(&self, s: &Subject<'_>, op: Operation) -> Needed {
        Needed {
            permission: format!("the file system's permission to {} in `{}`", op.verb(), s.i.bucket),
            fix: "give byob's user access to the directory".into(),
        }
    }
}
