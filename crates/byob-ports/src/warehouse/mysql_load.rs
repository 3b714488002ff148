//! Loads into MySQL/MariaDB: the rows are written as `LOAD DATA`'s default text format ([`super::mysql_encode`])
//! into a stream that `LOAD DATA LOCAL INFILE` reads as its "file", so nothing touches a disk. `append` runs in a
//! transaction; `create` and `replace` fill a table of their own — one `LOAD DATA` per segment, widening its
//! decimal columns between segments — and rename it into place. A value the server would change (truncate,
//! round, zero) counts as a rejection: byob reads each statement's warnings and undoes the load.

use byob_core::table::{Column, ColumnType};
use bytes::Bytes;
use futures::StreamExt as _;
use mysql_async::{Conn, prelude::Queryable as _};
use tokio::sync::mpsc;

use super::{
    LoadItem, LoadMode, LoadTarget, WarehouseError,
    mysql::{MysqlWarehouse, column_definition, quote, table_exists, type_name},
    mysql_encode::{Capacity, Encoder, SegmentEnd},
    sql::{build_name, build_prefix},
};

/// `text` as a LIKE pattern that matches itself only.
fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

impl MysqlWarehouse {
    pub(super) async fn load_rows(
        &self,
        target: &LoadTarget,
        rows: mpsc::Receiver<LoadItem>,
    ) -> Result<u64, WarehouseError> {
        let mut conn = self.connect().await?;
        let schema = self.schema_of(&target.table).to_string();
        let exists = table_exists(&mut conn, &schema, &target.table.name).await?;
        target.mode.check(&target.table, exists)?;
        let final_name = self.qualified(&target.table);
        if target.mode == LoadMode::Append {
            conn.query_drop("START TRANSACTION").await?;
            let encoder = Encoder::new(rows, target.columns.len(), Vec::new());
            return match stream_into(&mut conn, &final_name, &target.columns, encoder).await {
                Ok(rows) => {
                    conn.query_drop("COMMIT").await?;
                    Ok(rows)
                }
                Err(e) => {
                    conn.query_drop("ROLLBACK").await.ok();
                    Err(e)
                }
            };
        }
        self.drop_abandoned(&mut conn, &schema, &target.table.name).await?;
        let build = format!("{}.{}", quote(&schema), quote(&build_name(&target.table.name)));
        let start = Capacity::START.sql_type();
        let defs: Vec<String> = target
            .columns
            .iter()
            .map(|c| {
                let sql_type =
                    if c.column_type == ColumnType::Decimal { start.as_str() } else { type_name(c.column_type) };
                column_definition(c, sql_type)
            })
            .collect();
        conn.query_drop(format!("CREATE TABLE {build} ({}) DEFAULT CHARSET = utf8mb4", defs.join(", "))).await?;
        let decimals = target
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.column_type == ColumnType::Decimal)
            .map(|(i, _)| (i, Capacity::START))
            .collect();
        let encoder = Encoder::new(rows, target.columns.len(), decimals);
        let placed = async {
            let rows = stream_into(&mut conn, &build, &target.columns, encoder).await?;
            self.put_in_place(&mut conn, &build, &final_name, &schema, target).await?;
            Ok(rows)
        }
        .await;
        if placed.is_err() {
            self.discard(conn, &build).await;
        }
        placed
    }

    /// Drops the build tables of this table's earlier loads that ended with their process (a crash): older
    /// than the longest a statement may run, no load is still filling them.
    async fn drop_abandoned(&self, conn: &mut Conn, schema: &str, table: &str) -> Result<(), WarehouseError> {
        let older_than = self.settings.statement_timeout.as_secs().max(60);
        let abandoned: Vec<String> = conn
            .exec(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE ? \
                 AND create_time < NOW() - INTERVAL ? SECOND",
                (schema, format!("{}%", like_escaped(&build_prefix(table))), older_than),
            )
            .await?;
        for name in abandoned {
            tracing::info!(table = %name, "dropping the build table of a load that ended with its process");
            conn.query_drop(format!("DROP TABLE IF EXISTS {}.{}", quote(schema), quote(&name))).await?;
        }
        Ok(())
    }

    /// Drops a table a failed load built. The load's connection may be unusable after the failure (the server
    /// ended the statement mid-stream), so a fresh one is tried too.
    async fn discard(&self, mut conn: Conn, build: &str) {
        let statement = format!("DROP TABLE IF EXISTS {build}");
        if conn.query_drop(&statement).await.is_ok() {
            return;
        }
        drop(conn);
        let dropped = match self.connect().await {
            Ok(mut fresh) => fresh.query_drop(&statement).await.map_err(WarehouseError::from),
            Err(e) => Err(e),
        };
        if let Err(e) = dropped {
            tracing::warn!(table = build, error = %e, "a failed load's build table could not be dropped");
        }
    }

    /// Renames the built table to the table's name: for `create` only if none took it meanwhile, for `replace`
    /// swapping both in one atomic `RENAME TABLE`.
    async fn put_in_place(
        &self,
        conn: &mut Conn,
        build: &str,
        final_name: &str,
        schema: &str,
        target: &LoadTarget,
    ) -> Result<(), WarehouseError> {
        let exists = table_exists(conn, schema, &target.table.name).await?;
        if target.mode == LoadMode::Create || !exists {
            return conn.query_drop(format!("RENAME TABLE {build} TO {final_name}")).await.map_err(|e| match e {
                mysql_async::Error::Server(s) if s.code == 1050 => {
                    WarehouseError::TableExists(target.table.to_string())
                }
                other => other.into(),
            });
        }
        let old = format!("{}.{}", quote(schema), quote(&build_name(&target.table.name)));
        conn.query_drop(format!("RENAME TABLE {final_name} TO {old}, {build} TO {final_name}")).await?;
        conn.query_drop(format!("DROP TABLE {old}")).await?;
        Ok(())
    }
}

/// Streams the rows into `table`, one `LOAD DATA LOCAL INFILE` per segment, widening the table's decimal
/// columns between segments; refuses the load if the server changed or skipped any value (its warnings).
async fn stream_into(
    conn: &mut Conn,
    table: &str,
    columns: &[Column],
    mut encoder: Encoder,
) -> Result<u64, WarehouseError> {
    let list: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    let statement =
        format!("LOAD DATA LOCAL INFILE 'byob-rows' INTO TABLE {table} CHARACTER SET utf8mb4 ({})", list.join(", "));
    loop {
        let before = encoder.written;
        let (bytes_tx, bytes_rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
        conn.set_infile_handler(async move {
            Ok(futures::stream::unfold(bytes_rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) })
                .boxed())
        });
        let segment = tokio::spawn(async move {
            let end = encoder.segment(bytes_tx).await;
            (encoder, end)
        });
        let loaded = conn.query_drop(&statement).await;
        // A statement that failed before asking for the rows leaves the handler (and the stream) with the
        // connection; replacing it drops them, so the segment ends too.
        conn.set_infile_handler(async { Ok(futures::stream::empty().boxed()) });
        let (back, end) =
            segment.await.map_err(|e| WarehouseError::Database(format!("the row encoder failed: {e}")))?;
        encoder = back;
        match &end {
            SegmentEnd::Stopped => return Err(WarehouseError::Aborted),
            SegmentEnd::Refused(why) => {
                return Err(WarehouseError::Rejected(format!("a decimal {why}, so nothing was loaded")));
            }
            SegmentEnd::Finished | SegmentEnd::Outgrown | SegmentEnd::Unread => {}
        }
        loaded?;
        let (written, warnings) = (conn.affected_rows(), conn.get_warnings());
        if warnings > 0 {
            let shown: Vec<(String, u32, String)> = conn.query("SHOW WARNINGS LIMIT 3").await?;
            let said: Vec<String> = shown.into_iter().map(|(_, _, message)| message).collect();
            return Err(WarehouseError::Rejected(format!(
                "the server would change {warnings} value(s), so nothing was loaded: {}",
                said.join("; ")
            )));
        }
        let sent = encoder.written - before;
        if written != sent {
            return Err(WarehouseError::Rejected(format!(
                "the server took {written} of {sent} rows, so nothing was loaded"
            )));
        }
        match end {
            SegmentEnd::Outgrown => widen(conn, table, columns, &encoder.capacity).await?,
            _ => return Ok(encoder.written),
        }
    }
}

/// Gives a built table's decimal columns the capacities the rows need (an `ALTER` of the rows so far).
async fn widen(
    conn: &mut Conn,
    table: &str,
    columns: &[Column],
    capacity: &[(usize, Capacity)],
) -> Result<(), WarehouseError> {
    let changes: Vec<String> = capacity
        .iter()
        .filter_map(|(i, cap)| columns.get(*i).map(|c| format!("MODIFY {}", column_definition(c, &cap.sql_type()))))
        .collect();
    conn.query_drop(format!("ALTER TABLE {table} {}", changes.join(", "))).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_tables_are_found_by_a_pattern_that_matches_only_their_own_table() {
        assert!(build_name("sales").starts_with("sales__byob_"));
        assert_eq!(build_name("sales").len(), "sales__byob_".len() + 8);
        assert_eq!(like_escaped(&build_prefix("a_b%c")), "a\\_b\\%c\\_\\_byob\\_");
    }
}
