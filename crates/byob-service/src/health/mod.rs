//! Keeping integrations healthy after set-up: events (to the audit log and to webhooks), signed webhook delivery
//! with retries, and the monitor that re-verifies on a schedule and warns before credentials expire.

mod events;
mod monitor;
mod signature;
mod webhooks;

/// Orgs the monitor and webhook delivery serve at once: one org's slow bucket or endpoint delays only itself, and
/// no pass opens connections without bound.
pub(crate) const ORGS_AT_ONCE: usize = 8;

/// Runs `pass` over each org's share of `due` (kept in order), orgs side by side — at most [`ORGS_AT_ONCE`] — so a
/// slow bucket or endpoint delays only its own org; returns each org's result, or the first error.
pub(crate) async fn per_org<'a, T, R, F>(
    due: impl IntoIterator<Item = (byob_core::OrgId, T)>,
    pass: F,
) -> Result<Vec<R>, crate::ServiceError>
where
    F: Fn(byob_core::OrgId, Vec<T>) -> futures::future::BoxFuture<'a, Result<R, crate::ServiceError>>,
{
    use futures::StreamExt as _;
    let mut by_org: std::collections::BTreeMap<byob_core::OrgId, Vec<T>> = std::collections::BTreeMap::new();
    for (org, item) in due {
        by_org.entry(org).or_default().push(item);
    }
    let passes = by_org.into_iter().map(|(org, items)| pass(org, items));
    let results: Vec<Result<R, crate::ServiceError>> =
        futures::stream::iter(passes).buffer_unordered(ORGS_AT_ONCE).collect().await;
    results.into_iter().collect()
}

pub use events::Events;
pub use monitor::{HealthMonitor, MonitorSettings, TickReport};
pub use signature::{SIGNATURE_HEADER, sign, verify_signature};
pub use webhooks::{CreateWebhook, CreatedWebhook, DispatchReport, MAX_ATTEMPTS, WebhookService};
