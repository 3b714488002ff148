//! Amazon Redshift, over the PostgreSQL wire (sqlx, without the `extra_float_digits` start-up setting Redshift
//! refuses). Redshift has no `COPY … FROM STDIN` and no `COPY … TO STDOUT`: streamed loads are multi-row
//! `INSERT`s with bound values ([`super::redshift_load`]), exports read the statement's rows
//! ([`super::redshift_query`]), and loads Redshift pulls are `COPY … FROM 's3://…'` with credentials byob vended
//! for the one object, or the customer's IAM role attached to the cluster.
//!
//! Everything a load does runs in one transaction (Redshift's DDL is transactional), so a failed load leaves
//! no table behind and `replace` swaps the new table in at commit.

use async_trait::async_trait;
use byob_core::table::{Column, ColumnType, TableName};
use sqlx::{AssertSqlSafe, Connection as _};
use tokio::sync::mpsc;

use super::{
    ExportQuery, LoadItem, LoadTarget, PullCredentials, PullSource, QueryItem, ServerSettings, Warehouse,
    WarehouseError,
    postgres::{PostgresWarehouse, table_exists},
    pull::{delimiter_literal, literal},
    sql::column_list,
};

#[derive(Debug, Clone)]
pub struct RedshiftWarehouse {
    pub(super) pg: PostgresWarehouse,
    /// The customer's IAM role attached to the cluster, through which Redshift reads their bucket.
    iam_role: Option<String>,
}

/// The type byob writes for a column; decimals get theirs from the rows (`DecimalShape::sql_type`).
pub(super) fn type_name(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Integer => "BIGINT",
        // Built as text first: the precision and scale come from the rows.
        ColumnType::Decimal => "VARCHAR(128)",
        ColumnType::Boolean => "BOOLEAN",
        ColumnType::Date => "DATE",
        ColumnType::Timestamp => "TIMESTAMP",
        ColumnType::TimestampTz => "TIMESTAMPTZ",
        // Redshift's `TEXT` is `VARCHAR(256)`; its widest is 65,535 bytes.
        ColumnType::Text => "VARCHAR(65535)",
    }
}

/// The `COPY` of a pulled load. It holds the vended session credentials: it is sent and never logged.
pub(super) fn copy_statement(table: &str, columns: &[Column], source: &PullSource) -> Result<String, WarehouseError> {
    if !source.url.starts_with("s3://") {
        return Err(WarehouseError::Unsupported(
            "Redshift's COPY reads Amazon S3 only; the file is in another store".into(),
        ));
    }
    let credentials = match &source.credentials {
        PullCredentials::AwsSession { access_key_id, secret_access_key, session_token } => format!(
            "ACCESS_KEY_ID {} SECRET_ACCESS_KEY {} SESSION_TOKEN {}",
            literal(access_key_id),
            literal(secret_access_key.expose()),
            literal(session_token.expose())
        ),
        PullCredentials::Integration(role) => format!("IAM_ROLE {}", literal(role)),
        PullCredentials::AzureSas { .. } => {
            return Err(WarehouseError::Unsupported("Redshift's COPY reads Amazon S3 only".into()));
        }
    };
    let format = &source.format;
    let nulls: Vec<&String> = format.null_tokens.iter().filter(|t| !t.is_empty()).collect();
    let null_as = match nulls.as_slice() {
        [] => String::new(),
        [one] => format!(" NULL AS {}", literal(one)),
        _ => {
            return Err(WarehouseError::Unsupported(
                "Redshift's COPY takes one NULL string and the load names several".into(),
            ));
        }
    };
    let empty_as_null = if format.null_tokens.iter().any(String::is_empty) { " EMPTYASNULL" } else { "" };
    let region = source.region.as_deref().map(|r| format!(" REGION {}", literal(r))).unwrap_or_default();
    Ok(format!(
        "COPY {table} ({}) FROM {} {credentials} FORMAT AS CSV DELIMITER {} QUOTE '\"' IGNOREHEADER {}{null_as}\
         {empty_as_null} ENCODING UTF8{region} MAXERROR 0 COMPUPDATE OFF STATUPDATE OFF",
        column_list(columns),
        literal(&source.url),
        delimiter_literal(format.delimiter),
        u8::from(format.header),
    ))
}

impl RedshiftWarehouse {
    #[must_use]
    pub fn new(settings: ServerSettings, iam_role: Option<String>) -> Self {
        Self { pg: PostgresWarehouse::redshift_wire(settings), iam_role }
    }

    /// Runs the `COPY` into `into` and returns the rows Redshift loaded.
    async fn copy_from_bucket(
        &self,
        conn: &mut sqlx::PgConnection,
        into: &str,
        columns: &[Column],
        source: &PullSource,
    ) -> Result<u64, WarehouseError> {
        let copy = copy_statement(into, columns, source)?;
        let done = sqlx::raw_sql(AssertSqlSafe(copy)).execute(&mut *conn).await;
        Ok(done.map_err(|e| source.scrub(e.into()))?.rows_affected())
    }
}

#[async_trait]
impl Warehouse for RedshiftWarehouse {
    fn platform(&self) -> &'static str {
        "redshift"
    }

    async fn ping(&self) -> Result<(), WarehouseError> {
        self.pg.ping().await
    }

    async fn tables(&self) -> Result<Vec<TableName>, WarehouseError> {
        self.pg.tables().await
    }

    async fn columns(&self, table: &TableName) -> Result<Option<Vec<Column>>, WarehouseError> {
        self.pg.columns(table).await
    }

    async fn load(&self, target: &LoadTarget, rows: mpsc::Receiver<LoadItem>) -> Result<u64, WarehouseError> {
        self.load_rows(target, rows).await
    }

    async fn query(&self, query: &ExportQuery, rows: mpsc::Sender<QueryItem>) -> Result<u64, WarehouseError> {
        self.export_rows(query, rows).await
    }

    fn pull_integration(&self) -> Option<String> {
        self.iam_role.clone()
    }

    async fn drop_probe(&self, table: &TableName) -> Result<(), WarehouseError> {
        let mut conn = self.pg.connect().await?;
        let statement = format!("DROP TABLE IF EXISTS {}", self.pg.qualified(table));
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut conn).await?;
        Ok(())
    }

    async fn pull(&self, target: &LoadTarget, source: &PullSource) -> Result<u64, WarehouseError> {
        // Refused before any statement runs when the format is one COPY cannot say.
        copy_statement("t", &target.columns, source)?;
        let mut conn = self.pg.connect().await?;
        let schema = self.pg.schema_of(&target.table).to_string();
        let mut tx = conn.begin().await?;
        let exists = table_exists(&mut tx, &schema, &target.table.name).await?;
        target.mode.check(&target.table, exists)?;
        let loaded = match self.build_for(&mut tx, target, &schema).await? {
            None => self.copy_from_bucket(&mut tx, &self.pg.qualified(&target.table), &target.columns, source).await?,
            Some(build) => {
                let loaded = self.copy_from_bucket(&mut tx, &build, &target.columns, source).await?;
                let shapes = self.shapes_in(&mut tx, &build, &target.columns).await?;
                self.finish_build(&mut tx, target, &build, &shapes).await?;
                loaded
            }
        };
        tx.commit().await?;
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests {
    use byob_core::Sensitive;

    use super::*;
    use crate::warehouse::{PullFormat, decimal::DecimalShape};

    fn columns() -> Vec<Column> {
        vec![
            Column { name: "id".into(), column_type: ColumnType::Integer, nullable: false },
            Column { name: "amount".into(), column_type: ColumnType::Decimal, nullable: true },
        ]
    }

    fn source(credentials: PullCredentials, null_tokens: &[&str]) -> PullSource {
        PullSource {
            url: "s3://acme-data/tenants/acme/uploads/upl_1/it's.csv".into(),
            region: Some("eu-west-1".into()),
            credentials,
            format: PullFormat {
                delimiter: b'\t',
                header: true,
                null_tokens: null_tokens.iter().map(|t| (*t).to_string()).collect(),
            },
        }
    }

    fn session() -> PullCredentials {
        PullCredentials::AwsSession {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: Sensitive::new("secret/key".into()),
            session_token: Sensitive::new("token=".into()),
        }
    }

    #[test]
    fn copy_with_vended_session_credentials_is_exactly_this() {
        let copy = copy_statement("\"public\".\"sales\"", &columns(), &source(session(), &["", "NA"]));
        assert_eq!(
            copy.ok().as_deref(),
            Some(
                "COPY \"public\".\"sales\" (\"id\", \"amount\") FROM 's3://acme-data/tenants/acme/uploads/upl_1/it''s.csv' \
                 ACCESS_KEY_ID 'ASIAEXAMPLE' SECRET_ACCESS_KEY 'secret/key' SESSION_TOKEN 'token=' FORMAT AS CSV \
                 DELIMITER '\\t' QUOTE '\"' IGNOREHEADER 1 NULL AS 'NA' EMPTYASNULL ENCODING UTF8 REGION 'eu-west-1' \
                 MAXERROR 0 COMPUPDATE OFF STATUPDATE OFF"
            )
        );
    }

    #[test]
    fn copy_through_the_customers_iam_role_carries_no_secret() {
        let role = PullCredentials::Integration("arn:aws:iam::123456789012:role/redshift-reads-acme".into());
        let copy = copy_statement("\"public\".\"sales\"", &columns(), &source(role, &[])).unwrap_or_default();
        assert!(
            copy.contains(" IAM_ROLE 'arn:aws:iam::123456789012:role/redshift-reads-acme' FORMAT AS CSV"),
            "{copy}"
        );
        assert!(
            !copy.contains("ACCESS_KEY_ID") && !copy.contains("NULL AS") && !copy.contains("EMPTYASNULL"),
            "{copy}"
        );
    }

    #[test]
    fn a_blob_outside_s3_is_left_to_the_stream() {
        let mut azure = source(PullCredentials::AzureSas { token: Sensitive::new("sig=x".into()) }, &[]);
        azure.url = "azure://acme.blob.core.windows.net/data/t.csv".into();
        assert!(matches!(copy_statement("t", &columns(), &azure), Err(WarehouseError::Unsupported(_))));
        let mut gcs = source(PullCredentials::Integration("arn:aws:iam::123456789012:role/r".into()), &[]);
        gcs.url = "gs://acme/t.csv".into();
        assert!(matches!(copy_statement("t", &columns(), &gcs), Err(WarehouseError::Unsupported(_))));
    }

    #[test]
    fn several_null_strings_are_left_to_the_stream() {
        let refused = copy_statement("t", &columns(), &source(session(), &["NA", "n/a"]));
        assert!(matches!(refused, Err(WarehouseError::Unsupported(_))), "{refused:?}");
    }

    #[test]
    fn decimals_get_the_precision_their_rows_need() {
        let sql_type = |shape: DecimalShape| shape.sql_type("Redshift", "a").ok();
        assert_eq!(sql_type(DecimalShape { integer: 20, scale: 18 }).as_deref(), Some("DECIMAL(38,18)"));
        assert_eq!(sql_type(DecimalShape::default()).as_deref(), Some("DECIMAL(1,0)"));
        assert!(sql_type(DecimalShape { integer: 30, scale: 9 }).is_none());
    }
}
