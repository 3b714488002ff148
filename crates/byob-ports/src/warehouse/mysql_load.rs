//! Loads into MySQL/MariaDB: the rows are written as `LOAD DATA`'s default text format (tab-separated,
//! backslash escapes, `\N` for NULL) into a stream that `LOAD DATA LOCAL INFILE` reads as its "file", so
//! nothing touches a disk. `append` runs in a transaction; `create` and `replace` fill a table of their own and
//! rename it into place. A value the server would change (truncate, round, zero) counts as a rejection: byob
//! reads the statement's warnings and undoes the load.

use byob_core::table::{Column, ColumnType};
use bytes::Bytes;
use chrono::{NaiveDateTime, Timelike};
use futures::StreamExt as _;
use mysql_async::{Conn, prelude::Queryable as _};
use tokio::sync::mpsc;

use super::{
    Batch, Cell, LoadItem, LoadMode, LoadTarget, WarehouseError,
    decimal::DecimalShape,
    mysql::{MysqlWarehouse, column_definition, quote, table_exists, type_name},
    sql::{build_name, build_prefix},
    text::{push_date, push_datetime},
};

/// Bytes gathered before each chunk goes to the server.
const CHUNK: usize = 256 * 1024;

/// What the encoder saw: the rows it wrote, whether the producer reached its end, the decimals' shapes.
#[derive(Debug, Default)]
struct Encoded {
    rows: u64,
    finished: bool,
    decimals: Vec<(usize, DecimalShape)>,
}

/// Appends `text` escaped for LOAD DATA's default format.
fn push_text(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    if memchr::memchr3(b'\\', b'\t', b'\n', bytes).is_none() && memchr::memchr2(b'\r', 0, bytes).is_none() {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0 => out.extend_from_slice(b"\\0"),
            other => out.push(other),
        }
    }
}

/// A timestamp at `DATETIME(6)`'s precision (microseconds; a load never carries finer ones in practice, and
/// the server would round them with a warning).
fn micros(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

fn push_cell(out: &mut Vec<u8>, scratch: &mut String, cell: &Cell, batch: &Batch) {
    scratch.clear();
    match cell {
        Cell::Null => out.extend_from_slice(b"\\N"),
        Cell::Integer(v) => out.extend_from_slice(itoa::Buffer::new().format(*v).as_bytes()),
        Cell::Float(v) => out.extend_from_slice(v.to_string().as_bytes()),
        Cell::Decimal(v) => out.extend_from_slice(batch.str(*v).as_bytes()),
        Cell::Boolean(v) => out.push(if *v { b'1' } else { b'0' }),
        Cell::Date(d) => push_date(scratch, *d),
        Cell::Timestamp(t) => push_datetime(scratch, micros(*t), ' '),
        Cell::TimestampTz(t) => push_datetime(scratch, micros(t.naive_utc()), ' '),
        Cell::Text(v) => push_text(out, batch.str(*v)),
    }
    out.extend_from_slice(scratch.as_bytes());
}

/// Turns the rows into LOAD DATA's text, chunk by chunk, until the producer's `End` (or its failure, which is
/// passed on as an error so the server's statement ends and the load is undone).
async fn encode(
    mut rows: mpsc::Receiver<LoadItem>,
    columns: Vec<Column>,
    out: mpsc::Sender<std::io::Result<Bytes>>,
) -> Encoded {
    let width = columns.len().max(1);
    let mut encoded = Encoded {
        decimals: columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.column_type == ColumnType::Decimal)
            .map(|(i, _)| (i, DecimalShape::default()))
            .collect(),
        ..Encoded::default()
    };
    let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK + 64 * 1024);
    let mut scratch = String::new();
    while let Some(item) = rows.recv().await {
        let batch = match item {
            LoadItem::Batch(batch) => batch,
            LoadItem::End => {
                encoded.finished = true;
                break;
            }
        };
        for row in batch.cells.chunks(width) {
            for (i, cell) in row.iter().enumerate() {
                if i > 0 {
                    chunk.push(b'\t');
                }
                push_cell(&mut chunk, &mut scratch, cell, &batch);
            }
            chunk.push(b'\n');
            for (i, shape) in &mut encoded.decimals {
                if let Some(Cell::Decimal(span)) = row.get(*i) {
                    shape.fit(batch.str(*span));
                }
            }
            encoded.rows += 1;
        }
        batch.done();
        if chunk.len() >= CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK + 64 * 1024));
            if out.send(Ok(Bytes::from(full))).await.is_err() {
                return encoded;
            }
        }
    }
    let last = if encoded.finished {
        Ok(Bytes::from(chunk))
    } else {
        Err(std::io::Error::other("byob: the rows stopped before their end"))
    };
    out.send(last).await.ok();
    encoded
}

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
        match target.mode {
            LoadMode::Create if exists => return Err(WarehouseError::TableExists(target.table.to_string())),
            LoadMode::Append if !exists => return Err(WarehouseError::TableMissing(target.table.to_string())),
            _ => {}
        }
        let final_name = self.qualified(&target.table);
        if target.mode == LoadMode::Append {
            conn.query_drop("START TRANSACTION").await?;
            return match stream_into(&mut conn, &final_name, &target.columns, rows).await {
                Ok(encoded) => {
                    conn.query_drop("COMMIT").await?;
                    Ok(encoded.rows)
                }
                Err(e) => {
                    conn.query_drop("ROLLBACK").await.ok();
                    Err(e)
                }
            };
        }
        self.drop_abandoned(&mut conn, &schema, &target.table.name).await?;
        let build = format!("{}.{}", quote(&schema), quote(&build_name(&target.table.name)));
        let defs: Vec<String> = target.columns.iter().map(|c| column_definition(c, type_name(c.column_type))).collect();
        conn.query_drop(format!("CREATE TABLE {build} ({}) DEFAULT CHARSET = utf8mb4", defs.join(", "))).await?;
        let placed = async {
            let encoded = stream_into(&mut conn, &build, &target.columns, rows).await?;
            narrow_decimals(&mut conn, &build, &target.columns, &encoded.decimals).await?;
            self.put_in_place(&mut conn, &build, &final_name, &schema, target).await?;
            Ok(encoded.rows)
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

/// Streams the rows into `table` with `LOAD DATA LOCAL INFILE`; refuses the load if the server changed or
/// skipped any value (its warnings).
async fn stream_into(
    conn: &mut Conn,
    table: &str,
    columns: &[Column],
    rows: mpsc::Receiver<LoadItem>,
) -> Result<Encoded, WarehouseError> {
    let (bytes_tx, bytes_rx) = mpsc::channel::<std::io::Result<Bytes>>(4);
    let encoder = tokio::spawn(encode(rows, columns.to_vec(), bytes_tx));
    conn.set_infile_handler(async move {
        Ok(futures::stream::unfold(bytes_rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }).boxed())
    });
    let list: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    let statement =
        format!("LOAD DATA LOCAL INFILE 'byob-rows' INTO TABLE {table} CHARACTER SET utf8mb4 ({})", list.join(", "));
    let loaded = conn.query_drop(statement).await;
    // A statement that failed before asking for the rows leaves the handler (and the stream) with the
    // connection; replacing it ends the encoder.
    conn.set_infile_handler(async { Ok(futures::stream::empty().boxed()) });
    let encoded = encoder.await.map_err(|e| WarehouseError::Database(format!("the row encoder failed: {e}")))?;
    if !encoded.finished {
        return Err(WarehouseError::Aborted);
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
    if written != encoded.rows {
        return Err(WarehouseError::Rejected(format!(
            "the server took {written} of {} rows, so nothing was loaded",
            encoded.rows
        )));
    }
    Ok(encoded)
}

/// Narrows each decimal column of a built table from `DECIMAL(65,30)` to the shape of its data, so a value is
/// read back as it was written (`12.50`, not `12.500000000000000000000000000000`).
async fn narrow_decimals(
    conn: &mut Conn,
    table: &str,
    columns: &[Column],
    shapes: &[(usize, DecimalShape)],
) -> Result<(), WarehouseError> {
    let changes: Vec<String> = shapes
        .iter()
        .filter(|(_, shape)| *shape != DecimalShape::default())
        .filter_map(|(i, shape)| {
            let (precision, scale) = shape.precision_scale(65, 30);
            columns
                .get(*i)
                .map(|c| format!("MODIFY {}", column_definition(c, &format!("DECIMAL({precision},{scale})"))))
        })
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
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

    #[test]
    fn text_is_escaped_for_load_data() {
        let mut out = Vec::new();
        push_text(&mut out, "a\tb\nc\\d\re\0f");
        assert_eq!(out, b"a\\tb\\nc\\\\d\\re\\0f");
        let mut plain = Vec::new();
        push_text(&mut plain, "unicode é 中文 🎉");
        assert_eq!(plain, "unicode é 中文 🎉".as_bytes());
    }
}
