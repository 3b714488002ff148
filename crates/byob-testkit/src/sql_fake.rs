//! The SQL engine behind the test kit's fakes of Databricks' and Trino's HTTP protocols: a fresh PostgreSQL
//! database, with the statements byob sends translated from the platform's dialect as far as byob's own
//! statements need (identifiers, string literals, type names, the catalog part of names, `USING DELTA`,
//! `CREATE OR REPLACE TABLE`). The fakes test byob's protocol clients — paging, polling, result types, errors —
//! against real rows; the platforms' own SQL engines are not emulated (docs/testing.md says so).

use sqlx::{
    Column as _, Connection as _, Executor as _, PgConnection, Row as _, SqlSafeStr as _, Statement as _, TypeInfo as _,
};
use tokio::sync::Mutex;

/// Whose SQL the engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Backtick identifiers, string literals with backslash escapes, `STRING`, `TIMESTAMP` (an instant) and
    /// `TIMESTAMP_NTZ`, `USING DELTA`, `CREATE OR REPLACE TABLE`.
    Databricks,
    /// Standard identifiers and literals; `VARCHAR`, `TIMESTAMP(p)`, `TIMESTAMP(p) WITH TIME ZONE`.
    Trino,
}

/// A result column: its name, PostgreSQL type name, and a decimal's precision and scale.
#[derive(Debug, Clone)]
pub struct FakeColumn {
    pub name: String,
    pub pg_type: String,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
}

/// What a statement gave: columns and rows (values as text, timestamps in ISO 8601 with microseconds, instants
/// in UTC with `Z`), or the rows it changed.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub columns: Vec<FakeColumn>,
    pub rows: Vec<Vec<Option<String>>>,
    pub affected: u64,
}

pub struct SqlFake {
    /// The PostgreSQL database behind the fake, whose sessions start in the fake's default schema.
    pub url: String,
    dialect: Dialect,
    catalog: String,
    conn: Mutex<PgConnection>,
    /// Every statement received, as sent (tests assert on what byob generated).
    pub received: Mutex<Vec<String>>,
}

impl SqlFake {
    /// An engine on a fresh PostgreSQL database, where the catalog `catalog` is that database and `schema` a
    /// schema of it, where its sessions start.
    pub async fn start(dialect: Dialect, catalog: &str, schema: &str) -> Self {
        let url = crate::fresh_postgres_database().await;
        let mut conn = PgConnection::connect(&url).await.expect("connect the fake's PostgreSQL");
        let database = url.rsplit('/').next().unwrap_or_default().to_string();
        for sql in [
            format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""),
            format!("ALTER DATABASE \"{database}\" SET search_path TO \"{schema}\""),
        ] {
            conn.execute(sqlx::AssertSqlSafe(sql)).await.expect("prepare the fake's database");
        }
        Self { url, dialect, catalog: catalog.into(), conn: Mutex::new(conn), received: Mutex::new(Vec::new()) }
    }

    /// Runs one statement of the dialect; the error is PostgreSQL's message.
    pub async fn run(&self, sql: &str, schema: &str) -> Result<Outcome, String> {
        self.received.lock().await.push(sql.to_string());
        let translated = translate(self.dialect, &self.catalog, sql)?;
        let mut conn = self.conn.lock().await;
        let search_path = format!("SET search_path TO \"{schema}\"");
        conn.execute(sqlx::AssertSqlSafe(search_path)).await.map_err(|e| e.to_string())?;
        let head = translated.trim_start().to_ascii_uppercase();
        if !(head.starts_with("SELECT") || head.starts_with("WITH") || head.starts_with("VALUES")) {
            let done = sqlx::raw_sql(sqlx::AssertSqlSafe(translated)).execute(&mut *conn).await;
            let done = done.map_err(|e| message(&e))?;
            return Ok(Outcome { affected: done.rows_affected(), ..Outcome::default() });
        }
        let prepared =
            conn.prepare(sqlx::AssertSqlSafe(translated.clone()).into_sql_str()).await.map_err(|e| message(&e))?;
        // Each column's declared precision and scale, a cast's included: those of a view of the statement.
        let view = format!("CREATE OR REPLACE TEMP VIEW byob_fake_q AS {translated}");
        conn.execute(sqlx::AssertSqlSafe(view)).await.map_err(|e| message(&e))?;
        let typmods: Vec<i32> = sqlx::query_scalar(
            "SELECT atttypmod FROM pg_attribute WHERE attrelid = 'byob_fake_q'::regclass AND attnum > 0 ORDER BY attnum",
        )
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| message(&e))?;
        conn.execute("DROP VIEW byob_fake_q").await.map_err(|e| message(&e))?;
        let mut columns = Vec::new();
        let mut select = Vec::new();
        for (i, c) in prepared.columns().iter().enumerate() {
            let pg_type = c.type_info().name().to_string();
            let v = format!("\"c{i}\"");
            select.push(match pg_type.as_str() {
                "TIMESTAMPTZ" => format!("to_char({v} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"),
                "TIMESTAMP" => format!("to_char({v}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"),
                _ => format!("{v}::text"),
            });
            let (mut precision, mut scale) = (None, None);
            if let Some(t) = typmods.get(i).copied().filter(|t| *t >= 4 && pg_type == "NUMERIC") {
                precision = u32::try_from(((t - 4) >> 16) & 0xffff).ok();
                scale = u32::try_from((t - 4) & 0xffff).ok();
            }
            columns.push(FakeColumn { name: c.name().to_string(), pg_type, precision, scale });
        }
        let aliases: Vec<String> = (0..columns.len()).map(|i| format!("\"c{i}\"")).collect();
        let read = format!("SELECT {} FROM ({translated}) AS q ({})", select.join(", "), aliases.join(", "));
        let rows = sqlx::query(sqlx::AssertSqlSafe(read)).fetch_all(&mut *conn).await.map_err(|e| message(&e))?;
        let rows: Vec<Vec<Option<String>>> = rows
            .iter()
            .map(|r| (0..columns.len()).map(|i| r.try_get::<Option<String>, _>(i).ok().flatten()).collect())
            .collect();
        // A computed decimal has no declared scale: the widest in the data stands in for it.
        for (i, c) in columns.iter_mut().enumerate() {
            if c.pg_type == "NUMERIC" && c.scale.is_none() {
                let widest = rows
                    .iter()
                    .filter_map(|r| r[i].as_deref())
                    .map(|v| v.split_once('.').map_or(0, |(_, f)| f.len()))
                    .max()
                    .unwrap_or(0);
                c.precision = Some(38);
                c.scale = u32::try_from(widest).ok();
            }
        }
        Ok(Outcome { columns, rows, affected: 0 })
    }
}

fn message(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_string(),
        other => other.to_string(),
    }
}

/// The statement in PostgreSQL's dialect.
fn translate(dialect: Dialect, catalog: &str, sql: &str) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len() + 16);
    let chars: Vec<char> = sql.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '`' if dialect == Dialect::Databricks => {
                let mut name = String::new();
                i += 1;
                while i < chars.len() {
                    if chars[i] == '`' {
                        if chars.get(i + 1) == Some(&'`') {
                            name.push('`');
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    name.push(chars[i]);
                    i += 1;
                }
                i += 1;
                if name == catalog && chars.get(i) == Some(&'.') {
                    i += 1;
                    continue;
                }
                out.push('"');
                out.push_str(&name.replace('"', "\"\""));
                out.push('"');
                continue;
            }
            '"' => {
                let start = i;
                i += 1;
                while i < chars.len() {
                    if chars[i] == '"' {
                        if chars.get(i + 1) == Some(&'"') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                let quoted: String = chars[start..i.min(chars.len())].iter().collect();
                if quoted == format!("\"{catalog}\"") && chars.get(i) == Some(&'.') {
                    i += 1;
                    continue;
                }
                out.push_str(&quoted);
                continue;
            }
            '\'' => {
                if dialect == Dialect::Databricks {
                    out.push('E');
                }
                out.push('\'');
                i += 1;
                while i < chars.len() {
                    let d = chars[i];
                    out.push(d);
                    i += 1;
                    if d == '\\' && dialect == Dialect::Databricks {
                        if let Some(&n) = chars.get(i) {
                            out.push(n);
                            i += 1;
                        }
                    } else if d == '\'' {
                        if chars.get(i) == Some(&'\'') {
                            out.push('\'');
                            i += 1;
                        } else {
                            break;
                        }
                    }
                }
                continue;
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let upper = word.to_ascii_uppercase();
                let replaced = match (dialect, upper.as_str()) {
                    (Dialect::Databricks, "STRING") => "TEXT".to_string(),
                    (Dialect::Databricks, "TIMESTAMP_NTZ") => "TIMESTAMP".to_string(),
                    (Dialect::Databricks, "TIMESTAMP") => "TIMESTAMPTZ".to_string(),
                    (Dialect::Databricks, "DELTA") if out.trim_end().to_ascii_uppercase().ends_with("USING") => {
                        let keep = out.trim_end().len() - "USING".len();
                        out.truncate(keep);
                        out.truncate(out.trim_end().len());
                        String::new()
                    }
                    _ if upper == catalog.to_ascii_uppercase() && chars.get(i) == Some(&'.') => {
                        i += 1;
                        String::new()
                    }
                    _ => word,
                };
                out.push_str(&replaced);
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    // `CREATE OR REPLACE TABLE t …` as a drop and a create in one implicit transaction.
    let upper = out.trim_start().to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix("CREATE OR REPLACE TABLE ") {
        let offset = out.len() - out.trim_start().len() + "CREATE OR REPLACE TABLE ".len();
        let name_len = rest.find([' ', '(']).ok_or("CREATE OR REPLACE TABLE without a body")?;
        let name = &out[offset..offset + name_len];
        return Ok(format!("DROP TABLE IF EXISTS {name}; CREATE TABLE {}", &out[offset..]));
    }
    // PostgreSQL renames within the schema: the new name goes unqualified.
    if let Some(at) = upper.find(" RENAME TO ") {
        let start = at + " RENAME TO ".len();
        let target = out[start..].trim();
        let last = target.rsplit_once("\".\"").map_or(target.to_string(), |(_, n)| format!("\"{n}"));
        return Ok(format!("{}{last}", &out[..start]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn databricks_statements_read_as_postgresql() {
        let sql = "CREATE OR REPLACE TABLE `main`.`s`.`t` USING DELTA AS SELECT CAST(`a` AS DECIMAL(3,1)) AS `a`, \
                   CAST('x\\'y' AS STRING), CAST(NULL AS TIMESTAMP_NTZ), CAST(NULL AS TIMESTAMP) FROM `main`.`s`.`b`";
        assert_eq!(
            translate(Dialect::Databricks, "main", sql).unwrap(),
            "DROP TABLE IF EXISTS \"s\".\"t\"; CREATE TABLE \"s\".\"t\" AS SELECT CAST(\"a\" AS DECIMAL(3,1)) AS \"a\", \
             CAST(E'x\\'y' AS TEXT), CAST(NULL AS TIMESTAMP), CAST(NULL AS TIMESTAMPTZ) FROM \"s\".\"b\""
        );
        assert_eq!(
            translate(Dialect::Trino, "hive", "ALTER TABLE \"hive\".\"s\".\"b\" RENAME TO \"hive\".\"s\".\"t\"")
                .unwrap(),
            "ALTER TABLE \"s\".\"b\" RENAME TO \"t\""
        );
    }
}
