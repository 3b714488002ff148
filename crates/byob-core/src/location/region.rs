//! Region names, checked for shape (not against a list, which would go stale): AWS `us-east-1`,
//! `us-gov-west-1`, `cn-north-1`; GCS `US`, `EUR4`, `europe-west3`; Azure `westeurope`, `eastus2`. An
//! S3-compatible endpoint may use any simple token (`auto` for R2, `garage`, …).

use std::fmt;

use serde::Serialize;

use super::{FieldError, Partition};

/// Which region names a provider accepts; each provider module says which apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionShape {
    /// `us-east-1`, `us-gov-west-1`, `cn-north-1`.
    Aws,
    /// `US`, `EUR4`, `europe-west3`.
    Gcs,
    /// `westeurope`, `eastus2`.
    Azure,
    /// Any simple token: an S3-compatible store's own names (`auto`, `garage`), a local directory.
    Token,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Region(String);

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_aws_region(r: &str) -> bool {
    // {area}[-gov|-iso…]-{direction}-{number}
    let parts: Vec<&str> = r.split('-').collect();
    let Some((number, rest)) = parts.split_last() else { return false };
    rest.len() >= 2
        && rest[0].len() == 2
        && rest.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.chars().all(|c| c.is_ascii_digit())
}

fn is_gcs_location(r: &str) -> bool {
    let upper = r.to_ascii_uppercase();
    let multi = matches!(upper.as_str(), "US" | "EU" | "ASIA");
    let dual = upper.len() == 4
        && upper[..3].chars().all(|c| c.is_ascii_uppercase())
        && upper[3..].chars().all(|c| c.is_ascii_digit());
    let single = r.split_once('-').is_some_and(|(area, place)| {
        !area.is_empty()
            && area.chars().all(|c| c.is_ascii_lowercase())
            && place.ends_with(|c: char| c.is_ascii_digit())
            && place.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            && place.starts_with(|c: char| c.is_ascii_lowercase())
    });
    multi || dual || single
}

fn is_azure_region(r: &str) -> bool {
    (2..=32).contains(&r.len())
        && r.starts_with(|c: char| c.is_ascii_lowercase())
        && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn is_simple_token(r: &str) -> bool {
    (1..=32).contains(&r.len()) && r.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Region {
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The AWS partition an AWS region belongs to.
    #[must_use]
    pub fn aws_partition(&self) -> Partition {
        if self.0.starts_with("cn-") {
            Partition::AwsCn
        } else if self.0.starts_with("us-gov-") {
            Partition::AwsUsGov
        } else {
            Partition::Aws
        }
    }

    /// /// # Errors
    /// A [`FieldError`] with an example of the expected shape.
    pub fn parse(shape: RegionShape, field: &str, text: &str) -> Result<Self, FieldError> {
        let ok = match shape {
            RegionShape::Aws => is_aws_region(text),
            RegionShape::Gcs => is_gcs_location(text),
            RegionShape::Azure => is_azure_region(text),
            RegionShape::Token => is_simple_token(text),
        };
        if ok {
            return Ok(Self(text.to_string()));
        }
        let example = match shape {
            RegionShape::Token => "lowercase letters, digits and `-`, e.g. `us-east-1` or `auto`",
            RegionShape::Aws => "an AWS region such as `us-east-1`, `eu-central-1`, `us-gov-west-1` or `cn-north-1`",
            RegionShape::Gcs => "a GCS location such as `US`, `EUR4` or `europe-west3`",
            RegionShape::Azure => "an Azure region such as `westeurope` or `eastus2`",
        };
        Err(FieldError::new(field, crate::rules::REGION_FORMAT, format!("`{text}` is not {example}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_shapes_per_provider() {
        for ok in ["us-east-1", "eu-central-2", "ap-southeast-5", "us-gov-west-1", "cn-northwest-1", "il-central-1"] {
            assert!(Region::parse(RegionShape::Aws, "region", ok).is_ok(), "{ok}");
        }
        for bad in ["", "US-EAST-1", "useast1", "us-east", "us-east-1a", "east-1", "us--east-1"] {
            assert!(Region::parse(RegionShape::Aws, "region", bad).is_err(), "{bad}");
        }
        assert!(Region::parse(RegionShape::Token, "region", "auto").is_ok());
        assert!(Region::parse(RegionShape::Token, "region", "Auto Region").is_err());
        for ok in ["US", "eu", "EUR4", "nam4", "europe-west3", "us-central1", "northamerica-northeast2"] {
            assert!(Region::parse(RegionShape::Gcs, "region", ok).is_ok(), "{ok}");
        }
        for bad in ["us-east-1", "europe", "europe-west", "EU-1"] {
            assert!(Region::parse(RegionShape::Gcs, "region", bad).is_err(), "{bad}");
        }
        for ok in ["westeurope", "eastus2", "southcentralus"] {
            assert!(Region::parse(RegionShape::Azure, "region", ok).is_ok(), "{ok}");
        }
        for bad in ["West Europe", "east-us", "2east"] {
            assert!(Region::parse(RegionShape::Azure, "region", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn partitions() {
        let p = |r: &str| Region::parse(RegionShape::Aws, "region", r).map(|r| r.aws_partition()).ok();
        assert_eq!(p("cn-north-1"), Some(Partition::AwsCn));
        assert_eq!(p("us-gov-east-1"), Some(Partition::AwsUsGov));
        assert_eq!(p("eu-west-1"), Some(Partition::Aws));
    }
}
