//! Loads Databricks pulls from the customer's bucket: `COPY INTO` the load's build table from the one staged
//! object, by position (`header` off, the header line skipped), with the temporary credentials byob vended for
//! exactly that object (`WITH (CREDENTIAL (…))`), failing on the first malformed row; then the rows are put in
//! place as a streamed load's are. Decimal shapes are read by Databricks from the build table.

use byob_core::table::Column;

use super::{DatabricksWarehouse, load::DIALECT};
use crate::warehouse::{
    LoadTarget, PullCredentials, PullSource, WarehouseError,
    pull::{abfss_url, delimiter_literal, literal},
    staged::Statements as _,
};

/// The `COPY INTO` statement. It holds the vended session credentials: it is sent and never logged.
pub(super) fn copy_statement(build: &str, columns: &[Column], source: &PullSource) -> Result<String, WarehouseError> {
    let (url, credential) = match &source.credentials {
        PullCredentials::AwsSession { access_key_id, secret_access_key, session_token } => (
            source.url.clone(),
            format!(
                "AWS_ACCESS_KEY = {}, AWS_SECRET_KEY = {}, AWS_SESSION_TOKEN = {}",
                literal(access_key_id),
                literal(secret_access_key.expose()),
                literal(session_token.expose())
            ),
        ),
        PullCredentials::AzureSas { token } => {
            let url = abfss_url(&source.url).ok_or_else(|| {
                WarehouseError::Unsupported(format!("`{}` is not a blob Databricks can name", source.url))
            })?;
            (url, format!("AZURE_SAS_TOKEN = {}", literal(token.expose())))
        }
        PullCredentials::Integration(_) => {
            return Err(WarehouseError::Unsupported(
                "Databricks reads buckets through credentials byob vends; the connection names no other grant".into(),
            ));
        }
    };
    let format = &source.format;
    let nulls: Vec<&String> = format.null_tokens.iter().filter(|t| !t.is_empty()).collect();
    if !format.null_tokens.iter().any(String::is_empty) || nulls.len() > 1 {
        return Err(WarehouseError::Unsupported(
            "Databricks' CSV reader takes empty fields and at most one other string as NULL".into(),
        ));
    }
    let null_value = nulls.first().map(|t| format!(", 'nullValue' = {}", literal(t))).unwrap_or_default();
    Ok(format!(
        "COPY INTO {build} ({}) FROM {} WITH (CREDENTIAL ({credential})) FILEFORMAT = CSV FORMAT_OPTIONS ('header' = 'false', 'skipRows' = '{}', \
         'sep' = {}, 'quote' = '\"', 'escape' = '\"', 'multiLine' = 'true', 'encoding' = 'UTF-8', \
         'mode' = 'FAILFAST'{null_value})",
        DIALECT.column_list(columns),
        literal(&url),
        u8::from(format.header),
        delimiter_literal(format.delimiter),
    ))
}

impl DatabricksWarehouse {
    pub(super) async fn pull_object(&self, target: &LoadTarget, source: &PullSource) -> Result<u64, WarehouseError> {
        // Refused before any statement runs when the grant or the format is one COPY cannot take.
        copy_statement("t", &target.columns, source)?;
        let client = self.client().await?;
        let (build, declared) = self.begin_load(&client, target).await?;
        let loaded = async {
            let copy = copy_statement(&build, &target.columns, source)?;
            client.execute(&copy).await.map_err(|e| source.scrub(e))?;
            let shapes = DIALECT.shapes_in(&client, &build, &target.columns).await?;
            self.place(&client, target, &build, &shapes, &declared).await?;
            let count = client.first_row(&format!("SELECT COUNT(*) FROM {build}")).await?;
            Ok(count.into_iter().next().flatten().and_then(|n| n.parse().ok()).unwrap_or(0))
        }
        .await;
        client.execute(&format!("DROP TABLE IF EXISTS {build}")).await.ok();
        loaded
    }
}

#[cfg(test)]
mod tests {
    use byob_core::Sensitive;

    use byob_core::table::ColumnType;

    use super::*;
    use crate::warehouse::PullFormat;

    fn source(null_tokens: &[&str]) -> PullSource {
        PullSource {
            url: "s3://acme-data/tenants/acme/uploads/upl_1/it's.csv".into(),
            region: Some("eu-west-1".into()),
            credentials: PullCredentials::AwsSession {
                access_key_id: "ASIAEXAMPLE".into(),
                secret_access_key: Sensitive::new("secret/key".into()),
                session_token: Sensitive::new("token=".into()),
            },
            format: PullFormat {
                delimiter: b';',
                header: true,
                null_tokens: null_tokens.iter().map(|t| (*t).to_string()).collect(),
            },
        }
    }

    fn columns() -> Vec<Column> {
        vec![
            Column { name: "id".into(), column_type: ColumnType::Integer, nullable: false },
            Column { name: "amount".into(), column_type: ColumnType::Decimal, nullable: true },
        ]
    }

    #[test]
    fn copy_with_vended_session_credentials_is_exactly_this() {
        assert_eq!(
            copy_statement("`main`.`s`.`b`", &columns(), &source(&["", "NA"])).ok().as_deref(),
            Some(
                "COPY INTO `main`.`s`.`b` (`id`, `amount`) FROM 's3://acme-data/tenants/acme/uploads/upl_1/it''s.csv' \
                 WITH (CREDENTIAL (AWS_ACCESS_KEY = 'ASIAEXAMPLE', AWS_SECRET_KEY = 'secret/key', AWS_SESSION_TOKEN = \
                 'token=')) FILEFORMAT = CSV FORMAT_OPTIONS ('header' = 'false', 'skipRows' = '1', 'sep' = ';', \
                 'quote' = '\"', 'escape' = '\"', 'multiLine' = 'true', 'encoding' = 'UTF-8', 'mode' = 'FAILFAST', \
                 'nullValue' = 'NA')"
            )
        );
    }

    #[test]
    fn copy_from_azure_names_the_blob_as_abfss_and_takes_the_sas() {
        let mut azure = source(&[""]);
        azure.url = "azure://acme.blob.core.windows.net/data/tenants/acme/upl_1/t.csv".into();
        azure.credentials = PullCredentials::AzureSas { token: Sensitive::new("sv=2023-11-03&sp=r&sr=b&sig=x".into()) };
        let statement = copy_statement("`main`.`s`.`b`", &columns(), &azure).unwrap_or_default();
        assert!(
            statement.contains(
                " FROM 'abfss://data@acme.dfs.core.windows.net/tenants/acme/upl_1/t.csv' WITH (CREDENTIAL \
                 (AZURE_SAS_TOKEN = 'sv=2023-11-03&sp=r&sr=b&sig=x')) FILEFORMAT = CSV"
            ),
            "{statement}"
        );
    }

    #[test]
    fn what_the_csv_reader_cannot_say_is_left_to_the_stream() {
        for tokens in [&["NA"][..], &["", "NA", "n/a"][..]] {
            assert!(matches!(copy_statement("t", &columns(), &source(tokens)), Err(WarehouseError::Unsupported(_))));
        }
        let mut integration = source(&[""]);
        integration.credentials = PullCredentials::Integration("anything".into());
        assert!(matches!(copy_statement("t", &columns(), &integration), Err(WarehouseError::Unsupported(_))));
    }
}
