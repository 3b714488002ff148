//! Rebuilding an org's asset history from its bucket: every manifest whose signature holds becomes a version in
//! the catalog again, for an org whose catalog lost them (a restored backup, a new byob).

use std::collections::BTreeMap;

use base64::{Engine, engine::general_purpose::STANDARD};
use byob_core::{
    AuditOutcome, OrgId,
    asset::{AssetVersion, Envelope, ManifestPayload},
};
use byob_ports::catalog::AssetKey;
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{AssetService, check::list_under, manifest};
use crate::{Access, RequestContext, ServiceError};

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RebuildRequest {
    /// The public key the manifests were signed with, when the catalog lost it too (base64 or PEM, as
    /// `GET …/assets/public-key` showed it). Kept to check those manifests from now on.
    pub public_key: Option<String>,
}

/// A manifest the rebuild left out, and why.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkippedManifest {
    pub key: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RebuildReport {
    pub assets: u64,
    pub versions: u64,
    /// Manifests that did not verify, or whose chain is broken: not restored.
    pub skipped: Vec<SkippedManifest>,
}

impl AssetService {
    /// Restores the version history from the manifests in the store assets go to.
    ///
    /// # Errors
    /// Not an admin; `asset-catalog-not-empty`; an unreadable public key; storage errors.
    pub async fn rebuild(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: RebuildRequest,
    ) -> Result<RebuildReport, ServiceError> {
        self.authorize(ctx, org, Access::Admin).await?;
        if self.deps.catalog.org_has_assets(org).await? {
            return Err(ServiceError::Refused {
                code: byob_core::codes::ASSET_CATALOG_NOT_EMPTY,
                message: "the org already has asset versions; a rebuild only fills an empty history".into(),
            });
        }
        let imported = req.public_key.as_deref().map(manifest::parse_public_key).transpose()?;
        let routed = self.routed(ctx, org).await?;
        let client = routed.client;
        let mut keys = self.deps.catalog.asset_keys(org).await?;
        let mut files: Vec<String> = list_under(&client, "assets/manifests").await?;
        files.sort();
        // Each asset's manifests are one folder, in version order.
        let mut folders: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
        for key in files {
            let Some((folder, _)) = key.rsplit_once('/') else { continue };
            let bytes = client
                .store()
                .get(&client.key(&key)?)
                .await
                .map_err(byob_ports::storage::StorageError::from)?
                .bytes()
                .await
                .map_err(byob_ports::storage::StorageError::from)?;
            folders.entry(folder.to_string()).or_default().push((key, bytes.to_vec()));
        }
        if let Some(raw) = imported {
            let key_id = manifest::key_id_of(&raw);
            if !keys.iter().any(|k| k.key_id == key_id) {
                // The org the manifests name is in their signed payload; the signature decides below.
                let signed_for = folders.values().flatten().find_map(|(_, bytes)| claimed_org(bytes)).unwrap_or(org);
                keys.push(AssetKey {
                    key_id,
                    public_key: STANDARD.encode(&raw),
                    private_key: None,
                    signed_for_org: signed_for,
                    created_at: self.deps.clock.now(),
                });
            }
        }
        let mut report = RebuildReport { assets: 0, versions: 0, skipped: Vec::new() };
        let mut used_keys = std::collections::HashSet::new();
        for files in folders.into_values() {
            let mut previous: Option<AssetVersion> = None;
            let mut restored = 0;
            for (key, bytes) in files {
                let payload = match manifest::open(&bytes, &keys) {
                    Ok(p) => p,
                    Err(reason) => {
                        report.skipped.push(SkippedManifest { key, reason });
                        continue;
                    }
                };
                let link = previous.as_ref().map(|p| p.manifest_sha256.clone());
                if payload.previous_manifest_sha256 != link
                    || payload.previous != previous.as_ref().map(|p| p.version)
                    || manifest::key_of(&payload.name, payload.version) != key
                {
                    let reason = "the manifest does not follow the previous one in its chain; the rest of this \
                                  asset's history is left out"
                        .to_string();
                    report.skipped.push(SkippedManifest { key, reason });
                    break;
                }
                used_keys.insert(payload.key_id.clone());
                let v = version_of(org, routed.integration, &payload, hex::encode(Sha256::digest(&bytes)));
                if !self.deps.catalog.insert_asset_version(&v).await? {
                    report.skipped.push(SkippedManifest { key, reason: "the version exists already".into() });
                    continue;
                }
                restored += 1;
                previous = Some(v);
            }
            if restored > 0 {
                report.assets += 1;
                report.versions += restored;
            }
        }
        for key in keys.iter().filter(|k| k.private_key.is_none() && used_keys.contains(&k.key_id)) {
            self.deps.catalog.insert_asset_key(org, key).await?;
        }
        self.store(ctx, org).await?;
        let detail = json!({ "assets": report.assets, "versions": report.versions, "skipped": report.skipped.len(),
                             "integration": routed.integration });
        self.audit(ctx, org, byob_core::actions::ASSET_REBUILD, None, AuditOutcome::Success, detail).await?;
        Ok(report)
    }
}

/// The org a manifest names, unverified (the signature is checked afterwards).
fn claimed_org(bytes: &[u8]) -> Option<OrgId> {
    let envelope: Envelope = serde_json::from_slice(bytes).ok()?;
    let payload = STANDARD.decode(envelope.payload).ok()?;
    serde_json::from_slice::<ManifestPayload>(&payload).ok().map(|p| p.org)
}

fn version_of(
    org: OrgId,
    integration: Option<byob_core::IntegrationId>,
    p: &ManifestPayload,
    manifest_sha256: String,
) -> AssetVersion {
    AssetVersion {
        org_id: org,
        name: p.name.clone(),
        version: p.version,
        sha256: p.sha256.clone(),
        size: p.size,
        deleted: p.deleted,
        author: p.author.clone(),
        created_at: p.created_at,
        previous: p.previous,
        restored_from: p.restored_from,
        integration_id: integration,
        manifest_sha256,
        manifest_written: true,
        purged_at: None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_keys_are_what_the_rebuild_expects() {
        let key = super::manifest::key_of("a/b.json", 3);
        assert!(key.starts_with("assets/manifests/") && key.ends_with("/000000000003.json"), "{key}");
    }
}
