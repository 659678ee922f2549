//! How first-seen rules (new_terms, and ES|QL rules tagged [`crate::BASELINE_TAG`]) judge
//! data that holds less history than they look back over.
//!
//! Elastic judges a term against the rule's whole history window (10 to 14 days for the
//! stolen-key rules). A responder's logs of an incident usually span days: with no history
//! before them, every term of the first window would be "new", and treating that whole window
//! as a baseline (as Elastic's behaviour on such data suggests) leaves nothing to judge —
//! two days of logs under a ten-day rule gave no alert at all, the stolen key included.
//!
//! So by default a leading quarter of the data is history and the rest is judged, each run
//! against whatever history precedes it; alerts of runs whose history window reaches back
//! before the data are marked as judged on thin history, with how much they had. When the
//! data holds four history windows or more, this is Elastic's behaviour exactly: the first
//! window is the baseline, and no alert is thin after it.

use crate::alert::Alert;

/// How much of the data is history, not judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Baseline {
    /// A leading quarter of the data, at most the rule's history window.
    #[default]
    Quarter,
    /// The rule's whole history window: nothing in it is judged.
    Window,
    /// No baseline: every run alerts, whatever history it had (Elastic on fresh data).
    None,
}

/// The share of the data [`Baseline::Quarter`] takes as history.
const QUARTER: i64 = 4;

impl Baseline {
    /// The time up to which the data is baseline, for a rule looking `history_ms` back over
    /// data from `start` to `end`.
    pub fn end(self, history_ms: i64, start: i64, end: i64) -> i64 {
        match self {
            Baseline::None => i64::MIN,
            Baseline::Window => start.saturating_add(history_ms),
            Baseline::Quarter => start.saturating_add(history_ms.min(end.saturating_sub(start) / QUARTER)),
        }
    }
}

/// What a first-seen rule's hunt had to judge with, for the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct History {
    /// How far back the rule looks for earlier occurrences.
    pub window_ms: i64,
    /// How much of the data, from its start, was baseline.
    pub baseline_ms: i64,
    /// How much data there was.
    pub data_ms: i64,
    /// Alerts judged on less history than `window_ms`.
    pub thin_alerts: usize,
}

/// Marks the alerts whose run had less than `window_ms` of data before it: the field
/// `keytrail.history.thin`, and `keytrail.history.days` (the history the run had, in days).
/// Returns how many were thin.
pub fn mark_thin(alerts: &mut [Alert], window_ms: i64, data_start: i64) -> usize {
    const DAY_MS: f64 = 86_400_000.0;
    let mut thin = 0;
    for alert in alerts {
        let had = alert.run_time.saturating_sub(data_start).clamp(0, window_ms);
        let is_thin = had < window_ms;
        thin += usize::from(is_thin);
        let days = (had as f64 / DAY_MS * 10.0).round() / 10.0;
        alert.fields.push(("keytrail.history.thin".to_string(), is_thin.into()));
        alert.fields.push(("keytrail.history.days".to_string(), days.into()));
    }
    thin
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn a_quarter_of_short_data_and_the_window_of_long_data() {
        let ten_days = 10 * DAY;
        assert_eq!(Baseline::Quarter.end(ten_days, 0, 2 * DAY), DAY / 2, "two days: the first 12 hours");
        assert_eq!(Baseline::Quarter.end(ten_days, 0, 14 * DAY), 14 * DAY / 4);
        assert_eq!(Baseline::Quarter.end(ten_days, 0, 60 * DAY), ten_days, "long data: Elastic's baseline");
        assert_eq!(Baseline::Window.end(ten_days, 0, 2 * DAY), ten_days);
        assert_eq!(Baseline::None.end(ten_days, 0, 2 * DAY), i64::MIN);
    }
}
