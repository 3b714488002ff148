use byob_core::{Actor, AuditEntry, AuditId, AuditOutcome, OrgId};
use sqlx::{AnyPool, any::AnyRow};

use super::row::{limit, ms, opt_parsed, opt_text, parsed, text, time};
use crate::catalog::{AuditFilter, CatalogError, Page};

fn actor_columns(actor: &Actor) -> (&'static str, Option<String>, Option<String>) {
    match actor {
        Actor::Operator => ("operator", None, None),
        Actor::System => ("system", None, None),
        Actor::Anonymous => ("anonymous", None, None),
        Actor::Member { member_id, token_id } => ("member", Some(member_id.to_string()), Some(token_id.to_string())),
    }
}

fn from_row(row: &AnyRow) -> Result<AuditEntry, CatalogError> {
    let kind = text(row, "actor_kind")?;
    let actor = match kind.as_str() {
        "operator" => Actor::Operator,
        "system" => Actor::System,
        "anonymous" => Actor::Anonymous,
        "member" => match (opt_parsed(row, "actor_id")?, opt_parsed(row, "token_id")?) {
            (Some(member_id), Some(token_id)) => Actor::Member { member_id, token_id },
            _ => return Err(CatalogError::Corrupt("audit member actor without ids".into())),
        },
        other => return Err(CatalogError::Corrupt(format!("actor_kind = {other}"))),
    };
    let outcome = text(row, "outcome")?;
    let detail = text(row, "detail")?;
    Ok(AuditEntry {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        at: time(row, "at")?,
        actor,
        action: text(row, "action")?,
        target: opt_text(row, "target")?,
        outcome: AuditOutcome::parse(&outcome).ok_or_else(|| CatalogError::Corrupt(format!("outcome = {outcome}")))?,
        request_id: opt_text(row, "request_id")?,
        detail: serde_json::from_str(&detail).map_err(|_| CatalogError::Corrupt("audit detail".into()))?,
    })
}

pub(super) async fn append(pool: &AnyPool, e: &AuditEntry) -> Result<(), CatalogError> {
    insert(pool, e, None).await?;
    Ok(())
}

/// Appends `e` unless the org's trail holds an entry with the key `once` already; whether it did.
pub(super) async fn append_once<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    e: &AuditEntry,
    once: &str,
) -> Result<bool, CatalogError> {
    insert(db, e, Some(once)).await
}

async fn insert<'c>(
    db: impl sqlx::Executor<'c, Database = sqlx::Any>,
    e: &AuditEntry,
    once: Option<&str>,
) -> Result<bool, CatalogError> {
    let (kind, actor_id, token_id) = actor_columns(&e.actor);
    let done = sqlx::query(
        "INSERT INTO audit_log (id, org_id, at, actor_kind, actor_id, token_id, action, target, outcome, \
         request_id, detail, once_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT DO NOTHING",
    )
    .bind(e.id.to_string())
    .bind(e.org_id.to_string())
    .bind(ms(e.at))
    .bind(kind)
    .bind(actor_id)
    .bind(token_id)
    .bind(&e.action)
    .bind(e.target.clone())
    .bind(e.outcome.as_str())
    .bind(e.request_id.clone())
    .bind(e.detail.to_string())
    .bind(once.map(str::to_string))
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Optional filters are written as `($n IS NULL OR column = $n)` so one statement serves every combination.
/// The `CAST` tells PostgreSQL the type of a parameter that may be bound as NULL.
pub(super) async fn list(
    pool: &AnyPool,
    org: OrgId,
    f: &AuditFilter,
    page: Page<AuditId>,
) -> Result<Vec<AuditEntry>, CatalogError> {
    let actor_kind = f.actor.as_deref().map(|a| if a.starts_with("mem_") { "member" } else { a });
    let actor_id = f.actor.as_deref().filter(|a| a.starts_with("mem_"));
    let rows = sqlx::query(
        "SELECT id, org_id, at, actor_kind, actor_id, token_id, action, target, outcome, request_id, detail \
         FROM audit_log WHERE org_id = $1 \
         AND ($2 IS NULL OR id < CAST($2 AS TEXT)) \
         AND ($3 IS NULL OR action = CAST($3 AS TEXT)) \
         AND ($4 IS NULL OR actor_kind = CAST($4 AS TEXT)) \
         AND ($5 IS NULL OR actor_id = CAST($5 AS TEXT)) \
         AND ($6 IS NULL OR target = CAST($6 AS TEXT)) \
         AND ($7 IS NULL OR outcome = CAST($7 AS TEXT)) \
         AND ($8 IS NULL OR at >= CAST($8 AS BIGINT)) \
         AND ($9 IS NULL OR at < CAST($9 AS BIGINT)) \
         ORDER BY id DESC LIMIT $10",
    )
    .bind(org.to_string())
    .bind(page.after.map(|id| id.to_string()))
    .bind(f.action.clone())
    .bind(actor_kind.map(str::to_string))
    .bind(actor_id.map(str::to_string))
    .bind(f.target.clone())
    .bind(f.outcome.map(|o| o.as_str().to_string()))
    .bind(f.since.map(ms))
    .bind(f.until.map(ms))
    .bind(limit(page.limit))
    .fetch_all(pool)
    .await?;
    rows.iter().map(from_row).collect()
}
