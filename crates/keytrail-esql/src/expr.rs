//! ES|QL expressions to DataFusion expressions, with ES|QL's semantics where DataFusion's
//! differ:
//!
//! - A multi-valued value (an Arrow list) given to a function or operator that takes one value
//!   is null unless it holds exactly one value (ES|QL returns null with a warning); MV_*
//!   functions, conversions, `IS NULL` and aggregations take lists as they are.
//! - Division and modulo by zero give null instead of failing the query.
//! - `CONCAT` is null when any argument is null.
//! - `LIKE` wildcards are `*` and `?`; `RLIKE` takes a Lucene regular expression matching the
//!   whole value.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, IntervalMonthDayNano, TimeUnit};
use datafusion::common::{Column, DFSchema, DataFusionError, ScalarValue};
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::functions_nested::expr_fn as nested;
use datafusion::logical_expr::expr::{Case, Like, TryCast};
use datafusion::logical_expr::{ExprFunctionExt, ExprSchemable, Operator, ScalarUDF, binary_expr, in_list, lit};
use datafusion::prelude::Expr;

use crate::ast::{self, BinOp, ExprKind, SpanUnit, TimeSpan};
use crate::distinct_values::distinct_values;
use crate::error::{EsqlError, error_at};
use crate::udf;

/// The type of `@timestamp` and of every date ES|QL computes.
pub(crate) fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// The aggregate functions STATS knows.
pub(crate) const AGGREGATES: &[&str] = &["count", "count_distinct", "sum", "avg", "min", "max", "values"];

/// ES|QL functions keytrail does not run, so that the error names them as unsupported.
const UNSUPPORTED_FUNCTIONS: &[&str] = &[
    "match",
    "qstr",
    "match_phrase",
    "score",
    "median",
    "median_absolute_deviation",
    "percentile",
    "st_centroid_agg",
    "top",
    "weighted_avg",
    "bucket",
    "categorize",
    "date_format",
    "date_parse",
    "date_extract",
    "mv_sort",
    "mv_slice",
    "mv_zip",
    "mv_avg",
    "mv_median",
    "ip_prefix",
    "hash",
    "md5",
    "sha1",
    "sha256",
    "locate",
    "repeat",
    "reverse",
    "space",
];

/// How the output of an aggregation is finished after the aggregate step, when DataFusion's
/// aggregate alone is not the ES|QL result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Finish {
    None,
    /// Counting over lists: no rows count 0.
    ZeroIfNull,
    /// VALUES: distinct values, sorted for determinism (ES|QL leaves the order open).
    SortValues,
    /// COUNT_DISTINCT kept as the distinct values: their number, 0 for none.
    CountValues,
}

impl Finish {
    pub fn apply(self, aggregated: Expr) -> Expr {
        match self {
            Finish::None => aggregated,
            Finish::ZeroIfNull => f::coalesce(vec![cast(aggregated, DataType::Int64), lit(0i64)]),
            Finish::SortValues => sort_list(aggregated),
            Finish::CountValues => f::coalesce(vec![cast(nested::cardinality(aggregated), DataType::Int64), lit(0i64)]),
        }
    }
}

fn sort_list(list: Expr) -> Expr {
    datafusion::functions_nested::sort::array_sort_udf().call(vec![list])
}

fn cast(expr: Expr, data_type: DataType) -> Expr {
    Expr::Cast(datafusion::logical_expr::Cast::new(Box::new(expr), data_type))
}

fn try_cast(expr: Expr, data_type: DataType) -> Expr {
    Expr::TryCast(TryCast::new(Box::new(expr), data_type))
}

/// How the partial results of an aggregation over time slots combine into its result over a
/// run (see `window`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combine {
    Sum,
    Min,
    Max,
    /// Lists of distinct values, combined into the distinct values of them all.
    Lists,
}

/// One partial aggregate of an aggregation split over time slots.
pub(crate) struct Part {
    pub aggregate: Expr,
    pub combine: Combine,
}

/// How an aggregation's combined parts give its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Merge {
    Finish(Finish),
    /// AVG: the sum of the sums over the sum of the counts.
    Average,
}

impl Merge {
    pub fn apply(self, parts: &[Expr]) -> Expr {
        match self {
            Merge::Finish(finish) => finish.apply(parts[0].clone()),
            Merge::Average => binary_expr(
                cast(parts[0].clone(), DataType::Float64),
                Operator::Divide,
                f::nullif(cast(parts[1].clone(), DataType::Float64), lit(0f64)),
            ),
        }
    }
}

/// What an expression is translated against.
pub(crate) struct Scope<'a> {
    pub text: &'a str,
    pub schema: &'a DFSchema,
    pub now: &'a Expr,
    /// In the expressions of STATS outputs: the result of each aggregate call, by the call's
    /// offset in the text.
    pub aggregates: Option<&'a HashMap<usize, Expr>>,
}

impl Scope<'_> {
    pub fn error(&self, at: usize, message: impl Into<String>) -> EsqlError {
        error_at(self.text, at, message)
    }

    pub fn datafusion_error(&self, at: usize, error: DataFusionError) -> EsqlError {
        self.error(at, error.strip_backtrace())
    }

    pub fn type_of(&self, expr: &Expr, at: usize) -> Result<DataType, EsqlError> {
        expr.get_type(self.schema).map_err(|e| self.datafusion_error(at, e))
    }

    fn is_list(&self, expr: &Expr, at: usize) -> Result<bool, EsqlError> {
        Ok(matches!(self.type_of(expr, at)?, DataType::List(_) | DataType::LargeList(_)))
    }

    /// `expr` as one value: a list stands for its only element, and for null when it holds
    /// more than one.
    fn single(&self, expr: Expr, at: usize) -> Result<Expr, EsqlError> {
        if !self.is_list(&expr, at)? {
            return Ok(expr);
        }
        let one = binary_expr(nested::cardinality(expr.clone()), Operator::Eq, lit(1u64));
        datafusion::logical_expr::when(one, nested::array_element(expr, lit(1i64)))
            .end()
            .map_err(|e| self.datafusion_error(at, e))
    }

    /// The expression, reduced to one value.
    pub fn value(&self, e: &ast::Expr) -> Result<Expr, EsqlError> {
        let expr = self.expr(e)?;
        self.single(expr, e.at)
    }

    pub fn expr(&self, e: &ast::Expr) -> Result<Expr, EsqlError> {
        Ok(match &e.kind {
            ExprKind::Null => lit(ScalarValue::Null),
            ExprKind::Bool(b) => lit(*b),
            ExprKind::Int(v) => match i32::try_from(*v) {
                Ok(v) => lit(v),
                Err(_) => lit(*v),
            },
            ExprKind::Float(v) => lit(*v),
            ExprKind::Str(s) => lit(s.clone()),
            ExprKind::Span(span) => lit(interval(*span)),
            ExprKind::Field(name) => {
                let column = Column::from_name(name);
                if !self.schema.has_column(&column) {
                    return Err(self.error(e.at, format!("Unknown column [{name}]")));
                }
                Expr::Column(column)
            }
            ExprKind::Star => return Err(self.error(e.at, "'*' is only allowed in COUNT(*)")),
            ExprKind::Not(inner) => Expr::Not(Box::new(self.value(inner)?)),
            ExprKind::Neg(inner) => Expr::Negative(Box::new(self.value(inner)?)),
            ExprKind::Binary(op, left, right) => self.binary(*op, left, right)?,
            ExprKind::In { expr, list, negated } => {
                let list = list.iter().map(|item| self.value(item)).collect::<Result<_, _>>()?;
                in_list(self.value(expr)?, list, *negated)
            }
            ExprKind::IsNull { expr, negated } => {
                let inner = self.expr(expr)?;
                if *negated { inner.is_not_null() } else { inner.is_null() }
            }
            ExprKind::Match { expr, patterns, negated, regex } => {
                let value = self.value(expr)?;
                let mut matches = Vec::with_capacity(patterns.len());
                for pattern in patterns {
                    matches.push(if *regex {
                        let translated = lucene_to_regex(pattern).map_err(|m| self.error(e.at, m))?;
                        regex::Regex::new(&translated)
                            .map_err(|err| self.error(e.at, format!("invalid regular expression: {err}")))?;
                        binary_expr(value.clone(), Operator::RegexMatch, lit(translated))
                    } else {
                        Expr::Like(Like::new(
                            false,
                            Box::new(value.clone()),
                            Box::new(lit(wildcard_to_like(pattern))),
                            Some('\\'),
                            false,
                        ))
                    });
                }
                let any = matches.into_iter().reduce(Expr::or).expect("the parser requires a pattern");
                if *negated { Expr::Not(Box::new(any)) } else { any }
            }
            ExprKind::Cast { expr, to } => {
                let target = cast_target(to).ok_or_else(|| self.error(e.at, format!("unsupported type {to}")))?;
                self.convert(self.expr(expr)?, target, e.at)?
            }
            ExprKind::Call { name, args } => {
                if let Some(result) = self.aggregates.and_then(|a| a.get(&e.at)) {
                    return Ok(result.clone());
                }
                self.call(name, args, e)?
            }
        })
    }

    fn binary(&self, op: BinOp, left: &ast::Expr, right: &ast::Expr) -> Result<Expr, EsqlError> {
        let (l, r) = (self.value(left)?, self.value(right)?);
        let operator = match op {
            BinOp::And => return Ok(l.and(r)),
            BinOp::Or => return Ok(l.or(r)),
            BinOp::EqIgnoreCase => return Ok(f::lower(l).eq(f::lower(r))),
            BinOp::Div | BinOp::Mod => {
                // ES|QL answers null (with a warning) where DataFusion would fail the query.
                let operator = if op == BinOp::Div { Operator::Divide } else { Operator::Modulo };
                return Ok(binary_expr(l, operator, f::nullif(r, lit(0i32))));
            }
            BinOp::Eq => Operator::Eq,
            BinOp::NotEq => Operator::NotEq,
            BinOp::Lt => Operator::Lt,
            BinOp::LtEq => Operator::LtEq,
            BinOp::Gt => Operator::Gt,
            BinOp::GtEq => Operator::GtEq,
            BinOp::Add => Operator::Plus,
            BinOp::Sub => Operator::Minus,
            BinOp::Mul => Operator::Multiply,
        };
        Ok(binary_expr(l, operator, r))
    }

    /// A conversion function or `::` cast; lists convert value by value.
    fn convert(&self, expr: Expr, target: DataType, at: usize) -> Result<Expr, EsqlError> {
        let from = self.type_of(&expr, at)?;
        if let DataType::List(item) = &from {
            let to = DataType::List(Arc::new(Field::new("item", target, true)));
            return Ok(if item.data_type() == to_item(&to) { expr } else { try_cast(expr, to) });
        }
        Ok(match (&from, &target) {
            (DataType::Timestamp(..), DataType::Utf8) => f::to_char(expr, lit("%Y-%m-%dT%H:%M:%S%.3fZ")),
            (DataType::Timestamp(..), DataType::Int32 | DataType::Int64 | DataType::Float64) => {
                try_cast(cast(expr, DataType::Int64), target)
            }
            (DataType::Float64 | DataType::Float32, DataType::Timestamp(..)) => {
                try_cast(try_cast(expr, DataType::Int64), target)
            }
            (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View, DataType::Boolean) => {
                f::lower(f::btrim(vec![expr])).eq(lit("true"))
            }
            _ if from == target => expr,
            _ => try_cast(expr, target),
        })
    }

    fn arity(
        &self,
        e: &ast::Expr,
        name: &str,
        args: &[ast::Expr],
        range: std::ops::RangeInclusive<usize>,
    ) -> Result<(), EsqlError> {
        if range.contains(&args.len()) {
            return Ok(());
        }
        let expected = if range.start() == range.end() {
            format!("{}", range.start())
        } else if *range.end() == usize::MAX {
            format!("at least {}", range.start())
        } else {
            format!("{} to {}", range.start(), range.end())
        };
        Err(self.error(e.at, format!("{} takes {expected} arguments, found {}", name.to_uppercase(), args.len())))
    }

    fn string_literal<'e>(&self, arg: &'e ast::Expr, what: &str) -> Result<&'e str, EsqlError> {
        match &arg.kind {
            ExprKind::Str(s) => Ok(s),
            _ => Err(self.error(arg.at, format!("{what} must be a string literal"))),
        }
    }

    fn call(&self, name: &str, args: &[ast::Expr], e: &ast::Expr) -> Result<Expr, EsqlError> {
        let value = |i: usize| self.value(&args[i]);
        let values = || args.iter().map(|a| self.value(a)).collect::<Result<Vec<_>, _>>();
        let n = args.len();
        let udf = |u: ScalarUDF, args: Vec<Expr>| Arc::new(u).call(args);
        let result = match name {
            "case" => {
                self.arity(e, name, args, 2..=usize::MAX)?;
                let mut pairs = Vec::new();
                for pair in args.chunks(2).filter(|c| c.len() == 2) {
                    pairs.push((Box::new(self.value(&pair[0])?), Box::new(self.value(&pair[1])?)));
                }
                let otherwise = if n % 2 == 1 { Some(Box::new(value(n - 1)?)) } else { None };
                Expr::Case(Case::new(None, pairs, otherwise))
            }
            "coalesce" => {
                self.arity(e, name, args, 1..=usize::MAX)?;
                f::coalesce(args.iter().map(|a| self.expr(a)).collect::<Result<_, _>>()?)
            }
            "greatest" | "least" => {
                self.arity(e, name, args, 1..=usize::MAX)?;
                if name == "greatest" { f::greatest(values()?) } else { f::least(values()?) }
            }
            "now" => {
                self.arity(e, name, args, 0..=0)?;
                self.now.clone()
            }
            "date_trunc" => {
                self.arity(e, name, args, 2..=2)?;
                let ExprKind::Span(span) = args[0].kind else {
                    return Err(self.error(args[0].at, "DATE_TRUNC needs a time span such as 1 hour"));
                };
                date_trunc(span, value(1)?)
            }
            "date_diff" => {
                self.arity(e, name, args, 3..=3)?;
                let unit = self.string_literal(&args[0], "the DATE_DIFF unit")?;
                let (start, end) = (value(1)?, value(2)?);
                date_diff(unit, start, end)
                    .ok_or_else(|| self.error(args[0].at, format!("unknown DATE_DIFF unit {unit}")))?
            }
            "concat" => {
                self.arity(e, name, args, 2..=usize::MAX)?;
                let mut parts = Vec::with_capacity(n);
                for (arg, expr) in args.iter().zip(values()?) {
                    parts.push(self.convert(expr, DataType::Utf8, arg.at)?);
                }
                // `||` is null when any side is, as ES|QL's CONCAT; DataFusion's concat() is not.
                parts.into_iter().reduce(|a, b| binary_expr(a, Operator::StringConcat, b)).expect("two or more")
            }
            "to_lower" | "to_upper" => {
                self.arity(e, name, args, 1..=1)?;
                if name == "to_lower" { f::lower(value(0)?) } else { f::upper(value(0)?) }
            }
            "starts_with" | "ends_with" => {
                self.arity(e, name, args, 2..=2)?;
                if name == "starts_with" {
                    f::starts_with(value(0)?, value(1)?)
                } else {
                    f::ends_with(value(0)?, value(1)?)
                }
            }
            "length" => {
                self.arity(e, name, args, 1..=1)?;
                cast(f::character_length(value(0)?), DataType::Int32)
            }
            "trim" => {
                self.arity(e, name, args, 1..=1)?;
                f::btrim(vec![value(0)?])
            }
            "ltrim" | "rtrim" => {
                self.arity(e, name, args, 1..=1)?;
                if name == "ltrim" { f::ltrim(vec![value(0)?]) } else { f::rtrim(vec![value(0)?]) }
            }
            "substring" => {
                self.arity(e, name, args, 2..=3)?;
                let mut call = vec![value(0)?, value(1)?];
                if n == 3 {
                    call.push(value(2)?);
                }
                datafusion::functions::unicode::substr().call(call)
            }
            "replace" => {
                self.arity(e, name, args, 3..=3)?;
                f::regexp_replace(value(0)?, value(1)?, value(2)?, Some(lit("g")))
            }
            "split" => {
                self.arity(e, name, args, 2..=2)?;
                datafusion::functions_nested::string::string_to_array_udf().call(vec![value(0)?, value(1)?])
            }
            "abs" => {
                self.arity(e, name, args, 1..=1)?;
                f::abs(value(0)?)
            }
            "to_string" | "to_str" | "to_keyword" | "to_ip" => {
                self.arity(e, name, args, 1..=1)?;
                self.convert(self.expr(&args[0])?, DataType::Utf8, args[0].at)?
            }
            "to_double" | "to_dbl" | "to_integer" | "to_int" | "to_long" | "to_datetime" | "to_dt" | "to_boolean"
            | "to_bool" => {
                self.arity(e, name, args, 1..=1)?;
                let target = match name {
                    "to_double" | "to_dbl" => DataType::Float64,
                    "to_integer" | "to_int" => DataType::Int32,
                    "to_long" => DataType::Int64,
                    "to_datetime" | "to_dt" => timestamp_type(),
                    _ => DataType::Boolean,
                };
                self.convert(self.expr(&args[0])?, target, args[0].at)?
            }
            "mv_count" | "mv_first" | "mv_last" | "mv_min" | "mv_max" | "mv_dedupe" | "mv_sum" => {
                self.arity(e, name, args, 1..=1)?;
                let arg = self.expr(&args[0])?;
                if !self.is_list(&arg, args[0].at)? {
                    match name {
                        "mv_count" => datafusion::logical_expr::when(arg.is_null(), lit(ScalarValue::Int32(None)))
                            .otherwise(lit(1i32))
                            .map_err(|err| self.datafusion_error(e.at, err))?,
                        _ => arg,
                    }
                } else {
                    match name {
                        "mv_count" => cast(nested::cardinality(arg), DataType::Int32),
                        "mv_first" => nested::array_element(arg, lit(1i64)),
                        "mv_last" => nested::array_element(arg, lit(-1i64)),
                        "mv_min" => nested::array_min(arg),
                        "mv_max" => nested::array_max(arg),
                        "mv_sum" => nested::array_sum(arg),
                        _ => sort_list(nested::array_distinct(arg)),
                    }
                }
            }
            "mv_concat" => {
                self.arity(e, name, args, 2..=2)?;
                let arg = self.expr(&args[0])?;
                if self.is_list(&arg, args[0].at)? {
                    nested::array_to_string(arg, value(1)?)
                } else {
                    self.convert(arg, DataType::Utf8, args[0].at)?
                }
            }
            "cidr_match" => {
                self.arity(e, name, args, 2..=usize::MAX)?;
                udf(udf::cidr_match(), values()?)
            }
            "from_base64" => {
                self.arity(e, name, args, 1..=1)?;
                udf(udf::from_base64(), vec![value(0)?])
            }
            "to_base64" => {
                self.arity(e, name, args, 1..=1)?;
                udf(udf::to_base64(), vec![value(0)?])
            }
            "kql" => {
                self.arity(e, name, args, 1..=1)?;
                // KQL's own semantics apply inside (a missing field does not match, and the
                // result is never null), as in Elasticsearch, which runs it as a query.
                let query = self.string_literal(&args[0], "the KQL query")?;
                keytrail_kql::parse(query)
                    .and_then(|q| q.to_expr(self.schema.as_arrow()))
                    .map_err(|err| self.error(args[0].at, format!("KQL: {err}")))?
            }
            _ if AGGREGATES.contains(&name) => {
                return Err(
                    self.error(e.at, format!("aggregate function {} is only allowed in STATS", name.to_uppercase()))
                );
            }
            _ if UNSUPPORTED_FUNCTIONS.contains(&name) => {
                return Err(self.error(e.at, format!("unsupported function {}", name.to_uppercase())));
            }
            _ => return Err(self.error(e.at, format!("unknown function {}", name.to_uppercase()))),
        };
        Ok(result)
    }

    /// An aggregate call of STATS: the DataFusion aggregate (with the output's `WHERE`
    /// condition as its filter) and how its result is finished.
    pub fn aggregate(&self, e: &ast::Expr, filter: Option<&Expr>) -> Result<(Expr, Finish), EsqlError> {
        let ExprKind::Call { name, args } = &e.kind else { unreachable!("called for aggregate calls") };
        let star = matches!(args.first().map(|a| &a.kind), Some(ExprKind::Star));
        let range = match name.as_str() {
            "count" => 0..=1,
            "count_distinct" => 1..=2,
            _ => 1..=1,
        };
        self.arity(e, name, args, range)?;
        if star && name != "count" {
            return Err(self.error(args[0].at, "'*' is only allowed in COUNT(*)"));
        }
        let arg = match args.first() {
            Some(a) if !star => {
                let mut nested_aggregate = None;
                a.walk(&mut |x| {
                    if let ExprKind::Call { name, .. } = &x.kind
                        && AGGREGATES.contains(&name.as_str())
                        && nested_aggregate.is_none()
                    {
                        nested_aggregate = Some(x.at);
                    }
                });
                if let Some(at) = nested_aggregate {
                    return Err(self.error(at, "aggregate functions cannot be nested"));
                }
                Some(self.expr(a)?)
            }
            _ => None,
        };
        let list = match &arg {
            Some(arg) => self.is_list(arg, e.at)?,
            None => false,
        };
        let not_null = |arg: &Expr| {
            let condition = arg.clone().is_not_null();
            match filter {
                Some(f) => f.clone().and(condition),
                None => condition,
            }
        };
        let (aggregate, finish) = match (name.as_str(), arg) {
            ("count", None) => (agg::count(lit(1i64)), Finish::None),
            ("count", Some(arg)) if list => {
                (agg::sum(cast(nested::cardinality(arg), DataType::Int64)), Finish::ZeroIfNull)
            }
            ("count", Some(arg)) => (agg::count(arg), Finish::None),
            ("count_distinct", Some(arg)) if list => {
                let filter = not_null(&arg);
                return self.build(distinct_values(arg), Some(&filter), Finish::CountValues, e.at);
            }
            ("count_distinct", Some(arg)) => (agg::count_distinct(arg), Finish::None),
            ("values", Some(arg)) => {
                let filter = not_null(&arg);
                return self.build(distinct_values(arg), Some(&filter), Finish::SortValues, e.at);
            }
            ("min", Some(arg)) => (agg::min(if list { nested::array_min(arg) } else { arg }), Finish::None),
            ("max", Some(arg)) => (agg::max(if list { nested::array_max(arg) } else { arg }), Finish::None),
            ("sum", Some(arg)) => (agg::sum(if list { nested::array_sum(arg) } else { arg }), Finish::None),
            ("avg", Some(_)) if list => {
                return Err(self.error(e.at, "AVG of a multi-valued field is not supported"));
            }
            ("avg", Some(arg)) => (agg::avg(arg), Finish::None),
            _ => unreachable!("arity checked above"),
        };
        self.build(aggregate, filter, finish, e.at)
    }

    /// An aggregate call of STATS split into partial aggregates per time slot and how they
    /// combine: counts and sums add up, minima and maxima combine as such, averages keep a sum
    /// and a count, distinct counts and VALUES keep each slot's distinct values.
    pub fn split_aggregate(&self, e: &ast::Expr, filter: Option<&Expr>) -> Result<(Vec<Part>, Merge), EsqlError> {
        let ExprKind::Call { name, args } = &e.kind else { unreachable!("called for aggregate calls") };
        let (aggregate, finish) = self.aggregate(e, filter)?;
        let part = |aggregate, combine| Part { aggregate, combine };
        Ok(match (name.as_str(), finish) {
            ("count", _) => (vec![part(aggregate, Combine::Sum)], Merge::Finish(Finish::ZeroIfNull)),
            ("count_distinct", Finish::CountValues) => {
                (vec![part(aggregate, Combine::Lists)], Merge::Finish(Finish::CountValues))
            }
            ("count_distinct", _) => {
                let arg = self.expr(&args[0])?;
                let not_null = arg.clone().is_not_null();
                let filter = filter.map_or(not_null.clone(), |f| f.clone().and(not_null));
                let values = distinct_values(arg).filter(filter).build();
                let values = values.map_err(|err| self.datafusion_error(e.at, err))?;
                (vec![part(values, Combine::Lists)], Merge::Finish(Finish::CountValues))
            }
            ("values", _) => (vec![part(aggregate, Combine::Lists)], Merge::Finish(Finish::SortValues)),
            ("min", _) => (vec![part(aggregate, Combine::Min)], Merge::Finish(Finish::None)),
            ("max", _) => (vec![part(aggregate, Combine::Max)], Merge::Finish(Finish::None)),
            ("sum", _) => (vec![part(aggregate, Combine::Sum)], Merge::Finish(Finish::None)),
            ("avg", _) => {
                let arg = self.expr(&args[0])?;
                let (sum, _) = self.build(agg::sum(arg.clone()), filter, Finish::None, e.at)?;
                let (count, _) = self.build(agg::count(arg), filter, Finish::None, e.at)?;
                (vec![part(sum, Combine::Sum), part(count, Combine::Sum)], Merge::Average)
            }
            _ => unreachable!("aggregate() accepts only these"),
        })
    }

    fn build(
        &self,
        aggregate: Expr,
        filter: Option<&Expr>,
        finish: Finish,
        at: usize,
    ) -> Result<(Expr, Finish), EsqlError> {
        let aggregate = match filter {
            Some(filter) => aggregate.filter(filter.clone()).build().map_err(|e| self.datafusion_error(at, e))?,
            None => aggregate,
        };
        Ok((aggregate, finish))
    }
}

fn to_item(list: &DataType) -> &DataType {
    match list {
        DataType::List(item) => item.data_type(),
        other => other,
    }
}

/// The Arrow type of an ES|QL type name in a `::` cast.
fn cast_target(name: &str) -> Option<DataType> {
    Some(match name {
        "string" | "keyword" | "text" | "ip" | "version" => DataType::Utf8,
        "long" => DataType::Int64,
        "integer" | "int" => DataType::Int32,
        "double" => DataType::Float64,
        "boolean" | "bool" => DataType::Boolean,
        "datetime" | "date" => timestamp_type(),
        _ => return None,
    })
}

pub(crate) fn interval(span: TimeSpan) -> ScalarValue {
    let TimeSpan { count, unit } = span;
    let value = match unit {
        SpanUnit::Month => IntervalMonthDayNano::new(count as i32, 0, 0),
        SpanUnit::Quarter => IntervalMonthDayNano::new(3 * count as i32, 0, 0),
        SpanUnit::Year => IntervalMonthDayNano::new(12 * count as i32, 0, 0),
        SpanUnit::Day => IntervalMonthDayNano::new(0, count as i32, 0),
        SpanUnit::Week => IntervalMonthDayNano::new(0, 7 * count as i32, 0),
        _ => IntervalMonthDayNano::new(0, 0, count * unit.fixed_millis().expect("fixed unit") * 1_000_000),
    };
    ScalarValue::IntervalMonthDayNano(Some(value))
}

/// DATE_TRUNC: spans of fixed length round down to multiples of the span since the epoch (as
/// Elasticsearch's fixed intervals do); one week, month, quarter or year round to the
/// calendar's (weeks start on Monday).
fn date_trunc(span: TimeSpan, date: Expr) -> Expr {
    let calendar = match span.unit {
        SpanUnit::Week if span.count == 1 => Some("week"),
        SpanUnit::Month if span.count == 1 => Some("month"),
        SpanUnit::Quarter if span.count == 1 => Some("quarter"),
        SpanUnit::Year if span.count == 1 => Some("year"),
        _ => None,
    };
    let truncated = match calendar {
        Some(part) => datafusion::functions::datetime::date_trunc().call(vec![lit(part), date]),
        None => {
            let epoch = lit(ScalarValue::TimestampMillisecond(Some(0), Some("UTC".into())));
            datafusion::functions::datetime::date_bin().call(vec![lit(interval(span)), date, epoch])
        }
    };
    cast(truncated, timestamp_type())
}

/// DATE_DIFF: `end - start` in whole units (truncated toward zero, negative when end is
/// earlier), as an integer; null when it does not fit one.
fn date_diff(unit: &str, start: Expr, end: Expr) -> Option<Expr> {
    let millis = |e: Expr| cast(cast(e, timestamp_type()), DataType::Int64);
    let (per_unit, scale) = match unit.to_ascii_lowercase().as_str() {
        "nanosecond" | "nanoseconds" | "ns" => (1, 1_000_000),
        "microsecond" | "microseconds" | "mcs" => (1, 1_000),
        "millisecond" | "milliseconds" | "ms" => (1, 1),
        "second" | "seconds" | "ss" | "s" => (1_000, 1),
        "minute" | "minutes" | "mi" | "n" => (60_000, 1),
        "hour" | "hours" | "hh" => (3_600_000, 1),
        "day" | "days" | "dd" | "d" | "dayofyear" | "dy" | "y" | "weekday" | "weekdays" | "dw" => (86_400_000, 1),
        "week" | "weeks" | "wk" | "ww" => (7 * 86_400_000, 1),
        calendar => {
            let months =
                Arc::new(udf::months_between()).call(vec![cast(start, timestamp_type()), cast(end, timestamp_type())]);
            let per = match calendar {
                "month" | "months" | "mm" | "m" => 1,
                "quarter" | "quarters" | "qq" | "q" => 3,
                "year" | "years" | "yy" | "yyyy" => 12,
                _ => return None,
            };
            return Some(try_cast(binary_expr(months, Operator::Divide, lit(per as i64)), DataType::Int32));
        }
    };
    let difference = binary_expr(millis(end), Operator::Minus, millis(start));
    let scaled = if scale == 1 {
        binary_expr(difference, Operator::Divide, lit(per_unit as i64))
    } else {
        binary_expr(difference, Operator::Multiply, lit(scale as i64))
    };
    Some(try_cast(scaled, DataType::Int32))
}

/// A LIKE pattern (`*` any run, `?` one character, `\` escapes) as SQL LIKE with `\` escapes.
pub(crate) fn wildcard_to_like(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '\\' => match chars.next() {
                Some(escaped) => push_like_literal(&mut out, escaped),
                None => push_like_literal(&mut out, '\\'),
            },
            _ => push_like_literal(&mut out, c),
        }
    }
    out
}

fn push_like_literal(out: &mut String, c: char) {
    if matches!(c, '%' | '_' | '\\') {
        out.push('\\');
    }
    out.push(c);
}

/// A Lucene regular expression (RLIKE) as a Rust one matching the whole value. Lucene's
/// `"…"` quotes literals and `@` matches any string; its `&`, `~`, `#` and `<n-m>` operators
/// are refused; `^` and `$` are literals outside classes.
pub(crate) fn lucene_to_regex(pattern: &str) -> Result<String, String> {
    let mut out = String::from("^(?s:");
    let mut chars = pattern.chars().peekable();
    let mut class_depth = 0;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(escaped) = chars.next() else { return Err("RLIKE pattern ends with a lone \\".into()) };
                if escaped.is_ascii_alphanumeric() {
                    if !"dDsSwW".contains(escaped) {
                        return Err(format!("unsupported escape \\{escaped} in RLIKE pattern"));
                    }
                    out.push('\\');
                    out.push(escaped);
                } else {
                    out.push_str(&regex::escape(&escaped.to_string()));
                }
            }
            '[' if class_depth > 0 => out.push_str("\\["),
            '[' => {
                class_depth += 1;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().expect("peeked"));
                }
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(']');
            }
            '&' | '~' if class_depth > 0 => {
                out.push('\\');
                out.push(c);
            }
            _ if class_depth > 0 => out.push(c),
            '"' => {
                let mut literal = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some(c) => literal.push(c),
                        None => return Err("unterminated \" in RLIKE pattern".into()),
                    }
                }
                out.push_str(&regex::escape(&literal));
            }
            '@' => out.push_str(".*"),
            '^' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '&' | '~' | '#' | '<' | '>' => return Err(format!("unsupported operator {c} in RLIKE pattern")),
            _ => out.push(c),
        }
    }
    out.push_str(")$");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns() {
        assert_eq!(wildcard_to_like("Invoke*"), "Invoke%");
        assert_eq!(wildcard_to_like("a?_%\\*b"), "a_\\_\\%*b");
    }

    #[test]
    fn lucene_patterns() {
        assert_eq!(lucene_to_regex(r#".*\"Effect\": *\"Allow\".*"#).unwrap(), r#"^(?s:.*"Effect": *"Allow".*)$"#);
        assert_eq!(lucene_to_regex(r"a\| ?sh|[^a-z]").unwrap(), r"^(?s:a\| ?sh|[^a-z])$");
        assert_eq!(lucene_to_regex(r#""a.b"@"#).unwrap(), r"^(?s:a\.b.*)$");
        assert!(lucene_to_regex("a&b").is_err());
    }
}
