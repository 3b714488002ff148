//! Snowflake external stage and Databricks external location SQL. Every value is a quoted literal; identifiers
//! come from the integration id, which is always a safe identifier.

use super::{
    Stage,
    model::{Artifact, ArtifactName},
    spec::{Spec, sql_literal},
};

pub(crate) fn snowflake(spec: &Spec<'_>, stage: &Stage) -> Artifact {
    let name = spec.slug();
    let url = &stage.url;
    let mut clauses = vec![
        "  TYPE = EXTERNAL_STAGE".to_string(),
        format!("  STORAGE_PROVIDER = {}", sql_literal(stage.snowflake_provider)),
        "  ENABLED = TRUE".to_string(),
    ];
    if let Some((parameter, value)) = &stage.identity {
        clauses.push(format!("  {parameter} = {}", sql_literal(value)));
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

pub(crate) fn databricks(spec: &Spec<'_>, url: &str) -> Artifact {
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
