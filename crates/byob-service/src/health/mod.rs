//! Keeping integrations healthy after set-up: events (to the audit log and to webhooks), signed webhook delivery
//! with retries, and the monitor that re-verifies on a schedule and warns before credentials expire.

mod events;
mod monitor;
mod signature;
mod webhooks;

/// Orgs the monitor and webhook delivery serve at once: one org's slow bucket or endpoint delays only itself, and
/// no pass opens connections without bound.
pub(crate) const ORGS_AT_ONCE: usize = 8;

pub use events::Events;
pub use monitor::{HealthMonitor, MonitorSettings, TickReport};
pub use signature::{SIGNATURE_HEADER, sign, verify_signature};
pub use webhooks::{CreateWebhook, CreatedWebhook, DispatchReport, MAX_ATTEMPTS, WebhookService};
