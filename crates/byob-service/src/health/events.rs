//! Emitting an event: stored, queued for each webhook endpoint that wants it, and written to the audit log.

use byob_core::{
    AuditOutcome, DeliveryId, EventId, OrgId,
    event::{Delivery, DeliveryStatus, Event},
};
use serde_json::Value;

use crate::{Auditor, Deps, RequestContext, ServiceError};

#[derive(Debug, Clone)]
pub struct Events {
    deps: Deps,
    auditor: Auditor,
}

impl Events {
    #[must_use]
    pub fn new(deps: Deps, auditor: Auditor) -> Self {
        Self { deps, auditor }
    }

    /// Records `event_type` for `org` with its payload; `target` names what it is about (an integration id).
    ///
    /// # Errors
    /// Catalog errors.
    pub async fn emit(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        event_type: &'static str,
        target: Option<String>,
        payload: Value,
    ) -> Result<Event, ServiceError> {
        let (event, deliveries) = self.prepare(org, event_type, payload).await?;
        self.deps.catalog.insert_event(&event, &deliveries).await?;
        if let Some(action) = byob_core::actions::for_event(event_type) {
            self.auditor.record(ctx, org, action, target, AuditOutcome::Success, audit_detail(&event)).await?;
        }
        Ok(event)
    }

    /// Like [`Self::emit`], unless this event was emitted with the key `once` already (the end of a job, which a
    /// process that takes the job over after a crash may announce again): the event, its deliveries and its
    /// audit entry are written together or not at all. The event, when it was written.
    ///
    /// # Errors
    /// Catalog errors.
    pub async fn emit_once(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        event_type: &'static str,
        target: Option<String>,
        payload: Value,
        once: &str,
    ) -> Result<Option<Event>, ServiceError> {
        let Some(action) = byob_core::actions::for_event(event_type) else {
            return self.emit(ctx, org, event_type, target, payload).await.map(Some);
        };
        let (event, deliveries) = self.prepare(org, event_type, payload).await?;
        let entry = self.auditor.entry(ctx, org, action, target, AuditOutcome::Success, audit_detail(&event));
        let key = crate::audit::once_key(action, once);
        let written = self.deps.catalog.insert_event_once(&event, &deliveries, &entry, &key).await?;
        Ok(written.then_some(event))
    }

    /// The event and a pending delivery for each webhook endpoint that wants it.
    async fn prepare(
        &self,
        org: OrgId,
        event_type: &'static str,
        payload: Value,
    ) -> Result<(Event, Vec<Delivery>), ServiceError> {
        debug_assert!(byob_core::event::EVENT_TYPES.contains(&event_type), "`{event_type}` is not an event type");
        let now = self.deps.clock.now();
        let event = Event {
            id: EventId::generate(),
            org_id: org,
            event_type: event_type.to_string(),
            occurred_at: now,
            payload,
        };
        let deliveries: Vec<Delivery> = self
            .deps
            .catalog
            .list_webhooks(org)
            .await?
            .into_iter()
            .filter(|w| w.wants(event_type))
            .map(|w| Delivery {
                id: DeliveryId::generate(),
                org_id: org,
                webhook_id: w.id,
                event_id: event.id,
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: Some(now),
                last_status_code: None,
                last_error: None,
                updated_at: now,
            })
            .collect();
        Ok((event, deliveries))
    }

    /// The org's events, newest first.
    ///
    /// # Errors
    /// Not found; forbidden unless admin; catalog errors.
    pub async fn list(
        &self,
        ctx: &RequestContext,
        org: OrgId,
        event_type: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Event>, ServiceError> {
        crate::tenancy::visible_org(&self.deps, ctx, org).await?;
        ctx.principal.require(crate::Access::Admin)?;
        Ok(self.deps.catalog.list_events(org, event_type, limit.clamp(1, 500)).await?)
    }
}

/// An event's audit detail: its payload and its id.
fn audit_detail(event: &Event) -> Value {
    let mut detail = event.payload.clone();
    if let Some(object) = detail.as_object_mut() {
        object.insert("event_id".into(), Value::String(event.id.to_string()));
    }
    detail
}
