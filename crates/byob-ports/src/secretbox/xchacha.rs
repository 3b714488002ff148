//! XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`): 192-bit random nonces are safe to draw at random for
//! any number of secrets. Layout: base64(nonce ‖ ciphertext ‖ tag); the AAD is the key id and the context.

use std::sync::RwLock;

use base64::{Engine, engine::general_purpose::STANDARD};
use byob_core::{Sensitive, random};
use chacha20poly1305::{
    Key, XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};

use super::{KeySource, Keyring, MasterKey, SecretBox, SecretBoxError};
use crate::catalog::StoredCiphertext;

const NONCE_LEN: usize = 24;

#[derive(Debug)]
pub struct XChaChaBox {
    source: KeySource,
    keyring: RwLock<Keyring>,
}

impl XChaChaBox {
    /// # Errors
    /// When the keyring cannot be loaded.
    pub fn new(source: KeySource) -> Result<Self, SecretBoxError> {
        let keyring = Keyring::load(&source)?;
        Ok(Self { source, keyring: RwLock::new(keyring) })
    }

    fn snapshot(&self) -> Keyring {
        self.keyring.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Re-reads the key source; called when a ciphertext names a key this process has not seen, which is what
    /// a rotation done by another process looks like from here.
    fn reload(&self) -> Result<Keyring, SecretBoxError> {
        let fresh = Keyring::load(&self.source)?;
        *self.keyring.write().unwrap_or_else(std::sync::PoisonError::into_inner) = fresh.clone();
        Ok(fresh)
    }

    fn key_for(&self, id: &str) -> Result<MasterKey, SecretBoxError> {
        if let Some(key) = self.snapshot().get(id) {
            return Ok(key.clone());
        }
        self.reload()?.get(id).cloned().ok_or_else(|| SecretBoxError::UnknownKey(id.to_string()))
    }
}

fn aad(key_id: &str, context: &str) -> Vec<u8> {
    format!("byob-secret:v1:{key_id}:{context}").into_bytes()
}

impl SecretBox for XChaChaBox {
    fn primary_key_id(&self) -> String {
        self.snapshot().primary().id.clone()
    }

    fn seal(&self, plaintext: &[u8], context: &str) -> Result<StoredCiphertext, SecretBoxError> {
        // A file keyring may have been rotated by `byob secrets rotate-key`; seal under the newest key.
        let keyring = match self.source {
            KeySource::File(_) => self.reload()?,
            KeySource::Config { .. } => self.snapshot(),
        };
        let key = keyring.primary();
        let nonce_bytes = random::bytes::<NONCE_LEN>()?;
        let cipher = XChaCha20Poly1305::new(Key::from_slice(key.bytes()));
        let aad = aad(&key.id, context);
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce_bytes), Payload { msg: plaintext, aad: &aad })
            .map_err(|_| SecretBoxError::Tampered)?;
        let mut blob = nonce_bytes.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(StoredCiphertext { key_id: key.id.clone(), ciphertext: STANDARD.encode(blob) })
    }

    fn open(&self, stored: &StoredCiphertext, context: &str) -> Result<Sensitive<Vec<u8>>, SecretBoxError> {
        let key = self.key_for(&stored.key_id)?;
        let blob = STANDARD.decode(&stored.ciphertext).map_err(|_| SecretBoxError::Tampered)?;
        if blob.len() < NONCE_LEN {
            return Err(SecretBoxError::Tampered);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(Key::from_slice(key.bytes()));
        let aad = aad(&key.id, context);
        cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: &aad })
            .map(Sensitive::new)
            .map_err(|_| SecretBoxError::Tampered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_box(dir: &tempfile::TempDir) -> Result<XChaChaBox, SecretBoxError> {
        XChaChaBox::new(KeySource::File(dir.path().join("keys")))
    }

    #[test]
    fn seals_and_opens_bound_to_context() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let sb = file_box(&dir)?;
        let stored = sb.seal(b"AKIA-secret", "org_a:sec_1")?;
        assert!(!stored.ciphertext.contains("AKIA"));
        assert_eq!(sb.open(&stored, "org_a:sec_1")?.expose(), b"AKIA-secret");
        assert!(matches!(sb.open(&stored, "org_b:sec_1"), Err(SecretBoxError::Tampered)));
        Ok(())
    }

    #[test]
    fn another_process_rotating_the_key_file_is_picked_up() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let running = file_box(&dir)?;
        let old = running.seal(b"v", "c")?;
        let new_key = Keyring::add_primary_to_file(&dir.path().join("keys"))?;
        let elsewhere = file_box(&dir)?.seal(b"w", "c")?;
        assert_eq!(elsewhere.key_id, new_key.id);
        assert_eq!(running.open(&elsewhere, "c")?.expose(), b"w");
        assert_eq!(running.open(&old, "c")?.expose(), b"v");
        assert_eq!(running.seal(b"x", "c")?.key_id, new_key.id);
        Ok(())
    }
}
