//! When a rule runs during a backfill. Runs are anchored at the end of the data (or
//! `--until`) and repeat every interval back in time, so the newest events are always seen.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::hash::Hash;

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

// Which run raises an alert, as Elastic's detection engine decides it (Kibana,
// x-pack/solutions/security/plugins/security_solution/server/lib/detection_engine/rule_types/):
//
// - An alert's id is a hash of what it is about: for query rules the source event
//   (`_index`, `_id`, `_version`, rule; factories/utils/generate_id via wrapHits), for new_terms
//   the event and its new terms (new_terms/wrap_new_terms_alerts.ts), for ES|QL rules the source
//   event when the query does not aggregate, and for aggregating queries (STATS) the run's
//   window `from`+`to` and the row's index (esql/utils/generate_alert_id.ts: "All alerts for
//   aggregating queries are unique anyway", esql/esql.ts).
// - Before writing, alerts whose id already exists are dropped (rule_registry
//   create_persistence_rule_type_wrapper.ts, filterDuplicateAlerts), then the rest is cut to
//   `maxAlerts = max_signals − alerts created so far in this run`. Only created alerts count.
// - Query rules page through the window's hits in @timestamp order (search_after with a point
//   in time, utils/search_after_bulk_create_factory.ts) until max_signals alerts are created;
//   new_terms rules page through terms and alert on each new term's oldest event in the
//   window; ES|QL rules page by re-running the query and excluding the events already taken
//   (esql/esql.ts, excludedDocuments).
//
// So an event a full run could not alert on is alerted by the next run that still sees it
// and has room, and a run's room goes to the first candidates it has not alerted on before.
// keytrail orders the candidates of a run by evidence time then a stable tiebreak; for
// new_terms Elastic's order within a run is by term bucket instead, which matters only for
// which alerts a run at its cap keeps.

/// An alert some runs of a rule would raise.
pub struct Candidate<Identity, Order> {
    /// What Elastic deduplicates on: an identity alerted once is never alerted again.
    pub identity: Identity,
    /// The first and last run time (inclusive) that would raise it.
    pub runs: (i64, i64),
    /// Its place among the candidates of one run: a run at max_signals keeps the first.
    pub order: Order,
}

/// Where candidates went: `(candidate index, run time)` for each raised, and how many
/// identities no run with room ever saw.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Assignment {
    pub raised: Vec<(usize, i64)>,
    pub capped: usize,
}

/// Sweeps the runs of `grid` in time order: each run raises, in candidate order, up to
/// `max_signals` of the candidates it sees whose identity no earlier run raised. Candidates
/// `already_raised` (by runs before the grid, of which it knows only the alert ids) take no
/// room. Each candidate enters a heap at its first run and leaves it once, so the work is
/// O(n log n) plus the runs.
pub fn assign_runs<Identity: Hash + Eq, Order: Ord>(
    grid: &RunGrid,
    max_signals: usize,
    candidates: &[Candidate<Identity, Order>],
    already_raised: impl Fn(usize) -> bool,
) -> Assignment {
    let first_run = grid.first_run();
    let run_index = |time: i64| ((time - first_run) / grid.interval) as usize;
    // The first and last run index that sees each candidate; none when it falls between runs.
    let mut spans: Vec<(usize, usize, usize)> = candidates
        .iter()
        .enumerate()
        .filter(|&(index, _)| !already_raised(index))
        .filter_map(|(index, candidate)| {
            let (low, high) = candidate.runs;
            let first = run_between(grid, low, high)?;
            let last = high.min(grid.end);
            let last = last - (last - first_run).rem_euclid(grid.interval);
            Some((run_index(first), run_index(last), index))
        })
        .collect();
    spans.sort_unstable();

    let mut assignment = Assignment::default();
    let mut raised: HashSet<&Identity> = HashSet::new();
    let mut missed: HashSet<&Identity> = HashSet::new();
    let mut waiting: BinaryHeap<Reverse<(&Order, usize, usize)>> = BinaryHeap::new();
    let mut next = 0;
    let mut run = 0;
    while next < spans.len() || !waiting.is_empty() {
        if waiting.is_empty() {
            run = run.max(spans[next].0);
        }
        while next < spans.len() && spans[next].0 <= run {
            let (_, last, index) = spans[next];
            waiting.push(Reverse((&candidates[index].order, index, last)));
            next += 1;
        }
        let mut room = max_signals;
        while room > 0 {
            let Some(Reverse((_, index, last))) = waiting.pop() else { break };
            let identity = &candidates[index].identity;
            if raised.contains(identity) {
                continue;
            }
            if last < run {
                missed.insert(identity);
                continue;
            }
            raised.insert(identity);
            assignment.raised.push((index, first_run + run as i64 * grid.interval));
            room -= 1;
        }
        if max_signals == 0 {
            missed.extend(waiting.drain().map(|Reverse((_, index, _))| &candidates[index].identity));
        }
        run += 1;
    }
    assignment.capped = missed.iter().filter(|identity| !raised.contains(*identity)).count();
    assignment
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

    fn candidate(identity: u32, low: i64, high: i64, order: i64) -> Candidate<u32, i64> {
        Candidate { identity, runs: (low, high), order }
    }

    #[test]
    fn a_full_run_leaves_its_candidates_to_the_next_run_that_sees_them() {
        let grid = RunGrid { start: 10, end: 50, interval: 10 };
        let candidates = [
            candidate(1, 11, 30, 11),
            candidate(2, 12, 30, 12),
            candidate(3, 13, 25, 13),
            // The same identity again, for a later run: already raised, so not again.
            candidate(1, 40, 40, 0),
            // Between runs: no run sees it, so it is not capped either.
            candidate(4, 41, 49, 41),
            candidate(5, 14, 20, 14),
        ];
        let assignment = assign_runs(&grid, 1, &candidates, |_| false);
        assert_eq!(assignment.raised, [(0, 20), (1, 30)]);
        // 3 is seen by the runs at 20 only (25 < 30), 5 too: both full.
        assert_eq!(assignment.capped, 2);
        let everything = assign_runs(&grid, 10, &candidates, |_| false);
        assert_eq!(everything.raised, [(0, 20), (1, 20), (2, 20), (5, 20)]);
        assert_eq!(everything.capped, 0);
        assert_eq!(assign_runs(&grid, 0, &candidates, |_| false).capped, 4);
        // Identity 1 raised before the grid: the run at 20 has room for the next.
        let after_a_watch_tick = assign_runs(&grid, 1, &candidates, |index| candidates[index].identity == 1);
        assert_eq!(after_a_watch_tick.raised, [(1, 20)]);
        assert_eq!(after_a_watch_tick.capped, 2);
    }
}
