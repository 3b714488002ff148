//! Exports from Redshift, which has no `COPY … TO STDOUT`: the statement is prepared to learn its columns (as
//! for PostgreSQL), then its rows are read as the server sends them — in binary, decoded as binary COPY fields
//! are — inside a `READ ONLY` transaction.

use futures::TryStreamExt as _;
use sqlx::{AssertSqlSafe, Connection as _, Row as _, ValueRef as _};
use tokio::sync::mpsc;

use super::{
    Batch, Cell, ExportQuery, FieldKind, QUERY_BATCH_ROWS, QUERY_BATCH_TEXT, QueryItem, WarehouseError,
    pg_copy_out::decode_value,
    postgres_query::{Described, describe, export_statement, send, writes_refused},
    redshift::RedshiftWarehouse,
};

impl RedshiftWarehouse {
    pub(super) async fn export_rows(
        &self,
        query: &ExportQuery,
        rows: mpsc::Sender<QueryItem>,
    ) -> Result<u64, WarehouseError> {
        let sql = export_statement(query, |t| self.pg.qualified(t))?;
        let mut conn = self.pg.connect().await?;
        let Described { fields, select } = describe(&mut conn, &sql).await?;
        let kinds: Vec<FieldKind> = fields.iter().map(|f| f.kind).collect();
        let width = fields.len();
        if rows.send(QueryItem::Schema(fields)).await.is_err() {
            return Err(WarehouseError::Aborted);
        }
        let mut tx = conn.begin().await?;
        sqlx::raw_sql("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
        let mut total = 0u64;
        {
            let mut stream = sqlx::query(AssertSqlSafe(select)).fetch(&mut *tx);
            let mut batch = Batch { width, ..Batch::default() };
            while let Some(row) = stream.try_next().await.map_err(writes_refused)? {
                for (i, kind) in kinds.iter().enumerate() {
                    let value = row.try_get_raw(i)?;
                    let cell = if value.is_null() {
                        Cell::Null
                    } else {
                        let bytes = value.as_bytes().map_err(|e| WarehouseError::Database(e.to_string()))?;
                        decode_value(*kind, bytes, &mut batch.text)?
                    };
                    batch.cells.push(cell);
                }
                if batch.cells.len() / width >= QUERY_BATCH_ROWS || batch.text.len() >= QUERY_BATCH_TEXT {
                    total += send(&rows, &mut batch, width).await?;
                }
            }
            total += send(&rows, &mut batch, width).await?;
        }
        tx.commit().await?;
        Ok(total)
    }
}
