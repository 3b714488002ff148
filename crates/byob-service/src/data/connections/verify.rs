//! A connection's verification report: the same statuses, messages and fixes as an integration's, for the path
//! to the platform (name, port, bastion host key, certificate name) and what byob does there (sign in, create a
//! table, insert, read). The write probes run as loads byob stops before their end, so the platform rolls them
//! back and nothing is left behind.

use std::sync::Arc;

use byob_core::{
    ConnectionId,
    connection::{Connection, Platform, TlsMode},
    network::Network,
    table::{Column, ColumnType, TableName},
};
use byob_ports::{
    net::{
        NetworkPolicy, not_public,
        route::{Route, RouteError, host_key_offered},
        tls_names::{Preamble, TlsProbeError, certificate_names, name_covers},
    },
    warehouse::{
        Batch, Cell, ExportQuery, LoadItem, LoadMode, LoadTarget, PullCredentials, PullFormat, PullSource, QueryItem,
        Warehouse, WarehouseError,
    },
};
use chrono::{DateTime, Utc};
use object_store::ObjectStoreExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::{
    ServiceError,
    reports::{CheckResult, CheckStatus, Outcome, Trigger},
    verify::{skipped, timed},
};

/// Every check of a connection's report, in report order (docs/connections.md describes each).
pub const ALL_CONNECTION_CHECKS: [&str; 9] = [
    "network-host-resolves",
    "ssh-host-key-matches",
    "network-port-reachable",
    "tls-name-matches",
    "platform-login-succeeds",
    "platform-can-create-table",
    "platform-can-insert",
    "platform-can-read",
    "platform-can-read-bucket",
];

/// A verification run of one connection.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConnectionReport {
    pub id: String,
    pub trigger: Trigger,
    pub connection: ConnectionId,
    pub name: String,
    /// The network mode checked: `public`, `private_link`, `ssh_tunnel` or `proxy`.
    pub network: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub checks: Vec<CheckResult>,
}

impl ConnectionReport {
    #[must_use]
    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        crate::reports::check_named(&self.checks, name)
    }
}

/// What the checks need: the connection, the policy, the route (with its key revealed) and the warehouse.
pub(super) struct Subject<'a> {
    pub connection: &'a Connection,
    pub policy: &'a NetworkPolicy,
    pub route: Route,
    pub warehouse: Arc<dyn Warehouse>,
    pub run: String,
}

/// Runs every check, in order; a failure skips the checks that depend on it.
pub(super) async fn checks(s: &Subject<'_>, bucket: Option<&BucketAccess<'_>>) -> Vec<CheckResult> {
    let c = s.connection;
    let e = c.platform.endpoint();
    let mut out = Vec::with_capacity(ALL_CONNECTION_CHECKS.len());
    let resolves = timed("network-host-resolves", host_resolves(s)).await;
    let resolved = resolves.status != CheckStatus::Failed;
    out.push(resolves);
    let host_key = match (&c.network, resolved) {
        (Network::SshTunnel(_), true) => timed("ssh-host-key-matches", host_key_matches(s)).await,
        (Network::SshTunnel(_), false) => skipped("ssh-host-key-matches", "the bastion's name does not resolve"),
        _ => skipped("ssh-host-key-matches", "not an SSH tunnel"),
    };
    let key_ok = host_key.status != CheckStatus::Failed;
    out.push(host_key);
    let reachable = if !resolved {
        skipped("network-port-reachable", "the name does not resolve")
    } else if !key_ok {
        skipped("network-port-reachable", "nothing is sent through the bastion until its host key matches")
    } else {
        timed("network-port-reachable", port_reachable(s)).await
    };
    let reached = reachable.status == CheckStatus::Passed;
    out.push(reachable);
    if !reached {
        for name in &ALL_CONNECTION_CHECKS[3..] {
            out.push(skipped(name, "the platform's port cannot be reached"));
        }
        return out;
    }
    out.push(timed("tls-name-matches", tls_name(s, e.host, e.port, e.tls)).await);
    let login = timed("platform-login-succeeds", login(s)).await;
    let signed_in = login.status == CheckStatus::Passed;
    out.push(login);
    if !signed_in {
        for name in &ALL_CONNECTION_CHECKS[5..] {
            out.push(skipped(name, "byob cannot sign in"));
        }
        return out;
    }
    let create = timed("platform-can-create-table", probe_load(s, false)).await;
    let created = create.status == CheckStatus::Passed;
    out.push(create);
    out.push(if created {
        timed("platform-can-insert", probe_load(s, true)).await
    } else {
        skipped("platform-can-insert", "byob cannot create the probe table")
    });
    out.push(timed("platform-can-read", read(s)).await);
    out.push(timed("platform-can-read-bucket", read_bucket(s, bucket)).await);
    out
}

async fn host_resolves(s: &Subject<'_>) -> Outcome {
    let c = s.connection;
    let e = c.platform.endpoint();
    let (host, port) = s.route.first_hop(e.host, e.port);
    let hop = match &c.network {
        Network::SshTunnel(_) => "the SSH bastion ",
        Network::Proxy(_) => "the proxy ",
        _ => "",
    };
    let addresses = match s.policy.lookup(host, port).await {
        Ok(addresses) => addresses,
        Err(err) => {
            return Outcome::failed(
                format!("{hop}`{host}` does not resolve: {err}"),
                if matches!(c.network, Network::PrivateLink(_)) {
                    "byob's resolver must serve the private zone of the private link: create the private DNS zone \
                     (the setup's `private-dns` step) in byob's network, or point byob at a resolver that has it \
                     (network.dns_servers)"
                } else {
                    "check the host name"
                },
            );
        }
    };
    let shown: Vec<String> = addresses.iter().map(|a| a.ip().to_string()).collect();
    if matches!(c.network, Network::PrivateLink(_))
        && let Some(public) = addresses.iter().find(|a| not_public(a.ip()).is_none())
    {
        return Outcome::failed(
            format!(
                "`{host}` resolves to {}, a public address: the private zone of the private link is missing from \
                 byob's resolver, so traffic would leave the private network",
                public.ip()
            ),
            "create the private DNS zone for the endpoint (the setup's `private-dns` step) in byob's network, or \
             point byob at a resolver that serves it (network.dns_servers)",
        );
    }
    for address in &addresses {
        if let Err(refused) = s.policy.check(host, address.ip()) {
            return Outcome::failed(
                refused.to_string(),
                "ask the operator to allow the range in network.allowed_private_ranges, or correct the host",
            );
        }
    }
    let behind = match &c.network {
        Network::SshTunnel(_) | Network::Proxy(_) => format!("; `{}` is resolved behind it", e.host),
        _ => String::new(),
    };
    Outcome::passed(format!("{hop}`{host}` resolves to {}{behind}", shown.join(", ")))
}

async fn host_key_matches(s: &Subject<'_>) -> Outcome {
    let Network::SshTunnel(t) = &s.connection.network else { return Outcome::skipped("not an SSH tunnel") };
    let name = &s.connection.name;
    let offered = match host_key_offered(s.policy, &t.host, t.port).await {
        Ok(offered) => offered,
        Err(e) => return Outcome::failed(e.to_string(), "check the bastion's host and port, and its firewall"),
    };
    match &t.host_key {
        None => Outcome::failed(
            format!("the bastion offers host key {offered}, which no admin has confirmed yet; nothing was sent"),
            format!(
                "compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the bastion, then confirm it: \
                 `byob connections trust-host-key {name} {offered}`"
            ),
        ),
        Some(expected) if *expected != offered => Outcome::failed(
            format!(
                "the bastion's host key changed: it offers {offered}, the connection trusts {expected}; nothing was sent"
            ),
            format!(
                "if the bastion's key was replaced on purpose, confirm the new one (`byob connections trust-host-key \
                 {name} {offered}`); otherwise something stands between byob and the bastion"
            ),
        ),
        Some(_) => Outcome::passed(format!("the bastion offers the confirmed host key {offered}")),
    }
}

async fn port_reachable(s: &Subject<'_>) -> Outcome {
    let e = s.connection.platform.endpoint();
    let through = match &s.connection.network {
        Network::SshTunnel(t) => format!(" through the bastion {}:{}", t.host, t.port),
        Network::Proxy(p) => format!(" through the proxy {}:{}", p.host, p.port),
        _ => String::new(),
    };
    match s.route.dial(s.policy, e.host, e.port).await {
        Ok(_) => Outcome::passed(format!("reached {}:{}{through}", e.host, e.port)),
        Err(err) => {
            let fix = match &err {
                RouteError::ForwardRefused { .. } | RouteError::SshLogin { .. } => match &s.connection.network {
                    Network::SshTunnel(t) => format!(
                        "put this line in the bastion's authorized_keys for `{}`: {}",
                        t.user,
                        super::network::authorized_keys_line(t, &s.connection.platform, &s.connection.name)
                    ),
                    _ => "check the bastion's authorized_keys".into(),
                },
                RouteError::ProxyRefused { .. } => "allow byob's destination on the proxy (its ACL), and check \
                                                    the proxy's user and password"
                    .into(),
                _ => "open the platform's port to byob's addresses (security group, firewall, network ACL)".into(),
            };
            Outcome::failed(format!("{}:{}{through}: {err}", e.host, e.port), fix)
        }
    }
}

/// The protocol's way into TLS, for platforms whose certificate byob reads itself.
fn preamble(platform: &Platform) -> Option<Preamble> {
    match platform {
        Platform::Postgres(_) | Platform::Redshift(_) => Some(Preamble::Postgres),
        Platform::Snowflake(_) | Platform::Databricks(_) | Platform::Trino(_) | Platform::Bigquery(_) => {
            Some(Preamble::None)
        }
        // MySQL and SQL Server start TLS inside their own handshake; their drivers check the name (`verify-full`).
        Platform::Mysql(_) | Platform::Sqlserver(_) => None,
    }
}

async fn tls_name(s: &Subject<'_>, host: &str, port: u16, tls: TlsMode) -> Outcome {
    if tls == TlsMode::Disable {
        return Outcome::skipped("the connection does not use TLS (`tls: disable`)");
    }
    let Some(preamble) = preamble(&s.connection.platform) else {
        return Outcome::skipped(
            "this platform starts TLS inside its own sign-in: its driver checks the certificate's name with \
             `tls: verify-full`",
        );
    };
    match certificate_names(s.policy, &s.route, host, port, preamble).await {
        Ok(names) if names.iter().any(|n| name_covers(n, host)) => {
            Outcome::passed(format!("the certificate is for `{host}` ({})", names.join(", ")))
        }
        Ok(names) => Outcome::failed(
            format!(
                "the certificate is for {}, not for the connection's host `{host}`",
                if names.is_empty() { "no name".to_string() } else { names.join(", ") }
            ),
            "use the host name the certificate is for (a private link's own name, such as Snowflake's \
             privatelink-account-url), or install a certificate for this name on the server",
        ),
        Err(TlsProbeError::NoTls(why)) if tls == TlsMode::Prefer => Outcome::warning(
            format!("the server does not offer TLS ({why}), so `prefer` sends in plain text"),
            "turn on TLS on the server and set `tls: verify-full`",
        ),
        Err(err) => Outcome::failed(err.to_string(), "turn on TLS on the server, or correct the host and port"),
    }
}

async fn login(s: &Subject<'_>) -> Outcome {
    match s.warehouse.ping().await {
        Ok(()) => Outcome::passed(format!("signed in as `{}`", s.connection.platform.endpoint().user)),
        Err(e) => Outcome::failed(e.to_string(), "check the user, password (or key) and database the connection names"),
    }
}

/// A load into a probe table that byob stops before its end: the platform must roll it back, so it creates
/// the table (and with `row`, inserts into it) and keeps nothing.
async fn probe_load(s: &Subject<'_>, row: bool) -> Outcome {
    let table = TableName { schema: None, name: format!("byob_probe_{}", s.run) };
    let target = LoadTarget {
        table: table.clone(),
        mode: LoadMode::Create,
        columns: vec![Column { name: "probe".into(), column_type: ColumnType::Integer, nullable: true }],
        ledger: None,
    };
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    if row {
        let batch = Batch { width: 1, cells: vec![Cell::Integer(1)], ..Batch::default() };
        let _ = tx.send(LoadItem::Batch(batch)).await;
    }
    drop(tx);
    let schema = s.connection.platform.endpoint().default_schema;
    let what = if row { "insert into" } else { "create" };
    match s.warehouse.load(&target, rx).await {
        Err(WarehouseError::Aborted) => {
            Outcome::passed(format!("may {what} a table in `{schema}` (the probe `{}` was rolled back)", table.name))
        }
        Ok(_) => Outcome::failed(
            format!("the platform kept the probe table `{}` of a load byob stopped", table.name),
            format!("drop `{schema}.{}`; report this platform's behaviour to byob", table.name),
        ),
        Err(e) => Outcome::failed(
            format!("byob may not {what} a table in `{schema}`: {e}"),
            format!("grant the connection's user CREATE and INSERT on schema `{schema}`"),
        ),
    }
}

async fn read(s: &Subject<'_>) -> Outcome {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let query = ExportQuery::Sql("SELECT 1 AS probe".into());
    let drain = async {
        while let Some(item) = rx.recv().await {
            if let QueryItem::Batch(batch) = item {
                batch.done();
            }
        }
    };
    let (outcome, ()) = tokio::join!(s.warehouse.query(&query, tx), drain);
    match outcome {
        Ok(_) => Outcome::passed("ran a read-only query"),
        Err(e) => Outcome::failed(format!("a read-only query failed: {e}"), "grant the connection's user SELECT"),
    }
}

/// Whether the platform reads the customer's bucket itself, as a pulled load would: byob writes a one-row probe
/// file where the org's uploads are staged, grants the platform what a pulled load gets (its storage
/// integration, or credentials byob vends for exactly that object for 15 minutes), has it load the probe into
/// a probe table, then drops the table and deletes the file.
async fn read_bucket(s: &Subject<'_>, bucket: Option<&BucketAccess<'_>>) -> Outcome {
    let pulls = matches!(
        s.connection.platform,
        Platform::Snowflake(_)
            | Platform::Redshift(_)
            | Platform::Databricks(_)
            | Platform::Trino(_)
            | Platform::Bigquery(_)
    );
    if !pulls {
        return Outcome::skipped("byob streams loads into this platform: it never reads the bucket itself");
    }
    let Some(access) = bucket else {
        return Outcome::skipped("the org stages uploads in byob's default storage, which platforms do not read");
    };
    let org = s.connection.org_id;
    let key = match access.client.key(&format!(".byob/verify/{}.csv", s.run)) {
        Ok(key) => key,
        Err(e) => return Outcome::failed(format!("the probe's key: {e}"), "check the uploads integration's prefix"),
    };
    let written = access.client.store().put(&key, object_store::PutPayload::from(b"probe\n1\n".to_vec())).await;
    if let Err(e) = written {
        return Outcome::skipped(format!(
            "byob could not stage the probe in the uploads bucket ({e}); the integration's own report says why"
        ));
    }
    let outcome = pull_probe(s, access, org, key.as_ref()).await;
    if let Err(e) = access.client.store().delete(&key).await {
        tracing::warn!(error = %e, key = %key, "the connection probe could not be deleted");
    }
    outcome
}

async fn pull_probe(s: &Subject<'_>, access: &BucketAccess<'_>, org: byob_core::OrgId, key: &str) -> Outcome {
    let platform = s.warehouse.platform();
    let read = access
        .router
        .platform_read(access.ctx, org, Some(access.integration), key, s.warehouse.pull_integration())
        .await;
    let (url, region, credentials) = match read {
        Ok(read) => read,
        Err(why) => return Outcome::skipped(format!("pulled loads cannot be granted here: {why}")),
    };
    let grant = match &credentials {
        PullCredentials::Integration(name) => format!("through `{name}`"),
        PullCredentials::AwsSession { .. } | PullCredentials::AzureSas { .. } => {
            "with credentials byob vended for the probe alone (15 minutes)".to_string()
        }
    };
    let table = TableName { schema: None, name: format!("byob_probe_{}", s.run) };
    let target = LoadTarget {
        table: table.clone(),
        mode: LoadMode::Create,
        columns: vec![Column { name: "probe".into(), column_type: ColumnType::Integer, nullable: true }],
        ledger: None,
    };
    let format = PullFormat { delimiter: b',', header: true, null_tokens: Vec::new() };
    let source = PullSource { url: url.clone(), region, credentials, format };
    match s.warehouse.pull(&target, &source).await {
        Ok(_) => {
            if let Err(e) = s.warehouse.drop_probe(&table).await {
                tracing::warn!(error = %e, table = %table, "the connection's probe table could not be dropped");
            }
            Outcome::passed(format!("{platform} read the probe {url} {grant}"))
        }
        Err(WarehouseError::Unsupported(why)) => {
            Outcome::skipped(format!("{platform} does not pull this probe: {why}"))
        }
        Err(e) => Outcome::failed(
            format!("{platform} could not read the probe {url} {grant}: {e}"),
            "let the platform read the uploads bucket: its storage integration (or IAM role, external catalog) needs              read access to the prefix; until then loads are streamed by byob",
        ),
    }
}

/// The org's uploads bucket, where a pulled load's file lives.
pub(super) struct BucketAccess<'a> {
    pub router: &'a crate::StorageRouter,
    pub ctx: &'a crate::RequestContext,
    pub client: byob_ports::storage::StorageClient,
    pub integration: byob_core::IntegrationId,
}

pub(super) fn event_payload(c: &Connection, report: &ConnectionReport, check: &CheckResult) -> serde_json::Value {
    json!({
        "connection": c.id, "name": c.name, "check": check.name, "message": check.message,
        "remediation": check.remediation, "verification": report.id,
    })
}

/// The stored report, if any.
pub(super) fn stored(value: serde_json::Value) -> Result<ConnectionReport, ServiceError> {
    serde_json::from_value(value).map_err(|e| {
        ServiceError::Catalog(byob_ports::catalog::CatalogError::Corrupt(format!("connection report: {e}")))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_check_is_documented_in_order() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/connections.md");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let section = text.split("## Connection checks\n").nth(1).unwrap_or_default();
        let documented: Vec<&str> =
            section.lines().filter_map(|l| l.strip_prefix("| `")).filter_map(|l| l.split('`').next()).collect();
        assert_eq!(documented, super::ALL_CONNECTION_CHECKS.to_vec(), "docs/connections.md's checks table");
    }
}
