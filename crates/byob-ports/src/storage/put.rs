//! What a presigned PUT binds into its signature where the provider signs headers (S3's SigV4 and GCS's V4
//! signatures): the content type the uploader declared and the integration's KMS key, so the holder of the URL
//! can send nothing else; on GCS the length too (`x-goog-content-length-range`). A query-signed SigV4 URL cannot
//! bind `Content-Length` (signers drop it from the canonical request), and an Azure SAS signs no request headers:
//! byob checks size and type when the upload completes, whatever the provider, and deletes what does not match.

use object_store::signer::SignedUrlOptions;

/// Conditions a presigned PUT carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutConditions {
    /// The `Content-Type` the object is written with.
    pub content_type: Option<String>,
    /// The exact body length.
    pub content_length: Option<u64>,
}

/// How a provider's presigned URLs bind request headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum HeaderSigning {
    /// No headers in the signature (an Azure SAS): conditions are sent, not enforced.
    #[default]
    Unsigned,
    /// SigV4: signed headers; SSE-KMS as `x-amz-server-side-encryption*`.
    Aws,
    /// GCS V4: signed headers; a Cloud KMS key as `x-goog-encryption-kms-key-name`.
    Gcs,
}

impl HeaderSigning {
    /// The headers the client must send (besides the provider's own) and the signing options that bind them.
    pub(crate) fn bind(
        self,
        conditions: &PutConditions,
        kms_key: Option<&str>,
    ) -> (Vec<(String, String)>, SignedUrlOptions) {
        let mut send: Vec<(String, String)> = Vec::new();
        let mut signed: Vec<(&'static str, String)> = Vec::new();
        if let Some(content_type) = &conditions.content_type {
            send.push(("content-type".into(), content_type.clone()));
            signed.push(("content-type", content_type.clone()));
        }
        if let Some(length) = conditions.content_length
            && self == Self::Gcs
        {
            let range = format!("{length},{length}");
            send.push(("x-goog-content-length-range".into(), range.clone()));
            signed.push(("x-goog-content-length-range", range));
        }
        if let Some(key) = kms_key {
            let kms: Vec<(&'static str, String)> = match self {
                Self::Aws => vec![
                    ("x-amz-server-side-encryption", "aws:kms".into()),
                    ("x-amz-server-side-encryption-aws-kms-key-id", key.to_string()),
                ],
                Self::Gcs => vec![("x-goog-encryption-kms-key-name", key.to_string())],
                Self::Unsigned => Vec::new(),
            };
            for (name, value) in kms {
                send.push((name.into(), value.clone()));
                signed.push((name, value));
            }
        }
        let mut options = SignedUrlOptions::default();
        if self != Self::Unsigned {
            for (name, value) in signed {
                if let Ok(value) = reqwest::header::HeaderValue::from_str(&value) {
                    options = options.with_signed_header(reqwest::header::HeaderName::from_static(name), value);
                }
            }
        }
        (send, options)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn conditions() -> PutConditions {
        PutConditions { content_type: Some("image/png".into()), content_length: Some(42) }
    }

    #[test]
    fn s3_binds_the_type_and_the_kms_key() {
        let (send, options) = HeaderSigning::Aws.bind(&conditions(), Some("arn:aws:kms:eu-west-1:1:key/k"));
        let names: Vec<&str> = options.signed_headers.keys().map(reqwest::header::HeaderName::as_str).collect();
        assert_eq!(
            names,
            ["content-type", "x-amz-server-side-encryption", "x-amz-server-side-encryption-aws-kms-key-id"]
        );
        assert!(send.contains(&("x-amz-server-side-encryption".into(), "aws:kms".into())));
    }

    #[test]
    fn gcs_names_its_kms_header_and_azure_signs_nothing() {
        let (send, options) =
            HeaderSigning::Gcs.bind(&conditions(), Some("projects/p/locations/l/keyRings/r/cryptoKeys/k"));
        assert!(send.iter().any(|(n, _)| n == "x-goog-encryption-kms-key-name"));
        assert_eq!(options.signed_headers["x-goog-content-length-range"], "42,42");
        let (send, options) = HeaderSigning::Unsigned.bind(&conditions(), Some("ignored"));
        assert!(options.is_empty());
        assert_eq!(send, vec![("content-type".to_string(), "image/png".to_string())]);
    }
}
