//! Webhook endpoints (admins register them per org) and their delivery: each pending delivery is POSTed as JSON
//! with a signature header, retried with exponential backoff, and logged attempt by attempt.

use std::time::Duration;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use byob_core::{
    AuditOutcome, OrgId, SecretId, Sensitive, WebhookId,
    event::{Delivery, DeliveryStatus, EVENT_TYPES, Event, Webhook},
    location::{Endpoint, FieldError},
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{
    Events,
    signature::{SIGNATURE_HEADER, sign},
};
use crate::{Access, Auditor, Deps, RequestContext, ServiceError, secrets::open_text, secrets::seal_owned};

/// Attempts before a delivery is given up: the first, then retries after 30 s, 1, 2, 4, 8, 16 and 32 minutes.
pub const MAX_ATTEMPTS: u32 = 8;
const FIRST_RETRY: chrono::Duration = chrono::Duration::seconds(30);
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where to POST events: https (plain http only where the operator allows it for integration endpoints).
    pub url: String,
    /// Event types to deliver; empty or absent for all.
    #[serde(default)]
    pub event_types: Vec<String>,
}

/// A new endpoint with its signing secret, shown this once.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// Verifies the `byob-signature` header; byob keeps it encrypted and never shows it again.
    pub secret: String,
}

/// What one dispatch pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DispatchReport {
    pub delivered: u32,
    pub retrying: u32,
    pub failed: u32,
}

#[derive(Debug, Clone)]
pub struct WebhookService {
    deps: Deps,
    auditor: Auditor,
    events: Events,
    http: reqwest::Client,
}

/// When attempt `attempts + 1` runs after `attempts` failures.
fn backoff(attempts: u32) -> chrono::Duration {
    FIRST_RETRY * 2_i32.saturating_pow(attempts.saturating_sub(1).min(16))
}

impl WebhookService {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor, events: Events) -> Self {
        // Endpoints are tenant-named: resolved through the network policy, and never redirected.
        let http = byob_ports::net::guarded_http_client(&deps.network)
            .timeout(DELIVERY_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { deps, auditor, events, http }
    }

    async fn admin(&self, ctx: &RequestContext, org: OrgId) -> Result<(), ServiceError> {
        crate::tenancy::authorize(&self.deps, ctx, org, Access::Admin).await
    }

    /// # Errors
    /// Not found; forbidden unless admin; an invalid URL or unknown event type; catalog and secret-box errors.
    pub async fn create(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        req: CreateWebhook,
    ) -> Result<CreatedWebhook, ServiceError> {
        self.admin(ctx, org).await?;
        let url = Endpoint::parse("url", &req.url, self.deps.integrations.http_endpoints)?;
        ServiceError::check_destination(&self.deps.network, url.as_str()).await?;
        crate::quota::check(&self.deps, org, byob_ports::catalog::Usage::Webhooks, 1).await?;
        let parsed = url::Url::parse(url.as_str()).map_err(|e| ServiceError::invalid("url", e.to_string()))?;
        if let Some(unknown) = req.event_types.iter().find(|t| !EVENT_TYPES.contains(&t.as_str())) {
            return Err(FieldError::new(
                "event_types",
                byob_core::rules::EVENT_TYPE_UNKNOWN,
                format!("`{unknown}` is not an event type; known: {}", EVENT_TYPES.join(", ")),
            )
            .into());
        }
        let now = self.deps.clock.now();
        let id = WebhookId::generate();
        let secret_id = SecretId::generate();
        let secret = format!(
            "whsec_{}",
            URL_SAFE_NO_PAD
                .encode(byob_core::random::bytes::<32>().map_err(|e| ServiceError::invalid("secret", e.to_string()))?)
        );
        // A webhook URL is often a credential itself (Slack's, Teams'): it is sealed with the signing secret, and
        // the catalog, the API and the audit trail keep only its origin.
        let sealed = serde_json::to_vec(&SealedEndpoint { secret: secret.clone(), url: url.to_string() })
            .map_err(|e| ServiceError::invalid("url", e.to_string()))?;
        let owned = seal_owned(
            &self.deps,
            org,
            secret_id,
            format!("{id}/secret"),
            "signing secret and URL of a webhook endpoint".into(),
            &sealed,
            None,
        )?;
        let mut event_types = req.event_types;
        event_types.sort();
        event_types.dedup();
        let webhook = Webhook {
            id,
            org_id: org,
            url: shown_url(&parsed),
            event_types,
            secret_id: Some(secret_id),
            created_at: now,
        };
        self.deps.catalog.insert_webhook(&webhook, &owned).await?;
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::WEBHOOK_CREATE,
                Some(id.to_string()),
                AuditOutcome::Success,
                json!({ "url": webhook.url, "event_types": webhook.event_types }),
            )
            .await?;
        Ok(CreatedWebhook { webhook, secret })
    }

    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn list(&self, ctx: &RequestContext, org: OrgId) -> Result<Vec<Webhook>, ServiceError> {
        self.admin(ctx, org).await?;
        Ok(self.deps.catalog.list_webhooks(org).await?)
    }

    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn delete(&self, ctx: &RequestContext, org: OrgId, id: WebhookId) -> Result<(), ServiceError> {
        self.admin(ctx, org).await?;
        if !self.deps.catalog.delete_webhook(org, id).await? {
            return Err(ServiceError::not_found(byob_core::codes::WEBHOOK_NOT_FOUND, id));
        }
        self.auditor
            .record(
                ctx,
                org,
                byob_core::actions::WEBHOOK_DELETE,
                Some(id.to_string()),
                AuditOutcome::Success,
                json!({}),
            )
            .await
    }

    /// The endpoint's delivery log, newest first.
    ///
    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn deliveries(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        id: WebhookId,
        limit: u32,
    ) -> Result<Vec<Delivery>, ServiceError> {
        self.admin(ctx, org).await?;
        if !self.deps.catalog.list_webhooks(org).await?.iter().any(|w| w.id == id) {
            return Err(ServiceError::not_found(byob_core::codes::WEBHOOK_NOT_FOUND, id));
        }
        Ok(self.deps.catalog.list_deliveries(org, id, limit.clamp(1, 500)).await?)
    }

    /// Queues a `webhook-test` event for the org's endpoints that accept it.
    ///
    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn send_test(&self, ctx: &RequestContext, org: OrgId) -> Result<Event, ServiceError> {
        self.admin(ctx, org).await?;
        self.events
            .emit(ctx, org, byob_core::event::WEBHOOK_TEST, None, json!({ "message": "a test event from byob" }))
            .await
    }

    /// Attempts every delivery that is due at `now`.
    ///
    /// # Errors
    /// Catalog errors; a failed delivery is a logged attempt, not an error.
    pub async fn dispatch(&self, now: DateTime<Utc>) -> Result<DispatchReport, ServiceError> {
        // Orgs side by side, each org's deliveries in order: a slow endpoint delays only its own org's events.
        let due = self.deps.catalog.due_deliveries(now, 100).await?.into_iter().map(|due| (due.1.org_id, due));
        let passes = super::per_org(due, |_, due| Box::pin(self.dispatch_org(due, now))).await?;
        let mut report = DispatchReport::default();
        for pass in passes {
            report.delivered += pass.delivered;
            report.retrying += pass.retrying;
            report.failed += pass.failed;
        }
        Ok(report)
    }

    async fn dispatch_org(
        &self,
        due: Vec<(Delivery, Webhook, Event)>,
        now: DateTime<Utc>,
    ) -> Result<DispatchReport, ServiceError> {
        let mut report = DispatchReport::default();
        for (delivery, webhook, event) in due {
            let outcome = self.attempt(&webhook, &event, now).await;
            let seen = delivery.attempts;
            let mut next = delivery;
            next.attempts += 1;
            next.updated_at = now;
            match outcome {
                Ok(code) => {
                    next.status = DeliveryStatus::Delivered;
                    next.next_attempt_at = None;
                    next.last_status_code = Some(code);
                    next.last_error = None;
                    report.delivered += 1;
                }
                Err((code, error)) => {
                    next.last_status_code = code;
                    next.last_error = Some(error);
                    if next.attempts >= MAX_ATTEMPTS {
                        next.status = DeliveryStatus::Failed;
                        next.next_attempt_at = None;
                        report.failed += 1;
                    } else {
                        next.next_attempt_at = Some(now + backoff(next.attempts));
                        report.retrying += 1;
                    }
                }
            }
            // Another byob process may have attempted it meanwhile; its record stands.
            self.deps.catalog.update_delivery(&next, seen).await?;
        }
        Ok(report)
    }

    async fn attempt(
        &self,
        webhook: &Webhook,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<u16, (Option<u16>, String)> {
        let sealed =
            self.sealed(webhook).await.map_err(|e| (None, format!("the signing secret cannot be opened: {e}")))?;
        let url = url::Url::parse(&sealed.url).map_err(|_| (None, "the stored URL is unusable".to_string()))?;
        self.deps.network.check_literal(&url).map_err(|e| (None, e.to_string()))?;
        let body = serde_json::to_vec(event).map_err(|e| (None, e.to_string()))?;
        let timestamp = now.timestamp();
        let response = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("user-agent", "byob-webhooks")
            .header("byob-event-id", event.id.to_string())
            .header("byob-event-type", &event.event_type)
            .header(SIGNATURE_HEADER, sign(&sealed.secret, timestamp, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| (None, delivery_error(e)))?;
        let code = response.status().as_u16();
        if response.status().is_success() {
            Ok(code)
        } else {
            Err((Some(code), format!("the endpoint answered {code}")))
        }
    }

    async fn sealed(&self, webhook: &Webhook) -> Result<SealedEndpoint, ServiceError> {
        let id =
            webhook.secret_id.ok_or_else(|| ServiceError::not_found(byob_core::codes::SECRET_NOT_FOUND, webhook.id))?;
        let stored = self
            .deps
            .catalog
            .get_owned_secret(webhook.org_id, id)
            .await?
            .ok_or_else(|| ServiceError::not_found(byob_core::codes::SECRET_NOT_FOUND, id))?;
        let opened: Sensitive<String> = open_text(&self.deps, webhook.org_id, id, &stored)?;
        // Endpoints registered before URLs were sealed hold the bare secret, and their URL in the catalog.
        match serde_json::from_str::<SealedEndpoint>(opened.expose()) {
            Ok(sealed) => Ok(sealed),
            Err(_) => Ok(SealedEndpoint { secret: opened.expose().clone(), url: webhook.url.clone() }),
        }
    }
}

/// What a webhook's owned secret seals: the signing secret and the full URL.
#[derive(Serialize, Deserialize)]
struct SealedEndpoint {
    secret: String,
    url: String,
}

/// The URL as the API, the catalog and the audit trail show it: its origin, the path and query hidden (a Slack or
/// Teams webhook's path is its credential).
fn shown_url(url: &url::Url) -> String {
    let origin = url.origin().ascii_serialization();
    if url.path() == "/" && url.query().is_none() { format!("{origin}/") } else { format!("{origin}/…") }
}

/// A failed delivery as its log shows it: the network policy's refusal, or reqwest's error without the URL (which
/// holds the endpoint's credential).
fn delivery_error(err: reqwest::Error) -> String {
    if let Some(refused) = byob_ports::net::refusal_in(&err) {
        return refused;
    }
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "the request failed"
    };
    format!("{kind}: {}", err.without_url())
}

#[cfg(test)]
mod tests {
    use super::backoff;

    #[test]
    fn backoff_doubles_from_thirty_seconds() {
        let secs: Vec<i64> = (1..=7).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920]);
    }
}
