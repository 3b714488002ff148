//! An in-memory store (object_store's `InMemory`), compiled only with the `memory-provider` feature, which the
//! test kit turns on: the proof that a provider is one module behind `StorageProvider` plus its line in `of`. Its
//! buckets live as long as the process, shared by every connection naming the same org and bucket, as a cloud's
//! would be; there are no credentials, nothing to set up, and no URLs to hand out (byob relays uploads).

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
};

use async_trait::async_trait;
use byob_core::{
    OrgId,
    integration::{Credentials, Integration},
    location::{BucketNaming, Prefix, RegionShape},
};
use byob_ports::storage::StorageClient;
use object_store::memory::InMemory;

use super::{Checked, Connector, CredentialContext, CredentialsInput, StorageProvider};
use crate::{
    ServiceError,
    artifacts::{NoSetup, ProviderSetup},
    permissions::{Needed, Operation, Subject},
};

pub(crate) struct Memory;

/// In-memory buckets by org and name.
type Buckets = Mutex<HashMap<(OrgId, String), Arc<InMemory>>>;

/// The process's in-memory buckets (a test double of a cloud account, not configuration).
fn bucket(org: OrgId, name: &str) -> Arc<InMemory> {
    static BUCKETS: OnceLock<Buckets> = OnceLock::new();
    let mut buckets = BUCKETS.get_or_init(Mutex::default).lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    buckets.entry((org, name.to_string())).or_insert_with(|| Arc::new(InMemory::new())).clone()
}

#[async_trait]
impl StorageProvider for Memory {
    fn bucket_naming(&self) -> BucketNaming {
        BucketNaming::S3
    }
    fn region_shape(&self, _: bool) -> RegionShape {
        RegionShape::Token
    }
    fn takes(&self, input: &CredentialsInput) -> bool {
        matches!(input, CredentialsInput::Local)
    }
    fn check_credentials(&self, input: CredentialsInput, _: &CredentialContext<'_>) -> Result<Checked, ServiceError> {
        match input {
            CredentialsInput::Local => Ok(Checked::inline(Credentials::Local)),
            other => Err(super::mode_of_another_provider(&other)),
        }
    }
    async fn connect(&self, _: &Connector<'_>, i: &Integration, prefix: Prefix) -> Result<StorageClient, ServiceError> {
        let store = bucket(i.org_id, &i.bucket);
        Ok(StorageClient::without_urls(
            store,
            prefix,
            "an in-memory store has no URLs to hand out; byob moves the bytes",
        ))
    }
    fn setup(&self) -> &'static dyn ProviderSetup {
        &NoSetup
    }
    fn needs(&self, _: &Subject<'_>, op: Operation) -> Needed {
        Needed {
            permission: format!("nothing: an in-memory store lets byob {} anything", op.verb()),
            fix: "nothing to grant".into(),
        }
    }
}
