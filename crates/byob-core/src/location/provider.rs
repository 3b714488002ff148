use serde::{Deserialize, Serialize};
use utoipa::openapi::{
    RefOr,
    schema::{ObjectBuilder, Schema, Type},
};

/// An object-storage provider. S3 covers any S3-compatible store reached through a custom endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    S3,
    Gcs,
    Azure,
    /// A directory on byob's host: default storage and development only.
    Local,
    /// An in-memory store, for tests only (feature `memory-provider`); not in [`Provider::ALL`] nor the API.
    #[cfg(feature = "memory-provider")]
    Memory,
}

impl Provider {
    /// Every provider the API offers, in the order it lists them.
    pub const ALL: [Self; 4] = [Self::S3, Self::Gcs, Self::Azure, Self::Local];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::S3 => "s3",
            Self::Gcs => "gcs",
            Self::Azure => "azure",
            Self::Local => "local",
            #[cfg(feature = "memory-provider")]
            Self::Memory => "memory",
        }
    }
}

/// The schema lists [`Provider::ALL`]: a provider built only for tests stays out of the API's contract.
impl utoipa::PartialSchema for Provider {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "An object-storage provider. S3 covers any S3-compatible store reached through a custom endpoint.",
            ))
            .enum_values(Some(Self::ALL.map(Self::as_str)))
            .into()
    }
}

impl utoipa::ToSchema for Provider {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serde_names() {
        for p in Provider::ALL {
            assert_eq!(serde_json::to_value(p).ok(), Some(serde_json::Value::String(p.as_str().into())));
        }
    }
}
