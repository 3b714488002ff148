//! Test fixtures shared by every crate's tests. The servers are real (scripts/servers.sh starts them and
//! exports their addresses); a missing address fails the test with instructions rather than skipping it, so a
//! green run always means the servers were exercised.
#![allow(clippy::missing_panics_doc, clippy::expect_used, clippy::unwrap_used)]

pub mod app;
pub mod assets;
pub mod attachments;
pub mod azurite_oauth;
pub mod browser;
pub mod buckets;
pub mod exports;
pub mod fake_databricks;
pub mod fake_tds;
pub mod fake_trino;
pub mod faults;
pub mod iam;
pub mod integrations;
pub mod moto;
pub mod network;
pub mod servers;
pub mod sql_fake;
pub mod storage_behaviour;
pub mod uploads;

pub use app::TestApp;
pub use servers::{
    bigquery_rows, create_numbered_table, fresh_bigquery_dataset, fresh_mysql_database, fresh_postgres_database,
    fresh_snowflake_database, mysql_rows, postgres_records, postgres_tables, server_env, server_settings,
};

/// The network policy of tests: the emulators and stand-ins all listen on loopback, which the operator setting
/// `network.allowed_private_ranges` must allow (as it must in production for a private store).
#[must_use]
pub fn loopback_network() -> byob_ports::net::NetworkPolicy {
    byob_ports::net::NetworkPolicy::allowing(vec![
        "127.0.0.0/8".parse().expect("a range"),
        "::1/128".parse().expect("a range"),
    ])
}
