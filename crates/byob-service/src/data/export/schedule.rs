//! Export schedules: a cron expression (five fields, or six with seconds) read in an IANA time zone, so
//! `0 6 * * *` in `Europe/Paris` runs at 06:00 Paris time in summer and winter alike.
//!
//! Runs missed while byob was down are not replayed one by one: the first tick after start-up runs the export
//! once for the latest missed time, then the schedule continues from the next time after now. A run that is
//! due while the previous one is still queued or running is skipped.

use byob_core::location::FieldError;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use croner::{Cron, parser::CronParser};

#[derive(Debug, Clone)]
pub(crate) struct Schedule {
    cron: Cron,
    zone: Tz,
}

impl Schedule {
    /// # Errors
    /// `schedule-cron` for an expression croner refuses (its message says why); `schedule-timezone` for a zone
    /// that is not in the IANA database.
    pub(crate) fn parse(cron: &str, timezone: &str) -> Result<Self, FieldError> {
        let parsed = CronParser::new().parse(cron.trim()).map_err(|e| {
            FieldError::new("schedule.cron", "schedule-cron", format!("`{cron}` is not a cron expression: {e}"))
        })?;
        let zone: Tz = timezone.parse().map_err(|_| {
            FieldError::new(
                "schedule.timezone",
                "schedule-timezone",
                format!("`{timezone}` is not an IANA time zone; write e.g. `UTC` or `Europe/Paris`"),
            )
        })?;
        let schedule = Self { cron: parsed, zone };
        if schedule.next_after(Utc::now()).is_none() {
            return Err(FieldError::new("schedule.cron", "schedule-cron", format!("`{cron}` never fires")));
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
    }
}
