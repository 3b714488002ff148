//! Connections to data platforms: admins create and delete them, members use them. The embedded warehouse
//! `local` is always listed and cannot be changed.

use std::sync::Arc;

use byob_core::{
    AuditOutcome, ConnectionId, OrgId, SecretId, codes,
    connection::{Connection, LOCAL_CONNECTION, MemberAccess, TableScope},
    location::FieldError,
    table::{Column, TableName, check_identifier},
};
use byob_ports::warehouse::{LocalWarehouses, ServerSettings, Warehouse, WarehouseError};
use serde_json::json;

mod api;
mod network;
mod reporting;
mod setup;
mod verify;

pub use api::{ConnectionTest, ConnectionView, CreateConnection, TableView, TrustHostKey, UpdateConnection};
pub use setup::NetworkArtifact;
pub use verify::{ALL_CONNECTION_CHECKS, ConnectionReport};

use super::platforms;
use crate::{
    Access, Auditor, Deps, RequestContext, ServiceError,
    secrets::{reveal_owned, seal_owned},
};

/// What a member asks to do through a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Use<'a> {
    Create(&'a TableName),
    Append(&'a TableName),
    Replace(&'a TableName),
    ExportTable,
    Query,
}

impl<'a> Use<'a> {
    /// What a load in `mode` does to `table`.
    pub(crate) fn load(mode: super::load::Mode, table: &'a TableName) -> Self {
        match mode {
            super::load::Mode::Create => Self::Create(table),
            super::load::Mode::Append => Self::Append(table),
            super::load::Mode::Replace => Self::Replace(table),
        }
    }
}

/// Whether the caller acts with an admin's rights (an admin, the operator, byob itself).
fn acts_as_admin(ctx: &RequestContext) -> bool {
    match &ctx.principal {
        crate::Principal::Member { role, .. } => *role == byob_core::Role::Admin,
        crate::Principal::Operator | crate::Principal::System => true,
    }
}

/// A connection ready for use.
#[derive(Debug, Clone)]
pub(crate) struct OpenConnection {
    pub name: String,
    pub warehouse: Arc<dyn Warehouse>,
}

#[derive(Debug, Clone)]
pub struct ConnectionService {
    deps: Deps,
    auditor: Auditor,
    local: Arc<LocalWarehouses>,
    /// No statement outlives a job's deadline, even one whose job was abandoned.
    statement_timeout: std::time::Duration,
    events: crate::health::Events,
    /// The org's uploads bucket, for the check that the platform reads it.
    router: crate::StorageRouter,
    /// Time between two scheduled verifications of a connection (the health monitor's interval).
    monitor_interval: chrono::Duration,
}

fn check_name(name: &str) -> Result<(), FieldError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        && !name.contains('.');
    if !ok {
        return Err(FieldError::new(
            "name",
            byob_core::rules::CONNECTION_NAME,
            "use 1-63 letters, digits, `-` or `_` (the name is written before the table: NAME.TABLE)",
        ));
    }
    if name == LOCAL_CONNECTION {
        return Err(FieldError::new(
            "name",
            byob_core::rules::CONNECTION_NAME_TAKEN,
            "`local` is the embedded warehouse",
        ));
    }
    Ok(())
}

fn check_member_access(access: &MemberAccess) -> Result<(), FieldError> {
    match &access.schema {
        Some(schema) => check_identifier("member_access.schema", schema),
        None => Ok(()),
    }
}

fn check_host(host: &str) -> Result<(), FieldError> {
    let ok = !host.is_empty()
        && host.len() <= 253
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'[' | b']'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::new(
            "host",
            byob_core::rules::CONNECTION_HOST,
            "give a host name or IP address (letters, digits, `.`, `-`)",
        ))
    }
}

impl ConnectionService {
    #[must_use]
    pub fn new(
        deps: Deps,
        auditor: Auditor,
        local: Arc<LocalWarehouses>,
        statement_timeout: std::time::Duration,
        events: crate::health::Events,
        router: crate::StorageRouter,
        monitor_interval: chrono::Duration,
    ) -> Self {
        Self { deps, auditor, local, statement_timeout, events, router, monitor_interval }
    }

    async fn member(&self, ctx: &RequestContext, org: OrgId) -> Result<(), ServiceError> {
        crate::tenancy::authorize(&self.deps, ctx, org, Access::Member).await
    }

    async fn admin(&self, ctx: &RequestContext, org: OrgId) -> Result<(), ServiceError> {
        crate::tenancy::authorize(&self.deps, ctx, org, Access::Admin).await
    }

    /// # Errors
    /// Forbidden unless admin; invalid fields; a taken name; catalog and secret-box errors.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: CreateConnection,
    ) -> Result<ConnectionView, ServiceError> {
        self.admin(ctx, org).await?;
        check_name(&req.name)?;
        let platform = platforms::check_platform(&req.platform)?;
        let network_req = req
            .network
            .clone()
            .unwrap_or_else(|| byob_core::network::NetworkRequest { mode: "public".into(), ..Default::default() });
        if let Some(host) = &req.host {
            check_host(host)?;
            // Behind a bastion or a proxy the host is the customer's network's to resolve; byob checks the hop.
            if !matches!(network_req.mode.as_str(), "ssh_tunnel" | "proxy") {
                let port = req.port.unwrap_or_else(|| platforms::default_port(platform));
                ServiceError::check_host(&self.deps.network, host, port).await?;
            }
        }
        for (field, value) in [("database", &req.database), ("user", &req.user), ("catalog", &req.catalog)] {
            if let Some(value) = value {
                check_identifier(field, value)?;
            }
        }
        if let Some(schema) = &req.schema {
            check_identifier("schema", schema)?;
        }
        let member_access = req.member_access.clone().unwrap_or_default();
        check_member_access(&member_access)?;
        if self.deps.catalog.find_connection(org, &req.name).await?.is_some() {
            return Err(ServiceError::Conflict(format!("a connection named `{}` exists already", req.name)));
        }
        let now = self.deps.clock.now();
        let id = ConnectionId::generate();
        let mut owned = Vec::new();
        // The connection's one secret: a password or token, Snowflake's private key, or BigQuery's service
        // account key.
        let password = match req.password.as_ref().or(req.private_key.as_ref()).or(req.service_account_key.as_ref()) {
            Some(password) => {
                let secret_id = SecretId::generate();
                owned.push(seal_owned(
                    &self.deps,
                    org,
                    secret_id,
                    format!("{id}/password"),
                    "password of a data-platform connection".into(),
                    password.expose().as_bytes(),
                    None,
                )?);
                Some(secret_id)
            }
            None => None,
        };
        let name = req.name.clone();
        let target = platforms::target(platform, req, password, member_access)?;
        network::check(&network_req, &target)?;
        if let Some(hop) = &network_req.host {
            ServiceError::check_host(&self.deps.network, hop, network_req.hop_port()).await?;
        }
        let network = network::make(&self.deps, org, id, &network_req, &mut owned)?;
        let connection =
            Connection { id, org_id: org, name, platform: target, network, created_at: now, updated_at: now };
        self.deps.catalog.insert_connection(&connection, &owned).await?;
        let view = ConnectionView::of(&connection);
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::CONNECTION_CREATE,
                Some(id.to_string()),
                AuditOutcome::Success,
                json!({
                    "name": view.name, "platform": view.platform, "host": view.host, "database": view.database,
                    "network": connection.network.mode(),
                }),
            )
            .await?;
        Ok(view)
    }

    /// Changes what members may do through a connection (admins).
    ///
    /// # Errors
    /// Forbidden unless admin; not found; `local` has no member access to set; an invalid schema.
    pub async fn update(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        req: UpdateConnection,
    ) -> Result<ConnectionView, ServiceError> {
        self.admin(ctx, org).await?;
        if name == LOCAL_CONNECTION {
            return Err(ServiceError::Refused {
                code: byob_core::codes::CONNECTION_BUILTIN,
                message: "`local` is the embedded warehouse, the org's own: members may do everything there".into(),
            });
        }
        check_member_access(&req.member_access)?;
        let mut c = self
            .find(org, name)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::CONNECTION_NOT_FOUND, name))?;
        *c.platform.member_access_mut() = req.member_access;
        c.updated_at = self.deps.clock.now();
        if !self.deps.catalog.update_connection(&c).await? {
            return Err(ServiceError::not_found(byob_core::codes::CONNECTION_NOT_FOUND, name));
        }
        let view = ConnectionView::of(&c);
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::CONNECTION_UPDATE,
                Some(c.id.to_string()),
                AuditOutcome::Success,
                json!({ "name": view.name, "member_access": view.member_access }),
            )
            .await?;
        Ok(view)
    }

    /// Refuses what a member may not do through the connection (admins, and the embedded warehouse, are not
    /// limited).
    ///
    /// # Errors
    /// `connection-access-denied`; not found.
    pub(crate) async fn permit(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        what: Use<'_>,
    ) -> Result<(), ServiceError> {
        if acts_as_admin(ctx) || name == LOCAL_CONNECTION {
            return Ok(());
        }
        let c = self
            .find(org, name)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::CONNECTION_NOT_FOUND, name))?;
        let access = c.platform.member_access();
        let default_schema = c.platform.endpoint().default_schema;
        let refuse = |what: String| {
            Err(ServiceError::Refused {
                code: byob_core::codes::CONNECTION_ACCESS_DENIED,
                message: format!(
                    "members may not {what} through connection `{}`; an admin may allow it (its member_access)",
                    c.name
                ),
            })
        };
        let (table, scope, verb) = match what {
            Use::Query if !access.run_queries => return refuse("run their own SQL".into()),
            Use::ExportTable if !access.export_tables => return refuse("export tables".into()),
            Use::Query | Use::ExportTable => return Ok(()),
            Use::Create(table) => (table, None, "create"),
            Use::Append(table) => (table, Some(access.append), "append to"),
            Use::Replace(table) => (table, Some(access.replace), "replace"),
        };
        let schema = table.schema.clone().unwrap_or_else(|| default_schema.to_string());
        if let Some(only) = &access.schema
            && *only != schema
        {
            return refuse(format!("write to schema `{schema}` (only to `{only}`)"));
        }
        let qualified = format!("{schema}.{}", table.name);
        match scope {
            None if access.create_tables => Ok(()),
            None => refuse("create tables".into()),
            Some(TableScope::Any) => Ok(()),
            Some(TableScope::None) => refuse(format!("{verb} tables")),
            Some(TableScope::Byob) => {
                if self.deps.catalog.connection_table_recorded(c.id, &qualified).await? {
                    Ok(())
                } else {
                    refuse(format!("{verb} `{qualified}`, a table byob did not create"))
                }
            }
        }
    }

    /// Records a table a load created through a connection, which members may then append to and replace.
    pub(crate) async fn record_created(&self, org: OrgId, name: &str, table: &TableName) -> Result<(), ServiceError> {
        if name == LOCAL_CONNECTION {
            return Ok(());
        }
        let Some(c) = self.find(org, name).await? else { return Ok(()) };
        let default_schema = c.platform.endpoint().default_schema;
        let qualified = format!("{}.{}", table.schema.as_deref().unwrap_or(default_schema), table.name);
        let now = self.deps.clock.now();
        Ok(self.deps.catalog.record_connection_table(c.id, &qualified, "byob", now).await?)
    }

    /// # Errors
    /// Not a member; catalog errors.
    pub async fn list(&self, ctx: &RequestContext, org: OrgId) -> Result<Vec<ConnectionView>, ServiceError> {
        self.member(ctx, org).await?;
        let mut all = vec![ConnectionView::local()];
        all.extend(self.deps.catalog.list_connections(org).await?.iter().map(ConnectionView::of));
        Ok(all)
    }

    async fn find(&self, org: OrgId, name: &str) -> Result<Option<Connection>, ServiceError> {
        if let Ok(id) = name.parse::<ConnectionId>() {
            return Ok(self.deps.catalog.get_connection(org, id).await?);
        }
        Ok(self.deps.catalog.find_connection(org, name).await?)
    }

    /// # Errors
    /// Not a member; not found.
    pub async fn get(&self, ctx: &RequestContext, org: OrgId, name: &str) -> Result<ConnectionView, ServiceError> {
        self.member(ctx, org).await?;
        if name == LOCAL_CONNECTION {
            return Ok(ConnectionView::local());
        }
        let c = self
            .find(org, name)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::CONNECTION_NOT_FOUND, name))?;
        Ok(ConnectionView::of(&c))
    }

    /// # Errors
    /// Forbidden unless admin; not found; `local` cannot be deleted.
    pub async fn delete(&self, ctx: &RequestContext, org: OrgId, name: &str) -> Result<(), ServiceError> {
        self.admin(ctx, org).await?;
        if name == LOCAL_CONNECTION {
            return Err(ServiceError::Refused {
                code: byob_core::codes::CONNECTION_BUILTIN,
                message: "`local` is the embedded warehouse and cannot be deleted".into(),
            });
        }
        let c = self
            .find(org, name)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::CONNECTION_NOT_FOUND, name))?;
        self.deps.catalog.delete_connection(org, c.id).await?;
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::CONNECTION_DELETE,
                Some(c.id.to_string()),
                AuditOutcome::Success,
                json!({ "name": c.name }),
            )
            .await?;
        Ok(())
    }

    /// The connection's name, checking it exists, without opening it (no secret is revealed).
    pub(crate) async fn resolve_name(&self, org: OrgId, name: &str) -> Result<String, ServiceError> {
        if name == LOCAL_CONNECTION {
            return Ok(LOCAL_CONNECTION.into());
        }
        Ok(self
            .find(org, name)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::CONNECTION_NOT_FOUND, name))?
            .name)
    }

    /// Refuses an export query the connection's platform cannot hold to reading: SQL Server has no read-only
    /// transaction, so its queries are checked word by word ([`byob_core::tsql`]) when the export is made.
    pub(crate) async fn check_query(&self, org: OrgId, name: &str, sql: &str) -> Result<(), ServiceError> {
        if let Some(connection) = self.find(org, name).await?
            && matches!(connection.platform, byob_core::connection::Platform::Sqlserver(_))
        {
            byob_core::tsql::check_read_only("query", sql)?;
        }
        Ok(())
    }

    /// Resolves a connection by name or id, revealing its password (audited as `secret.use`).
    pub(crate) async fn open(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
    ) -> Result<OpenConnection, ServiceError> {
        if name == LOCAL_CONNECTION {
            let warehouse: Arc<dyn Warehouse> = self.local.for_org(&org).await.map_err(warehouse_error)?;
            return Ok(OpenConnection { name: LOCAL_CONNECTION.into(), warehouse });
        }
        let c = self
            .find(org, name)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::CONNECTION_NOT_FOUND, name))?;
        let (warehouse, _) = self.warehouse_of(ctx, &c).await?;
        Ok(OpenConnection { name: c.name, warehouse })
    }

    /// The connection's warehouse and the route it takes, revealing its secrets (audited as `secret.use`).
    async fn warehouse_of(
        &self,
        ctx: &RequestContext,
        c: &Connection,
    ) -> Result<(Arc<dyn Warehouse>, byob_ports::net::route::Route), ServiceError> {
        let org = c.org_id;
        let password = match c.platform.password() {
            Some(id) => Some(reveal_owned(&self.deps, &self.auditor, ctx, org, id).await?),
            None => None,
        };
        let e = c.platform.endpoint();
        let route = network::route(&self.deps, &self.auditor, ctx, org, &c.network).await?;
        let settings = ServerSettings {
            host: e.host.into(),
            port: e.port,
            database: e.database.into(),
            user: e.user.into(),
            password,
            tls: e.tls,
            schema: e.default_schema.into(),
            network: self.deps.network.clone(),
            route: route.clone(),
            statement_timeout: self.statement_timeout,
        };
        Ok((platforms::warehouse(&c.platform, settings), route))
    }

    /// Connects and runs a trivial query (members).
    ///
    /// # Errors
    /// Not a member; not found. A failed connection is a result, not an error.
    pub async fn test(&self, ctx: &RequestContext, org: OrgId, name: &str) -> Result<ConnectionTest, ServiceError> {
        self.member(ctx, org).await?;
        let open = self.open(ctx, org, name).await?;
        let started = std::time::Instant::now();
        let outcome = open.warehouse.ping().await;
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let ok = outcome.is_ok();
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::CONNECTION_TEST,
                Some(open.name.clone()),
                if ok { AuditOutcome::Success } else { AuditOutcome::Failed },
                json!({}),
            )
            .await?;
        Ok(ConnectionTest {
            ok,
            platform: open.warehouse.platform().into(),
            duration_ms,
            error: outcome.err().map(|e| e.to_string()),
        })
    }

    /// # Errors
    /// Not a member; not found; `connection-failed` when the platform cannot be reached.
    pub async fn tables(&self, ctx: &RequestContext, org: OrgId, name: &str) -> Result<Vec<TableView>, ServiceError> {
        self.member(ctx, org).await?;
        let open = self.open(ctx, org, name).await?;
        let tables = open.warehouse.tables().await.map_err(warehouse_error)?;
        Ok(tables.into_iter().map(|t| TableView { schema: t.schema, name: t.name }).collect())
    }

    /// # Errors
    /// Not a member; not found (connection or table); `connection-failed`.
    pub async fn columns(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        name: &str,
        table: &str,
    ) -> Result<Vec<Column>, ServiceError> {
        self.member(ctx, org).await?;
        let table = TableName::parse("table", table)?;
        let open = self.open(ctx, org, name).await?;
        open.warehouse
            .columns(&table)
            .await
            .map_err(warehouse_error)?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::TABLE_NOT_FOUND, &table))
    }
}

/// A platform error as the API reports it.
pub(crate) fn warehouse_error(e: WarehouseError) -> ServiceError {
    let code = match &e {
        WarehouseError::Connect(_) => codes::CONNECTION_FAILED,
        WarehouseError::TableExists(_) => codes::TABLE_EXISTS,
        WarehouseError::TableMissing(_) => codes::TABLE_MISSING,
        WarehouseError::Unsupported(_) => codes::PLATFORM_UNSUPPORTED,
        WarehouseError::AddressRefused(_) => codes::ADDRESS_NOT_ALLOWED,
        WarehouseError::Rejected(_) | WarehouseError::Aborted | WarehouseError::Database(_) => codes::LOAD_REJECTED,
    };
    ServiceError::Refused { code, message: e.to_string() }
}
