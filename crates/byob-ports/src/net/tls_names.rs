//! The names a platform's certificate is for, read through the connection's route: what `tls-name-matches`
//! compares with the host the connection names. Only the names are judged here (a chain the system does not
//! trust is the driver's refusal, reported by the login check).

use std::{net::IpAddr, sync::Arc};

use der::Decode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::{
    self, DigitallySignedStruct, SignatureScheme,
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    pki_types::{CertificateDer, ServerName, UnixTime},
};
use x509_cert::ext::pkix::{SubjectAltName, name::GeneralName};

use super::{
    NetworkPolicy,
    route::{Route, RouteError},
};

/// What precedes the TLS handshake on the platform's protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preamble {
    /// TLS from the first byte (HTTPS).
    None,
    /// PostgreSQL's `SSLRequest`, answered `S` when the server speaks TLS.
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsProbeError {
    #[error(transparent)]
    Route(#[from] RouteError),
    #[error("the server does not speak TLS on this port ({0})")]
    NoTls(String),
    #[error("the TLS handshake failed: {0}")]
    Handshake(String),
    #[error("the server's certificate cannot be read: {0}")]
    Certificate(String),
}

/// Accepts any certificate and keeps the server's own, whose names are then judged.
#[derive(Debug)]
struct Keep(std::sync::Mutex<Option<Vec<u8>>>, Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for Keep {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut kept) = self.0.lock() {
            *kept = Some(end_entity.to_vec());
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.1.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.1.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.1.signature_verification_algorithms.supported_schemes()
    }
}

/// The DNS names and IP addresses the certificate of the server at `host:port` (reached along `route`) is for.
///
/// # Errors
/// [`TlsProbeError`].
pub async fn certificate_names(
    policy: &NetworkPolicy,
    route: &Route,
    host: &str,
    port: u16,
    preamble: Preamble,
) -> Result<Vec<String>, TlsProbeError> {
    let mut stream = route.dial(policy, host, port).await?;
    if preamble == Preamble::Postgres {
        // Length 8, then the SSLRequest code 1234/5679.
        stream.write_all(&[0, 0, 0, 8, 4, 210, 22, 47]).await.map_err(|e| TlsProbeError::NoTls(e.to_string()))?;
        let answer = stream.read_u8().await.map_err(|e| TlsProbeError::NoTls(e.to_string()))?;
        if answer != b'S' {
            return Err(TlsProbeError::NoTls("the server answered the TLS request with no".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let keep = Arc::new(Keep(std::sync::Mutex::new(None), provider.clone()));
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsProbeError::Handshake(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(keep.clone())
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_string()).map_err(|e| TlsProbeError::Handshake(e.to_string()))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake = connector.connect(name, stream);
    tokio::time::timeout(super::route::HOP_TIMEOUT, handshake)
        .await
        .map_err(|_| TlsProbeError::Handshake("no answer in time".into()))?
        .map_err(|e| TlsProbeError::Handshake(e.to_string()))?;
    let der =
        keep.0.lock().ok().and_then(|k| k.clone()).ok_or_else(|| TlsProbeError::Certificate("none sent".into()))?;
    names(&der).map_err(TlsProbeError::Certificate)
}

/// The subject alternative names (DNS names and addresses), or the common name when there are none.
fn names(der: &[u8]) -> Result<Vec<String>, String> {
    let cert = x509_cert::Certificate::from_der(der).map_err(|e| e.to_string())?;
    let tbs = cert.tbs_certificate();
    let mut out = Vec::new();
    if let Some((_, san)) = tbs.get_extension::<SubjectAltName>().map_err(|e| e.to_string())? {
        for name in san.0 {
            match name {
                GeneralName::DnsName(dns) => out.push(dns.to_string()),
                GeneralName::IpAddress(ip) => match ip.as_bytes().len() {
                    4 => out.extend(<[u8; 4]>::try_from(ip.as_bytes()).ok().map(|b| IpAddr::from(b).to_string())),
                    16 => out.extend(<[u8; 16]>::try_from(ip.as_bytes()).ok().map(|b| IpAddr::from(b).to_string())),
                    _ => {}
                },
                _ => {}
            }
        }
    }
    if out.is_empty() {
        let subject = tbs.subject().to_string();
        out.extend(subject.split(',').filter_map(|part| part.trim().strip_prefix("CN=")).map(str::to_string));
    }
    Ok(out)
}

/// Whether a certificate name covers `host`: exactly, or a `*.` wildcard for one leftmost label (RFC 6125).
#[must_use]
pub fn name_covers(name: &str, host: &str) -> bool {
    let (name, host) = (name.to_ascii_lowercase(), host.to_ascii_lowercase());
    let host = host.trim_end_matches('.');
    match name.strip_prefix("*.") {
        Some(rest) => host.split_once('.').is_some_and(|(label, parent)| !label.is_empty() && parent == rest),
        None => name.trim_end_matches('.') == host,
    }
}

#[cfg(test)]
mod tests {
    use super::name_covers;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(name_covers("db.example.com", "DB.example.com"));
        assert!(name_covers("*.example.com", "db.example.com"));
        assert!(!name_covers("*.example.com", "a.db.example.com"));
        assert!(!name_covers("*.example.com", "example.com"));
        assert!(!name_covers("other.example.com", "db.example.com"));
    }
}
