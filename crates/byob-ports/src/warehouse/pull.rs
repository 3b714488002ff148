//! Loads a platform pulls from the customer's bucket itself (`COPY INTO … FROM 's3://…'`, `azure://…`), instead of byob
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
    /// A SAS (its query string, without `?`) that may read exactly the staged blob: signed for that one blob
    /// (`sr=b`), read only (`sp=r`), for 15 minutes.
    AzureSas { token: Sensitive<String> },
    /// The customer's own grant on the platform: Snowflake's `STORAGE_INTEGRATION`, Redshift's `IAM_ROLE`.
    Integration(String),
}

impl PullCredentials {
    /// The secrets the credentials hold, to keep out of anything a platform says back.
    fn secrets(&self) -> Vec<String> {
        match self {
            Self::AwsSession { access_key_id, secret_access_key, session_token } => {
                vec![access_key_id.clone(), secret_access_key.expose().clone(), session_token.expose().clone()]
            }
            Self::AzureSas { token } => {
                // The whole token, and its signature alone should the platform quote it decoded or in part.
                let signature = url::form_urlencoded::parse(token.expose().as_bytes())
                    .find(|(name, _)| name == "sig")
                    .map(|(_, sig)| sig.into_owned());
                let mut secrets = vec![token.expose().clone()];
                if let Some(sig) = signature {
                    secrets.push(url::form_urlencoded::byte_serialize(sig.as_bytes()).collect());
                    secrets.push(sig);
                }
                secrets
            }
            Self::Integration(_) => Vec::new(),
        }
    }
}

/// `azure://ACCOUNT.blob.core.windows.net/CONTAINER/KEY` as the Hadoop-style readers name it (Databricks, Trino):
/// `abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/KEY`.
pub(super) fn abfss_url(url: &str) -> Option<String> {
    let rest = url.strip_prefix("azure://")?;
    let (host, path) = rest.split_once('/')?;
    let account = host.strip_suffix(".blob.core.windows.net")?;
    let (container, key) = path.split_once('/')?;
    Some(format!("abfss://{container}@{account}.dfs.core.windows.net/{key}"))
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
    /// The object: `s3://bucket/key`, `gs://bucket/key` or `azure://ACCOUNT.blob.core.windows.net/CONTAINER/KEY`
    /// (each platform writes it its own way).
    pub url: String,
    /// The bucket's region, when the integration names one (Redshift must be told when it is not its own).
    pub region: Option<String>,
    pub credentials: PullCredentials,
    pub format: PullFormat,
}

impl PullSource {
    /// `e` without the vended credentials, should the platform's message quote the statement.
    pub(super) fn scrub(&self, e: WarehouseError) -> WarehouseError {
        let secrets = self.credentials.secrets();
        if secrets.is_empty() {
            return e;
        }
        let mut message = e.to_string();
        for secret in secrets.iter().filter(|s| !s.is_empty()) {
            message = message.replace(secret.as_str(), "[vended credential]");
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
