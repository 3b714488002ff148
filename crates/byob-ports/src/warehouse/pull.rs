//! Loads a platform pulls from the customer's bucket itself (`COPY INTO … FROM 's3://…'`), instead of byob
//! streaming the rows: what the platform is told to read, and with which credentials. The credentials are
//! byob's to vend for exactly the one staged object and a quarter of an hour, or the customer's own storage
//! integration on the platform; they go into one statement and nowhere else (no log, no error, no record).

use byob_core::Sensitive;

use super::WarehouseError;

/// How the platform may read the object.
#[derive(Debug, Clone)]
pub enum PullCredentials {
    /// Temporary AWS credentials (an STS session) that may read exactly the staged object.
    AwsSession { access_key_id: String, secret_access_key: Sensitive<String>, session_token: Sensitive<String> },
    /// The customer's own grant on the platform: Snowflake's `STORAGE_INTEGRATION`, Redshift's `IAM_ROLE`.
    Integration(String),
}

/// The CSV as the platform must parse it: byob's inspection of the file.
#[derive(Debug, Clone)]
pub struct PullFormat {
    pub delimiter: u8,
    pub header: bool,
    /// Fields that mean NULL (the empty field by default).
    pub null_tokens: Vec<String>,
}

/// What a pulled load reads.
#[derive(Debug, Clone)]
pub struct PullSource {
    /// The object, as the platform names it: `s3://bucket/key`.
    pub url: String,
    /// The bucket's region, when the integration names one (Redshift must be told when it is not its own).
    pub region: Option<String>,
    pub credentials: PullCredentials,
    pub format: PullFormat,
}

impl PullSource {
    /// `e` without the vended credentials, should the platform's message quote the statement.
    pub(super) fn scrub(&self, e: WarehouseError) -> WarehouseError {
        let PullCredentials::AwsSession { access_key_id, secret_access_key, session_token } = &self.credentials else {
            return e;
        };
        let mut message = e.to_string();
        for secret in [access_key_id.as_str(), secret_access_key.expose().as_str(), session_token.expose().as_str()] {
            if !secret.is_empty() {
                message = message.replace(secret, "[vended credential]");
            }
        }
        match e {
            WarehouseError::Connect(_) => WarehouseError::Connect(message),
            _ => WarehouseError::Rejected(message),
        }
    }
}

/// `text` as a single-quoted SQL string literal (quotes doubled, backslashes escaped: Snowflake and Databricks
/// read backslash escapes in string literals).
pub(super) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// The delimiter as a literal.
pub(super) fn delimiter_literal(delimiter: u8) -> String {
    match delimiter {
        b'\t' => "'\\t'".into(),
        other => literal(&char::from(other).to_string()),
    }
}
