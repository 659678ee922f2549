//! Dates in a query on a date column, read as Elasticsearch reads them for a `date` field with
//! its default format `strict_date_optional_time||epoch_millis`.
//!
//! A date names a period (`2024-05-01` is a whole day), so it has two ends. Elasticsearch
//! parses the bound of `gte`/`lt` rounding down and of `gt`/`lte` rounding up, filling the
//! missing components as its range-query documentation ("Missing date components") lists:
//! month and day 01, hour 23, minute 59, second 59, nanosecond 999 999 999. So `<= 2024-05`
//! ends on 2024-05-01T23:59:59.999999999, not at the end of May: this is Elasticsearch's
//! rule, kept so a rule means here what it means there. An exact match (`@timestamp:2024-05-01`)
//! is Kibana's `gte` and `lte` of the same text, i.e. the whole day.

use chrono::NaiveDate;

/// The first and last nanosecond since the epoch (UTC) that `text` names, or `None` when it is
/// not a date.
pub(crate) fn bounds(text: &str) -> Option<(i128, i128)> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let is_year = text.len() == 4 && all_digits(text);
    if all_digits(unsigned) && !is_year {
        let nanos = text.parse::<i128>().ok()?.checked_mul(1_000_000)?;
        return Some((nanos, nanos));
    }
    iso_bounds(text)
}

/// Date math (`now-1d`, `2024-01-01||+1M`), which depends on the time of the query.
pub(crate) fn is_date_math(text: &str) -> bool {
    text.starts_with("now") || text.contains("||")
}

fn all_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// Takes exactly `count` digits from the front of `rest`.
fn digits(rest: &mut &str, count: usize) -> Option<u32> {
    let taken = rest.get(..count).filter(|d| all_digits(d))?;
    *rest = &rest[count..];
    taken.parse().ok()
}

/// `yyyy[-MM[-dd[THH[:mm[:ss[.fraction]]][zone]]]]`, zone being `Z` or `±HH[[:]mm]`.
fn iso_bounds(text: &str) -> Option<(i128, i128)> {
    let mut rest = text;
    let year = digits(&mut rest, 4)?;
    let take_after = |separator: char, rest: &mut &str| -> Option<Option<u32>> {
        match rest.strip_prefix(separator) {
            Some(after) => {
                *rest = after;
                digits(rest, 2).map(Some)
            }
            None => Some(None),
        }
    };
    let month = take_after('-', &mut rest)?;
    let day = if month.is_some() { take_after('-', &mut rest)? } else { None };
    let hour = if day.is_some() { take_after('T', &mut rest)? } else { None };
    let minute = if hour.is_some() { take_after(':', &mut rest)? } else { None };
    let second = if minute.is_some() { take_after(':', &mut rest)? } else { None };
    let mut nanos = None;
    if second.is_some()
        && let Some(after) = rest.strip_prefix(['.', ','])
    {
        let length = after.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=9).contains(&length) {
            return None;
        }
        nanos = Some(after[..length].parse::<u32>().ok()? * 10u32.pow(9 - length as u32));
        rest = &after[length..];
    }
    let offset_seconds = if hour.is_some() { zone(&mut rest)? } else { 0 };
    if !rest.is_empty() || hour > Some(23) || minute > Some(59) || second > Some(59) {
        return None;
    }
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month.unwrap_or(1), day.unwrap_or(1))?;
    let days = i128::from(date.signed_duration_since(NaiveDate::default()).num_days());
    let at = |h: u32, m: u32, s: u32, ns: u32| {
        let seconds = days * 86_400 + i128::from(h * 3600 + m * 60 + s) - i128::from(offset_seconds);
        seconds * 1_000_000_000 + i128::from(ns)
    };
    let first = at(hour.unwrap_or(0), minute.unwrap_or(0), second.unwrap_or(0), nanos.unwrap_or(0));
    let last = at(hour.unwrap_or(23), minute.unwrap_or(59), second.unwrap_or(59), nanos.unwrap_or(999_999_999));
    Some((first, last))
}

/// The zone's offset east of UTC in seconds; none written is UTC.
fn zone(rest: &mut &str) -> Option<i64> {
    if let Some(after) = rest.strip_prefix('Z') {
        *rest = after;
        return Some(0);
    }
    let sign = match rest.chars().next() {
        Some('+') => 1,
        Some('-') => -1,
        _ => return Some(0),
    };
    *rest = &rest[1..];
    let hours = digits(rest, 2)?;
    if let Some(after) = rest.strip_prefix(':') {
        *rest = after;
    }
    let minutes = if rest.is_empty() { 0 } else { digits(rest, 2)? };
    (hours <= 18 && minutes <= 59).then(|| sign * i64::from(hours * 3600 + minutes * 60))
}

#[cfg(test)]
mod tests {
    use super::bounds;

    const DAY: i128 = 86_400 * 1_000_000_000;

    #[test]
    fn dates_name_periods() {
        let may_first = 19_844 * DAY;
        assert_eq!(bounds("2024-05-01"), Some((may_first, may_first + DAY - 1)));
        assert_eq!(bounds("2024-05-01T10:00:00Z").map(|b| b.0), Some(may_first + 10 * 3600 * 1_000_000_000));
        assert_eq!(
            bounds("2024-05-01T10:00:00.5+02:00").map(|b| b.0),
            Some(may_first + 8 * 3600 * 1_000_000_000 + 500_000_000)
        );
        // Elasticsearch's documented filling: a month rounds up to 23:59:59.999999999 of its first day.
        assert_eq!(bounds("2024-05"), Some((may_first, may_first + DAY - 1)));
        assert_eq!(bounds("1714557600000"), Some((1_714_557_600_000_000_000, 1_714_557_600_000_000_000)));
        for invalid in ["2024-13-01", "2024-02-30", "2024-05-01T24:00", "24-05-01", "May 1", "2024-05-01T10:00:00.", ""]
        {
            assert_eq!(bounds(invalid), None, "{invalid}");
        }
    }
}
