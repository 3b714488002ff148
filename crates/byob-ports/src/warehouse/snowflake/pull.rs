//! Loads Snowflake pulls from the customer's bucket: `COPY INTO` the table from the one staged object, with the
//! credentials byob vended for it (or the customer's storage integration), the CSV described exactly as byob
//! inspected it, and `ON_ERROR = ABORT_STATEMENT` so a bad row loads nothing.

use byob_core::table::{Column, ColumnType};

use super::{canonical, session::Session};
use crate::warehouse::{
    PullCredentials, PullSource, WarehouseError,
    decimal::DecimalShape,
    pull::{delimiter_literal, literal},
    sql::{column_list, quote},
};

/// The `COPY INTO` statement. It holds the vended session credentials: it is sent and never logged.
pub(super) fn copy_statement(table: &str, columns: &[Column], source: &PullSource) -> String {
    let credentials = match &source.credentials {
        PullCredentials::AwsSession { access_key_id, secret_access_key, session_token } => format!(
            "CREDENTIALS = (AWS_KEY_ID = {} AWS_SECRET_KEY = {} AWS_TOKEN = {})",
            literal(access_key_id),
            literal(secret_access_key.expose()),
            literal(session_token.expose())
        ),
        // Snowflake takes the SAS as Azure's portal shows it, with its `?`.
        PullCredentials::AzureSas { token } => {
            format!("CREDENTIALS = (AZURE_SAS_TOKEN = {})", literal(&format!("?{}", token.expose())))
        }
        PullCredentials::Integration(name) => format!("STORAGE_INTEGRATION = {}", quote(&canonical(name))),
    };
    let format = &source.format;
    let nulls: Vec<String> = format.null_tokens.iter().filter(|t| !t.is_empty()).map(|t| literal(t)).collect();
    let empty_is_null = format.null_tokens.iter().any(String::is_empty);
    format!(
        "COPY INTO {table} ({}) FROM {} {credentials} FILE_FORMAT = (TYPE = CSV FIELD_DELIMITER = {} SKIP_HEADER = {} \
         FIELD_OPTIONALLY_ENCLOSED_BY = '\"' NULL_IF = ({}) EMPTY_FIELD_AS_NULL = {} ENCODING = 'UTF8' \
         ERROR_ON_COLUMN_COUNT_MISMATCH = TRUE) ON_ERROR = ABORT_STATEMENT",
        column_list(columns),
        literal(&source.url),
        delimiter_literal(format.delimiter),
        u8::from(format.header),
        nulls.join(", "),
        if empty_is_null { "TRUE" } else { "FALSE" },
    )
}

/// Runs the `COPY` and returns the rows Snowflake loaded (its answer has a row per file read).
pub(super) async fn copy_into(
    session: &mut Session,
    table: &str,
    columns: &[Column],
    source: &PullSource,
) -> Result<u64, WarehouseError> {
    let data =
        session.query(&copy_statement(table, columns, source), None, false).await.map_err(|e| source.scrub(e))?;
    let at = |name: &str| data.rowtype.iter().position(|t| t.name.eq_ignore_ascii_case(name));
    let (Some(status), Some(loaded)) = (at("status"), at("rows_loaded")) else {
        return Err(WarehouseError::Database("Snowflake's COPY answer names no status and rows_loaded".into()));
    };
    let mut rows = 0u64;
    for row in &data.rowset {
        let said = row.get(status).cloned().flatten().unwrap_or_default();
        if !said.eq_ignore_ascii_case("LOADED") {
            let first_error = at("first_error").and_then(|i| row.get(i).cloned().flatten()).unwrap_or_default();
            return Err(WarehouseError::Rejected(format!("Snowflake's COPY says {said}: {first_error}")));
        }
        rows += row.get(loaded).cloned().flatten().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
    }
    Ok(rows)
}

/// The shape of each decimal column's text in a built table, read by Snowflake (the rows never passed
/// through byob).
pub(super) async fn shapes(
    session: &mut Session,
    table: &str,
    columns: &[Column],
) -> Result<Vec<(usize, DecimalShape)>, WarehouseError> {
    let decimals: Vec<(usize, &Column)> =
        columns.iter().enumerate().filter(|(_, c)| c.column_type == ColumnType::Decimal).collect();
    if decimals.is_empty() {
        return Ok(Vec::new());
    }
    let mut select = Vec::new();
    for (_, c) in &decimals {
        let v = quote(&c.name);
        select.push(format!("MAX(LENGTH(LTRIM(SPLIT_PART(LTRIM({v}, '-+'), '.', 1), '0')))"));
        select.push(format!("MAX(IFF(CONTAINS({v}, '.'), LENGTH(SPLIT_PART({v}, '.', 2)), 0))"));
    }
    let data = session.query(&format!("SELECT {} FROM {table}", select.join(", ")), None, false).await?;
    let kinds = vec![crate::warehouse::FieldKind::Int64; select.len()];
    let mut batch = crate::warehouse::Batch { width: select.len(), ..Default::default() };
    super::decode(session, &data, &kinds, &mut batch, &mut super::Sink { rows: None, sent: 0 }).await?;
    let number = |i: usize| match batch.cells.get(i) {
        Some(crate::warehouse::Cell::Integer(n)) => u32::try_from(*n).unwrap_or(0),
        _ => 0,
    };
    Ok(decimals
        .iter()
        .enumerate()
        .map(|(k, (i, _))| (*i, DecimalShape { integer: number(2 * k), scale: number(2 * k + 1) }))
        .collect())
}

#[cfg(test)]
mod tests {
    use byob_core::Sensitive;

    use super::*;
    use crate::warehouse::PullFormat;

    fn columns() -> Vec<Column> {
        vec![
            Column { name: "ID".into(), column_type: ColumnType::Integer, nullable: false },
            Column { name: "AMOUNT".into(), column_type: ColumnType::Decimal, nullable: true },
        ]
    }

    fn source(credentials: PullCredentials) -> PullSource {
        PullSource {
            url: "s3://acme-data/tenants/acme/uploads/upl_1/it's.csv".into(),
            region: Some("eu-west-1".into()),
            credentials,
            format: PullFormat { delimiter: b';', header: true, null_tokens: vec![String::new(), "NA".into()] },
        }
    }

    #[test]
    fn copy_with_vended_session_credentials_is_exactly_this() {
        let session = PullCredentials::AwsSession {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Sensitive::new("secret/key".into()),
            session_token: Sensitive::new("token=".into()),
        };
        assert_eq!(
            copy_statement("\"PUBLIC\".\"SALES\"", &columns(), &source(session)),
            "COPY INTO \"PUBLIC\".\"SALES\" (\"ID\", \"AMOUNT\") FROM 's3://acme-data/tenants/acme/uploads/upl_1/it''s.csv' \
             CREDENTIALS = (AWS_KEY_ID = 'ASIAEXAMPLE' AWS_SECRET_KEY = 'secret/key' AWS_TOKEN = 'token=') \
             FILE_FORMAT = (TYPE = CSV FIELD_DELIMITER = ';' SKIP_HEADER = 1 FIELD_OPTIONALLY_ENCLOSED_BY = '\"' \
             NULL_IF = ('NA') EMPTY_FIELD_AS_NULL = TRUE ENCODING = 'UTF8' ERROR_ON_COLUMN_COUNT_MISMATCH = TRUE) \
             ON_ERROR = ABORT_STATEMENT"
        );
    }

    #[test]
    fn a_refusal_quoting_the_statement_loses_the_credentials() {
        let session = PullCredentials::AwsSession {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Sensitive::new("s3cr3t".into()),
            session_token: Sensitive::new("t0ken".into()),
        };
        let err = WarehouseError::Rejected("near 'AWS_SECRET_KEY = 's3cr3t' AWS_TOKEN = 't0ken''".into());
        let shown = source(session).scrub(err).to_string();
        assert!(!shown.contains("s3cr3t") && !shown.contains("t0ken"), "{shown}");
    }

    #[test]
    fn copy_from_azure_takes_the_sas_for_the_one_blob() {
        let mut azure =
            source(PullCredentials::AzureSas { token: Sensitive::new("sv=2023-11-03&sp=r&sr=b&sig=a%2Fb".into()) });
        azure.url = "azure://acme.blob.core.windows.net/data/tenants/acme/uploads/upl_1/t.csv".into();
        let statement = copy_statement("\"PUBLIC\".\"SALES\"", &columns(), &azure);
        assert!(
            statement.contains(
                " FROM 'azure://acme.blob.core.windows.net/data/tenants/acme/uploads/upl_1/t.csv' CREDENTIALS = \
                 (AZURE_SAS_TOKEN = '?sv=2023-11-03&sp=r&sr=b&sig=a%2Fb') FILE_FORMAT"
            ),
            "{statement}"
        );
        let err = WarehouseError::Rejected("bad token 'sv=2023-11-03&sp=r&sr=b&sig=a%2Fb' (signature a/b)".into());
        let shown = azure.scrub(err).to_string();
        assert!(!shown.contains("sig=") && !shown.contains("a%2Fb") && !shown.contains("a/b"), "{shown}");
    }

    #[test]
    fn copy_through_the_customers_storage_integration_carries_no_secret() {
        let statement =
            copy_statement("\"PUBLIC\".\"SALES\"", &columns(), &source(PullCredentials::Integration("byob_s3".into())));
        assert!(statement.contains(" STORAGE_INTEGRATION = \"BYOB_S3\" FILE_FORMAT"), "{statement}");
        assert!(!statement.contains("CREDENTIALS"), "{statement}");
    }
}
