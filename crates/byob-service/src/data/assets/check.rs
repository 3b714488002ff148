//! The store check: every version's content is in the bucket and hashes to its key, every manifest is there,
//! signed, says what the catalog says and names its predecessor's hash, and nothing else sits in the store's
//! folders. A job; its result is the report, also kept as the org's latest.

use std::collections::{HashMap, HashSet};

use byob_core::{
    AuditOutcome, IntegrationId, OrgId,
    asset::{self, AssetVersion, ProblemKind, StoreCounts, StoreProblem, StoreReport},
    job::Job,
};
use byob_ports::{catalog::AssetKey, storage::StorageClient};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{AssetService, manifest};
use crate::{
    Access, RequestContext, ServiceError,
    jobs::{JobFailure, JobHandle},
};

/// The job kind that checks an org's asset store.
pub(crate) const CHECK_JOB: &str = "asset-check";

/// Versions read from the catalog at once.
const PAGE: u32 = 500;

/// Content to read once, whatever the number of versions sharing it.
struct Content {
    integration: Option<IntegrationId>,
    sha256: String,
    size: u64,
    name: String,
    version: u64,
}

/// What the check found, as it goes.
#[derive(Default)]
struct Findings {
    counts: StoreCounts,
    problems: Vec<StoreProblem>,
}

impl Findings {
    fn add(&mut self, kind: ProblemKind, v: Option<(&str, u64)>, key: String, message: String) {
        self.counts.count(kind);
        if self.problems.len() < asset::MAX_REPORTED_PROBLEMS {
            self.problems.push(StoreProblem {
                kind,
                name: v.map(|(n, _)| n.to_string()),
                version: v.map(|(_, n)| n),
                key,
                message,
            });
        }
    }
}

impl AssetService {
    /// Queues a check of the org's asset store; the job's result is the report.
    ///
    /// # Errors
    /// Not a member; the org's queue quota.
    pub async fn check(&self, ctx: &RequestContext, org: OrgId) -> Result<Job, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let job = self.jobs.enqueue(ctx, org, CHECK_JOB, json!({}), None).await?;
        self.audit(
            ctx,
            org,
            byob_core::actions::ASSET_VERIFY,
            Some(job.id.to_string()),
            AuditOutcome::Success,
            json!({}),
        )
        .await?;
        Ok(job)
    }

    /// The latest store check's report, if one ran.
    ///
    /// # Errors
    /// Not a member.
    pub async fn latest_report(&self, ctx: &RequestContext, org: OrgId) -> Result<Option<StoreReport>, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let store = self.deps.catalog.get_asset_store(org).await?;
        Ok(store.and_then(|s| s.last_report).and_then(|r| serde_json::from_str(&r).ok()))
    }

    pub(crate) async fn execute_check(&self, job: &Job, handle: &JobHandle) -> Result<Value, JobFailure> {
        let ctx = RequestContext::system();
        let report = self
            .check_store(&ctx, job.org_id, handle)
            .await
            .map_err(|e| JobFailure::retryable("asset-check-failed", e.to_string()))?;
        let previous = self.deps.catalog.get_asset_store(job.org_id).await.ok().flatten();
        let before: Option<StoreReport> =
            previous.as_ref().and_then(|s| s.last_report.as_deref()).and_then(|r| serde_json::from_str(r).ok());
        let keys = |r: &StoreReport| r.problems.iter().map(|p| (p.kind, p.key.clone())).collect::<HashSet<_>>();
        let new_problems =
            report.problems.iter().any(|p| before.as_ref().is_none_or(|b| !keys(b).contains(&(p.kind, p.key.clone()))));
        if let Some(mut store) = previous {
            store.verified_at = Some(report.started_at);
            store.last_report = Some(serde_json::to_string(&report).unwrap_or_default());
            self.deps
                .catalog
                .put_asset_store(&store)
                .await
                .map_err(|e| JobFailure::retryable("catalog-unavailable", e.to_string()))?;
        }
        if new_problems {
            let payload = json!({ "source": "check", "counts": report.counts, "problems": report.problems.iter().take(10).collect::<Vec<_>>() });
            if let Err(e) = self.events.emit(&ctx, job.org_id, byob_core::event::ASSET_TAMPERED, None, payload).await {
                tracing::warn!(error = %e, "could not record an asset-tampered event");
            }
        }
        Ok(serde_json::to_value(&report).unwrap_or_default())
    }

    async fn check_store(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        handle: &JobHandle,
    ) -> Result<StoreReport, ServiceError> {
        let started_at = self.deps.clock.now();
        let keys = self.deps.catalog.asset_keys(org).await?;
        let mut found = Findings::default();
        let mut stores: HashMap<Option<IntegrationId>, StorageClient> = HashMap::new();
        let mut expected: HashMap<Option<IntegrationId>, HashSet<String>> = HashMap::new();
        let mut contents: HashMap<(Option<IntegrationId>, String), Content> = HashMap::new();
        if let Ok(routed) = self.routed(ctx, org).await {
            stores.insert(routed.integration, routed.client);
        }
        let mut after: Option<(String, u64)> = None;
        let mut previous: Option<AssetVersion> = None;
        loop {
            let page =
                self.deps.catalog.scan_asset_versions(org, after.as_ref().map(|(n, v)| (n.as_str(), *v)), PAGE).await?;
            for v in &page {
                if handle.should_stop() {
                    return Err(ServiceError::invalid("job", "the check was stopped"));
                }
                found.counts.versions += 1;
                if previous.as_ref().is_none_or(|p| p.name != v.name) {
                    found.counts.assets += 1;
                    previous = None;
                }
                let client = match stores.entry(v.integration_id) {
                    std::collections::hash_map::Entry::Occupied(held) => held.into_mut(),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(self.storage.stored_in(ctx, org, v.integration_id).await?)
                    }
                };
                let wanted = expected.entry(v.integration_id).or_default();
                wanted.insert(manifest::key_of(&v.name, v.version));
                if let (Some(sha), None) = (&v.sha256, v.purged_at) {
                    wanted.insert(asset::content_key(sha));
                    contents.entry((v.integration_id, sha.clone())).or_insert_with(|| Content {
                        integration: v.integration_id,
                        sha256: sha.clone(),
                        size: v.size,
                        name: v.name.clone(),
                        version: v.version,
                    });
                }
                self.check_manifest(client, v, previous.as_ref(), &keys, &mut found).await?;
                previous = Some(v.clone());
            }
            match page.last() {
                Some(last) if page.len() == PAGE as usize => after = Some((last.name.clone(), last.version)),
                _ => break,
            }
        }
        let parallel = self.settings.check_parallelism.max(1);
        let reads = futures::stream::iter(contents.into_values().map(|c| {
            let client = stores.get(&c.integration).cloned();
            async move {
                let outcome = match client {
                    Some(client) => read_hash(&client, &c.sha256).await,
                    None => Err(ServiceError::invalid("integration", "gone")),
                };
                (c, outcome)
            }
        }))
        .buffer_unordered(parallel);
        let outcomes: Vec<(Content, Result<Hashed, ServiceError>)> = reads.collect().await;
        for (c, outcome) in outcomes {
            let key = asset::content_key(&c.sha256);
            let at = Some((c.name.as_str(), c.version));
            match outcome? {
                None => {
                    found.add(ProblemKind::ObjectMissing, at, key, "the content object is not in the bucket".into())
                }
                Some((hash, size, by_store)) => {
                    found.counts.objects_checked += 1;
                    if by_store {
                        found.counts.objects_checked_by_store_checksum += 1;
                    } else {
                        found.counts.bytes_checked += size;
                        handle.add_bytes(size);
                    }
                    if hash != c.sha256 || size != c.size {
                        let message =
                            format!("the object hashes to {hash} ({size} bytes): it was changed behind byob's back");
                        found.add(ProblemKind::ObjectTampered, at, key, message);
                    }
                }
            }
        }
        for (integration, client) in &stores {
            let wanted = expected.remove(integration).unwrap_or_default();
            for folder in ["assets/objects", "assets/manifests"] {
                for key in list_under(client, folder).await? {
                    if !wanted.contains(&key) {
                        found.add(
                            ProblemKind::UnexpectedObject,
                            None,
                            key,
                            "no version of any asset accounts for this object".into(),
                        );
                    }
                }
            }
        }
        let status = if found.counts.problems() == 0 { "passed" } else { "failed" };
        Ok(StoreReport {
            status: status.into(),
            started_at,
            finished_at: self.deps.clock.now(),
            counts: found.counts,
            problems: found.problems,
        })
    }

    /// Checks one version's manifest: present, signed, saying what the catalog says, chained to the previous
    /// version's manifest hash.
    async fn check_manifest(
        &self,
        client: &StorageClient,
        v: &AssetVersion,
        previous: Option<&AssetVersion>,
        keys: &[AssetKey],
        found: &mut Findings,
    ) -> Result<(), ServiceError> {
        let key = manifest::key_of(&v.name, v.version);
        let at = Some((v.name.as_str(), v.version));
        let bytes = match client.store().get(&client.key(&key)?).await {
            Ok(got) => got.bytes().await.map_err(byob_ports::storage::StorageError::from)?,
            Err(object_store::Error::NotFound { .. }) => {
                found.add(ProblemKind::ManifestMissing, at, key, "the version's manifest is not in the bucket".into());
                return Ok(());
            }
            Err(e) => return Err(byob_ports::storage::StorageError::from(e).into()),
        };
        found.counts.manifests_checked += 1;
        let sha = hex::encode(Sha256::digest(&bytes));
        let payload = match manifest::open(&bytes, keys) {
            Ok(payload) => payload,
            Err(why) => {
                found.add(ProblemKind::ManifestInvalid, at, key, format!("the manifest was edited or replaced: {why}"));
                return Ok(());
            }
        };
        let agrees = payload.name == v.name
            && payload.version == v.version
            && payload.sha256 == v.sha256
            && payload.size == v.size
            && payload.deleted == v.deleted
            && payload.previous == v.previous;
        if !agrees || sha != v.manifest_sha256 {
            let message = "the manifest is signed but is not the one byob wrote for this version".to_string();
            found.add(ProblemKind::ManifestInvalid, at, key.clone(), message);
        }
        let expected_link = previous.map(|p| p.manifest_sha256.clone());
        if payload.previous_manifest_sha256 != expected_link {
            let message = format!(
                "the manifest names {} as its predecessor's hash; the catalog has {}",
                payload.previous_manifest_sha256.as_deref().unwrap_or("none"),
                expected_link.as_deref().unwrap_or("none")
            );
            found.add(ProblemKind::ChainBroken, at, key, message);
        } else if let Some(p) = previous
            && p.manifest_written
            && let Ok(got) = client.store().get(&client.key(&manifest::key_of(&p.name, p.version))?).await
            && let Ok(prev_bytes) = got.bytes().await
            && hex::encode(Sha256::digest(&prev_bytes)) != p.manifest_sha256
        {
            let message = format!(
                "the manifest of version {} no longer hashes to the {} this manifest names: the chain is broken there",
                p.version, p.manifest_sha256
            );
            found.add(ProblemKind::ChainBroken, at, key, message);
        }
        Ok(())
    }
}

/// An object's SHA-256, its size, and whether the store's own checksum gave the hash; none when it is not there.
type Hashed = Option<(String, u64, bool)>;

/// An object's hash: the store's own checksum of the whole object where it keeps one (no need to read it), else
/// the bytes read through SHA-256.
async fn read_hash(client: &StorageClient, sha256: &str) -> Result<Hashed, ServiceError> {
    let key = client.key(&asset::content_key(sha256))?;
    if let Some(kept) = client.stored_sha256(&key).await? {
        let meta = client.store().head(&key).await.map_err(byob_ports::storage::StorageError::from)?;
        return Ok(Some((kept, meta.size, true)));
    }
    let read = crate::data::ranges::sha256_of(client, &key).await?;
    Ok(read.map(|(hash, size)| (hash, size, false)))
}

/// Every object under `folder` (relative to the store's prefix), as relative keys.
pub(super) async fn list_under(client: &StorageClient, folder: &str) -> Result<Vec<String>, ServiceError> {
    let root = client.key(folder)?;
    let prefix = client.prefix();
    let strip = if prefix.is_root() { String::new() } else { format!("{}/", prefix.as_str()) };
    let listed: Vec<object_store::ObjectMeta> =
        client.store().list(Some(&root)).try_collect().await.map_err(byob_ports::storage::StorageError::from)?;
    Ok(listed
        .into_iter()
        .map(|o| o.location.as_ref().strip_prefix(&strip).unwrap_or(o.location.as_ref()).to_string())
        .collect())
}
