//! Addresses of the real servers the suite runs against.

use sqlx::{Connection, Executor, PgConnection};

/// The value of a `BYOB_TEST_*` variable that `scripts/servers.sh start` exports.
///
/// # Panics
/// When the variable is unset: the servers are not running.
#[must_use]
pub fn server_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test needs the real servers. Run `scripts/test.sh`, or start them once with \
             `eval \"$(scripts/servers.sh start)\"` and rerun `cargo nextest run`."
        )
    })
}

/// A new, empty PostgreSQL database for one test, so tests run in parallel without seeing each other.
pub async fn fresh_postgres_database() -> String {
    let admin_url = server_env("BYOB_TEST_POSTGRES_URL");
    let name = format!("byob_t_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    let mut conn = PgConnection::connect(&admin_url).await.expect("connect to the test PostgreSQL");
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create a test database");
    conn.close().await.ok();
    match admin_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{name}"),
        None => panic!("BYOB_TEST_POSTGRES_URL must end with a database name"),
    }
}
