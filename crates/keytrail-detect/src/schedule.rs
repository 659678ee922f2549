//! When a rule runs during a backfill. Runs are anchored at the end of the data (or
//! `--until`) and repeat every interval back in time, so the newest events are always seen.

/// The run times `end - k·interval` (k ≥ 0) that reach back to `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunGrid {
    pub start: i64,
    pub end: i64,
    pub interval: i64,
}

impl RunGrid {
    /// The earliest run at or after `time`, if any.
    pub fn first_run_from(&self, time: i64) -> Option<i64> {
        if time > self.end {
            return None;
        }
        Some((self.end - (self.end - time) / self.interval * self.interval).max(self.first_run()))
    }

    /// The earliest run: the first at or after the start.
    pub fn first_run(&self) -> i64 {
        self.end - (self.end - self.start).max(0) / self.interval * self.interval
    }

    pub fn runs(&self) -> usize {
        ((self.end - self.first_run()) / self.interval) as usize + 1
    }
}

/// The earliest run of `grid` in `[low, high]`.
pub fn run_between(grid: &RunGrid, low: i64, high: i64) -> Option<i64> {
    grid.first_run_from(low).filter(|&run| run <= high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_end_at_the_end_of_the_data() {
        let grid = RunGrid { start: 3, end: 100, interval: 10 };
        assert_eq!(grid.first_run_from(100), Some(100));
        assert_eq!(grid.first_run_from(91), Some(100));
        assert_eq!(grid.first_run_from(90), Some(90));
        assert_eq!(grid.first_run_from(101), None);
        assert_eq!(grid.first_run(), 10);
        assert_eq!(grid.runs(), 10);
        assert_eq!(run_between(&grid, 41, 49), None);
        assert_eq!(run_between(&grid, 41, 50), Some(50));
        assert_eq!(grid.first_run_from(0), Some(10), "no run before the first");
        let once = RunGrid { start: 100, end: 100, interval: 10 };
        assert_eq!((once.runs(), once.first_run_from(85)), (1, Some(100)));
        assert_eq!(run_between(&once, 85, 95), None);
    }
}
