//! The health monitor: re-verifies every active or degraded integration on a schedule (jittered so a fleet of
//! integrations does not hit the providers at once) and warns before credentials expire: `credential-expiring`
//! 14, 7, 3 and 1 days before, `credential-expired` after, each once. A pass reads only what is due (one query for
//! the fleet, `due_integrations`), never every org: each schedule keeps when its next verification and its next
//! notice fall due, and the integration version it was computed from (a changed integration is due at once).

use byob_core::{
    IntegrationId, OrgId,
    integration::{Integration, IntegrationState},
};
use byob_ports::catalog::HealthSchedule;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use super::Events;
use crate::{
    Deps, RequestContext, ServiceError,
    verify::{Trigger, VerificationService},
};

/// Integrations looked at in one pass at most; more due wait for the next pass.
pub(crate) const DUE_PER_PASS: u32 = 1000;

/// Days before expiry at which a `credential-expiring` event is sent, most urgent last.
const EXPIRY_NOTICES: [i64; 4] = [14, 7, 3, 1];

#[derive(Debug, Clone, Copy)]
pub struct MonitorSettings {
    /// Time between two verifications of one integration.
    pub interval: Duration,
    /// Each interval is stretched or shrunk by up to this share (0.1 = ±10 %).
    pub jitter: f64,
}

impl Default for MonitorSettings {
    fn default() -> Self {
        Self { interval: Duration::hours(24), jitter: 0.1 }
    }
}

/// What one pass of the monitor did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    pub verified: u32,
    /// Connections re-verified on their schedule.
    pub connections_verified: u32,
    pub scheduled: u32,
    pub expiry_events: u32,
}

#[derive(Debug, Clone)]
pub struct HealthMonitor {
    deps: Deps,
    events: Events,
    verification: VerificationService,
    connections: crate::data::ConnectionService,
    settings: MonitorSettings,
}

/// The notice due for a credential expiring at `expires_at`: `expired`, `1d`, `3d`, `7d`, `14d` or none.
fn notice_due(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
    if expires_at <= now {
        return Some("expired".into());
    }
    EXPIRY_NOTICES.iter().rev().find(|days| expires_at - now <= Duration::days(**days)).map(|days| format!("{days}d"))
}

/// Higher is more urgent.
fn urgency(notice: Option<&str>) -> usize {
    match notice {
        None => 0,
        Some("expired") => EXPIRY_NOTICES.len() + 1,
        Some(n) => EXPIRY_NOTICES.iter().position(|d| format!("{d}d") == n).map_or(0, |p| p + 1),
    }
}

impl HealthMonitor {
    #[must_use]
    pub fn new(
        deps: Deps,
        events: Events,
        verification: VerificationService,
        connections: crate::data::ConnectionService,
        settings: MonitorSettings,
    ) -> Self {
        Self { deps, events, verification, connections, settings }
    }

    fn next_check(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let [byte] = byob_core::random::bytes::<1>().unwrap_or([128]);
        let share = (f64::from(byte) / 255.0 * 2.0 - 1.0) * self.settings.jitter;
        let interval_secs = self.settings.interval.num_seconds() as f64;
        now + Duration::seconds((interval_secs * (1.0 + share)).round() as i64)
    }

    /// One pass: the integrations due now (one catalog query for the whole fleet, at most [`DUE_PER_PASS`]; the
    /// rest stay due for the next pass), each verified if its time has come and sent the expiry notice it is
    /// owed; and the connections due.
    ///
    /// # Errors
    /// Catalog errors. A failing verification is a result (events, a degraded state), not an error.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickReport, ServiceError> {
        // Connections verified before and due again: one query for the whole fleet.
        let mut report =
            TickReport { connections_verified: self.connections.verify_due(now).await?, ..TickReport::default() };
        let due = self.deps.catalog.due_integrations(now, DUE_PER_PASS).await?;
        let passes = super::per_org(due, |org, ids| Box::pin(self.check_org(org, ids, now))).await?;
        for pass in passes {
            report.verified += pass.verified;
            report.scheduled += pass.scheduled;
            report.expiry_events += pass.expiry_events;
        }
        Ok(report)
    }

    async fn check_org(
        &self,
        org: OrgId,
        due: Vec<IntegrationId>,
        now: DateTime<Utc>,
    ) -> Result<TickReport, ServiceError> {
        let mut report = TickReport::default();
        for id in due {
            // Deleted since the query: nothing to do.
            if let Some(integration) = self.deps.catalog.get_integration(org, id).await? {
                self.check_one(org, &integration, now, &mut report).await?;
            }
        }
        Ok(report)
    }

    async fn check_one(
        &self,
        org: OrgId,
        i: &Integration,
        now: DateTime<Utc>,
        report: &mut TickReport,
    ) -> Result<(), ServiceError> {
        if i.state == IntegrationState::Disabled {
            return Ok(());
        }
        let ctx = RequestContext::system();
        let stored = self.deps.catalog.get_schedule(i.id).await?;
        let (mut next_check_at, previous_notice) = match stored.clone() {
            Some(schedule) => (schedule.next_check_at, schedule.expiry_notice),
            None => {
                report.scheduled += 1;
                (self.next_check(now), None)
            }
        };
        let expires_at = i.credentials.expires_at();
        // What is owed now; renewed credentials owe less than was sent, and the next notice follows from this.
        let notice = expires_at.and_then(|at| notice_due(at, now));
        if urgency(notice.as_deref()) > urgency(previous_notice.as_deref())
            && let (Some(level), Some(expires_at)) = (&notice, expires_at)
        {
            let (event_type, days) = match level.as_str() {
                "expired" => (byob_core::event::CREDENTIAL_EXPIRED, None),
                days => (byob_core::event::CREDENTIAL_EXPIRING, days.trim_end_matches('d').parse::<i64>().ok()),
            };
            let payload = json!({
                "integration": i.id, "name": i.name, "credential_mode": i.credentials.mode(),
                "expires_at": expires_at, "notice_days": days,
            });
            self.events.emit(&ctx, org, event_type, Some(i.id.to_string()), payload).await?;
            report.expiry_events += 1;
        }
        let mut seen_version = i.updated_at;
        let monitored = matches!(i.state, IntegrationState::Active | IntegrationState::Degraded);
        if monitored && next_check_at <= now {
            self.verification.run(&ctx, org, i.id, Trigger::Monitor).await?;
            report.verified += 1;
            next_check_at = self.next_check(now);
            // The verification may have changed the integration's state: this schedule is computed from that.
            if let Some(after) = self.deps.catalog.get_integration(org, i.id).await? {
                seen_version = after.updated_at;
            }
        }
        let schedule = HealthSchedule {
            next_check_at,
            notice_at: next_notice_at(expires_at, notice.as_deref()),
            expiry_notice: notice,
            seen_version,
        };
        // Most passes change nothing: write only what did.
        if stored.as_ref() != Some(&schedule) {
            self.deps.catalog.put_schedule(org, i.id, &schedule).await?;
        }
        Ok(())
    }
}

/// When the notice after `sent` (the next more urgent one) falls due for credentials expiring at `expires_at`;
/// none when they do not expire or `expired` was sent.
fn next_notice_at(expires_at: Option<DateTime<Utc>>, sent: Option<&str>) -> Option<DateTime<Utc>> {
    let expires_at = expires_at?;
    let levels = EXPIRY_NOTICES.iter().map(|days| expires_at - Duration::days(*days)).chain([expires_at]);
    // The level at index n has urgency n + 1.
    levels.enumerate().find(|(n, _)| n + 1 > urgency(sent)).map(|(_, at)| at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_at_14_7_3_1_days_and_after() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let at = |days: i64, hours: i64| notice_due(now + Duration::days(days) + Duration::hours(hours), now);
        assert_eq!(at(15, 0), None);
        assert_eq!(at(14, 0).as_deref(), Some("14d"));
        assert_eq!(at(7, 1).as_deref(), Some("14d"));
        assert_eq!(at(7, 0).as_deref(), Some("7d"));
        assert_eq!(at(2, 0).as_deref(), Some("3d"));
        assert_eq!(at(0, 5).as_deref(), Some("1d"));
        assert_eq!(at(0, 0).as_deref(), Some("expired"));
        assert!(urgency(Some("expired")) > urgency(Some("1d")) && urgency(Some("1d")) > urgency(Some("14d")));
    }

    #[test]
    fn the_next_notice_is_the_first_more_urgent_than_the_one_sent() {
        let expires = DateTime::<Utc>::UNIX_EPOCH + Duration::days(100);
        assert_eq!(next_notice_at(None, None), None, "credentials that do not expire owe no notice");
        assert_eq!(next_notice_at(Some(expires), None), Some(expires - Duration::days(14)));
        assert_eq!(next_notice_at(Some(expires), Some("14d")), Some(expires - Duration::days(7)));
        assert_eq!(next_notice_at(Some(expires), Some("3d")), Some(expires - Duration::days(1)));
        assert_eq!(next_notice_at(Some(expires), Some("1d")), Some(expires));
        assert_eq!(next_notice_at(Some(expires), Some("expired")), None);
    }
}
