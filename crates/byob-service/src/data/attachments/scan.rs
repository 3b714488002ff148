//! The scanning hook: `none`, a ClamAV daemon (`clamd`, the file streamed over TCP with `INSTREAM`), or an HTTP
//! scanner (byob POSTs a short-lived presigned GET URL; the scanner fetches the file and answers a verdict).

use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use serde::{Deserialize, Serialize};

/// Which scanner the server uses (`[attachments] scanner`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ScannerSettings {
    /// No scanning: checked attachments are available at once.
    #[default]
    None,
    /// A ClamAV daemon's TCP socket, `host:port`.
    Clamd { address: String },
    /// An HTTP endpoint answering `{"verdict": "clean" | "infected", "signature": …}` to `{"url": …}`.
    Http { url: url::Url },
}

impl ScannerSettings {
    /// The name recorded in `scanned_by`, or `None` when nothing scans.
    #[must_use]
    pub fn name(&self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Clamd { .. } => Some("clamd"),
            Self::Http { .. } => Some("http"),
        }
    }
}

/// What a scanner said about a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    Clean,
    /// The scanner's name for what it found.
    Infected(String),
}

/// A scan that gave no verdict; the attachment stays `scanning` and the scan is tried again.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(super) struct ScanError(pub(super) String);

/// Streams the file to clamd and reads its verdict.
pub(super) async fn clamd<S>(address: &str, file: S, timeout: Duration) -> Result<Verdict, ScanError>
where
    S: Stream<Item = Result<Bytes, std::io::Error>>,
{
    let connection = clamav_client::tokio::Tcp { host_address: address };
    let answer = tokio::time::timeout(timeout, clamav_client::tokio::scan_stream(file, connection, None))
        .await
        .map_err(|_| ScanError(format!("clamd at {address} gave no verdict within {} s", timeout.as_secs())))?
        .map_err(|e| ScanError(format!("clamd at {address} could not scan the file: {e}")))?;
    clamd_verdict(&answer)
}

/// `stream: OK`, `stream: <signature> FOUND`, or an error line (`INSTREAM size limit exceeded. ERROR`).
fn clamd_verdict(answer: &[u8]) -> Result<Verdict, ScanError> {
    let text = String::from_utf8_lossy(answer);
    let text = text.trim_end_matches(['\0', '\n', ' ']);
    let line = text.strip_prefix("stream: ").unwrap_or(text);
    if line == "OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(signature) = line.strip_suffix(" FOUND") {
        return Ok(Verdict::Infected(signature.to_string()));
    }
    Err(ScanError(format!("clamd answered `{}`", line.chars().take(200).collect::<String>())))
}

/// What byob sends an HTTP scanner.
#[derive(Debug, Serialize)]
struct ScanRequest<'a> {
    /// A presigned GET of the file, valid for the scan's timeout.
    url: &'a str,
    size: u64,
    content_type: &'a str,
    attachment: String,
}

#[derive(Debug, Deserialize)]
struct ScanAnswer {
    verdict: String,
    #[serde(default)]
    signature: Option<String>,
}

/// Asks an HTTP scanner about the file at `file_url`.
pub(super) async fn http(
    client: &reqwest::Client,
    scanner: &url::Url,
    file_url: &str,
    attachment: &byob_core::attachment::Attachment,
) -> Result<Verdict, ScanError> {
    let request = ScanRequest {
        url: file_url,
        size: attachment.size,
        content_type: attachment.content_type.as_deref().unwrap_or(&attachment.declared_type),
        attachment: attachment.id.to_string(),
    };
    let response = client
        .post(scanner.clone())
        .json(&request)
        .send()
        .await
        .map_err(|e| ScanError(format!("the scanner could not be reached: {}", e.without_url())))?;
    let status = response.status();
    if !status.is_success() {
        return Err(ScanError(format!("the scanner answered HTTP {status}")));
    }
    let answer: ScanAnswer = response
        .json()
        .await
        .map_err(|e| ScanError(format!("the scanner's answer is not a verdict: {}", e.without_url())))?;
    match answer.verdict.as_str() {
        "clean" => Ok(Verdict::Clean),
        "infected" => Ok(Verdict::Infected(answer.signature.unwrap_or_else(|| "unnamed".into()))),
        other => Err(ScanError(format!("the scanner's verdict `{other}` is neither `clean` nor `infected`"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{Verdict, clamd_verdict};

    #[test]
    fn clamd_answers_are_read() {
        assert_eq!(clamd_verdict(b"stream: OK\0").unwrap(), Verdict::Clean);
        assert_eq!(
            clamd_verdict(b"stream: Eicar-Test-Signature FOUND\0").unwrap(),
            Verdict::Infected("Eicar-Test-Signature".into())
        );
        assert!(clamd_verdict(b"INSTREAM size limit exceeded. ERROR\0").is_err());
    }
}
