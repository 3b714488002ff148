//! Exports from PostgreSQL: the statement is prepared (one statement only) to learn its columns, then its rows
//! stream out through `COPY (…) TO STDOUT (FORMAT binary)` inside a `READ ONLY` transaction, so an export can
//! never change data. Types byob has no exact form for are cast to text by the server.

use futures::StreamExt;
use sqlx::{
    AssertSqlSafe, Column as _, Connection as _, Executor as _, PgConnection, Row, SqlSafeStr as _, Statement as _,
    TypeInfo as _,
};
use tokio::sync::mpsc;

use super::{
    Batch, ExportQuery, Field, FieldKind, QUERY_BATCH_ROWS, QUERY_BATCH_TEXT, QueryItem, WarehouseError,
    pg_copy_out::CopyDecoder, postgres::PostgresWarehouse, sql::quote,
};

/// byob's kind for a PostgreSQL type name, or `None` when the server should send it as text.
fn kind_of(type_name: &str) -> Option<FieldKind> {
    Some(match type_name {
        "INT2" => FieldKind::Int16,
        "INT4" => FieldKind::Int32,
        "INT8" => FieldKind::Int64,
        "FLOAT4" => FieldKind::Float32,
        "FLOAT8" => FieldKind::Float64,
        "NUMERIC" => FieldKind::Decimal { precision: None, scale: None },
        "BOOL" => FieldKind::Boolean,
        "DATE" => FieldKind::Date,
        "TIMESTAMP" => FieldKind::Timestamp,
        "TIMESTAMPTZ" => FieldKind::TimestampTz,
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" => FieldKind::Text,
        _ => return None,
    })
}

/// A numeric column's declared precision and scale, from its table (a computed column has none).
async fn numeric_typmod(
    conn: &mut PgConnection,
    relation: Option<sqlx::postgres::types::Oid>,
    attribute: Option<i16>,
) -> Result<(Option<u16>, Option<u16>), WarehouseError> {
    let (Some(relation), Some(attribute)) = (relation, attribute) else { return Ok((None, None)) };
    let row = sqlx::query("SELECT atttypmod FROM pg_attribute WHERE attrelid = $1 AND attnum = $2")
        .bind(relation)
        .bind(attribute)
        .fetch_optional(&mut *conn)
        .await?;
    let typmod: i32 = match row {
        Some(row) => row.try_get("atttypmod")?,
        None => -1,
    };
    if typmod < 4 {
        return Ok((None, None));
    }
    let packed = typmod - 4;
    Ok((u16::try_from((packed >> 16) & 0xffff).ok(), u16::try_from(packed & 0xffff).ok()))
}

/// The statement to read, without the trailing semicolons people write.
pub(super) fn statement(query: &ExportQuery, qualified: impl Fn(&byob_core::table::TableName) -> String) -> String {
    match query {
        ExportQuery::Table(table) => format!("SELECT * FROM {}", qualified(table)),
        ExportQuery::Sql(sql) => sql.trim().trim_end_matches(';').trim_end().to_string(),
    }
}

/// The statement an export reads, checked to be one that only reads (a whole table always is).
pub(super) fn export_statement(
    query: &ExportQuery,
    qualified: impl Fn(&byob_core::table::TableName) -> String,
) -> Result<String, WarehouseError> {
    let sql = statement(query, qualified);
    byob_core::export::check_read_only_query("query", &sql).map_err(|e| WarehouseError::Unsupported(e.message))?;
    Ok(sql)
}

/// A statement that would change data, refused by PostgreSQL inside the read-only export, said as such.
pub(super) fn writes_refused(e: sqlx::Error) -> WarehouseError {
    let message = match &e {
        sqlx::Error::Database(db) => db.message().to_string(),
        _ => return e.into(),
    };
    if message.contains("data-modifying") || message.contains("read-only transaction") {
        WarehouseError::Unsupported(format!("exports only read: the query changes data ({message}); write one SELECT"))
    } else {
        e.into()
    }
}

/// A statement's columns, and the `SELECT` that reads it with every column in a form byob decodes: types byob
/// has no exact form for are cast to text by the server.
pub(super) struct Described {
    pub fields: Vec<Field>,
    pub select: String,
}

/// Prepares `sql` (one statement only) to learn its columns.
pub(super) async fn describe(conn: &mut PgConnection, sql: &str) -> Result<Described, WarehouseError> {
    let prepared = conn.prepare(AssertSqlSafe(sql).into_sql_str()).await?;
    let mut fields = Vec::new();
    let mut selected = Vec::new();
    for (i, column) in prepared.columns().iter().enumerate() {
        let alias = quote(&format!("c{i}"));
        let kind = match kind_of(column.type_info().name()) {
            Some(FieldKind::Decimal { .. }) => {
                let (precision, scale) =
                    numeric_typmod(conn, column.relation_id(), column.relation_attribute_no()).await?;
                selected.push(alias);
                FieldKind::Decimal { precision, scale }
            }
            Some(kind) => {
                selected.push(alias);
                kind
            }
            None => {
                selected.push(format!("{alias}::text"));
                FieldKind::Text
            }
        };
        fields.push(Field { name: column.name().to_string(), kind });
    }
    if fields.is_empty() {
        return Err(WarehouseError::Unsupported("the query returns no columns".into()));
    }
    let aliases: Vec<String> = (0..fields.len()).map(|i| quote(&format!("c{i}"))).collect();
    let select = format!("SELECT {} FROM ({sql}) AS byob_export ({})", selected.join(", "), aliases.join(", "));
    Ok(Described { fields, select })
}

impl PostgresWarehouse {
    pub(super) async fn export_rows(
        &self,
        query: &ExportQuery,
        rows: mpsc::Sender<QueryItem>,
    ) -> Result<u64, WarehouseError> {
        let sql = export_statement(query, |t| self.qualified(t))?;
        let mut conn = self.connect().await?;
        let Described { fields, select } = describe(&mut conn, &sql).await?;
        let copy = format!("COPY ({select}) TO STDOUT (FORMAT binary)");
        let kinds: Vec<FieldKind> = fields.iter().map(|f| f.kind).collect();
        let width = fields.len();
        if rows.send(QueryItem::Schema(fields)).await.is_err() {
            return Err(WarehouseError::Aborted);
        }
        let mut tx = conn.begin().await?;
        sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
        let mut total = 0u64;
        {
            let mut stream = tx.copy_out_raw(&copy).await.map_err(writes_refused)?;
            let mut decoder = CopyDecoder::new(kinds);
            let mut batch = Batch { width, ..Batch::default() };
            while let Some(chunk) = stream.next().await {
                decoder.push(&chunk?);
                while decoder.decode(&mut batch, QUERY_BATCH_ROWS, QUERY_BATCH_TEXT)? {
                    total += send(&rows, &mut batch, width).await?;
                }
            }
            decoder.decode(&mut batch, usize::MAX, usize::MAX)?;
            if !decoder.finished {
                return Err(WarehouseError::Database("the COPY output ended before its trailer".into()));
            }
            total += send(&rows, &mut batch, width).await?;
        }
        tx.commit().await?;
        Ok(total)
    }
}

/// Sends the batch if it has rows; returns how many.
pub(super) async fn send(
    rows: &mpsc::Sender<QueryItem>,
    batch: &mut Batch,
    width: usize,
) -> Result<u64, WarehouseError> {
    let count = batch.cells.len() / width.max(1);
    if count == 0 {
        return Ok(0);
    }
    let full = std::mem::replace(batch, Batch { width, ..Batch::default() });
    rows.send(QueryItem::Batch(full)).await.map_err(|_| WarehouseError::Aborted)?;
    Ok(count as u64)
}
