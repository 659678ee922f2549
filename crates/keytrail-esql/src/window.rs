//! Many scheduled runs of a query in one plan, for backfill.
//!
//! A rule runs at times `t_k = runs_first + k·interval` (k < runs), each over the rows whose
//! time (`@timestamp`, or the rule's timestamp field) is in `(t_k − lookback, t_k]`, with
//! NOW() = `t_k`. Planning it once per run would
//! read the data once per run; instead:
//!
//! ```text
//!  rows in (t_0 − lookback, t_last] ──► slot = which gcd(interval, lookback)-long slice
//!      │                                 of time holds the row (every window is whole slots)
//!      ▼
//!  row-local prefix (WHERE, EVAL, DISSECT, GROK, RENAME, KEEP, DROP, MV_EXPAND without NOW())
//!      │                                        once, the slot carried along
//!      ├─ first STATS ──► partial aggregates per (BY keys, slot) ──► each copied to the runs
//!      │                  whose window holds the slot ──► combined per (BY keys, run)
//!      └─ otherwise, or ► each row copied to the runs whose window holds it
//!         when slots are much finer than the interval (see `Window::partials_pay_off`);
//!         an INLINE STATS before the first STATS lands here, its groups then per run
//!      ▼
//!  the rest of the query, partitioned by `__run_time` (STATS, SORT, LIMIT per run),
//!  NOW() = `__run_time`
//! ```
//!
//! A STATS without BY gives no row for a run without rows (a single plan gives one row of
//! zero counts there).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::Column;
use datafusion::functions_nested::expr_fn as nested;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder, Operator, binary_expr, lit, when};
use datafusion::prelude::Expr;

use crate::Query;
use crate::ast::{self, BinOp, Command, CommandKind, ExprKind};
use crate::error::{EsqlError, error_at};
use crate::expr::timestamp_type;
use crate::planner::Planner;

/// The column holding each output row's run time in [`Query::plan_windowed`]'s result.
pub const RUN_TIME_COLUMN: &str = "__run_time";
/// Which slot of time a row belongs to, while planning windowed.
pub(crate) const SLOT_COLUMN: &str = "__esql_slot";
/// The last run a row can reach, when a WHERE before the first STATS bounds it by NOW()
/// (see [`NowBound`]).
pub(crate) const LAST_RUN_COLUMN: &str = "__esql_last_run";

/// Scheduled runs of a rule: at `runs_first + k·interval_ms` for k < `runs`, each looking back
/// `lookback_ms` (all in milliseconds since the epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub runs_first: i64,
    pub interval_ms: i64,
    pub runs: usize,
    pub lookback_ms: i64,
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn column(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

fn int(e: Expr, op: Operator, v: i64) -> Expr {
    binary_expr(e, op, lit(v))
}

impl Window {
    /// The length of a slot: windows start and end on slot boundaries.
    fn slot_ms(&self) -> i64 {
        gcd(self.interval_ms, self.lookback_ms)
    }

    /// Where slot 1 starts (exclusive): the start of the first run's window.
    fn origin(&self) -> i64 {
        self.runs_first - self.lookback_ms
    }

    fn last_run(&self) -> i64 {
        self.runs_first + (self.runs as i64 - 1) * self.interval_ms
    }

    /// The slot of a time: slot j ≥ 1 is `(origin + (j−1)·slot, origin + j·slot]`.
    fn slot_of(&self, time: Expr) -> Expr {
        let millis = Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(time), DataType::Int64));
        let s = self.slot_ms();
        int(int(millis, Operator::Minus, self.origin() - s + 1), Operator::Divide, s)
    }

    /// The runs whose window holds a slot, as a list of run numbers: run k holds slots
    /// `k·a + 1 ..= k·a + b`, with a = interval/slot and b = lookback/slot.
    pub(crate) fn runs_of_slot(&self, slot: Expr) -> Expr {
        let s = self.slot_ms();
        let (a, b) = (self.interval_ms / s, self.lookback_ms / s);
        let over = int(slot.clone(), Operator::Minus, b);
        let first = when(over.clone().lt_eq(lit(0i64)), lit(0i64))
            .otherwise(int(int(over, Operator::Plus, a - 1), Operator::Divide, a))
            .expect("a CASE with one branch");
        let last = datafusion::functions::expr_fn::least(vec![
            int(int(slot, Operator::Minus, 1), Operator::Divide, a),
            lit(self.runs as i64 - 1),
        ]);
        nested::range(first, int(last, Operator::Plus, 1), lit(1i64))
    }

    /// Whether the run at `run_time` holds `slot`: run k holds slots `k·a + 1 ..= k·a + b`
    /// (see [`Window::runs_of_slot`]).
    pub(crate) fn holds_slot(&self, run_time: Expr, slot: Expr) -> Expr {
        let s = self.slot_ms();
        let (a, b) = (self.interval_ms / s, self.lookback_ms / s);
        let before_first = int(self.run_number(run_time), Operator::Multiply, a);
        slot.clone().gt(before_first.clone()).and(slot.lt_eq(int(before_first, Operator::Plus, b)))
    }

    /// The number k of the run at `run_time`.
    pub(crate) fn run_number(&self, run_time: Expr) -> Expr {
        let millis = Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(run_time), DataType::Int64));
        int(int(millis, Operator::Minus, self.runs_first), Operator::Divide, self.interval_ms)
    }

    /// The number of the last run whose time is at most `time + span_ms` (before it, when
    /// `strict`), −1 when there is none: the runs for which `time >= NOW() - span` holds.
    pub(crate) fn last_run_until(&self, time: Expr, span_ms: i64, strict: bool) -> Expr {
        let cast = |e: Expr, to: DataType| Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(e), to));
        let millis = cast(cast(time, timestamp_type()), DataType::Int64);
        let over = int(millis, Operator::Plus, span_ms - i64::from(strict) - self.runs_first);
        when(over.clone().lt(lit(0i64)), lit(-1i64))
            .otherwise(int(over, Operator::Divide, self.interval_ms))
            .expect("a CASE with one branch")
    }

    /// Whether partial aggregates per slot beat copying rows: a partial is copied to every
    /// run holding its slot (lookback/slot copies), a row to every run holding it (about
    /// lookback/interval + 1). A window of 61 minutes run hourly has 1-minute slots: 61
    /// copies of nearly as many partials as rows, against 2 copies of each row.
    fn partials_pay_off(&self) -> bool {
        let copies_per_partial = self.lookback_ms / self.slot_ms();
        let copies_per_row = (self.lookback_ms + self.interval_ms - 1) / self.interval_ms + 1;
        copies_per_partial <= 4 * copies_per_row
    }

    /// The time of run number k.
    pub(crate) fn run_time(&self, k: Expr) -> Expr {
        let millis = int(int(k, Operator::Multiply, self.interval_ms), Operator::Plus, self.runs_first);
        Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(millis), timestamp_type()))
    }

    fn check(&self, text: &str) -> Result<(), EsqlError> {
        if self.interval_ms <= 0 || self.lookback_ms <= 0 || self.runs == 0 {
            return Err(error_at(
                text,
                0,
                format!("invalid window {self:?}: interval, lookback and runs must be positive"),
            ));
        }
        Ok(())
    }
}

impl Query {
    /// The union of the query's runs over `window` (see the module docs), with each row's run
    /// time in the last column, `__run_time`, computed in one pass over `input`. `time` places
    /// a row in the runs' windows: `@timestamp`, or what the rule selects its events by.
    pub fn plan_windowed(&self, input: LogicalPlan, window: &Window, time: Expr) -> Result<LogicalPlan, EsqlError> {
        window.check(&self.text)?;
        let at_time =
            |ms: i64| lit(datafusion::scalar::ScalarValue::TimestampMillisecond(Some(ms), Some("UTC".into())));
        let mut columns: Vec<Expr> = input.schema().fields().iter().map(|f| column(f.name())).collect();
        columns.push(window.slot_of(time.clone()).alias(SLOT_COLUMN));
        let mut carried = vec![SLOT_COLUMN.to_string()];
        // Row-local commands, and WHEREs whose NOW() only bounds the runs a row reaches.
        let prefix = self
            .commands
            .iter()
            .take_while(|c| c.is_row_local() && (!c.uses_now() || bounded_where(c).is_some()))
            .count();
        if self.commands[..prefix].iter().any(Command::uses_now) {
            columns.push(lit(window.runs as i64 - 1).alias(LAST_RUN_COLUMN));
            carried.push(LAST_RUN_COLUMN.to_string());
        }
        let in_runs = time.clone().gt(at_time(window.origin())).and(time.lt_eq(at_time(window.last_run())));
        let slotted = LogicalPlanBuilder::from(input)
            .filter(in_runs)
            .and_then(|b| b.project(columns))
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| error_at(&self.text, 0, e.strip_backtrace()))?;

        // NOW() appears in no command before the runs are expanded.
        let no_time = lit(datafusion::scalar::ScalarValue::TimestampMillisecond(None, Some("UTC".into())));
        let mut planner = Planner::from(&self.text, slotted, &self.fields(), &self.metadata, no_time, carried)?;
        for command in &self.commands[..prefix] {
            match bounded_where(command).filter(|_| command.uses_now()) {
                Some((rest, bounds)) => planner.bounded_where(command.at, rest.as_ref(), &bounds, window)?,
                None => planner.command(command)?,
            }
        }
        let mut rest = &self.commands[prefix..];
        match rest.first() {
            Some(command)
                if !command.uses_now()
                    && window.partials_pay_off()
                    && matches!(command.kind, CommandKind::Stats { .. }) =>
            {
                let CommandKind::Stats { aggregates, by } = &command.kind else { unreachable!("matched above") };
                // The EVALs and the WHERE after the STATS, which may say which runs can matter.
                let evals = rest[1..].iter().take_while(|c| matches!(c.kind, CommandKind::Eval(_))).count();
                let then = match rest.get(1 + evals) {
                    Some(c) if matches!(c.kind, CommandKind::Where(_)) => &rest[1..=1 + evals],
                    _ => &[],
                };
                planner.windowed_stats(command.at, aggregates, by, window, then)?;
                rest = &rest[1..];
            }
            first => planner.expand_to_runs(first.map_or(0, |c| c.at), window)?,
        }
        for command in rest {
            planner.command(command)?;
        }
        planner.finish()
    }
}

/// A conjunct `E >= NOW() - span` (or `>`, or `NOW() - span <= E`; `NOW()` alone, or plus a
/// span) of a WHERE before the first STATS. It holds for the runs up to the last whose time is
/// at most E + span, so it bounds the runs each row reaches instead of making every row be
/// copied to its runs before the WHERE ("events of the last 7 days" in a rule that runs hourly
/// over its last 7 days of deliveries).
pub(crate) struct NowBound<'e> {
    pub expr: &'e ast::Expr,
    pub span_ms: i64,
    pub strict: bool,
}

fn now_bound(conjunct: &ast::Expr) -> Option<NowBound<'_>> {
    let ExprKind::Binary(op, left, right) = &conjunct.kind else { return None };
    let (expr, now, strict) = match op {
        BinOp::GtEq => (left, right, false),
        BinOp::Gt => (left, right, true),
        BinOp::LtEq => (right, left, false),
        BinOp::Lt => (right, left, true),
        _ => return None,
    };
    if expr.uses_now() {
        return None;
    }
    Some(NowBound { expr, span_ms: now_minus(now)?, strict })
}

/// `NOW()` → 0, `NOW() - span` → span, `NOW() + span` → −span, in milliseconds (spans of
/// fixed length only).
fn now_minus(e: &ast::Expr) -> Option<i64> {
    let is_now = |e: &ast::Expr| matches!(&e.kind, ExprKind::Call { name, args } if name == "now" && args.is_empty());
    match &e.kind {
        _ if is_now(e) => Some(0),
        ExprKind::Binary(op @ (BinOp::Sub | BinOp::Add), now, span) if is_now(now) => {
            let ExprKind::Span(span) = span.kind else { return None };
            let ms = span.count.checked_mul(span.unit.fixed_millis()?)?;
            Some(if *op == BinOp::Sub { ms } else { -ms })
        }
        _ => None,
    }
}

/// A WHERE whose calls of NOW() are all in [`NowBound`]s: a WHERE of its other conjuncts (if
/// any), and the bounds.
pub(crate) fn bounded_where(command: &Command) -> Option<(Option<Command>, Vec<NowBound<'_>>)> {
    let CommandKind::Where(condition) = &command.kind else { return None };
    let mut bounds = Vec::new();
    for conjunct in condition.conjuncts() {
        if conjunct.uses_now() {
            bounds.push(now_bound(conjunct)?);
        }
    }
    Some((command.where_without_now(), bounds))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The runs of each slot, computed the slow way.
    #[test]
    fn slots_map_to_the_runs_that_hold_them() {
        let window = Window { runs_first: 1_000, interval_ms: 300, runs: 5, lookback_ms: 500 };
        assert_eq!(window.slot_ms(), 100);
        for slot in 1..=30i64 {
            let (start, end) = (window.origin() + (slot - 1) * 100, window.origin() + slot * 100);
            let expected: Vec<i64> = (0..5)
                .filter(|k| {
                    let t = window.runs_first + k * 300;
                    start >= t - 500 && end <= t
                })
                .collect();
            let s = window.slot_ms();
            let (a, b) = (window.interval_ms / s, window.lookback_ms / s);
            let first = if slot - b <= 0 { 0 } else { (slot - b + a - 1) / a };
            let last = ((slot - 1) / a).min(4);
            assert_eq!((first..=last).collect::<Vec<_>>(), expected, "slot {slot}");
        }
    }
}
