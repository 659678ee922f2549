//! The parsed query as one DataFusion predicate over the table's columns.
//!
//! Every leaf compiles to an expression that is never NULL: Elasticsearch has two answers,
//! match or not, and a missing value is simply "no match". With SQL's three-valued logic,
//! `NOT (x = 'a')` would drop the rows where `x` is NULL, but `not x:a` must keep them.
//! Leaves are therefore wrapped in `IS TRUE`, and `and`/`or`/`not` of such leaves stay two-valued.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, FieldRef, Schema, TimeUnit};
use datafusion::common::{Column, ScalarValue};
use datafusion::functions_nested::expr_fn::{array_any_match, array_has};
use datafusion::logical_expr::expr::{LambdaVariable, Like};
use datafusion::logical_expr::utils::{conjunction, disjunction};
use datafusion::logical_expr::{Expr, cast, is_true, lambda, lit};

use crate::ast::{Name, Node, Piece, RangeOp, Value, ValueKind};
use crate::date;
use crate::error::KqlError;

/// The name of the lambda parameter that stands for one element of a list column.
const ELEMENT: &str = "kql_element";

pub(crate) struct Compiler<'q> {
    pub text: &'q str,
    pub schema: &'q Schema,
}

impl Compiler<'_> {
    pub fn node(&self, node: &Node) -> Result<Expr, KqlError> {
        Ok(match node {
            Node::All => lit(true),
            Node::Or(nodes) => self.fold(nodes, disjunction)?,
            Node::And(nodes) => self.fold(nodes, conjunction)?,
            Node::Not(node) => !self.node(node)?,
            Node::Nested { query, .. } => self.node(query)?,
            Node::Is { field: None, value } => {
                return Err(
                    self.error(value.span.start, "free-text search is not supported: name a field, as in field:value")
                );
            }
            Node::Is { field: Some(field), value } => self.is(field, value)?,
            Node::Range { field, op, value } => self.range(field, *op, value)?,
        })
    }

    fn fold(&self, nodes: &[Node], join: fn(Vec<Expr>) -> Option<Expr>) -> Result<Expr, KqlError> {
        let exprs = nodes.iter().map(|node| self.node(node)).collect::<Result<Vec<_>, _>>()?;
        Ok(join(exprs).unwrap_or(lit(true)))
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> KqlError {
        KqlError::at(self.text, offset, message)
    }

    fn null_error(&self, value: &Value) -> KqlError {
        self.error(
            value.span.start,
            "null is not a value Elasticsearch can search for; `not field:*` finds a missing field",
        )
    }

    fn is(&self, field: &Name, value: &Value) -> Result<Expr, KqlError> {
        match value.kind {
            ValueKind::Null => Err(self.null_error(value)),
            ValueKind::Exists if field.is_every_field() => Ok(lit(true)),
            _ => self.each_column(field, |target, data_type| self.term(target, data_type, value)),
        }
    }

    fn range(&self, field: &Name, op: RangeOp, value: &Value) -> Result<Expr, KqlError> {
        let ValueKind::Exact(text) = &value.kind else { return Err(self.null_error(value)) };
        self.each_column(field, |target, data_type| self.compare(target, data_type, op, text, value))
    }

    /// `predicate` over every column the field name selects, joined by `or` as Kibana does for
    /// a wildcard field name; no column is a field that no event has, which matches nothing.
    fn each_column(
        &self,
        field: &Name,
        predicate: impl Fn(Expr, &DataType) -> Result<Option<Expr>, KqlError>,
    ) -> Result<Expr, KqlError> {
        let mut exprs = Vec::new();
        for column in self.schema.fields().iter().filter(|column| field.selects(column.name())) {
            let target = Expr::Column(Column::from_name(column.name()));
            match predicate(target, column.data_type())? {
                Some(expr) => exprs.push(expr),
                // A pattern such as `aws.*` may select columns KQL cannot search; skip them.
                None if field.pattern.is_some() => {}
                None => {
                    let (name, data_type) = (column.name(), column.data_type());
                    let message = format!("`{name}` is a column of type {data_type}, which KQL cannot search");
                    return Err(self.error(field.span.start, message));
                }
            }
        }
        Ok(disjunction(exprs).unwrap_or(lit(false)))
    }

    /// `target: value` for one column or list element; `None` for a type KQL cannot search.
    fn term(&self, target: Expr, data_type: &DataType, value: &Value) -> Result<Option<Expr>, KqlError> {
        let Some(kind) = Kind::of(data_type) else { return Ok(None) };
        let text = match &value.kind {
            ValueKind::Null => return Err(self.null_error(value)),
            ValueKind::Exists => {
                return match kind {
                    Kind::List(_) => self.any_element(target, data_type, |element, t| self.term(element, t, value)),
                    _ => Ok(Some(target.is_not_null())),
                };
            }
            ValueKind::Wildcard(pieces) => {
                return match kind {
                    Kind::Text => Ok(Some(is_true(like(target, data_type, pieces)))),
                    Kind::List(_) => self.any_element(target, data_type, |element, t| self.term(element, t, value)),
                    // Elasticsearch's `wildcard` query runs on keyword fields only; on other
                    // types a pattern cannot match.
                    Kind::Bool | Kind::Int | Kind::Float | Kind::Time(..) => Ok(Some(lit(false))),
                };
            }
            ValueKind::Exact(text) => text,
        };
        // A value the column's type cannot hold matches nothing (Elasticsearch would reject
        // the query; a rule should rather keep running).
        Ok(Some(match kind {
            Kind::Text => is_true(target.eq(string_literal(data_type, text))),
            Kind::Bool => parse_bool(text).map_or(lit(false), |flag| is_true(target.eq(lit(flag)))),
            Kind::Int => parse_integer(text).map_or(lit(false), |n| is_true(as_int64(target, data_type).eq(lit(n)))),
            Kind::Float => {
                parse_float(text).map_or(lit(false), |n| is_true(cast(target, DataType::Float64).eq(lit(n))))
            }
            Kind::Time(unit, zone) => match self.date(text, value)? {
                Some((first, last)) => {
                    let (from, to) =
                        (timestamp(unit, zone, first, Round::Up), timestamp(unit, zone, last, Round::Down));
                    is_true(target.clone().gt_eq(from).and(target.lt_eq(to)))
                }
                None => lit(false),
            },
            Kind::List(element) if Kind::of(element.data_type()) == Some(Kind::Text) => {
                is_true(array_has(target, string_literal(element.data_type(), text)))
            }
            Kind::List(_) => {
                return self.any_element(target, data_type, |element, t| self.term(element, t, value));
            }
        }))
    }

    /// `target op text` for one column or list element; `None` for a type KQL cannot search.
    fn compare(
        &self,
        target: Expr,
        data_type: &DataType,
        op: RangeOp,
        text: &str,
        value: &Value,
    ) -> Result<Option<Expr>, KqlError> {
        let Some(kind) = Kind::of(data_type) else { return Ok(None) };
        Ok(Some(match kind {
            // Elasticsearch compares keywords by their UTF-8 bytes, as Arrow does.
            Kind::Text => is_true(op.apply(target, string_literal(data_type, text))),
            Kind::Bool => parse_bool(text).map_or(lit(false), |flag| is_true(op.apply(target, lit(flag)))),
            Kind::Int => parse_float(text).map_or(lit(false), |n| {
                is_true(op.apply(as_int64(target, data_type), lit(integer_bound(op, text, n))))
            }),
            Kind::Float => {
                parse_float(text).map_or(lit(false), |n| is_true(op.apply(cast(target, DataType::Float64), lit(n))))
            }
            Kind::Time(unit, zone) => match self.date(text, value)? {
                // `gte`/`lt` read the date rounding down, `gt`/`lte` rounding up.
                Some((first, last)) => is_true(op.apply(
                    target,
                    match op {
                        RangeOp::Gte | RangeOp::Lt => timestamp(unit, zone, first, Round::Up),
                        RangeOp::Gt | RangeOp::Lte => timestamp(unit, zone, last, Round::Down),
                    },
                )),
                None => lit(false),
            },
            Kind::List(_) => {
                return self.any_element(target, data_type, |element, t| self.compare(element, t, op, text, value));
            }
        }))
    }

    /// The period a date value names; date math is refused rather than read as "no date",
    /// since a rule that uses it would otherwise silently never match.
    fn date(&self, text: &str, value: &Value) -> Result<Option<(i128, i128)>, KqlError> {
        if date::is_date_math(text) {
            return Err(self.error(value.span.start, "date math (now, ||) is not supported"));
        }
        Ok(date::bounds(text))
    }

    /// Whether any element of a list satisfies `predicate`: Elasticsearch indexes each value
    /// of a multi-valued field, and a query matches when one of them does.
    fn any_element(
        &self,
        target: Expr,
        data_type: &DataType,
        predicate: impl Fn(Expr, &DataType) -> Result<Option<Expr>, KqlError>,
    ) -> Result<Option<Expr>, KqlError> {
        let Some(Kind::List(element)) = Kind::of(data_type) else { return Ok(None) };
        let field = Arc::new(element.as_ref().clone().with_name(ELEMENT));
        let variable = Expr::LambdaVariable(LambdaVariable::new(ELEMENT.to_string(), Some(field)));
        Ok(predicate(variable, element.data_type())?
            .map(|body| is_true(array_any_match(target, lambda([ELEMENT], body)))))
    }
}

/// How KQL reads a column type.
#[derive(Debug, PartialEq)]
enum Kind<'t> {
    Text,
    Bool,
    Int,
    Float,
    Time(&'t TimeUnit, &'t Option<Arc<str>>),
    List(&'t FieldRef),
}

impl Kind<'_> {
    fn of(data_type: &DataType) -> Option<Kind<'_>> {
        Some(match data_type {
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Kind::Text,
            DataType::Boolean => Kind::Bool,
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => Kind::Int,
            DataType::Float32 | DataType::Float64 => Kind::Float,
            DataType::Timestamp(unit, zone) => Kind::Time(unit, zone),
            DataType::List(element) | DataType::LargeList(element) | DataType::FixedSizeList(element, _) => {
                Kind::List(element)
            }
            _ => return None,
        })
    }
}

impl RangeOp {
    fn apply(self, left: Expr, right: Expr) -> Expr {
        match self {
            RangeOp::Gt => left.gt(right),
            RangeOp::Gte => left.gt_eq(right),
            RangeOp::Lt => left.lt(right),
            RangeOp::Lte => left.lt_eq(right),
        }
    }
}

fn string_literal(data_type: &DataType, text: &str) -> Expr {
    let text = Some(text.to_string());
    lit(match data_type {
        DataType::LargeUtf8 => ScalarValue::LargeUtf8(text),
        DataType::Utf8View => ScalarValue::Utf8View(text),
        _ => ScalarValue::Utf8(text),
    })
}

fn as_int64(target: Expr, data_type: &DataType) -> Expr {
    match data_type {
        DataType::Int64 => target,
        _ => cast(target, DataType::Int64),
    }
}

/// `target LIKE pattern`, the KQL wildcard with `%`, `_` and `\` escaped in its literal parts
/// (DataFusion's LIKE always escapes with a backslash).
fn like(target: Expr, data_type: &DataType, pieces: &[Piece]) -> Expr {
    let mut pattern = String::new();
    for piece in pieces {
        match piece {
            Piece::Any => pattern.push('%'),
            Piece::Text(text) => {
                for c in text.chars() {
                    if matches!(c, '%' | '_' | '\\') {
                        pattern.push('\\');
                    }
                    pattern.push(c);
                }
            }
        }
    }
    Expr::Like(Like::new(false, Box::new(target), Box::new(string_literal(data_type, &pattern)), Some('\\'), false))
}

/// Elasticsearch's boolean field accepts `true`, and `false` or the empty string.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" => Some(true),
        "false" | "" => Some(false),
        _ => None,
    }
}

fn parse_float(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|number| number.is_finite())
}

/// A whole number; `5.0` is 5, as for Elasticsearch's `long`, while `5.5` is none (no match).
fn parse_integer(text: &str) -> Option<i64> {
    text.parse::<i64>().ok().or_else(|| {
        let number = parse_float(text)?;
        (number.fract() == 0.0 && number.abs() < 9.2e18).then_some(number as i64)
    })
}

/// The integer bound equivalent to comparing with `number`: `> 1.5` is `> 1`, `>= 1.5` is `>= 2`,
/// `< 1.5` is `< 2`, `<= 1.5` is `<= 1`. Bounds beyond the 64-bit range saturate.
fn integer_bound(op: RangeOp, text: &str, number: f64) -> i64 {
    if let Ok(exact) = text.parse::<i64>() {
        return exact;
    }
    match op {
        RangeOp::Gt | RangeOp::Lte => number.floor() as i64,
        RangeOp::Gte | RangeOp::Lt => number.ceil() as i64,
    }
}

#[derive(Clone, Copy)]
enum Round {
    Down,
    Up,
}

/// A timestamp literal of the column's unit and zone; nanoseconds that fall between two ticks of
/// the unit round to the tick that keeps the comparison exact.
fn timestamp(unit: &TimeUnit, zone: &Option<Arc<str>>, nanos: i128, round: Round) -> Expr {
    let per_tick: i128 = match unit {
        TimeUnit::Second => 1_000_000_000,
        TimeUnit::Millisecond => 1_000_000,
        TimeUnit::Microsecond => 1_000,
        TimeUnit::Nanosecond => 1,
    };
    let ticks = match round {
        Round::Down => nanos.div_euclid(per_tick),
        Round::Up => -(-nanos).div_euclid(per_tick),
    };
    let ticks = Some(i64::try_from(ticks).unwrap_or(if ticks < 0 { i64::MIN } else { i64::MAX }));
    let zone = zone.clone();
    lit(match unit {
        TimeUnit::Second => ScalarValue::TimestampSecond(ticks, zone),
        TimeUnit::Millisecond => ScalarValue::TimestampMillisecond(ticks, zone),
        TimeUnit::Microsecond => ScalarValue::TimestampMicrosecond(ticks, zone),
        TimeUnit::Nanosecond => ScalarValue::TimestampNanosecond(ticks, zone),
    })
}
