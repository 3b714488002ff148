//! The manifests byob writes into the bucket beside each version: DSSE envelopes signed with the org's Ed25519
//! key, each naming the previous manifest's SHA-256, so the bucket alone carries a history anyone with the public
//! key can check (`openssl pkeyutl -verify`, any DSSE verifier). Ed25519 signatures are deterministic, so a
//! version's manifest is the same bytes whenever it is made.

use base64::{Engine, engine::general_purpose::STANDARD};
use byob_core::{
    OrgId,
    asset::{self, AssetVersion, Envelope, EnvelopeSignature, MANIFEST_PAYLOAD_TYPE, ManifestPayload},
};
use byob_ports::catalog::AssetKey;
use ring::{
    rand::SystemRandom,
    signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey},
};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::{Deps, ServiceError};

/// The DER prefix of an Ed25519 public key's SubjectPublicKeyInfo (RFC 8410), before its 32 bytes.
const SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// A key that signs the org's manifests, ready to use.
pub(crate) struct Signer {
    pub(crate) key_id: String,
    pair: Ed25519KeyPair,
}

/// One of the org's keys as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicKeyView {
    pub key_id: String,
    /// `ed25519`.
    pub algorithm: String,
    /// The raw 32-byte public key, base64.
    pub public_key: String,
    /// The same key as PEM (SubjectPublicKeyInfo), for `openssl pkeyutl -verify -pubin`.
    pub public_key_pem: String,
    /// Whether byob signs new manifests with it (imported keys only check old ones).
    pub signing: bool,
    /// The org id its manifests name.
    pub signs_for_org: OrgId,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// The org's keys: the one signing now first.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PublicKeys {
    pub key_id: String,
    pub algorithm: String,
    pub public_key: String,
    pub public_key_pem: String,
    /// Every key the org's manifests may be signed with, newest first.
    pub keys: Vec<PublicKeyView>,
}

pub(crate) fn key_id_of(public_key: &[u8]) -> String {
    hex::encode(&Sha256::digest(public_key)[..8])
}

fn sealing_context(org: OrgId, key_id: &str) -> String {
    format!("asset-signing-key/{org}/{key_id}")
}

/// The PEM form of a raw Ed25519 public key.
pub(crate) fn public_key_pem(raw: &[u8]) -> String {
    let mut der = SPKI_PREFIX.to_vec();
    der.extend_from_slice(raw);
    format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(der))
}

/// A raw public key from its base64 or PEM form.
pub(crate) fn parse_public_key(text: &str) -> Result<Vec<u8>, ServiceError> {
    let invalid = || {
        ServiceError::invalid(
            "public_key",
            "give the Ed25519 public key as `GET …/assets/public-key` showed it: base64 of 32 bytes, or its PEM",
        )
    };
    let body: String = text.lines().filter(|l| !l.starts_with("-----")).collect::<Vec<_>>().concat();
    let bytes = STANDARD.decode(body.trim()).map_err(|_| invalid())?;
    let raw = match bytes.len() {
        32 => bytes,
        44 if bytes.starts_with(&SPKI_PREFIX) => bytes[12..].to_vec(),
        _ => return Err(invalid()),
    };
    Ok(raw)
}

pub(crate) fn view(key: &AssetKey) -> PublicKeyView {
    let raw = STANDARD.decode(&key.public_key).unwrap_or_default();
    PublicKeyView {
        key_id: key.key_id.clone(),
        algorithm: "ed25519".into(),
        public_key: key.public_key.clone(),
        public_key_pem: public_key_pem(&raw),
        signing: key.private_key.is_some(),
        signs_for_org: key.signed_for_org,
        created_at: key.created_at,
    }
}

/// The org's signing key, made on first use.
pub(crate) async fn signer(deps: &Deps, org: OrgId) -> Result<Signer, ServiceError> {
    let keys = deps.catalog.asset_keys(org).await?;
    if let Some(key) = keys.iter().find(|k| k.private_key.is_some() && k.signed_for_org == org) {
        let sealed = key.private_key.as_deref().unwrap_or_default();
        let pkcs8 = crate::capability::open(deps, &sealing_context(org, &key.key_id), sealed)?;
        let der = STANDARD.decode(pkcs8).map_err(|_| corrupt_key(&key.key_id))?;
        let pair = Ed25519KeyPair::from_pkcs8(&der).map_err(|_| corrupt_key(&key.key_id))?;
        return Ok(Signer { key_id: key.key_id.clone(), pair });
    }
    let rng = SystemRandom::new();
    let document = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| ServiceError::Refused {
        code: byob_core::codes::INTERNAL,
        message: "the system's random source failed to make a signing key".into(),
    })?;
    let pair = Ed25519KeyPair::from_pkcs8(document.as_ref()).map_err(|_| corrupt_key("new"))?;
    let public = pair.public_key().as_ref().to_vec();
    let key_id = key_id_of(&public);
    let sealed = crate::capability::seal(deps, &sealing_context(org, &key_id), &STANDARD.encode(document.as_ref()))?;
    let key = AssetKey {
        key_id: key_id.clone(),
        public_key: STANDARD.encode(&public),
        private_key: Some(sealed),
        signed_for_org: org,
        created_at: deps.clock.now(),
    };
    deps.catalog.insert_asset_key(org, &key).await?;
    Ok(Signer { key_id, pair })
}

fn corrupt_key(key_id: &str) -> ServiceError {
    ServiceError::Refused {
        code: byob_core::codes::INTERNAL,
        message: format!("the org's asset signing key `{key_id}` cannot be read"),
    }
}

/// A version's manifest file and its SHA-256.
pub(crate) struct Manifest {
    pub(crate) bytes: Vec<u8>,
    pub(crate) sha256: String,
}

/// Signs `v`'s manifest, chained to `previous_manifest_sha256`.
pub(crate) fn make(signer: &Signer, v: &AssetVersion, previous_manifest_sha256: Option<String>) -> Manifest {
    let payload = ManifestPayload::of(v, previous_manifest_sha256, &signer.key_id);
    // Serializing a plain struct cannot fail.
    let payload = serde_json::to_vec(&payload).unwrap_or_default();
    let signature = signer.pair.sign(&asset::pae(MANIFEST_PAYLOAD_TYPE, &payload));
    let envelope = Envelope {
        payload_type: MANIFEST_PAYLOAD_TYPE.into(),
        payload: STANDARD.encode(&payload),
        signatures: vec![EnvelopeSignature { keyid: signer.key_id.clone(), sig: STANDARD.encode(signature.as_ref()) }],
    };
    let mut bytes = serde_json::to_vec_pretty(&envelope).unwrap_or_default();
    bytes.push(b'\n');
    let sha256 = hex::encode(Sha256::digest(&bytes));
    Manifest { bytes, sha256 }
}

/// Reads a manifest file: a DSSE envelope of byob's payload type whose signature holds under one of the org's
/// keys, naming the org that key signs for. Returns the payload, or what is wrong.
pub(crate) fn open(bytes: &[u8], keys: &[AssetKey]) -> Result<ManifestPayload, String> {
    let envelope: Envelope =
        serde_json::from_slice(bytes).map_err(|e| format!("the manifest is not a DSSE envelope ({e})"))?;
    if envelope.payload_type != MANIFEST_PAYLOAD_TYPE {
        return Err(format!("the envelope's payloadType is `{}`, not byob's manifest", envelope.payload_type));
    }
    let payload = STANDARD.decode(&envelope.payload).map_err(|_| "the envelope's payload is not base64".to_string())?;
    let pae = asset::pae(MANIFEST_PAYLOAD_TYPE, &payload);
    let verified = envelope.signatures.iter().find_map(|s| {
        let key = keys.iter().find(|k| k.key_id == s.keyid)?;
        let public = STANDARD.decode(&key.public_key).ok()?;
        let sig = STANDARD.decode(&s.sig).ok()?;
        UnparsedPublicKey::new(&ED25519, public).verify(&pae, &sig).ok().map(|()| key)
    });
    let Some(key) = verified else {
        return Err("no signature of the manifest holds under the org's keys".into());
    };
    let manifest: ManifestPayload =
        serde_json::from_slice(&payload).map_err(|e| format!("the signed payload is not a byob manifest ({e})"))?;
    if manifest.org != key.signed_for_org {
        return Err(format!("the manifest names org `{}`, not the org its key signs for", manifest.org));
    }
    if manifest.key_id != key.key_id {
        return Err("the manifest names another key than the one that signed it".into());
    }
    Ok(manifest)
}

/// The key of a version's manifest.
pub(crate) fn key_of(name: &str, version: u64) -> String {
    asset::manifest_key(&hex::encode(Sha256::digest(name.as_bytes())), version)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pair() -> (Signer, AssetKey, OrgId) {
        let org = OrgId::generate();
        let document = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(document.as_ref()).unwrap();
        let public = pair.public_key().as_ref().to_vec();
        let key_id = key_id_of(&public);
        let key = AssetKey {
            key_id: key_id.clone(),
            public_key: STANDARD.encode(&public),
            private_key: None,
            signed_for_org: org,
            created_at: chrono::Utc::now(),
        };
        (Signer { key_id, pair }, key, org)
    }

    fn version(org: OrgId) -> AssetVersion {
        AssetVersion {
            org_id: org,
            name: "model.json".into(),
            version: 2,
            sha256: Some("ab".repeat(32)),
            size: 10,
            deleted: false,
            author: "mem_1".into(),
            created_at: chrono::Utc::now(),
            previous: Some(1),
            restored_from: None,
            integration_id: None,
            manifest_sha256: String::new(),
            manifest_written: false,
            purged_at: None,
        }
    }

    #[test]
    fn a_manifest_is_the_same_bytes_each_time_and_opens_under_its_key() {
        let (signer, key, org) = pair();
        let v = version(org);
        let a = make(&signer, &v, Some("cd".repeat(32)));
        let b = make(&signer, &v, Some("cd".repeat(32)));
        assert_eq!(a.bytes, b.bytes);
        let payload = open(&a.bytes, std::slice::from_ref(&key)).unwrap();
        assert_eq!(payload.previous_manifest_sha256, Some("cd".repeat(32)));
        assert_eq!(payload.object.unwrap(), asset::content_key(&"ab".repeat(32)));
    }

    #[test]
    fn an_edited_manifest_or_another_key_fails() {
        let (signer, key, org) = pair();
        let m = make(&signer, &version(org), None);
        let text = String::from_utf8(m.bytes.clone()).unwrap();
        let envelope: Envelope = serde_json::from_str(&text).unwrap();
        let mut payload = STANDARD.decode(&envelope.payload).unwrap();
        let at = payload.iter().position(|b| *b == b'0' || *b == b'1').unwrap();
        payload[at] = if payload[at] == b'0' { b'1' } else { b'0' };
        let edited = Envelope { payload: STANDARD.encode(payload), ..envelope };
        let err = open(&serde_json::to_vec(&edited).unwrap(), std::slice::from_ref(&key)).unwrap_err();
        assert!(err.contains("no signature"), "{err}");
        let (_, other, _) = pair();
        assert!(open(&m.bytes, &[other]).is_err());
    }

    #[test]
    fn public_keys_round_trip_through_pem() {
        let (signer, _, _) = pair();
        let raw = signer.pair.public_key().as_ref().to_vec();
        assert_eq!(parse_public_key(&public_key_pem(&raw)).unwrap(), raw);
        assert_eq!(parse_public_key(&STANDARD.encode(&raw)).unwrap(), raw);
        assert!(parse_public_key("nope").is_err());
    }
}
