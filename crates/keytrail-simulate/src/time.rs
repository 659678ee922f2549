//! Time: the formats CloudTrail writes, and the daily and weekly rhythm that
//! decides when each actor is busy. Times are Unix seconds (UTC) throughout.

use chrono::{DateTime, Datelike, Utc, Weekday};
use rand::Rng;
use rand::rngs::SmallRng;
use serde::Serializer;

pub(crate) const DAY: i64 = 86_400;
pub(crate) const HOUR: i64 = 3_600;

fn utc(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).expect("generated times are within chrono's range")
}

/// `eventTime`, `creationDate`: `2026-11-01T12:34:56Z`.
pub(crate) fn iso(t: i64) -> String {
    utc(t).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Serializes a record's time as [`iso`] without an intermediate `String`.
pub(crate) fn ser_iso<S: Serializer>(t: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(&utc(*t).format("%Y-%m-%dT%H:%M:%SZ"))
}

/// The human-readable form STS and IAM use inside `responseElements`
/// (`expiration`, `createDate`): `Nov 1, 2026, 1:00:00 PM`.
pub(crate) fn aws_long(t: i64) -> String {
    utc(t).format("%b %-d, %Y, %-I:%M:%S %p").to_string()
}

/// `yyyy/mm/dd` for the S3 key prefix.
pub(crate) fn date_path(t: i64) -> String {
    utc(t).format("%Y/%m/%d").to_string()
}

/// `yyyymmddTHHMMZ` for log file names.
pub(crate) fn file_stamp(t: i64) -> String {
    utc(t).format("%Y%m%dT%H%MZ").to_string()
}

/// `yyyymmddTHHMMSSZ` for digest file names.
pub(crate) fn digest_stamp(t: i64) -> String {
    utc(t).format("%Y%m%dT%H%M%SZ").to_string()
}

/// Whether the UTC day starting at `t` is a Saturday or Sunday. Budgets use
/// it to thin out people and pipelines at weekends.
pub(crate) fn is_weekend(t: i64) -> bool {
    matches!(utc(t).weekday(), Weekday::Sat | Weekday::Sun)
}

/// Whether `t` falls in office hours (08:00 to 19:00, Monday to Friday) for
/// someone whose clock is `tz_hours` ahead of UTC.
pub(crate) fn office_hours(t: i64, tz_hours: i32) -> bool {
    let local = t + i64::from(tz_hours) * HOUR;
    let hour = local.rem_euclid(DAY) / HOUR;
    // 1970-01-01 was a Thursday: with Monday as 0, day 0 is 3.
    let weekday = (local.div_euclid(DAY) + 3).rem_euclid(7);
    weekday < 5 && (8..19).contains(&hour)
}

/// A second of the day starting at `day` drawn with probability proportional
/// to `density(t)` (values in `0..=1`), by rejection. After many rejections
/// (a day with no density at all) it falls back to a uniform draw, so the
/// caller's budget is always spent.
pub(crate) fn sample(rng: &mut SmallRng, day: i64, density: impl Fn(i64) -> f64) -> i64 {
    for _ in 0..256 {
        let t = day + rng.random_range(0..DAY);
        if rng.random::<f64>() < density(t) {
            return t;
        }
    }
    day + rng.random_range(0..DAY)
}

/// Density of work for people: full in office hours, a trickle otherwise
/// (late fixes, on-call).
pub(crate) fn human_density(t: i64, tz_hours: i32) -> f64 {
    if office_hours(t, tz_hours) { 1.0 } else { 0.02 }
}

/// Density of traffic for always-on workloads: around the clock, busier
/// while the estate's customers (in `tz_hours`) are awake.
pub(crate) fn service_density(t: i64, tz_hours: i32) -> f64 {
    let hour = (t + i64::from(tz_hours) * HOUR).rem_euclid(DAY) / HOUR;
    if (7..23).contains(&hour) { 1.0 } else { 0.45 }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-02 is a Monday.
    const MONDAY: i64 = 1_793_577_600;

    #[test]
    fn formats() {
        assert_eq!(iso(MONDAY + 13 * HOUR + 5), "2026-11-02T13:00:05Z");
        assert_eq!(aws_long(MONDAY + 13 * HOUR), "Nov 2, 2026, 1:00:00 PM");
        assert_eq!(date_path(MONDAY), "2026/11/02");
        assert_eq!(file_stamp(MONDAY + 5 * 60), "20261102T0005Z");
        assert_eq!(digest_stamp(MONDAY + HOUR), "20261102T010000Z");
    }

    #[test]
    fn rhythm() {
        assert!(!is_weekend(MONDAY));
        assert!(is_weekend(MONDAY - DAY));
        assert!(office_hours(MONDAY + 9 * HOUR, 0));
        assert!(!office_hours(MONDAY + 9 * HOUR, -5));
        assert!(office_hours(MONDAY + 14 * HOUR, -5));
        assert!(!office_hours(MONDAY - DAY + 10 * HOUR, 0));
    }
}
