//! What the scan learns from a query's filters: bounds on `@timestamp`, which let it skip
//! whole days and files of the S3 layout and drop other events before building their rows,
//! as `--since/--until` do. DataFusion still applies every filter itself (the pushdown is
//! inexact: the layout's pruning is by day and file, not by event).

use chrono::{DateTime, Utc};
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};
use datafusion::scalar::ScalarValue;
use keytrail_source::TimeRange;

const TIMESTAMP: &str = "@timestamp";

/// The range of `@timestamp` a filter lets through, when it bounds it: comparisons of the
/// column with a time, BETWEEN, and AND of such (an OR, or anything else, bounds nothing).
pub fn time_range(filter: &Expr) -> Option<TimeRange> {
    match filter {
        Expr::BinaryExpr(BinaryExpr { left, op: Operator::And, right }) => {
            match (time_range(left), time_range(right)) {
                (Some(a), Some(b)) => Some(a.intersect(b)),
                (a, b) => a.or(b),
            }
        }
        Expr::BinaryExpr(BinaryExpr { left, op, right }) => match (is_timestamp(left), is_timestamp(right)) {
            (true, false) => compared(*op, time_of(right)?),
            (false, true) => compared(op.swap()?, time_of(left)?),
            _ => None,
        },
        Expr::Between(Between { expr, negated: false, low, high }) if is_timestamp(expr) => {
            Some(TimeRange { since: Some(time_of(low)?), until: Some(time_of(high)?) })
        }
        _ => None,
    }
}

/// The range where `@timestamp op time` can hold (bounds are inclusive: the pushdown only
/// has to keep every event that passes).
fn compared(op: Operator, time: DateTime<Utc>) -> Option<TimeRange> {
    match op {
        Operator::Gt | Operator::GtEq => Some(TimeRange { since: Some(time), until: None }),
        Operator::Lt | Operator::LtEq => Some(TimeRange { since: None, until: Some(time) }),
        Operator::Eq => Some(TimeRange { since: Some(time), until: Some(time) }),
        _ => None,
    }
}

fn is_timestamp(expr: &Expr) -> bool {
    matches!(expr, Expr::Column(column) if column.name == TIMESTAMP)
}

/// A time literal, of any unit.
fn time_of(expr: &Expr) -> Option<DateTime<Utc>> {
    let Expr::Literal(value, _) = expr else { return None };
    let nanos = match value {
        ScalarValue::TimestampSecond(Some(t), _) => t.checked_mul(1_000_000_000)?,
        ScalarValue::TimestampMillisecond(Some(t), _) => t.checked_mul(1_000_000)?,
        ScalarValue::TimestampMicrosecond(Some(t), _) => t.checked_mul(1_000)?,
        ScalarValue::TimestampNanosecond(Some(t), _) => *t,
        _ => return None,
    };
    Some(DateTime::from_timestamp_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::{col, lit};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn millis(text: &str) -> Expr {
        lit(ScalarValue::TimestampMillisecond(Some(at(text).timestamp_millis()), Some("UTC".into())))
    }

    #[test]
    fn comparisons_with_times_bound_the_scan() {
        let (a, b) = ("2024-05-01T00:00:00Z", "2024-05-02T12:00:00Z");
        let ts = || col("@timestamp");
        let range = time_range(&ts().gt_eq(millis(a)).and(ts().lt(millis(b)))).unwrap();
        assert_eq!(range, TimeRange { since: Some(at(a)), until: Some(at(b)) });
        // The time on the left, and BETWEEN.
        assert_eq!(time_range(&millis(a).lt(ts())).unwrap().since, Some(at(a)));
        let between = Expr::Between(Between::new(Box::new(ts()), false, Box::new(millis(a)), Box::new(millis(b))));
        assert_eq!(time_range(&between), Some(range));
        // One bounded side of an AND still bounds it; an OR, another column or NOT BETWEEN do not.
        assert_eq!(time_range(&ts().gt(millis(a)).and(col("event.action").eq(lit("x")))).unwrap().since, Some(at(a)));
        assert_eq!(time_range(&ts().gt(millis(a)).or(ts().lt(millis(b)))), None);
        assert_eq!(time_range(&col("event.ingested").gt(millis(a))), None);
        let outside = Expr::Between(Between::new(Box::new(ts()), true, Box::new(millis(a)), Box::new(millis(b))));
        assert_eq!(time_range(&outside), None);
    }
}
