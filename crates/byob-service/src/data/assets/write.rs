//! Writes through byob: the body streams into a staging object while it is hashed (memory stays at one part),
//! then lands under its hash, written once; restores and deletions are versions without new bytes.

use byob_core::{
    AuditOutcome, OrgId,
    asset::{self, AssetVersion},
};
use byob_ports::{catalog::AssetWrite, storage::StorageClient};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use object_store::ObjectStoreExt;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{AssetService, commit::NewVersion, delete_object};
use crate::data::parts::Gatherer;
use crate::{Access, RequestContext, ServiceError};

/// `If-Match` / `If-None-Match` as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct Preconditions {
    /// The entity tag of the version the client read (`"v3"`), or `*` for "exists".
    pub if_match: Option<String>,
    /// `*`: only when the asset does not exist (or is deleted).
    pub if_none_match: bool,
}

impl Preconditions {
    pub(super) fn any(&self) -> bool {
        self.if_match.is_some() || self.if_none_match
    }

    pub(super) fn failed(&self, name: &str, why: &str) -> ServiceError {
        ServiceError::Refused {
            code: byob_core::codes::ASSET_PRECONDITION_FAILED,
            message: format!("`{name}`: {why}; read its current version and try again"),
        }
    }

    pub(super) fn check(&self, name: &str, latest: Option<&AssetVersion>) -> Result<(), ServiceError> {
        let live = latest.filter(|v| !v.deleted);
        if self.if_none_match && live.is_some() {
            return Err(self.failed(name, "the asset exists (If-None-Match: *)"));
        }
        if let Some(tag) = &self.if_match {
            let holds = match (tag.trim(), latest) {
                ("*", _) => live.is_some(),
                (_, None) => false,
                (tag, Some(v)) => tag.split(',').any(|t| t.trim().trim_start_matches("W/") == v.etag()),
            };
            if !holds {
                let current = latest.map_or_else(|| "none".to_string(), AssetVersion::etag);
                return Err(
                    self.failed(name, &format!("If-Match `{tag}` does not match its current version {current}"))
                );
            }
        }
        Ok(())
    }
}

impl AssetService {
    /// Writes a new version of `name` from `body`. When `sha256` is given the bytes must hash to it.
    ///
    /// # Errors
    /// Not a member; `asset-name`, `asset-sha256`; `asset-precondition-failed`; `asset-hash-mismatch`; a body
    /// that ends early; storage errors. Nothing is left visible after a failure.
    pub async fn write<S>(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        preconditions: Preconditions,
        sha256: Option<String>,
        body: S,
    ) -> Result<AssetVersion, ServiceError>
    where
        S: Stream<Item = Result<Bytes, String>> + Unpin + Send,
    {
        self.authorize(ctx, org, Access::Member).await?;
        asset::check_name(name)?;
        if let Some(declared) = &sha256 {
            asset::check_sha256("sha256", declared)?;
        }
        // Refused before any byte moves when it can already be told.
        preconditions.check(name, self.deps.catalog.latest_asset_version(org, name).await?.as_ref())?;
        self.store(ctx, org).await?;
        let routed = self.routed(ctx, org).await?;
        let client = routed.client;
        let staging = format!("{}{}", asset::STAGING_FOLDER, ulid::Ulid::new().to_string().to_lowercase());
        let record = AssetWrite {
            org_id: org,
            staging_key: staging.clone(),
            integration_id: routed.integration,
            upload_id: None,
            planned: None,
            started_at: self.deps.clock.now(),
        };
        self.deps.catalog.put_asset_write(&record).await?;
        // Routed again now that the write is counted: a migration that began its switch in between waits only
        // for the writes it can count, so this one must see the switch (and be refused, to retry) or be waited for.
        if let Err(e) = self.still_routed(ctx, org, routed.integration).await {
            self.deps.catalog.delete_asset_write(org, &staging).await?;
            return Err(e);
        }
        let outcome = async {
            let (hash, size) = self.stream_to(&client, &record, body).await?;
            if let Some(declared) = &sha256
                && *declared != hash
            {
                return Err(ServiceError::Refused {
                    code: byob_core::codes::ASSET_HASH_MISMATCH,
                    message: format!("the body's SHA-256 is {hash}, not the {declared} declared; nothing was written"),
                });
            }
            self.place(&client, &staging, &hash).await?;
            let new = NewVersion {
                sha256: Some(hash.clone()),
                size,
                deleted: false,
                restored_from: None,
                integration_id: routed.integration,
            };
            let v = self.commit(ctx, org, name, &preconditions, new, &client).await?;
            // A purge of the same content may have run between placing it and the version's record.
            self.place(&client, &staging, &hash).await?;
            Ok(v)
        }
        .await;
        delete_object(&client, &staging).await.ok();
        self.deps.catalog.delete_asset_write(org, &staging).await?;
        let detail = |v: Option<&AssetVersion>| {
            json!({ "name": name, "version": v.map(|v| v.version), "sha256": v.and_then(|v| v.sha256.clone()),
                    "size": v.map(|v| v.size), "integration": routed.integration })
        };
        match &outcome {
            Ok(v) => {
                let target = Some(format!("{name}@{}", v.version));
                self.audit(ctx, org, byob_core::actions::ASSET_WRITE, target, AuditOutcome::Success, detail(Some(v)))
                    .await?;
            }
            Err(e) => {
                let mut failed = detail(None);
                failed["error"] = json!(e.to_string());
                self.audit(ctx, org, byob_core::actions::ASSET_WRITE, Some(name.into()), AuditOutcome::Failed, failed)
                    .await?;
            }
        }
        outcome
    }

    /// The assets still go to `integration` and are not switching stores.
    async fn still_routed(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        integration: Option<byob_core::IntegrationId>,
    ) -> Result<(), ServiceError> {
        let now = self.routed(ctx, org).await?;
        if now.integration != integration {
            return Err(ServiceError::Refused {
                code: byob_core::codes::MIGRATION_SWITCHING,
                message: "assets moved to their new store while this write began; send it again".into(),
            });
        }
        Ok(())
    }

    /// Streams the body into the staging object, hashing it; returns its SHA-256 and size.
    async fn stream_to<S>(
        &self,
        client: &StorageClient,
        record: &AssetWrite,
        mut body: S,
    ) -> Result<(String, u64), ServiceError>
    where
        S: Stream<Item = Result<Bytes, String>> + Unpin + Send,
    {
        let mut writer = client.object_writer(client.key(&record.staging_key)?);
        let mut hasher = Sha256::new();
        let mut gathered = Gatherer::new();
        let mut size = 0u64;
        let result = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| {
                    ServiceError::invalid("body", format!("the body ended before its end ({e}); send it again"))
                })?;
                hasher.update(&chunk);
                size += chunk.len() as u64;
                for part in gathered.push(&chunk) {
                    let Some(upload_id) = writer.write(part).await? else { continue };
                    let context = format!("asset-write/{}/{}", record.org_id, record.staging_key);
                    let sealed = crate::capability::seal(&self.deps, &context, &upload_id)?;
                    let record = AssetWrite { upload_id: Some(sealed), ..record.clone() };
                    self.deps.catalog.put_asset_write(&record).await?;
                }
            }
            Ok::<_, ServiceError>(())
        }
        .await;
        if let Err(e) = result {
            writer.abort().await.ok();
            return Err(e);
        }
        if let Some(last) = gathered.finish() {
            writer.write(last).await?;
        }
        writer.finish().await?;
        Ok((hex::encode(hasher.finalize()), size))
    }

    /// Puts the staged bytes under their hash unless they are there already (content is written once).
    pub(super) async fn place(&self, client: &StorageClient, staging: &str, sha256: &str) -> Result<(), ServiceError> {
        let content = client.key(&asset::content_key(sha256))?;
        match client.store().head(&content).await {
            Ok(_) => Ok(()),
            Err(object_store::Error::NotFound { .. }) => {
                let from = client.key(staging)?;
                client.copy_keeping_sha256(&from, &content).await?;
                Ok(())
            }
            Err(e) => Err(byob_ports::storage::StorageError::from(e).into()),
        }
    }

    /// Makes an old version's content the newest version.
    ///
    /// # Errors
    /// Not a member; not found; `asset-content-purged`; `asset-tampered` when its object is gone;
    /// `asset-precondition-failed`.
    pub async fn restore(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        version: u64,
        preconditions: Preconditions,
    ) -> Result<AssetVersion, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let old = self.find(org, name, Some(version)).await?;
        let Some(sha) = old.sha256.clone() else {
            return Err(ServiceError::invalid("version", format!("version {version} of `{name}` is its deletion")));
        };
        if old.purged_at.is_some() {
            return Err(purged(&old));
        }
        let routed = self.routed(ctx, org).await?;
        if routed.integration != old.integration_id {
            return Err(ServiceError::Refused {
                code: byob_core::codes::CONFLICT,
                message: format!(
                    "version {version} of `{name}` is in another store than the one assets go to now; migrate first"
                ),
            });
        }
        let content = routed.client.key(&asset::content_key(&sha))?;
        if let Err(object_store::Error::NotFound { .. }) = routed.client.store().head(&content).await {
            return Err(self.tampered(ctx, &old, "its content object is missing from the bucket").await);
        }
        let new = NewVersion {
            sha256: Some(sha),
            size: old.size,
            deleted: false,
            restored_from: Some(version),
            integration_id: routed.integration,
        };
        let v = self.commit(ctx, org, name, &preconditions, new, &routed.client).await?;
        let detail = json!({ "name": name, "version": v.version, "restored_from": version, "sha256": v.sha256 });
        self.audit(
            ctx,
            org,
            byob_core::actions::ASSET_RESTORE,
            Some(format!("{name}@{}", v.version)),
            AuditOutcome::Success,
            detail,
        )
        .await?;
        Ok(v)
    }

    /// Deletes an asset: a version marking it deleted. Its content stays for the retention the admin set, then
    /// the janitor removes what no other version uses.
    ///
    /// # Errors
    /// Not a member; not found; `asset-deleted` when it already is; `asset-precondition-failed`.
    pub async fn delete(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        preconditions: Preconditions,
    ) -> Result<AssetVersion, ServiceError> {
        self.authorize(ctx, org, Access::Member).await?;
        let latest = self.find(org, name, None).await?;
        if latest.deleted {
            return Err(deleted(&latest));
        }
        self.store(ctx, org).await?;
        let routed = self.routed(ctx, org).await?;
        let new = NewVersion {
            sha256: None,
            size: 0,
            deleted: true,
            restored_from: None,
            integration_id: routed.integration,
        };
        let v = self.commit(ctx, org, name, &preconditions, new, &routed.client).await?;
        let detail = json!({ "name": name, "version": v.version });
        self.audit(
            ctx,
            org,
            byob_core::actions::ASSET_DELETE,
            Some(format!("{name}@{}", v.version)),
            AuditOutcome::Success,
            detail,
        )
        .await?;
        Ok(v)
    }
}

pub(super) fn deleted(v: &AssetVersion) -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::ASSET_DELETED,
        message: format!(
            "`{}` was deleted (version {}); read or restore one of its earlier versions",
            v.name, v.version
        ),
    }
}

pub(super) fn purged(v: &AssetVersion) -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::ASSET_CONTENT_PURGED,
        message: format!(
            "the content of version {} of `{}` was removed when the deleted asset's retention passed",
            v.version, v.name
        ),
    }
}
