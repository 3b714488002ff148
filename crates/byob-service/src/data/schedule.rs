//! Export and import schedules: a cron expression (five fields, or six with seconds) read in an IANA time zone, so
//! `0 6 * * *` in `Europe/Paris` runs at 06:00 Paris time in summer and winter alike.
//!
//! Runs missed while byob was down are not replayed one by one: the first tick after start-up runs the export
//! once for the latest missed time, then the schedule continues from the next time after now. A run that is
//! due while the previous one is still queued or running is skipped.

use byob_core::{export::CronSchedule, location::FieldError};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::ServiceError;

/// Times shown for a schedule.
const NEXT_RUNS_SHOWN: usize = 5;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    pub cron: String,
    /// IANA zone; `UTC` when absent.
    pub timezone: Option<String>,
}

/// The schedule a request asks for, checked, and its first time after `now`.
///
/// # Errors
/// `schedule-cron` or `schedule-timezone`.
pub(crate) fn from_request(
    req: Option<&ScheduleRequest>,
    now: DateTime<Utc>,
) -> Result<(Option<CronSchedule>, Option<DateTime<Utc>>), ServiceError> {
    let Some(req) = req else { return Ok((None, None)) };
    let timezone = req.timezone.clone().unwrap_or_else(|| "UTC".into());
    let parsed = Schedule::parse(&req.cron, &timezone)?;
    let next = parsed.next_after(now);
    Ok((Some(CronSchedule { cron: req.cron.trim().to_string(), timezone, paused: false }), next))
}

/// The next times of an active schedule (none when there is none or it is paused).
pub(crate) fn next_runs(schedule: Option<&CronSchedule>, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    match schedule {
        Some(s) if !s.paused => {
            Schedule::stored(&s.cron, &s.timezone).map(|p| p.upcoming(now, NEXT_RUNS_SHOWN)).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// Pauses or resumes `schedule`; returns the next run time (none while paused; resuming starts from the next
/// time after now, so nothing missed while paused is run).
///
/// # Errors
/// `code` (e.g. `export-not-scheduled`) when there is no schedule.
pub(crate) fn set_paused(
    schedule: Option<&mut CronSchedule>,
    paused: bool,
    now: DateTime<Utc>,
    code: byob_core::codes::ErrorCode,
) -> Result<Option<DateTime<Utc>>, ServiceError> {
    let Some(schedule) = schedule else {
        return Err(ServiceError::Refused { code, message: "there is no schedule to pause or resume".into() });
    };
    schedule.paused = paused;
    Ok(if paused { None } else { Schedule::stored(&schedule.cron, &schedule.timezone)?.next_after(now) })
}

/// What a tick makes of a due schedule.
pub(crate) struct Due {
    /// The time the run stands for: the latest one missed.
    pub(crate) scheduled_for: Option<DateTime<Utc>>,
    pub(crate) next: Option<DateTime<Utc>>,
}

/// For a due schedule at a tick: the time the run stands for and the next time (`None`: unreadable).
pub(crate) fn due(schedule: &CronSchedule, now: DateTime<Utc>) -> Option<Due> {
    let parsed = Schedule::stored(&schedule.cron, &schedule.timezone).ok()?;
    Some(Due { scheduled_for: parsed.latest_until(now), next: parsed.next_after(now) })
}

/// An export's or import's name: 1-63 letters, digits, `-`, `_`, `.`.
///
/// # Errors
/// `name` is invalid.
pub(crate) fn check_name(name: &str) -> Result<(), ServiceError> {
    let ok = (1..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok { Ok(()) } else { Err(ServiceError::invalid("name", "1-63 characters: letters, digits, `-`, `_` and `.`")) }
}
use chrono_tz::Tz;
use croner::{Cron, parser::CronParser};

/// The closest two runs of a schedule may be: a second-level cron would fill the shared job queue.
const MIN_SPACING: chrono::Duration = chrono::Duration::minutes(1);
/// Runs looked at for the closest spacing (enough for any pattern within an hour or a day's hours).
const SPACING_CHECKED: usize = 64;

#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    cron: Cron,
    zone: Tz,
}

impl Schedule {
    /// A schedule a request asks for: what [`Self::stored`] checks, and that two runs are at least a minute apart.
    ///
    /// # Errors
    /// `schedule-cron` for an expression croner refuses (its message says why) or that never fires;
    /// `schedule-timezone` for a zone that is not in the IANA database; `schedule-too-frequent`.
    pub(crate) fn parse(cron: &str, timezone: &str) -> Result<Self, FieldError> {
        let schedule = Self::stored(cron, timezone)?;
        // Only new schedules pay for this look-ahead; ticks read stored ones with `stored`.
        let upcoming = schedule.upcoming(Utc::now(), SPACING_CHECKED);
        if let Some(gap) = upcoming.windows(2).map(|w| w[1] - w[0]).min()
            && gap < MIN_SPACING
        {
            return Err(FieldError::new(
                "schedule.cron",
                byob_core::rules::SCHEDULE_TOO_FREQUENT,
                format!(
                    "`{cron}` fires {} s apart; a schedule runs at most once a minute (each run is a job every \
                     worker of the fleet shares)",
                    gap.num_seconds()
                ),
            ));
        }
        Ok(schedule)
    }

    /// A schedule as stored (checked when it was created), read at every tick.
    ///
    /// # Errors
    /// `schedule-cron` or `schedule-timezone` for an expression or zone that cannot be read (or never fires).
    fn stored(cron: &str, timezone: &str) -> Result<Self, FieldError> {
        let parsed = CronParser::new().parse(cron.trim()).map_err(|e| {
            FieldError::new(
                "schedule.cron",
                byob_core::rules::SCHEDULE_CRON,
                format!("`{cron}` is not a cron expression: {e}"),
            )
        })?;
        let zone: Tz = timezone.parse().map_err(|_| {
            FieldError::new(
                "schedule.timezone",
                byob_core::rules::SCHEDULE_TIMEZONE,
                format!("`{timezone}` is not an IANA time zone; write e.g. `UTC` or `Europe/Paris`"),
            )
        })?;
        let schedule = Self { cron: parsed, zone };
        if schedule.next_after(Utc::now()).is_none() {
            return Err(FieldError::new(
                "schedule.cron",
                byob_core::rules::SCHEDULE_CRON,
                format!("`{cron}` never fires"),
            ));
        }
        Ok(schedule)
    }

    /// The first time strictly after `after`.
    pub(crate) fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_next_occurrence(&after.with_timezone(&self.zone), false).ok().map(|t| t.with_timezone(&Utc))
    }

    /// The next `count` times after `after`.
    pub(crate) fn upcoming(&self, after: DateTime<Utc>, count: usize) -> Vec<DateTime<Utc>> {
        let mut times = Vec::with_capacity(count);
        let mut at = after;
        while times.len() < count {
            match self.next_after(at) {
                Some(next) => {
                    times.push(next);
                    at = next;
                }
                None => break,
            }
        }
        times
    }

    /// The latest time at or before `now` (the run a tick stands for).
    pub(crate) fn latest_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.find_previous_occurrence(&now.with_timezone(&self.zone), true).ok().map(|t| t.with_timezone(&Utc))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn reads_the_expression_in_its_zone() {
        let s = Schedule::parse("0 6 * * *", "Europe/Paris").unwrap();
        // Winter (UTC+1) and summer (UTC+2).
        assert_eq!(s.next_after(at("2026-01-10T12:00:00Z")), Some(at("2026-01-11T05:00:00Z")));
        assert_eq!(s.next_after(at("2026-07-10T12:00:00Z")), Some(at("2026-07-11T04:00:00Z")));
        assert_eq!(s.upcoming(at("2026-01-10T12:00:00Z"), 2).len(), 2);
        assert_eq!(s.latest_until(at("2026-01-11T05:00:00Z")), Some(at("2026-01-11T05:00:00Z")));
    }

    #[test]
    fn refuses_bad_input_by_rule() {
        assert_eq!(Schedule::parse("61 * * * *", "UTC").unwrap_err().rule, "schedule-cron");
        assert_eq!(Schedule::parse("* * *", "UTC").unwrap_err().rule, "schedule-cron");
        assert_eq!(Schedule::parse("0 6 * * *", "Mars/Olympus").unwrap_err().rule, "schedule-timezone");
        for every_few_seconds in ["* * * * * *", "*/5 * * * * *", "0,30 * * * * *"] {
            let e = Schedule::parse(every_few_seconds, "UTC").unwrap_err();
            assert_eq!(e.rule, "schedule-too-frequent", "{every_few_seconds}: {}", e.message);
        }
        assert!(Schedule::parse("* * * * *", "UTC").is_ok(), "every minute is the most allowed");
        assert!(Schedule::parse("0,1 * * * *", "UTC").is_ok());
    }
}
