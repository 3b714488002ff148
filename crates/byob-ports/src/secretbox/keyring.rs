//! Master keys: from configuration, or from a 0600 file in the data dir holding one base64 key per line,
//! newest (primary) first. A key's id is derived from the key itself, so nothing has to keep the two in step.

use std::{
    fmt,
    io::Write,
    path::{Path, PathBuf},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use byob_core::{Sensitive, random};
use sha2::{Digest, Sha256};

use super::SecretBoxError;

/// A 256-bit master key and its id.
#[derive(Clone)]
pub struct MasterKey {
    pub id: String,
    key: [u8; 32],
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("id", &self.id).finish_non_exhaustive()
    }
}

impl MasterKey {
    /// # Errors
    /// When the text is not base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, SecretBoxError> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| {
            SecretBoxError::InvalidKey("not base64; generate one with `openssl rand -base64 32`".into())
        })?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| SecretBoxError::InvalidKey(format!("{} bytes; a master key is 32 bytes", b.len())))?;
        Ok(Self::from_bytes(key))
    }

    fn from_bytes(key: [u8; 32]) -> Self {
        let digest = Sha256::new().chain_update(b"byob-master-key-id:").chain_update(key).finalize();
        Self { id: format!("mk_{}", hex::encode(&digest[..8])), key }
    }

    /// # Errors
    /// When the OS has no randomness.
    pub fn generate() -> Result<Self, SecretBoxError> {
        Ok(Self::from_bytes(random::bytes::<32>()?))
    }

    pub(super) fn bytes(&self) -> &[u8; 32] {
        &self.key
    }

    fn to_base64(&self) -> String {
        STANDARD.encode(self.key)
    }
}

/// Where the keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `secrets.master_key` and `secrets.previous_keys` from configuration.
    Config { primary: Sensitive<String>, previous: Vec<Sensitive<String>> },
    /// A key file managed by byob.
    File(PathBuf),
}

/// The keys in use: the primary seals, all of them open.
#[derive(Debug, Clone)]
pub struct Keyring {
    keys: Vec<MasterKey>,
}

impl Keyring {
    /// Loads the keys; a missing key file is created with a fresh key (first start).
    ///
    /// # Errors
    /// When a configured key is malformed or the key file cannot be read or written.
    pub fn load(source: &KeySource) -> Result<Self, SecretBoxError> {
        match source {
            KeySource::Config { primary, previous } => {
                let mut keys = vec![MasterKey::from_base64(primary.expose())?];
                for key in previous {
                    keys.push(MasterKey::from_base64(key.expose())?);
                }
                Ok(Self { keys })
            }
            KeySource::File(path) => {
                if !path.exists() {
                    write_key_file(path, &[MasterKey::generate()?])?;
                }
                Ok(Self { keys: read_key_file(path)? })
            }
        }
    }

    #[must_use]
    pub fn primary(&self) -> &MasterKey {
        // `load` never builds an empty keyring.
        &self.keys[0]
    }

    #[must_use]
    pub fn get(&self, id: &str) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    #[must_use]
    pub fn ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.id.clone()).collect()
    }

    /// Puts a new primary key at the head of the key file, keeping the old ones for decryption.
    ///
    /// # Errors
    /// When the key file cannot be read or written.
    pub fn add_primary_to_file(path: &Path) -> Result<MasterKey, SecretBoxError> {
        let mut keys = if path.exists() { read_key_file(path)? } else { Vec::new() };
        let key = MasterKey::generate()?;
        keys.insert(0, key.clone());
        write_key_file(path, &keys)?;
        Ok(key)
    }

    /// Removes every key but the primary from the key file.
    ///
    /// # Errors
    /// When the key file cannot be read or written.
    pub fn prune_file(path: &Path, keep: &[String]) -> Result<Vec<String>, SecretBoxError> {
        let keys = read_key_file(path)?;
        let (kept, dropped): (Vec<_>, Vec<_>) =
            keys.into_iter().enumerate().partition(|(i, k)| *i == 0 || keep.contains(&k.id));
        write_key_file(path, &kept.into_iter().map(|(_, k)| k).collect::<Vec<_>>())?;
        Ok(dropped.into_iter().map(|(_, k)| k.id).collect())
    }
}

fn key_file_error(path: &Path, reason: impl fmt::Display) -> SecretBoxError {
    SecretBoxError::KeyFile { path: path.display().to_string(), reason: reason.to_string() }
}

fn read_key_file(path: &Path) -> Result<Vec<MasterKey>, SecretBoxError> {
    let text = std::fs::read_to_string(path).map_err(|e| key_file_error(path, e))?;
    let keys = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(MasterKey::from_base64)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| key_file_error(path, e))?;
    if keys.is_empty() {
        return Err(key_file_error(path, "holds no key"));
    }
    Ok(keys)
}

/// Writes through a temporary file and a rename, so a reader never sees a half-written key file.
fn write_key_file(path: &Path, keys: &[MasterKey]) -> Result<(), SecretBoxError> {
    let mut body = String::from("# byob master keys, newest first. Losing this file loses every secret.\n");
    for key in keys {
        body.push_str(&key.to_base64());
        body.push('\n');
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| key_file_error(path, e))?;
    }
    let tmp = path.with_extension("tmp");
    let mut file = private_file(&tmp).map_err(|e| key_file_error(path, e))?;
    file.write_all(body.as_bytes()).and_then(|()| file.sync_all()).map_err(|e| key_file_error(path, e))?;
    std::fs::rename(&tmp, path).map_err(|e| key_file_error(path, e))
}

/// Creates (or truncates) a file readable by its owner only.
///
/// # Errors
/// When the file cannot be created.
pub fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_load_creates_a_private_key_file_and_rotation_keeps_old_keys() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("master-keys");
        let source = KeySource::File(path.clone());
        let first = Keyring::load(&source)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path)?.permissions().mode() & 0o777, 0o600);
        }
        let old_id = first.primary().id.clone();
        let new = Keyring::add_primary_to_file(&path)?;
        let second = Keyring::load(&source)?;
        assert_eq!(second.primary().id, new.id);
        assert!(second.get(&old_id).is_some());
        assert_eq!(Keyring::prune_file(&path, &[])?, vec![old_id.clone()]);
        assert!(Keyring::load(&source)?.get(&old_id).is_none());
        Ok(())
    }

    #[test]
    fn rejects_keys_of_the_wrong_size() {
        assert!(MasterKey::from_base64("c2hvcnQ=").is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }
}
