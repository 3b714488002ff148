//! Exports from MySQL/MariaDB: the statement is prepared (one statement only; a statement with no result
//! columns is refused before it runs) and its rows read in the binary protocol, typed by their columns, inside
//! a `READ ONLY` transaction. `DATETIME` columns byob marked as UTC ([`super::mysql::UTC_COMMENT`]) and
//! `TIMESTAMP` columns (read in a UTC session) are instants; other `DATETIME`s are local timestamps.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use mysql_async::{
    Column, Conn, Value,
    consts::{ColumnFlags, ColumnType as Wire},
    prelude::Queryable as _,
};
use tokio::sync::mpsc;

use super::{
    Batch, Cell, ExportQuery, Field, FieldKind, QUERY_BATCH_ROWS, QUERY_BATCH_TEXT, QueryItem, WarehouseError,
    mysql::{MysqlWarehouse, UTC_COMMENT},
    postgres_query::{export_statement, send},
    push_span,
};

/// byob's kind for a result column.
fn kind_of(column: &Column, utc: bool) -> FieldKind {
    let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    match column.column_type() {
        Wire::MYSQL_TYPE_TINY if column.column_length() == 1 => FieldKind::Boolean,
        Wire::MYSQL_TYPE_TINY | Wire::MYSQL_TYPE_YEAR => FieldKind::Int16,
        Wire::MYSQL_TYPE_SHORT if !unsigned => FieldKind::Int16,
        Wire::MYSQL_TYPE_SHORT | Wire::MYSQL_TYPE_INT24 => FieldKind::Int32,
        Wire::MYSQL_TYPE_LONG if !unsigned => FieldKind::Int32,
        Wire::MYSQL_TYPE_LONG => FieldKind::Int64,
        Wire::MYSQL_TYPE_LONGLONG if !unsigned => FieldKind::Int64,
        Wire::MYSQL_TYPE_LONGLONG => FieldKind::Decimal { precision: Some(20), scale: Some(0) },
        Wire::MYSQL_TYPE_FLOAT => FieldKind::Float32,
        Wire::MYSQL_TYPE_DOUBLE => FieldKind::Float64,
        Wire::MYSQL_TYPE_DECIMAL | Wire::MYSQL_TYPE_NEWDECIMAL => {
            let scale = u16::from(column.decimals());
            let signs = u32::from(!unsigned) + u32::from(scale > 0);
            let precision = column.column_length().saturating_sub(signs);
            FieldKind::Decimal { precision: u16::try_from(precision).ok(), scale: Some(scale) }
        }
        Wire::MYSQL_TYPE_DATE | Wire::MYSQL_TYPE_NEWDATE => FieldKind::Date,
        Wire::MYSQL_TYPE_TIMESTAMP | Wire::MYSQL_TYPE_TIMESTAMP2 => FieldKind::TimestampTz,
        Wire::MYSQL_TYPE_DATETIME | Wire::MYSQL_TYPE_DATETIME2 if utc => FieldKind::TimestampTz,
        Wire::MYSQL_TYPE_DATETIME | Wire::MYSQL_TYPE_DATETIME2 => FieldKind::Timestamp,
        _ => FieldKind::Text,
    }
}

/// Whether a result column reads a table column byob marked as holding UTC instants.
async fn marked_utc(conn: &mut Conn, column: &Column) -> Result<bool, WarehouseError> {
    let (schema, table, name) = (column.schema_str(), column.org_table_str(), column.org_name_str());
    if table.is_empty() || name.is_empty() {
        return Ok(false);
    }
    let comment: Option<String> = conn
        .exec_first(
            "SELECT column_comment FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND \
             column_name = ?",
            (schema.as_ref(), table.as_ref(), name.as_ref()),
        )
        .await?;
    Ok(comment.as_deref() == Some(UTC_COMMENT))
}

fn naive(y: u16, m: u8, d: u8, h: u8, i: u8, s: u8, us: u32) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d))?.and_hms_micro_opt(
        u32::from(h),
        u32::from(i),
        u32::from(s),
        us,
    )
}

/// A value as byob's cell of `kind`; text goes into the batch's buffer.
fn cell(value: Value, kind: FieldKind, batch: &mut Batch) -> Cell {
    match (value, kind) {
        (Value::NULL, _) => Cell::Null,
        (Value::Int(v), FieldKind::Boolean) => Cell::Boolean(v != 0),
        (Value::Int(v), FieldKind::Int16 | FieldKind::Int32 | FieldKind::Int64) => Cell::Integer(v),
        (Value::UInt(v), FieldKind::Int16 | FieldKind::Int32 | FieldKind::Int64) => {
            i64::try_from(v).map_or_else(|_| Cell::Decimal(push_span(&mut batch.text, &v.to_string())), Cell::Integer)
        }
        (Value::UInt(v), _) => Cell::Decimal(push_span(&mut batch.text, &v.to_string())),
        (Value::Int(v), FieldKind::Decimal { .. }) => Cell::Decimal(push_span(&mut batch.text, &v.to_string())),
        (Value::Float(v), _) => Cell::Float(f64::from(v)),
        (Value::Double(v), _) => Cell::Float(v),
        (Value::Bytes(b), FieldKind::Decimal { .. }) => {
            Cell::Decimal(push_span(&mut batch.text, &String::from_utf8_lossy(&b)))
        }
        // A zero date (`0000-00-00`) is no date.
        (Value::Date(y, m, d, ..), FieldKind::Date) => {
            naive(y, m, d, 0, 0, 0, 0).map_or(Cell::Null, |t| Cell::Date(t.date()))
        }
        (Value::Date(y, m, d, h, i, s, us), FieldKind::Timestamp) => {
            naive(y, m, d, h, i, s, us).map_or(Cell::Null, Cell::Timestamp)
        }
        (Value::Date(y, m, d, h, i, s, us), FieldKind::TimestampTz) => naive(y, m, d, h, i, s, us)
            .map_or(Cell::Null, |t| Cell::TimestampTz(DateTime::<Utc>::from_naive_utc_and_offset(t, Utc))),
        (Value::Bytes(b), _) => Cell::Text(push_span(&mut batch.text, &String::from_utf8_lossy(&b))),
        (other @ (Value::Date(..) | Value::Time(..) | Value::Int(_)), _) => {
            Cell::Text(push_span(&mut batch.text, other.as_sql(true).trim_matches('\'')))
        }
    }
}

/// A statement MySQL refused because the transaction only reads, said as such.
fn writes_refused(e: mysql_async::Error) -> WarehouseError {
    match &e {
        // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
        mysql_async::Error::Server(s) if s.code == 1792 => WarehouseError::Unsupported(format!(
            "exports only read: the query changes data ({}); write one SELECT",
            s.message
        )),
        _ => e.into(),
    }
}

impl MysqlWarehouse {
    pub(super) async fn export_rows(
        &self,
        query: &ExportQuery,
        rows: mpsc::Sender<QueryItem>,
    ) -> Result<u64, WarehouseError> {
        let sql = export_statement(query, |t| self.qualified(t))?;
        let mut conn = self.connect().await?;
        let prepared = conn.prep(sql.as_str()).await?;
        let columns = prepared.columns();
        if columns.is_empty() {
            return Err(WarehouseError::Unsupported("the query returns no columns; write one SELECT".into()));
        }
        let mut fields = Vec::with_capacity(columns.len());
        for column in columns.iter() {
            let datetime = matches!(column.column_type(), Wire::MYSQL_TYPE_DATETIME | Wire::MYSQL_TYPE_DATETIME2);
            let utc = datetime && marked_utc(&mut conn, column).await?;
            fields.push(Field { name: column.name_str().into_owned(), kind: kind_of(column, utc) });
        }
        let kinds: Vec<FieldKind> = fields.iter().map(|f| f.kind).collect();
        let width = fields.len();
        if rows.send(QueryItem::Schema(fields)).await.is_err() {
            return Err(WarehouseError::Aborted);
        }
        conn.query_drop("START TRANSACTION READ ONLY").await?;
        let mut total = 0u64;
        {
            let mut result = conn.exec_iter(&prepared, ()).await.map_err(writes_refused)?;
            let mut batch = Batch { width, ..Batch::default() };
            while let Some(row) = result.next().await.map_err(writes_refused)? {
                for (value, kind) in row.unwrap().into_iter().zip(&kinds) {
                    let cell = cell(value, *kind, &mut batch);
                    batch.cells.push(cell);
                }
                if batch.cells.len() / width >= QUERY_BATCH_ROWS || batch.text.len() >= QUERY_BATCH_TEXT {
                    total += send(&rows, &mut batch, width).await?;
                }
            }
            total += send(&rows, &mut batch, width).await?;
        }
        conn.query_drop("COMMIT").await?;
        conn.disconnect().await.ok();
        Ok(total)
    }
}
