//! Snowflake external stage and Databricks external location SQL. Every value is a quoted literal; identifiers
//! come from the integration id, which is always a safe identifier.

use byob_core::integration::Credentials;

use super::{
    model::{Artifact, ArtifactName},
    spec::{Spec, sql_literal},
};

pub(super) fn snowflake(spec: &Spec<'_>, url: &str, storage_provider: &str) -> Artifact {
    let name = spec.slug();
    let mut clauses = vec![
        "  TYPE = EXTERNAL_STAGE".to_string(),
        format!("  STORAGE_PROVIDER = {}", sql_literal(storage_provider)),
        "  ENABLED = TRUE".to_string(),
    ];
    match &spec.integration.credentials {
        Credentials::S3AssumeRole { role_arn, .. } => {
            clauses.push(format!("  STORAGE_AWS_ROLE_ARN = {}", sql_literal(role_arn)))
        }
        Credentials::AzureServicePrincipal { tenant_id, .. } | Credentials::AzureBroker { tenant_id, .. } => {
            clauses.push(format!("  AZURE_TENANT_ID = {}", sql_literal(tenant_id)))
        }
        _ if storage_provider == "S3" => {
            clauses.push(format!("  STORAGE_AWS_ROLE_ARN = {}", sql_literal("<ARN of a role Snowflake may assume>")))
        }
        _ if storage_provider == "AZURE" => clauses.push(format!("  AZURE_TENANT_ID = {}", sql_literal("<tenant id>"))),
        _ => {}
    }
    clauses.push(format!("  STORAGE_ALLOWED_LOCATIONS = ({})", sql_literal(url)));
    let sql = format!(
        "CREATE STORAGE INTEGRATION IF NOT EXISTS {name}\n{};\n\nCREATE STAGE IF NOT EXISTS {name}_stage\n  STORAGE_INTEGRATION = {name}\n  URL = {};\n\n-- Then: DESC STORAGE INTEGRATION {name}; and grant Snowflake's identity access as it describes.\n",
        clauses.join("\n"),
        sql_literal(url)
    );
    Artifact::sql(
        ArtifactName::SnowflakeStage,
        "Snowflake storage integration and stage",
        "Run in Snowflake as ACCOUNTADMIN.",
        sql,
    )
}

pub(super) fn databricks(spec: &Spec<'_>, url: &str) -> Artifact {
    let url = if let Some(rest) = url.strip_prefix("gcs://") {
        format!("gs://{rest}")
    } else if let Some(rest) = url.strip_prefix("azure://") {
        // azure://ACCOUNT.blob.core.windows.net/CONTAINER/PREFIX → abfss://CONTAINER@ACCOUNT.dfs.core.windows.net/PREFIX
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let account = host.split('.').next().unwrap_or_default();
        let (container, prefix) = path.split_once('/').unwrap_or((path, ""));
        format!("abfss://{container}@{account}.dfs.core.windows.net/{prefix}")
    } else {
        url.to_string()
    };
    let sql = format!(
        "CREATE EXTERNAL LOCATION IF NOT EXISTS {}\n  URL {}\n  WITH (STORAGE CREDENTIAL `<storage credential name>`)\n  COMMENT {};\n",
        spec.slug(),
        sql_literal(&url),
        sql_literal(&format!("byob integration {}", spec.integration.id))
    );
    Artifact::sql(
        ArtifactName::DatabricksExternalLocation,
        "Databricks external location",
        "Run in Databricks SQL (Unity Catalog).",
        sql,
    )
}
