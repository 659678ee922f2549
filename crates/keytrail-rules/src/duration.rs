//! The times in rule files: `from = "now-7d"` (Elasticsearch date math relative to the run)
//! and `interval = "5m"`, both as milliseconds.

const UNITS: &[(char, i64)] =
    &[('s', 1_000), ('m', 60_000), ('h', 3_600_000), ('H', 3_600_000), ('d', 86_400_000), ('w', 7 * 86_400_000)];

/// `"5m"`, `"1h"`, `"60s"` as milliseconds.
pub fn parse_interval(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let unit = text.chars().last().ok_or("the interval is empty")?;
    let scale =
        UNITS.iter().find(|(u, _)| *u == unit).map(|(_, s)| *s).ok_or_else(|| {
            format!("'{text}' has no known unit (s, m, h, d, w); months and years are not fixed lengths")
        })?;
    let count: i64 = text[..text.len() - 1]
        .parse()
        .map_err(|_| format!("'{text}' is not a number followed by a unit, such as 5m"))?;
    if count <= 0 {
        return Err(format!("'{text}' must be longer than zero"));
    }
    Ok(count * scale)
}

/// How far before the run time `"now-7d"` lies, in milliseconds. Rounding (`now-1d/d`) is
/// refused: it makes the window depend on the wall clock, which a backfill cannot honour.
pub fn parse_lookback(text: &str) -> Result<i64, String> {
    let rest =
        text.trim().strip_prefix("now").ok_or_else(|| format!("'{text}' is not relative to now (such as now-6m)"))?;
    if rest.is_empty() {
        return Ok(0);
    }
    if rest.contains('/') {
        return Err(format!("'{text}' rounds the time, which keytrail does not support"));
    }
    let span = rest.strip_prefix('-').ok_or_else(|| format!("'{text}' does not look back (now-…)"))?;
    parse_interval(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_times() {
        assert_eq!(parse_interval("5m"), Ok(300_000));
        assert_eq!(parse_interval("60m"), Ok(3_600_000));
        assert_eq!(parse_lookback("now-7d"), Ok(7 * 86_400_000));
        assert_eq!(parse_lookback("now-61m"), Ok(61 * 60_000));
        assert_eq!(parse_lookback("now-3660s"), Ok(3_660_000));
        assert!(parse_lookback("now-1d/d").unwrap_err().contains("rounds"));
        assert!(parse_interval("1M").unwrap_err().contains("unit"));
        assert!(parse_interval("0m").is_err());
        assert!(parse_lookback("2024-01-01").is_err());
    }
}
