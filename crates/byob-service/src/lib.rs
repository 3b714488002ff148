//! Use cases. Every operation takes the caller's [`RequestContext`], checks what the caller may do, and writes
//! the audit trail; the HTTP layer only translates.

mod artifacts;
mod audit;
mod auth;
mod capability;
mod context;
pub mod data;
mod error;
pub mod health;
mod identities;
mod integrations;
pub mod jobs;
mod permissions;
mod policy;
mod providers;
pub mod quota;
mod records;
mod reports;
mod routing;
mod secrets;
pub mod setup;
pub mod tabular;
mod tenancy;
mod validate;
pub mod verify;

use std::sync::Arc;

use byob_ports::{catalog::Catalog, clock::Clock, secretbox::SecretBox};

pub use audit::{AuditService, Auditor};
pub use auth::{Access, Authenticator, OperatorToken, Principal};
pub use context::RequestContext;
pub use error::ServiceError;
pub use integrations::{CreateIntegration, IntegrationService, IntegrationView, UpdateIntegration};
pub use policy::IntegrationPolicy;
pub use providers::{CredentialsInput, GcpIdentity, StorageSettings};
pub use routing::{RoutedStorage, StorageRouter};
pub use secrets::{CreateSecret, RewrapReport, SecretService, UpdateSecret};
pub use tenancy::{CreateMember, CreateToken, CreatedToken, MemberService, OrgService, TokenService, UpdateMember};

/// Everything a use case needs from outside, built once at start-up.
#[derive(Debug, Clone)]
pub struct Deps {
    pub catalog: Arc<dyn Catalog>,
    pub secret_box: Arc<dyn SecretBox>,
    pub clock: Arc<dyn Clock>,
    /// What the operator allows integrations to do.
    pub integrations: IntegrationPolicy,
    /// Where byob may connect on a tenant's behalf (integration endpoints, webhooks, database hosts).
    pub network: byob_ports::net::NetworkPolicy,
    /// Per-org limits.
    pub quotas: quota::Quotas,
}

/// Operator settings of the data flows.
#[derive(Debug, Clone)]
pub struct DataSettings {
    /// The embedded warehouse, the connection every org sees as `local` (one file per org).
    pub local_warehouses: Arc<byob_ports::warehouse::LocalWarehouses>,
    pub uploads: data::UploadSettings,
    pub attachments: data::AttachmentSettings,
    pub assets: data::AssetOperatorSettings,
    pub migrations: data::MigrationSettings,
    pub jobs: jobs::JobSettings,
    /// Hours after which an upload still waiting for its bytes is aborted by the janitor.
    pub abort_incomplete_after_hours: u32,
}

/// The services, sharing one set of dependencies.
#[derive(Debug, Clone)]
pub struct Services {
    pub auth: Authenticator,
    pub orgs: OrgService,
    pub members: MemberService,
    pub tokens: TokenService,
    pub secrets: SecretService,
    pub audit: AuditService,
    pub integrations: IntegrationService,
    pub setup: setup::SetupService,
    pub storage: StorageRouter,
    pub verify: verify::VerificationService,
    pub events: health::Events,
    pub webhooks: health::WebhookService,
    pub monitor: health::HealthMonitor,
    pub connections: data::ConnectionService,
    pub uploads: data::UploadService,
    pub attachments: data::AttachmentService,
    pub assets: data::AssetService,
    pub migrations: data::MigrationService,
    pub loads: data::Loads,
    pub exports: data::ExportService,
    pub imports: data::ImportService,
    pub jobs: jobs::JobService,
    pub runner: jobs::JobRunner,
    pub janitor: data::Janitor,
    /// For layers that must audit on their own (an access refused before any use case runs).
    pub auditor: Auditor,
}

impl Services {
    #[must_use]
    pub fn new(
        deps: &Deps,
        operator_token: OperatorToken,
        storage: StorageSettings,
        monitor: health::MonitorSettings,
        data: DataSettings,
    ) -> Self {
        let auditor = Auditor::new(deps.catalog.clone(), deps.clock.clone());
        let sts = storage.sts.clone();
        let router = StorageRouter::new(deps.clone(), auditor.clone(), storage);
        let events = health::Events::new(deps.clone(), auditor.clone());
        let verify = verify::VerificationService::new(deps.clone(), auditor.clone(), router.clone(), events.clone());
        let connections = data::ConnectionService::new(
            deps.clone(),
            auditor.clone(),
            data.local_warehouses,
            data.jobs.deadline,
            events.clone(),
            router.clone(),
            monitor.interval,
        );
        let uploads = data::UploadService::new(deps.clone(), auditor.clone(), router.clone(), data.uploads);
        let jobs = jobs::JobService::new(deps.clone(), auditor.clone());
        let loads = data::Loads::new(uploads.clone(), connections.clone(), jobs.clone());
        let exports = data::ExportService::new(
            deps.clone(),
            auditor.clone(),
            router.clone(),
            connections.clone(),
            events.clone(),
        );
        let imports =
            data::ImportService::new(deps.clone(), auditor.clone(), router.clone(), connections.clone(), loads.clone());
        let attachments = data::AttachmentService::new(
            deps.clone(),
            auditor.clone(),
            router.clone(),
            uploads.clone(),
            jobs.clone(),
            events.clone(),
            data.attachments,
        );
        let assets = data::AssetService::new(
            deps.clone(),
            auditor.clone(),
            router.clone(),
            uploads.clone(),
            jobs.clone(),
            events.clone(),
            data.assets,
        );
        let migrations = data::MigrationService::new(
            deps.clone(),
            auditor.clone(),
            router.clone(),
            jobs.clone(),
            events.clone(),
            data.migrations,
        );
        let kinds = jobs::JobKinds {
            loads: loads.clone(),
            exports: exports.clone(),
            imports: imports.clone(),
            attachments: attachments.clone(),
            assets: assets.clone(),
            migrations: migrations.clone(),
        };
        let runner = jobs::JobRunner::new(deps.clone(), data.jobs, kinds);
        let janitor = data::Janitor::new(
            deps.clone(),
            uploads.clone(),
            exports.clone(),
            attachments.clone(),
            assets.clone(),
            data.abort_incomplete_after_hours,
        );
        let monitored = connections.clone();
        Self {
            connections,
            uploads,
            attachments,
            assets,
            migrations,
            loads,
            exports,
            imports,
            jobs,
            runner,
            janitor,
            auth: Authenticator::new(deps.clone(), operator_token),
            orgs: OrgService::new(deps.clone(), auditor.clone()),
            members: MemberService::new(deps.clone(), auditor.clone()),
            tokens: TokenService::new(deps.clone(), auditor.clone()),
            secrets: SecretService::new(deps.clone(), auditor.clone()),
            audit: AuditService::new(deps.clone(), auditor.clone()),
            integrations: IntegrationService::new(deps.clone(), auditor.clone(), deps.integrations.clone(), sts),
            setup: setup::SetupService::new(deps.clone(), auditor.clone()),
            storage: router.clone(),
            monitor: health::HealthMonitor::new(deps.clone(), events.clone(), verify.clone(), monitored, monitor),
            webhooks: health::WebhookService::new(deps.clone(), auditor.clone(), events.clone()),
            verify,
            events,
            auditor,
        }
    }
}
