//! What paths in the CloudTrail S3 layout say about their contents: which ones are digests,
//! and which days a folder or file can hold, so that whole subtrees are pruned unopened.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};

/// An inclusive time window; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

impl TimeRange {
    pub fn is_unbounded(&self) -> bool {
        self.since.is_none() && self.until.is_none()
    }

    /// The times in both ranges.
    pub fn intersect(self, other: TimeRange) -> TimeRange {
        // None is no bound: the smallest since, but not the smallest until.
        let until = match (self.until, other.until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        TimeRange { since: self.since.max(other.since), until }
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    /// Whether anything in `[start, end)` can fall inside the range.
    fn overlaps(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        self.since.is_none_or(|s| end > s) && self.until.is_none_or(|u| start <= u)
    }

    /// Whether a file or folder at this path (segments separated by `/`) may hold events in
    /// the range. Paths that don't follow the CloudTrail layout are always kept.
    pub fn may_contain(&self, path: &str) -> bool {
        if self.is_unbounded() {
            return true;
        }
        match path_span(path) {
            Some((start, end)) => self.overlaps(start, end),
            None => true,
        }
    }
}

/// CloudTrail delivers a file some minutes after its events; a day folder can therefore hold
/// the last events of the day before, and a file events from before its name's timestamp.
const DELIVERY_SLACK: Duration = Duration::hours(1);

/// The span of event times a path can hold, from the date folders after `CloudTrail/<region>/`
/// or the timestamp in a delivery file's name (`…_CloudTrail_<region>_20230710T1145Z_….json.gz`).
fn path_span(path: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    if let Some(name) = segments.last()
        && let Some(stamp) = delivery_time_in_name(name)
    {
        return Some((stamp - DELIVERY_SLACK, stamp + Duration::minutes(20)));
    }
    let at = segments.iter().position(|s| *s == "CloudTrail")?;
    let dates: Vec<u32> = segments.get(at + 2..)?.iter().map_while(|s| s.parse::<u32>().ok()).take(3).collect();
    let (start, end) = match dates[..] {
        [year] => (ymd(year, 1, 1)?, ymd(year + 1, 1, 1)?),
        [year, month] => {
            let next = if month == 12 { ymd(year + 1, 1, 1)? } else { ymd(year, month + 1, 1)? };
            (ymd(year, month, 1)?, next)
        }
        [year, month, day] => {
            let start = ymd(year, month, day)?;
            (start, start + Duration::days(1))
        }
        _ => return None,
    };
    Some((start - DELIVERY_SLACK, end))
}

fn ymd(year: u32, month: u32, day: u32) -> Option<DateTime<Utc>> {
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?))
}

/// When CloudTrail delivered a log file, from its name
/// (`<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`): to the minute, and
/// after every event the file holds. Digest files and other names have none.
pub fn delivery_time_in_name(name: &str) -> Option<DateTime<Utc>> {
    let (_, after) = name.split_once("_CloudTrail_")?;
    let (_region, after) = after.split_once('_')?;
    let stamp = after.split('_').next()?.as_bytes();
    if stamp.len() != 14 || stamp[8] != b'T' || stamp[13] != b'Z' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let digits = stamp.get(r)?;
        digits.iter().all(u8::is_ascii_digit).then(|| digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (hour, minute) = (digits(9..11)?, digits(11..13)?);
    if hour > 23 || minute > 59 {
        return None;
    }
    let day = ymd(digits(0..4)?, digits(4..6)?, digits(6..8)?)?;
    Some(day + Duration::hours(hour.into()) + Duration::minutes(minute.into()))
}

/// CloudTrail's integrity digests live beside the logs but hold no events.
pub fn is_digest_path(path: &str) -> bool {
    path.split('/').any(|segment| segment == "CloudTrail-Digest" || segment.contains("_CloudTrail-Digest_"))
}

/// Whether a file met during a folder walk looks like a log file. Files named on the command
/// line are read whatever their name; a walk passes over READMEs, licences and the like.
pub(crate) fn is_log_file_name(name: &str) -> bool {
    if name.starts_with('.') {
        return false;
    }
    let lower = name.to_ascii_lowercase();
    [".json", ".json.gz", ".gz", ".jsonl", ".ndjson", ".log"].iter().any(|ext| lower.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn ranges_intersect_bound_by_bound() {
        let (a, b, c) = (at("2024-05-01T00:00:00Z"), at("2024-05-02T00:00:00Z"), at("2024-05-03T00:00:00Z"));
        let open = TimeRange::default();
        let from_a = TimeRange { since: Some(a), until: None };
        let to_c = TimeRange { since: None, until: Some(c) };
        let b_to_c = TimeRange { since: Some(b), until: Some(c) };
        assert_eq!(open.intersect(open), open);
        assert_eq!(from_a.intersect(to_c), TimeRange { since: Some(a), until: Some(c) });
        assert_eq!(b_to_c.intersect(from_a), b_to_c);
        assert_eq!(TimeRange { since: Some(a), until: Some(b) }.intersect(to_c).until, Some(b));
    }

    #[test]
    fn day_folders_are_pruned_outside_the_range() {
        let range = TimeRange { since: Some(at("2023-07-10T00:00:00Z")), until: Some(at("2023-07-11T12:00:00Z")) };
        let base = "logs/AWSLogs/111122223333/CloudTrail/us-east-1";
        assert!(!range.may_contain(&format!("{base}/2023/07/08")));
        assert!(
            !range.may_contain(&format!("{base}/2023/07/09")),
            "the 9th's folder holds nothing after the 10th began"
        );
        assert!(range.may_contain(&format!("{base}/2023/07/10")));
        assert!(range.may_contain(&format!("{base}/2023/07/11")));
        assert!(
            !range.may_contain(&format!("{base}/2023/07/12")),
            "the 12th's folder holds at most the 11th's last hour"
        );
        let until_late = TimeRange { since: None, until: Some(at("2023-07-11T23:30:00Z")) };
        assert!(
            until_late.may_contain(&format!("{base}/2023/07/12")),
            "late deliveries of the 11th land in the 12th's folder"
        );
        assert!(!range.may_contain(&format!("{base}/2023/07/13")));
        assert!(!range.may_contain(&format!("{base}/2023/06")));
        assert!(range.may_contain(&format!("{base}/2023/07")));
        assert!(!range.may_contain(&format!("{base}/2022")));
        assert!(range.may_contain(base));
        assert!(range.may_contain("logs/AWSLogs/111122223333/CloudTrail"));
        assert!(range.may_contain("logs/AWSLogs/111122223333/CloudTrail/us-east-1/"));
        assert!(range.may_contain("some/other/folder"));
    }

    #[test]
    fn organization_trails_and_file_names_are_understood() {
        let range = TimeRange { since: Some(at("2023-07-10T12:00:00Z")), until: None };
        assert!(!range.may_contain("AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2023/07/09"));
        assert!(range.may_contain("AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/2023/07/10"));
        assert!(!range.may_contain("x/111122223333_CloudTrail_us-east-1_20230710T1045Z_abc.json.gz"));
        assert!(range.may_contain("x/111122223333_CloudTrail_us-east-1_20230710T1145Z_abc.json.gz"));
        assert!(range.may_contain("x/111122223333_CloudTrail_us-east-1_20230710T1245Z_abc.json.gz"));
    }

    #[test]
    fn log_file_names_tell_when_they_were_delivered() {
        let delivered = |name| delivery_time_in_name(name);
        assert_eq!(
            delivered("111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"),
            Some(at("2015-08-01T02:10:00Z"))
        );
        assert_eq!(
            delivered("111122223333_CloudTrail_eu-west-1_20231231T2359Z_abcdefghijklmnop.json"),
            Some(at("2023-12-31T23:59:00Z"))
        );
        for name in [
            "111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20230710T114500Z.json.gz",
            "111122223333_CloudTrail_us-east-1_abcdefghijklmnop.json.gz",
            "111122223333_CloudTrail_us-east-1_.json.gz",
            "111122223333_CloudTrail_us-east-1_20231301T0000Z_x.json.gz",
            "111122223333_CloudTrail_us-east-1_20230710T2460Z_x.json.gz",
            "111122223333_CloudTrail_us-east-1_2023071OT1145Z_x.json.gz",
            "111122223333_CloudTrail_us-east-1_+0230710T1145Z_x.json.gz",
            "events_20230710T1145Z.ndjson",
            "CloudTrail_20230710T1145Z",
            "_CloudTrail_",
            "",
            "\u{e9}_CloudTrail_\u{e9}_\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}",
        ] {
            assert_eq!(delivered(name), None, "{name}");
        }
    }

    #[test]
    fn digests_and_non_log_files_are_recognised() {
        assert!(is_digest_path("AWSLogs/1/CloudTrail-Digest/us-east-1/2023/07/10/x.json.gz"));
        assert!(is_digest_path("x/1_CloudTrail-Digest_us-east-1_trail_us-east-1_20230710T114500Z.json.gz"));
        assert!(!is_digest_path("AWSLogs/1/CloudTrail/us-east-1/2023/07/10/x.json.gz"));
        assert!(is_log_file_name("a.json.gz") && is_log_file_name("b.JSON") && is_log_file_name("c.log"));
        assert!(!is_log_file_name("README.md") && !is_log_file_name("LICENSE") && !is_log_file_name(".hidden.json"));
    }
}
