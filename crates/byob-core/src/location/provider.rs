use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An object-storage provider. S3 covers any S3-compatible store reached through a custom endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    S3,
    Gcs,
    Azure,
    /// A directory on byob's host: default storage and development only.
    Local,
}

impl Provider {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S3 => "s3",
            Self::Gcs => "gcs",
            Self::Azure => "azure",
            Self::Local => "local",
        }
    }

    /// What the provider calls a bucket, for messages.
    #[must_use]
    pub fn bucket_noun(self) -> &'static str {
        match self {
            Self::Azure => "container",
            Self::Local => "directory",
            Self::S3 | Self::Gcs => "bucket",
        }
    }
}
