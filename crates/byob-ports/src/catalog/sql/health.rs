//! Verification history, the monitor's schedule, events, webhook endpoints and deliveries.

use byob_core::{
    AuditEntry, IntegrationId, OrgId, VerificationId, WebhookId,
    event::{Delivery, DeliveryStatus, Event, Webhook},
};
use chrono::{DateTime, Utc};
use sqlx::{AnyPool, Row, any::AnyRow};

use super::{
    row::{json, limit, ms, opt_ms, opt_text, opt_time, parsed, text, time, to_json},
    secrets,
};
use crate::catalog::{CatalogError, HealthSchedule, OwnedSecret};

pub(super) async fn insert_verification(
    pool: &AnyPool,
    id: VerificationId,
    org: OrgId,
    integration: IntegrationId,
    started_at: DateTime<Utc>,
    report: &serde_json::Value,
) -> Result<(), CatalogError> {
    sqlx::query(
        "INSERT INTO verifications (id, org_id, integration_id, started_at, report) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id.to_string())
    .bind(org.to_string())
    .bind(integration.to_string())
    .bind(ms(started_at))
    .bind(report.to_string())
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn list_verifications(
    pool: &AnyPool,
    org: OrgId,
    integration: IntegrationId,
    max: u32,
) -> Result<Vec<serde_json::Value>, CatalogError> {
    let rows = sqlx::query(
        "SELECT report FROM verifications WHERE org_id = $1 AND integration_id = $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(org.to_string())
    .bind(integration.to_string())
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| json(r, "report")).collect()
}

pub(super) async fn get_schedule(
    pool: &AnyPool,
    integration: IntegrationId,
) -> Result<Option<HealthSchedule>, CatalogError> {
    let row = sqlx::query(
        "SELECT next_check_at, expiry_notice, notice_at, seen_version FROM health_schedule WHERE integration_id = $1",
    )
    .bind(integration.to_string())
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(HealthSchedule {
            next_check_at: time(&r, "next_check_at")?,
            expiry_notice: opt_text(&r, "expiry_notice")?,
            notice_at: opt_time(&r, "notice_at")?,
            seen_version: time(&r, "seen_version")?,
        })
    })
    .transpose()
}

pub(super) async fn put_schedule(
    pool: &AnyPool,
    org: OrgId,
    integration: IntegrationId,
    schedule: &HealthSchedule,
) -> Result<(), CatalogError> {
    sqlx::query(
        "INSERT INTO health_schedule (integration_id, org_id, next_check_at, expiry_notice, notice_at, seen_version) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (integration_id) DO UPDATE \
         SET next_check_at = $3, expiry_notice = $4, notice_at = $5, seen_version = $6",
    )
    .bind(integration.to_string())
    .bind(org.to_string())
    .bind(ms(schedule.next_check_at))
    .bind(schedule.expiry_notice.clone())
    .bind(schedule.notice_at.map(ms))
    .bind(ms(schedule.seen_version))
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn due_integrations(
    pool: &AnyPool,
    now: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<(OrgId, IntegrationId)>, CatalogError> {
    let rows = sqlx::query(
        "SELECT i.org_id, i.id FROM integrations i LEFT JOIN health_schedule s ON s.integration_id = i.id \
         WHERE i.state <> 'disabled' AND (s.integration_id IS NULL OR s.seen_version <> i.updated_at \
           OR s.notice_at <= $1 OR (i.state IN ('active', 'degraded') AND s.next_check_at <= $1)) \
         ORDER BY COALESCE(s.next_check_at, 0), i.id LIMIT $2",
    )
    .bind(ms(now))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(|r| Ok((parsed(r, "org_id")?, parsed(r, "id")?))).collect()
}

fn event_from_row(row: &AnyRow) -> Result<Event, CatalogError> {
    Ok(Event {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        event_type: text(row, "event_type")?,
        occurred_at: time(row, "occurred_at")?,
        payload: json(row, "payload")?,
    })
}

/// The event and one pending delivery per endpoint that wants it, in one transaction.
pub(super) async fn insert_event(pool: &AnyPool, event: &Event, deliveries: &[Delivery]) -> Result<(), CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    write_event(&mut tx, event, deliveries).await?;
    tx.commit().await?;
    Ok(())
}

/// The event, its deliveries and its audit entry in one transaction, unless the entry's key `once` is in the
/// trail already (then nothing is written); whether it was written.
pub(super) async fn insert_event_once(
    pool: &AnyPool,
    event: &Event,
    deliveries: &[Delivery],
    audit: &AuditEntry,
    once: &str,
) -> Result<bool, CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    if !super::audit::append_once(&mut *tx, audit, once).await? {
        return Ok(false);
    }
    write_event(&mut tx, event, deliveries).await?;
    tx.commit().await?;
    Ok(true)
}

async fn write_event(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    event: &Event,
    deliveries: &[Delivery],
) -> Result<(), CatalogError> {
    sqlx::query("INSERT INTO events (id, org_id, event_type, occurred_at, payload) VALUES ($1, $2, $3, $4, $5)")
        .bind(event.id.to_string())
        .bind(event.org_id.to_string())
        .bind(&event.event_type)
        .bind(ms(event.occurred_at))
        .bind(event.payload.to_string())
        .execute(&mut **tx)
        .await?;
    for d in deliveries {
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, org_id, webhook_id, event_id, status, attempts, next_attempt_at, \
             last_status_code, last_error, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(d.id.to_string())
        .bind(d.org_id.to_string())
        .bind(d.webhook_id.to_string())
        .bind(d.event_id.to_string())
        .bind(d.status.as_str())
        .bind(i64::from(d.attempts))
        .bind(opt_ms(d.next_attempt_at))
        .bind(d.last_status_code.map(i64::from))
        .bind(d.last_error.clone())
        .bind(ms(d.updated_at))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub(super) async fn list_events(
    pool: &AnyPool,
    org: OrgId,
    event_type: Option<&str>,
    max: u32,
) -> Result<Vec<Event>, CatalogError> {
    let rows = sqlx::query(
        "SELECT id, org_id, event_type, occurred_at, payload FROM events WHERE org_id = $1 \
         AND ($2 IS NULL OR event_type = CAST($2 AS TEXT)) ORDER BY id DESC LIMIT $3",
    )
    .bind(org.to_string())
    .bind(event_type.map(str::to_string))
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(event_from_row).collect()
}

fn webhook_from_row(row: &AnyRow) -> Result<Webhook, CatalogError> {
    Ok(Webhook {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        url: text(row, "url")?,
        event_types: json(row, "event_types")?,
        secret_id: Some(parsed(row, "secret_id")?),
        created_at: time(row, "created_at")?,
    })
}

pub(super) async fn insert_webhook(pool: &AnyPool, w: &Webhook, secret: &OwnedSecret) -> Result<(), CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    secrets::insert(&mut *tx, &secret.meta, &secret.stored, Some(w.id.to_string())).await?;
    sqlx::query(
        "INSERT INTO webhooks (id, org_id, url, event_types, secret_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(w.id.to_string())
    .bind(w.org_id.to_string())
    .bind(&w.url)
    .bind(to_json(&w.event_types))
    .bind(secret.meta.id.to_string())
    .bind(ms(w.created_at))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub(super) async fn list_webhooks(pool: &AnyPool, org: OrgId) -> Result<Vec<Webhook>, CatalogError> {
    let rows = sqlx::query(
        "SELECT id, org_id, url, event_types, secret_id, created_at FROM webhooks WHERE org_id = $1 ORDER BY id",
    )
    .bind(org.to_string())
    .fetch_all(pool)
    .await?;
    rows.iter().map(webhook_from_row).collect()
}

/// Deletes the endpoint, its deliveries and its secret.
pub(super) async fn delete_webhook(pool: &AnyPool, org: OrgId, id: WebhookId) -> Result<bool, CatalogError> {
    let mut tx = super::begin_write(pool).await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE org_id = $1 AND webhook_id = $2")
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM webhooks WHERE org_id = $1 AND id = $2")
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM secrets WHERE org_id = $1 AND owner = $2")
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(deleted > 0)
}

macro_rules! delivery_columns {
    () => {
        "d.id, d.org_id, d.webhook_id, d.event_id, d.status, d.attempts, d.next_attempt_at, d.last_status_code, \
         d.last_error, d.updated_at"
    };
}

fn delivery_from_row(row: &AnyRow) -> Result<Delivery, CatalogError> {
    let status = text(row, "status")?;
    let attempts: i64 = row.try_get("attempts")?;
    let code: Option<i64> = row.try_get("last_status_code")?;
    Ok(Delivery {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        webhook_id: parsed(row, "webhook_id")?,
        event_id: parsed(row, "event_id")?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| CatalogError::Corrupt(format!("status = {status}")))?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: opt_time(row, "next_attempt_at")?,
        last_status_code: code.and_then(|c| u16::try_from(c).ok()),
        last_error: opt_text(row, "last_error")?,
        updated_at: time(row, "updated_at")?,
    })
}

/// Pending deliveries whose attempt is due, with their endpoint and event, oldest first.
pub(super) async fn due_deliveries(
    pool: &AnyPool,
    now: DateTime<Utc>,
    max: u32,
) -> Result<Vec<(Delivery, Webhook, Event)>, CatalogError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        delivery_columns!(),
        ", w.url, w.event_types, w.secret_id, w.created_at AS webhook_created_at, \
         e.event_type, e.occurred_at, e.payload \
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id JOIN events e ON e.id = d.event_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 ORDER BY d.next_attempt_at, d.id LIMIT $2"
    ))
    .bind(ms(now))
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let d = delivery_from_row(r)?;
            let webhook = Webhook {
                id: d.webhook_id,
                org_id: d.org_id,
                url: text(r, "url")?,
                event_types: json(r, "event_types")?,
                secret_id: Some(parsed(r, "secret_id")?),
                created_at: time(r, "webhook_created_at")?,
            };
            let event = Event {
                id: d.event_id,
                org_id: d.org_id,
                event_type: text(r, "event_type")?,
                occurred_at: time(r, "occurred_at")?,
                payload: json(r, "payload")?,
            };
            Ok((d, webhook, event))
        })
        .collect()
}

/// Records an attempt, unless another process already did (the attempt count is the version).
pub(super) async fn update_delivery(pool: &AnyPool, d: &Delivery, seen_attempts: u32) -> Result<bool, CatalogError> {
    let updated = sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, attempts = $2, next_attempt_at = $3, last_status_code = $4, \
         last_error = $5, updated_at = $6 WHERE id = $7 AND attempts = $8",
    )
    .bind(d.status.as_str())
    .bind(i64::from(d.attempts))
    .bind(opt_ms(d.next_attempt_at))
    .bind(d.last_status_code.map(i64::from))
    .bind(d.last_error.clone())
    .bind(ms(d.updated_at))
    .bind(d.id.to_string())
    .bind(i64::from(seen_attempts))
    .execute(pool)
    .await?
    .rows_affected();
    Ok(updated > 0)
}

pub(super) async fn list_deliveries(
    pool: &AnyPool,
    org: OrgId,
    webhook: WebhookId,
    max: u32,
) -> Result<Vec<Delivery>, CatalogError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        delivery_columns!(),
        " FROM webhook_deliveries d WHERE d.org_id = $1 AND d.webhook_id = $2 ORDER BY d.id DESC LIMIT $3"
    ))
    .bind(org.to_string())
    .bind(webhook.to_string())
    .bind(limit(max))
    .fetch_all(pool)
    .await?;
    rows.iter().map(delivery_from_row).collect()
}
