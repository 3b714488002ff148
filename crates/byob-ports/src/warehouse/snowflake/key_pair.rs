//! Snowflake's key-pair authentication: the connection's secret is the RSA private key whose public half the
//! customer set on the user (`ALTER USER … SET RSA_PUBLIC_KEY = '…'`), and each login carries a JWT signed with
//! it (RS256, a minute long) whose issuer names the key by its fingerprint, `SHA256:` and the base64 SHA-256 of
//! the public key's DER (`SubjectPublicKeyInfo`) — what `DESC USER` shows as `RSA_PUBLIC_KEY_FP`.
//!
//! The key is read with rustls-pki-types (PEM, PKCS#8 or PKCS#1) and signs with ring. ring gives the public
//! key as PKCS#1 `RSAPublicKey`; the `SubjectPublicKeyInfo` around it is one fixed algorithm identifier and two
//! DER lengths, written here (no DER crate is in the build for this one structure).

use base64::{
    Engine as _,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use chrono::{DateTime, Utc};
use ring::{
    rand::SystemRandom,
    signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair},
};
use rustls_pki_types::{PrivateKeyDer, pem::PemObject as _};
use serde_json::json;
use sha2::{Digest as _, Sha256};

use crate::warehouse::WarehouseError;

/// How long a login's JWT is valid (Snowflake allows an hour; a login needs it once, at once).
const JWT_LIFETIME_SECONDS: i64 = 60;

pub struct KeyPair {
    pair: RsaKeyPair,
    fingerprint: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

/// A DER length.
fn der_length(length: usize) -> Vec<u8> {
    if length < 0x80 {
        return vec![u8::try_from(length).unwrap_or(0)];
    }
    let bytes: Vec<u8> = length.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
    let mut out = vec![0x80 | u8::try_from(bytes.len()).unwrap_or(0)];
    out.extend(bytes);
    out
}

/// The `SubjectPublicKeyInfo` of an RSA public key given as PKCS#1 `RSAPublicKey` DER.
fn subject_public_key_info(rsa_public_key: &[u8]) -> Vec<u8> {
    // SEQUENCE { OID 1.2.840.113549.1.1.1 (rsaEncryption), NULL }
    const RSA_ENCRYPTION: [u8; 15] =
        [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
    let mut bit_string = vec![0x03];
    bit_string.extend(der_length(rsa_public_key.len() + 1));
    bit_string.push(0x00);
    bit_string.extend_from_slice(rsa_public_key);
    let mut spki = vec![0x30];
    spki.extend(der_length(RSA_ENCRYPTION.len() + bit_string.len()));
    spki.extend_from_slice(&RSA_ENCRYPTION);
    spki.extend(bit_string);
    spki
}

impl KeyPair {
    /// Reads an unencrypted RSA private key in PEM (`BEGIN PRIVATE KEY` or `BEGIN RSA PRIVATE KEY`), or says
    /// what to give instead.
    ///
    /// # Errors
    /// What is wrong with the key, in words an admin can act on (never the key).
    pub fn parse(pem: &str) -> Result<Self, String> {
        if pem.contains("ENCRYPTED PRIVATE KEY") || pem.contains("Proc-Type: 4,ENCRYPTED") {
            return Err("the private key is encrypted: give it unencrypted (`openssl pkcs8 -topk8 -nocrypt -in \
                        rsa_key.p8 -out rsa_key_plain.p8`); byob encrypts it at rest itself"
                .into());
        }
        let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
            "not a private key in PEM: give the file that begins `-----BEGIN PRIVATE KEY-----` (made with \
             `openssl genrsa 2048 | openssl pkcs8 -topk8 -nocrypt`)"
                .to_string()
        })?;
        let pair = match &der {
            PrivateKeyDer::Pkcs8(key) => RsaKeyPair::from_pkcs8(key.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(key) => RsaKeyPair::from_der(key.secret_pkcs1_der()),
            _ => return Err("the key is not an RSA key: Snowflake's key-pair authentication takes RSA keys".into()),
        }
        .map_err(|e| format!("the RSA key is unusable ({e}): give an RSA key of 2048 bits or more"))?;
        let spki = subject_public_key_info(pair.public_key().as_ref());
        let fingerprint = format!("SHA256:{}", STANDARD.encode(Sha256::digest(&spki)));
        Ok(Self { pair, fingerprint })
    }

    /// `SHA256:…`, as `DESC USER` shows it in `RSA_PUBLIC_KEY_FP`.
    #[must_use]
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The login's JWT for `user` of `account` (its locator or `orgname-accountname`, without region), issued at
    /// `now`.
    pub(super) fn jwt(&self, account: &str, user: &str, now: DateTime<Utc>) -> Result<String, WarehouseError> {
        let subject = format!("{}.{}", account.to_uppercase(), user.to_uppercase());
        let header = json!({ "alg": "RS256", "typ": "JWT" });
        let claims = json!({
            "iss": format!("{subject}.{}", self.fingerprint),
            "sub": subject,
            "iat": now.timestamp(),
            "exp": now.timestamp() + JWT_LIFETIME_SECONDS,
        });
        let signing_input =
            format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
        let mut signature = vec![0u8; self.pair.public().modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), signing_input.as_bytes(), &mut signature)
            .map_err(|_| WarehouseError::Connect("the private key could not sign the login token".into()))?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PKCS8: &str = include_str!("../../../tests/data/snowflake_test_key.p8");
    const PKCS1: &str = include_str!("../../../tests/data/snowflake_test_key_pkcs1.pem");
    /// What openssl computes for the test key (tests/data/README.md).
    const OPENSSL_FINGERPRINT: &str = "SHA256:JxOa5jTveXDLzSO+9juviz5QWQRTXLhufLScJKGU8Cs=";

    #[test]
    fn the_fingerprint_is_openssls_for_either_pem_form() {
        for pem in [PKCS8, PKCS1] {
            let pair = KeyPair::parse(pem).map_err(|e| e.to_string());
            assert_eq!(pair.as_ref().map(KeyPair::fingerprint), Ok(OPENSSL_FINGERPRINT));
        }
    }

    #[test]
    fn the_login_token_names_the_key_and_verifies_with_the_public_key() {
        let Ok(pair) = KeyPair::parse(PKCS8) else { panic!("the test key parses") };
        let now = DateTime::from_timestamp(1_764_583_200, 0).unwrap_or_default();
        let token = pair.jwt("xy12345", "byob_loader", now).unwrap_or_default();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3, "{token}");
        let decode = |part: &str| -> serde_json::Value {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap_or_default()).unwrap_or_default()
        };
        assert_eq!(decode(parts[0]), json!({ "alg": "RS256", "typ": "JWT" }));
        assert_eq!(
            decode(parts[1]),
            json!({
                "iss": format!("XY12345.BYOB_LOADER.{OPENSSL_FINGERPRINT}"),
                "sub": "XY12345.BYOB_LOADER",
                "iat": 1_764_583_200,
                "exp": 1_764_583_260,
            })
        );
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            pair.pair.public_key().as_ref().to_vec(),
        );
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap_or_default();
        let signed = format!("{}.{}", parts[0], parts[1]);
        assert!(public.verify(signed.as_bytes(), &signature).is_ok(), "RS256 over header.claims");
    }

    #[test]
    fn der_lengths_are_short_or_long_form() {
        assert_eq!(der_length(0x7f), [0x7f]);
        assert_eq!(der_length(0x80), [0x81, 0x80]);
        assert_eq!(der_length(0x010e), [0x82, 0x01, 0x0e]);
    }

    #[test]
    fn what_is_not_an_unencrypted_rsa_key_is_refused_with_what_to_give() {
        let encrypted = "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert!(KeyPair::parse(encrypted).err().unwrap_or_default().contains("-nocrypt"));
        assert!(KeyPair::parse("hunter2").err().unwrap_or_default().contains("BEGIN PRIVATE KEY"));
    }
}
