//! Encryption of secrets at rest. Every ciphertext names the master key that sealed it, so keys can be rotated
//! while servers run: old keys stay readable until `byob secrets rotate-key` has re-encrypted everything.

mod keyring;
mod xchacha;

use thiserror::Error;

pub use keyring::{KeySource, Keyring, MasterKey, private_file};
pub use xchacha::XChaChaBox;

use crate::catalog::StoredCiphertext;
use byob_core::Sensitive;

#[derive(Debug, Error)]
pub enum SecretBoxError {
    #[error("master key `{0}` is not in the keyring; add it to `secrets.previous_keys` or restore the key file")]
    UnknownKey(String),
    #[error(
        "a secret could not be decrypted: the ciphertext or its context does not match (was it copied between records?)"
    )]
    Tampered,
    #[error("invalid master key: {0}")]
    InvalidKey(String),
    #[error("key file {path}: {reason}")]
    KeyFile { path: String, reason: String },
    #[error(transparent)]
    Random(#[from] byob_core::random::RandomError),
}

/// Seals and opens secrets. `context` binds a ciphertext to its record (org and secret id), so a ciphertext
/// moved to another record fails to open.
pub trait SecretBox: Send + Sync + std::fmt::Debug {
    fn primary_key_id(&self) -> String;
    /// # Errors
    /// When no randomness is available or the keyring cannot be read.
    fn seal(&self, plaintext: &[u8], context: &str) -> Result<StoredCiphertext, SecretBoxError>;
    /// # Errors
    /// When the key is unknown or the ciphertext does not authenticate under `context`.
    fn open(&self, stored: &StoredCiphertext, context: &str) -> Result<Sensitive<Vec<u8>>, SecretBoxError>;
}
