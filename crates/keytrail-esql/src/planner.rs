//! The commands of a query, one after the other, as DataFusion plan nodes.
//!
//! Columns in `carried` (the partition columns, and `__esql_order` after a partitioned SORT)
//! ride along at the end of every schema: KEEP, DROP and RENAME never see them, STATS groups
//! by the partition columns, and SORT/LIMIT work within each partition.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::{Column, DFSchema, JoinType, NullEquality, ScalarValue, UnnestOptions};
use datafusion::functions_aggregate::expr_fn as agg;
use datafusion::functions_nested::expr_fn as nested;
use datafusion::functions_window::expr_fn::row_number;
use datafusion::logical_expr::{ExprFunctionExt, LogicalPlan, LogicalPlanBuilder, ScalarUDF, SortExpr, lit, when};
use datafusion::optimizer::Analyzer;
use datafusion::prelude::Expr;

use crate::ast::{self, Command, CommandKind, ExprKind, NamePattern, SortKey};
use crate::dissect::{DissectPattern, DissectUdf};
use crate::distinct_values::distinct_values;
use crate::error::{EsqlError, error_at};
use crate::expr::{AGGREGATES, Combine, Merge, Scope, timestamp_type};
use crate::grok::{GrokPattern, GrokUdf};
use crate::window::{LAST_RUN_COLUMN, NowBound, RUN_TIME_COLUMN, SLOT_COLUMN, Window};

/// The row order a partitioned SORT leaves, for the LIMIT after it.
const ORDER_COLUMN: &str = "__esql_order";
/// The struct a DISSECT or GROK builds before its fields become columns.
const PARSED_COLUMN: &str = "__esql_parsed";
/// The two sides of the join INLINE STATS plans: the rows, and their groups' aggregates.
const INLINE_ROWS: &str = "__esql_rows";
const INLINE_GROUPS: &str = "__esql_groups";
/// The two sides of the join a windowed STATS plans for the runs a WHERE after it keeps.
const SLOTS: &str = "__esql_slots";
const SURVIVORS: &str = "__esql_survivors";

/// The value of the `_index` metadata field: the data stream Elastic's AWS integration writes
/// CloudTrail to.
pub const INDEX_NAME: &str = ".ds-logs-aws.cloudtrail-default";

fn column(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

/// The type a field our table lacks gets as a null column: the ECS type of the few ECS fields
/// rules compare as dates or numbers, else text.
fn missing_field_type(name: &str) -> DataType {
    match name {
        "event.ingested" | "event.created" | "event.start" | "event.end" => timestamp_type(),
        "kibana.alert.risk_score" | "event.risk_score" => DataType::Float64,
        "event.severity" | "source.port" | "destination.port" | "event.duration" => DataType::Int64,
        _ => DataType::Utf8,
    }
}

pub(crate) struct Planner<'q> {
    text: &'q str,
    /// What NOW() is; a column when each partition is a scheduled run.
    now: Expr,
    partition_by: Vec<String>,
    /// The plan so far.
    plan: LogicalPlan,
    /// Whether `__esql_order` is among the carried columns.
    ordered: bool,
    /// The first SORT or LIMIT so far, which INLINE STATS may not follow.
    bounded: Option<&'static str>,
}

impl<'q> Planner<'q> {
    /// The FROM source: every input column (empty lists read as null, as ES|QL has no empty
    /// multi-values), the source fields the input lacks as typed nulls, then METADATA.
    pub fn from(
        text: &'q str,
        input: LogicalPlan,
        source_fields: &[String],
        metadata: &[NamePattern],
        now: Expr,
        partition_by: Vec<String>,
    ) -> Result<Planner<'q>, EsqlError> {
        let schema = input.schema().clone();
        let mut exprs = Vec::new();
        let mut names = HashSet::new();
        for field in schema.fields() {
            if partition_by.contains(field.name()) {
                continue;
            }
            names.insert(field.name().clone());
            let value = column(field.name());
            exprs.push(match field.data_type() {
                DataType::List(_) => {
                    let some = datafusion::logical_expr::binary_expr(
                        nested::cardinality(value.clone()),
                        datafusion::logical_expr::Operator::Gt,
                        lit(0u64),
                    );
                    when(some, value).end().map_err(|e| error_at(text, 0, e.strip_backtrace()))?.alias(field.name())
                }
                _ => value,
            });
        }
        for name in source_fields {
            if names.insert(name.clone()) && !partition_by.contains(name) {
                let null = ScalarValue::try_from(&missing_field_type(name)).expect("a primitive type");
                exprs.push(lit(null).alias(name));
            }
        }
        for field in metadata {
            let expr = match field.pattern.as_str() {
                "_id" if schema.has_column(&Column::from_name("event.id")) => column("event.id"),
                "_id" => lit(ScalarValue::Utf8(None)),
                "_index" => lit(INDEX_NAME),
                "_version" => lit(1i64),
                other => return Err(error_at(text, field.at, format!("unsupported metadata field {other}"))),
            };
            exprs.push(expr.alias(&field.pattern));
        }
        for name in &partition_by {
            if !schema.has_column(&Column::from_name(name)) {
                return Err(error_at(text, 0, format!("the partition column {name} is not in the input")));
            }
            exprs.push(column(name));
        }
        let plan = LogicalPlanBuilder::from(input)
            .project(exprs)
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| error_at(text, 0, e.strip_backtrace()))?;
        Ok(Planner { text, now, partition_by, plan, ordered: false, bounded: None })
    }

    pub fn finish(self) -> Result<LogicalPlan, EsqlError> {
        if !self.ordered {
            return Ok(self.plan);
        }
        // The rows of each partition in the order of the last SORT, without its helper column.
        let mut keys: Vec<SortExpr> = self.partition_by.iter().map(|p| column(p).sort(true, false)).collect();
        keys.push(column(ORDER_COLUMN).sort(true, false));
        let mut exprs: Vec<Expr> = self.user_columns().iter().map(|c| column(c)).collect();
        exprs.extend(self.partition_by.iter().map(|p| column(p)));
        LogicalPlanBuilder::from(self.plan)
            .sort(keys)
            .and_then(|b| b.project(exprs))
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| error_at(self.text, 0, e.strip_backtrace()))
    }

    fn error(&self, at: usize, message: impl Into<String>) -> EsqlError {
        error_at(self.text, at, message)
    }

    fn carried(&self) -> Vec<String> {
        let mut carried = self.partition_by.clone();
        if self.ordered {
            carried.push(ORDER_COLUMN.to_string());
        }
        carried
    }

    /// The columns the query sees: all but the carried ones.
    fn user_columns(&self) -> Vec<String> {
        let carried = self.carried();
        self.plan.schema().fields().iter().map(|f| f.name().clone()).filter(|n| !carried.contains(n)).collect()
    }

    fn scope<'s>(&'s self, schema: &'s DFSchema) -> Scope<'s> {
        Scope { text: self.text, schema, now: &self.now, aggregates: None }
    }

    /// Replaces the plan by `build(plan)` and checks it as DataFusion's analyzer will (types
    /// of every expression), so that errors point at the command.
    fn update(
        &mut self,
        at: usize,
        build: impl FnOnce(LogicalPlanBuilder) -> datafusion::error::Result<LogicalPlanBuilder>,
    ) -> Result<(), EsqlError> {
        let plan = build(LogicalPlanBuilder::from(self.plan.clone()))
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| self.error(at, e.strip_backtrace()))?;
        Analyzer::new()
            .execute_and_check(plan.clone(), &ConfigOptions::default(), |_, _| {})
            .map_err(|e| self.error(at, e.strip_backtrace()))?;
        self.plan = plan;
        Ok(())
    }

    /// A projection of `exprs` followed by the carried columns.
    fn project(&mut self, at: usize, mut exprs: Vec<Expr>) -> Result<(), EsqlError> {
        exprs.extend(self.carried().iter().map(|c| column(c)));
        self.update(at, |b| b.project(exprs))
    }

    fn check_not_carried(&self, name: &str, at: usize) -> Result<(), EsqlError> {
        if self.carried().iter().any(|c| c == name) {
            return Err(self.error(at, format!("the column {name} cannot be changed")));
        }
        Ok(())
    }

    pub fn command(&mut self, command: &Command) -> Result<(), EsqlError> {
        let at = command.at;
        match &command.kind {
            CommandKind::Where(condition) => {
                let schema = self.plan.schema().clone();
                let scope = self.scope(&schema);
                let predicate = scope.value(condition)?;
                let predicate = match scope.type_of(&predicate, condition.at)? {
                    DataType::Boolean => predicate,
                    DataType::Null => lit(ScalarValue::Boolean(None)),
                    other => {
                        return Err(self.error(condition.at, format!("WHERE needs a boolean condition, found {other}")));
                    }
                };
                self.update(at, |b| b.filter(predicate))
            }
            CommandKind::Eval(assignments) => {
                for assign in assignments {
                    self.check_not_carried(&assign.name, assign.expr.at)?;
                    let schema = self.plan.schema().clone();
                    let value = self.scope(&schema).expr(&assign.expr)?;
                    let mut exprs: Vec<Expr> =
                        self.user_columns().iter().filter(|c| **c != assign.name).map(|c| column(c)).collect();
                    exprs.push(value.alias(&assign.name));
                    self.project(assign.expr.at, exprs)?;
                }
                Ok(())
            }
            CommandKind::Stats { aggregates, by } => self.stats(at, aggregates, by),
            CommandKind::InlineStats { aggregates, by } => self.inline_stats(at, aggregates, by),
            CommandKind::Keep(patterns) => {
                let keep = self.resolve(patterns, true)?;
                self.project(at, keep.iter().map(|c| column(c)).collect())
            }
            CommandKind::Drop(patterns) => {
                let dropped: HashSet<String> = self.resolve(patterns, false)?.into_iter().collect();
                let exprs = self.user_columns().iter().filter(|c| !dropped.contains(*c)).map(|c| column(c)).collect();
                self.project(at, exprs)
            }
            CommandKind::Rename(pairs) => {
                for (old, new) in pairs {
                    let columns = self.user_columns();
                    if !columns.contains(&old.pattern) {
                        return Err(self.error(old.at, format!("Unknown column [{}]", old.pattern)));
                    }
                    self.check_not_carried(&new.pattern, new.at)?;
                    let exprs = columns
                        .iter()
                        .filter(|c| **c != new.pattern || new.pattern == old.pattern)
                        .map(|c| if *c == old.pattern { column(c).alias(&new.pattern) } else { column(c) })
                        .collect();
                    self.project(old.at, exprs)?;
                }
                Ok(())
            }
            CommandKind::Sort(keys) => {
                self.bounded.get_or_insert("SORT");
                self.sort(at, keys)
            }
            CommandKind::Limit(n) => {
                self.bounded.get_or_insert("LIMIT");
                self.limit(at, *n as usize)
            }
            CommandKind::Dissect { input, pattern, append_separator } => {
                let parsed = DissectPattern::parse(pattern, append_separator).map_err(|m| self.error(at, m))?;
                let names = parsed.names().to_vec();
                self.parse_into_columns(at, input, ScalarUDF::new_from_impl(DissectUdf::new(parsed)), &names)
            }
            CommandKind::Grok { input, pattern } => {
                let parsed = GrokPattern::parse(pattern).map_err(|m| self.error(at, m))?;
                let names: Vec<String> = parsed.columns().iter().map(|(n, _)| n.clone()).collect();
                self.parse_into_columns(at, input, ScalarUDF::new_from_impl(GrokUdf::new(parsed)), &names)
            }
            CommandKind::MvExpand(field) => {
                if !self.user_columns().contains(&field.pattern) {
                    return Err(self.error(field.at, format!("Unknown column [{}]", field.pattern)));
                }
                let data_type = self
                    .plan
                    .schema()
                    .field_with_unqualified_name(&field.pattern)
                    .map(|f| f.data_type().clone())
                    .map_err(|e| self.error(field.at, e.strip_backtrace()))?;
                if !matches!(data_type, DataType::List(_)) {
                    return Ok(());
                }
                // A row whose value is null stays, with null, as in ES|QL.
                let options = UnnestOptions::new().with_preserve_nulls(true);
                let name = Column::from_name(&field.pattern);
                self.update(at, |b| b.unnest_column_with_options(name, options))
            }
        }
    }

    /// KEEP (`keep`) or DROP patterns to column names. A column matching several patterns
    /// takes the place of its best match: an exact name over a partial wildcard over `*`, the
    /// rightmost among equals.
    fn resolve(&self, patterns: &[NamePattern], keep: bool) -> Result<Vec<String>, EsqlError> {
        let columns = self.user_columns();
        let mut best: HashMap<&str, (u8, usize)> = HashMap::new();
        for (index, pattern) in patterns.iter().enumerate() {
            let p = pattern.pattern.as_str();
            let rank = if !p.contains('*') {
                2
            } else if p == "*" {
                0
            } else {
                1
            };
            let matching: Vec<&String> = columns.iter().filter(|c| wildcard_match(p, c)).collect();
            if matching.is_empty() {
                let message = if rank == 2 {
                    format!("Unknown column [{p}]")
                } else {
                    format!("No matches found for pattern [{p}]")
                };
                return Err(self.error(pattern.at, message));
            }
            for c in matching {
                let entry = best.entry(c.as_str()).or_insert((rank, index));
                if rank >= entry.0 {
                    *entry = (rank, index);
                }
            }
        }
        let mut chosen: Vec<(usize, usize, &String)> =
            columns.iter().enumerate().filter_map(|(i, c)| best.get(c.as_str()).map(|&(_, p)| (p, i, c))).collect();
        if keep {
            chosen.sort();
        }
        Ok(chosen.into_iter().map(|(_, _, c)| c.clone()).collect())
    }

    /// The aggregate function calls inside one STATS output (`COUNT(*) + 1` has one); an
    /// output without any is an error.
    fn aggregate_calls<'e>(&self, output: &'e ast::Aggregate) -> Result<Vec<&'e ast::Expr>, EsqlError> {
        let mut calls = Vec::new();
        collect_aggregate_calls(&output.expr, &mut calls);
        if calls.is_empty() {
            return Err(
                self.error(output.expr.at, format!("expected an aggregate function, found [{}]", output.expr.text))
            );
        }
        Ok(calls)
    }

    fn stats(&mut self, at: usize, aggregates: &[ast::Aggregate], by: &[ast::Assign]) -> Result<(), EsqlError> {
        let input_schema = self.plan.schema().clone();
        let scope = self.scope(&input_schema);
        let mut raw = Vec::new();
        let mut outputs: HashMap<usize, Expr> = HashMap::new();
        for output in aggregates {
            let filter = output.filter.as_ref().map(|f| scope.value(f)).transpose()?;
            let calls = self.aggregate_calls(output)?;
            for call in calls {
                let (aggregate, finish) = scope.aggregate(call, filter.as_ref())?;
                let name = format!("__esql_agg{}", raw.len());
                raw.push(aggregate.alias(&name));
                outputs.insert(call.at, finish.apply(column(&name)));
            }
        }
        let mut groups = Vec::new();
        for assign in by {
            self.check_not_carried(&assign.name, assign.expr.at)?;
            groups.push(scope.value(&assign.expr)?.alias(&assign.name));
        }
        groups.extend(self.partition_by.iter().map(|p| column(p)));
        self.ordered = false;
        self.update(at, |b| b.aggregate(groups, raw))?;

        let schema = self.plan.schema().clone();
        let mut scope = self.scope(&schema);
        scope.aggregates = Some(&outputs);
        let mut exprs = Vec::new();
        for output in aggregates {
            exprs.push(scope.expr(&output.expr)?.alias(&output.name));
        }
        exprs.extend(by.iter().map(|assign| column(&assign.name)));
        self.project(at, exprs)
    }

    /// INLINE STATS: the STATS of the rows so far (per partition), joined back to every row on
    /// its BY values, a null value matching null as ES|QL groups nulls together. The columns
    /// the command defines replace those of the same name and come last, aggregates before
    /// BY, in the command's order (Elastic's documented column order).
    fn inline_stats(&mut self, at: usize, aggregates: &[ast::Aggregate], by: &[ast::Assign]) -> Result<(), EsqlError> {
        if let Some(command) = self.bounded {
            // Elastic refuses it too: which rows a LIMIT keeps would change the aggregates.
            return Err(self.error(at, format!("INLINE STATS cannot follow {command}; move the {command} after it")));
        }
        // Every row gets its BY values as columns, then STATS groups by those columns.
        let schema = self.plan.schema().clone();
        let scope = self.scope(&schema);
        let mut exprs: Vec<Expr> =
            self.user_columns().iter().filter(|c| !by.iter().any(|b| b.name == **c)).map(|c| column(c)).collect();
        for assign in by {
            self.check_not_carried(&assign.name, assign.expr.at)?;
            exprs.push(scope.value(&assign.expr)?.alias(&assign.name));
        }
        self.project(at, exprs)?;
        let rows = self.plan.clone();
        let columns = self.user_columns();
        let by_columns: Vec<ast::Assign> = by
            .iter()
            .map(|b| ast::Assign {
                name: b.name.clone(),
                expr: ast::Expr { kind: ExprKind::Field(b.name.clone()), at: b.expr.at, text: b.name.clone() },
            })
            .collect();
        self.stats(at, aggregates, &by_columns)?;
        let groups = std::mem::replace(&mut self.plan, rows);

        let side = |alias: &str, name: &str| Expr::Column(Column::new(Some(alias), name));
        let mut keys: Vec<&str> = by.iter().map(|b| b.name.as_str()).collect();
        let carried = self.carried();
        keys.extend(carried.iter().map(String::as_str));
        let defined = |c: &String| aggregates.iter().any(|a| a.name == *c) || by.iter().any(|b| b.name == *c);
        let mut exprs: Vec<Expr> =
            columns.iter().filter(|c| !defined(c)).map(|c| side(INLINE_ROWS, c).alias(c)).collect();
        exprs.extend(aggregates.iter().map(|a| side(INLINE_GROUPS, &a.name).alias(&a.name)));
        exprs.extend(by.iter().map(|b| side(INLINE_ROWS, &b.name).alias(&b.name)));
        exprs.extend(carried.iter().map(|c| side(INLINE_ROWS, c).alias(c)));
        let groups = LogicalPlanBuilder::from(groups)
            .alias(INLINE_GROUPS)
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| self.error(at, e.strip_backtrace()))?;
        // The groups are the join's build side, which it holds in memory whole: there are at
        // most as many as rows, often far fewer, and the rows stream past them.
        self.update(at, |b| {
            let rows = b.alias(INLINE_ROWS)?.build()?;
            let groups = LogicalPlanBuilder::from(groups);
            let joined = if keys.is_empty() {
                groups.cross_join(rows)?
            } else {
                let of_groups: Vec<Column> = keys.iter().map(|k| Column::new(Some(INLINE_GROUPS), *k)).collect();
                let of_rows: Vec<Column> = keys.iter().map(|k| Column::new(Some(INLINE_ROWS), *k)).collect();
                groups.join_detailed(rows, JoinType::Right, (of_groups, of_rows), None, NullEquality::NullEqualsNull)?
            };
            joined.project(exprs)
        })
    }

    fn sort_exprs(&self, keys: &[SortKey]) -> Result<Vec<SortExpr>, EsqlError> {
        let schema = self.plan.schema().clone();
        let scope = self.scope(&schema);
        let mut sorts = Vec::new();
        for key in keys {
            let mut expr = scope.expr(&key.expr)?;
            // A multi-valued key sorts by its smallest value ascending, its largest descending.
            if matches!(scope.type_of(&expr, key.expr.at)?, DataType::List(_)) {
                expr = if key.descending { nested::array_max(expr) } else { nested::array_min(expr) };
            }
            // ES|QL sorts null as larger than any value.
            let nulls_first = key.nulls_first.unwrap_or(key.descending);
            sorts.push(expr.sort(!key.descending, nulls_first));
        }
        Ok(sorts)
    }

    fn sort(&mut self, at: usize, keys: &[SortKey]) -> Result<(), EsqlError> {
        let sorts = self.sort_exprs(keys)?;
        if self.partition_by.is_empty() {
            return self.update(at, |b| b.sort(sorts));
        }
        let partition: Vec<Expr> = self.partition_by.iter().map(|p| column(p)).collect();
        // The new order is computed beside the old one, then takes its name.
        let order = row_number()
            .partition_by(partition)
            .order_by(sorts)
            .build()
            .map_err(|e| self.error(at, e.strip_backtrace()))?
            .alias("__esql_sorting");
        let mut projection: Vec<Expr> = self.user_columns().iter().map(|c| column(c)).collect();
        projection.extend(self.partition_by.iter().map(|p| column(p)));
        projection.push(column("__esql_sorting").alias(ORDER_COLUMN));
        self.update(at, |b| b.window(vec![order])?.project(projection))?;
        self.ordered = true;
        Ok(())
    }

    fn limit(&mut self, at: usize, n: usize) -> Result<(), EsqlError> {
        if self.partition_by.is_empty() {
            return self.update(at, |b| b.limit(0, Some(n)));
        }
        let partition: Vec<Expr> = self.partition_by.iter().map(|p| column(p)).collect();
        // Without a SORT before, any rows will do; DataFusion wants some order all the same.
        let order = match self.ordered {
            true => vec![column(ORDER_COLUMN).sort(true, false)],
            false => partition.iter().map(|p| p.clone().sort(true, false)).collect(),
        };
        let rank = row_number()
            .partition_by(partition)
            .order_by(order)
            .build()
            .map_err(|e| self.error(at, e.strip_backtrace()))?
            .alias("__esql_rank");
        let keep: Vec<Expr> = self.plan.schema().fields().iter().map(|f| column(f.name())).collect();
        self.update(at, |b| b.window(vec![rank])?.filter(column("__esql_rank").lt_eq(lit(n as u64)))?.project(keep))
    }

    /// DISSECT and GROK: the UDF's struct, then one column per name (replacing columns of the
    /// same name), appended in the pattern's order.
    fn parse_into_columns(
        &mut self,
        at: usize,
        input: &ast::Expr,
        udf: ScalarUDF,
        names: &[String],
    ) -> Result<(), EsqlError> {
        for name in names {
            self.check_not_carried(name, at)?;
        }
        let schema = self.plan.schema().clone();
        let value = self.scope(&schema).value(input)?;
        let columns = self.user_columns();
        let mut exprs: Vec<Expr> = columns.iter().map(|c| column(c)).collect();
        exprs.push(Arc::new(udf).call(vec![value]).alias(PARSED_COLUMN));
        self.project(at, exprs)?;
        let mut exprs: Vec<Expr> = columns.iter().filter(|c| !names.contains(c)).map(|c| column(c)).collect();
        for name in names {
            exprs.push(
                datafusion::functions::core::expr_fn::get_field(column(PARSED_COLUMN), name.as_str()).alias(name),
            );
        }
        self.project(at, exprs)
    }

    /// Moves each row from its time slot to every scheduled run whose window holds the slot,
    /// with the run's time in `__run_time`, which from here on partitions the plan and is
    /// what NOW() means.
    pub fn expand_to_runs(&mut self, at: usize, window: &Window) -> Result<(), EsqlError> {
        let columns: Vec<Expr> = self.user_columns().iter().map(|c| column(c)).collect();
        let mut exprs = columns.clone();
        exprs.push(window.runs_of_slot(column(SLOT_COLUMN)).alias("__esql_runs"));
        let bounded = self.bounded();
        if bounded {
            exprs.push(column(LAST_RUN_COLUMN));
        }
        let mut with_time = columns;
        with_time.push(window.run_time(column("__esql_runs")).alias(RUN_TIME_COLUMN));
        self.update(at, |b| {
            let runs = b.project(exprs)?.unnest_column("__esql_runs")?;
            match bounded {
                true => runs.filter(column("__esql_runs").lt_eq(column(LAST_RUN_COLUMN)))?.project(with_time),
                false => runs.project(with_time),
            }
        })?;
        self.partition_by = vec![RUN_TIME_COLUMN.to_string()];
        self.now = column(RUN_TIME_COLUMN);
        Ok(())
    }

    /// Whether the rows carry the last run they can reach (a WHERE bounded them by NOW()).
    fn bounded(&self) -> bool {
        self.partition_by.iter().any(|c| c == LAST_RUN_COLUMN)
    }

    /// A WHERE before the first STATS of a windowed plan whose NOW() only bounds the runs a
    /// row reaches: `rest`, its other conjuncts, filters as usual; each bound lowers the row's
    /// last run (a row whose bounded value is null passes no run's WHERE).
    pub fn bounded_where(
        &mut self,
        at: usize,
        rest: Option<&Command>,
        bounds: &[NowBound<'_>],
        window: &Window,
    ) -> Result<(), EsqlError> {
        if let Some(rest) = rest {
            self.command(rest)?;
        }
        let schema = self.plan.schema().clone();
        let scope = self.scope(&schema);
        let mut last = column(LAST_RUN_COLUMN);
        let mut present = Vec::new();
        for bound in bounds {
            let value = scope.value(bound.expr)?;
            present.push(value.clone().is_not_null());
            last = datafusion::functions::expr_fn::least(vec![
                last,
                window.last_run_until(value, bound.span_ms, bound.strict),
            ]);
        }
        let mut exprs: Vec<Expr> = self.user_columns().iter().map(|c| column(c)).collect();
        for carried in self.carried() {
            exprs.push(match carried == LAST_RUN_COLUMN {
                true => last.clone().alias(LAST_RUN_COLUMN),
                false => column(&carried),
            });
        }
        let present = datafusion::logical_expr::utils::conjunction(present).unwrap_or(lit(true));
        self.update(at, |b| b.filter(present)?.project(exprs))
    }

    /// STATS over many scheduled runs in one pass: partial aggregates per BY keys and time
    /// slot, each slot's row copied to the runs that hold it, then the partials combined per
    /// BY keys and run.
    ///
    /// Copying partials costs lookback/slot copies of each, and lists of values (VALUES,
    /// COUNT_DISTINCT) are the dear ones to copy. When the STATS is followed by EVALs and a
    /// WHERE (`then`) some of whose conjuncts read only its BY keys, its outputs without lists
    /// and what EVALs compute from those alone (typically "first seen in the last hour"),
    /// those conjuncts decide which (keys, run) pairs can survive, using those outputs alone;
    /// the lists are then combined for these pairs only, each slot joined to the surviving
    /// runs that hold it. The EVALs and the whole WHERE still run after, on the same values.
    pub fn windowed_stats(
        &mut self,
        at: usize,
        aggregates: &[ast::Aggregate],
        by: &[ast::Assign],
        window: &Window,
        then: &[Command],
    ) -> Result<(), EsqlError> {
        let input_schema = self.plan.schema().clone();
        let scope = self.scope(&input_schema);
        let mut partials = Vec::new();
        let mut split = SplitStats::default();
        for output in aggregates {
            let filter = output.filter.as_ref().map(|f| scope.value(f)).transpose()?;
            let calls = self.aggregate_calls(output)?;
            let mut of_output = Vec::new();
            for call in calls {
                let (call_parts, merge) = scope.split_aggregate(call, filter.as_ref())?;
                let mut names = Vec::new();
                for part in call_parts {
                    let name = format!("__esql_part{}", partials.len());
                    partials.push(part.aggregate.alias(&name));
                    of_output.push(split.parts.len());
                    split.parts.push(SlotPart { name: name.clone(), combine: part.combine });
                    names.push(name);
                }
                split.merges.push((call.at, names, merge));
            }
            split.of_output.push(of_output);
        }
        let mut groups = Vec::new();
        for assign in by {
            self.check_not_carried(&assign.name, assign.expr.at)?;
            groups.push(scope.value(&assign.expr)?.alias(&assign.name));
        }
        // The slot, and the last run when rows carry it: rows of a group share both.
        groups.extend(self.carried().iter().map(|c| column(c)));
        let mut per_slot: Vec<Expr> = by.iter().map(|b| column(&b.name)).collect();
        per_slot.extend(split.parts.iter().map(|part| column(&part.name)));
        per_slot.extend(self.carried().iter().map(|c| column(c)));
        self.update(at, |b| b.aggregate(groups, partials)?.project(per_slot))?;

        let readable: HashSet<&str> = by
            .iter()
            .map(|b| b.name.as_str())
            .chain(aggregates.iter().enumerate().filter(|&(i, _)| split.listless(i)).map(|(_, a)| a.name.as_str()))
            .collect();
        let has_lists = (0..aggregates.len()).any(|i| !split.listless(i));
        match listless_prefilter(then, readable, by).filter(|_| has_lists) {
            Some(prefilter) => {
                let survivors = self.surviving_runs(at, aggregates, by, window, &split, &prefilter)?;
                self.join_to_runs(at, survivors, by, window)?;
            }
            None => self.expand_to_runs(at, window)?,
        }
        let all: Vec<usize> = (0..aggregates.len()).collect();
        self.combine_per_run(at, aggregates, &all, by, &split)
    }

    /// The (BY keys, run) pairs that pass `prefilter` (EVALs and a WHERE over the BY keys and
    /// the outputs without lists, see [`listless_prefilter`]): those outputs computed per run
    /// on their own. The plan is left as it was.
    fn surviving_runs(
        &mut self,
        at: usize,
        aggregates: &[ast::Aggregate],
        by: &[ast::Assign],
        window: &Window,
        split: &SplitStats,
        prefilter: &[Command],
    ) -> Result<LogicalPlan, EsqlError> {
        let per_slot = self.plan.clone();
        let (partition_by, now) = (self.partition_by.clone(), self.now.clone());
        let outputs: Vec<usize> = (0..aggregates.len()).filter(|&i| split.listless(i)).collect();
        let mut columns: Vec<Expr> = by.iter().map(|b| column(&b.name)).collect();
        columns.extend(outputs.iter().flat_map(|&i| &split.of_output[i]).map(|&p| column(&split.parts[p].name)));
        self.project(at, columns)?;
        self.expand_to_runs(at, window)?;
        self.combine_per_run(at, aggregates, &outputs, by, split)?;
        for command in prefilter {
            self.command(command)?;
        }
        self.project(at, by.iter().map(|b| column(&b.name)).collect())?;
        let survivors = std::mem::replace(&mut self.plan, per_slot);
        self.partition_by = partition_by;
        self.now = now;
        Ok(survivors)
    }

    /// Joins each slot's row to the runs in `survivors` (BY keys and `__run_time`) that hold
    /// it, on equal BY keys (null matching null, as STATS groups nulls together); from here on
    /// as after [`Planner::expand_to_runs`].
    fn join_to_runs(
        &mut self,
        at: usize,
        survivors: LogicalPlan,
        by: &[ast::Assign],
        window: &Window,
    ) -> Result<(), EsqlError> {
        let side = |alias: &str, name: &str| Expr::Column(Column::new(Some(alias), name));
        let mut held = window.holds_slot(side(SURVIVORS, RUN_TIME_COLUMN), side(SLOTS, SLOT_COLUMN));
        if self.bounded() {
            held = held.and(window.run_number(side(SURVIVORS, RUN_TIME_COLUMN)).lt_eq(side(SLOTS, LAST_RUN_COLUMN)));
        }
        let mut exprs: Vec<Expr> = self.user_columns().iter().map(|c| side(SLOTS, c).alias(c)).collect();
        exprs.push(side(SURVIVORS, RUN_TIME_COLUMN).alias(RUN_TIME_COLUMN));
        let left: Vec<Column> = by.iter().map(|b| Column::new(Some(SLOTS), b.name.as_str())).collect();
        let right: Vec<Column> = by.iter().map(|b| Column::new(Some(SURVIVORS), b.name.as_str())).collect();
        let survivors = LogicalPlanBuilder::from(survivors)
            .alias(SURVIVORS)
            .and_then(LogicalPlanBuilder::build)
            .map_err(|e| self.error(at, e.strip_backtrace()))?;
        // The survivors are the hash join's build side, which it holds in memory whole: they
        // are few (keys and runs), while the slots' rows carry the lists and stream past them.
        self.update(at, |b| {
            let slots = b.alias(SLOTS)?.build()?;
            LogicalPlanBuilder::from(survivors)
                .join_detailed(slots, JoinType::Inner, (right, left), Some(held), NullEquality::NullEqualsNull)?
                .project(exprs)
        })?;
        self.partition_by = vec![RUN_TIME_COLUMN.to_string()];
        self.now = column(RUN_TIME_COLUMN);
        Ok(())
    }

    /// The slots' partials combined per BY keys and run, giving the `outputs` (indices into
    /// `aggregates`) and the BY keys.
    fn combine_per_run(
        &mut self,
        at: usize,
        aggregates: &[ast::Aggregate],
        outputs: &[usize],
        by: &[ast::Assign],
        split: &SplitStats,
    ) -> Result<(), EsqlError> {
        let mut groups: Vec<Expr> = by.iter().map(|b| column(&b.name)).collect();
        groups.push(column(RUN_TIME_COLUMN));
        let present: HashSet<String> = self.user_columns().into_iter().collect();
        let mut combined = Vec::new();
        for part in split.parts.iter().filter(|p| present.contains(&p.name)) {
            let value = column(&part.name);
            let aggregate = match part.combine {
                Combine::Sum => agg::sum(value),
                Combine::Min => agg::min(value),
                Combine::Max => agg::max(value),
                Combine::Lists => distinct_values(value),
            };
            combined.push(aggregate.alias(&part.name));
        }
        self.update(at, |b| b.aggregate(groups, combined))?;

        let results: HashMap<usize, Expr> = split
            .merges
            .iter()
            .filter(|(_, names, _)| names.iter().all(|n| present.contains(n)))
            .map(|(call, names, merge)| (*call, merge.apply(&names.iter().map(|n| column(n)).collect::<Vec<_>>())))
            .collect();
        let schema = self.plan.schema().clone();
        let mut scope = self.scope(&schema);
        scope.aggregates = Some(&results);
        let mut exprs = Vec::new();
        for &output in outputs {
            let output = &aggregates[output];
            exprs.push(scope.expr(&output.expr)?.alias(&output.name));
        }
        exprs.extend(by.iter().map(|assign| column(&assign.name)));
        self.project(at, exprs)
    }
}

/// A windowed STATS split into partial aggregates per BY keys and slot.
#[derive(Default)]
struct SplitStats {
    parts: Vec<SlotPart>,
    /// For each aggregate call (by its position in the text): its parts' names and how they
    /// give its result.
    merges: Vec<(usize, Vec<String>, Merge)>,
    /// For each output of the STATS: its parts, as indices into `parts`.
    of_output: Vec<Vec<usize>>,
}

impl SplitStats {
    /// Whether an output's parts all combine without lists.
    fn listless(&self, output: usize) -> bool {
        self.of_output[output].iter().all(|&p| self.parts[p].combine != Combine::Lists)
    }
}

/// One partial aggregate of a windowed STATS, per BY keys and slot.
struct SlotPart {
    name: String,
    combine: Combine,
}

/// What of `then`, the EVALs and the WHERE after a windowed STATS, can be computed from the
/// fields in `readable` (its BY keys and outputs without lists): the EVAL assignments that
/// read only those (and the earlier such assignments), then a WHERE of the conjuncts of the
/// WHERE that do. A row failing that WHERE fails the whole one. `None` when no conjunct can
/// be computed so, or when an EVAL changes a BY key (the survivors are matched by their keys).
fn listless_prefilter(then: &[Command], readable: HashSet<&str>, by: &[ast::Assign]) -> Option<Vec<Command>> {
    let (last, evals) = then.split_last()?;
    let CommandKind::Where(condition) = &last.kind else { return None };
    let mut readable: HashSet<String> = readable.into_iter().map(str::to_string).collect();
    let mut commands = Vec::new();
    for eval in evals {
        let CommandKind::Eval(assignments) = &eval.kind else { return None };
        let mut kept = Vec::new();
        for assign in assignments {
            if by.iter().any(|b| b.name == assign.name) {
                return None;
            }
            if reads_only(&assign.expr, &readable) {
                readable.insert(assign.name.clone());
                kept.push(assign.clone());
            } else {
                readable.remove(&assign.name);
            }
        }
        if !kept.is_empty() {
            commands.push(Command { kind: CommandKind::Eval(kept), at: eval.at });
        }
    }
    let kept = condition.conjuncts().into_iter().filter(|c| reads_only(c, &readable)).cloned();
    commands.push(Command { kind: CommandKind::Where(ast::Expr::all(kept)?), at: last.at });
    Some(commands)
}

/// Whether an expression reads no field but `readable` (and calls no KQL, which reads fields
/// of its own).
fn reads_only(expr: &ast::Expr, readable: &HashSet<String>) -> bool {
    let mut only = true;
    expr.walk(&mut |e| match &e.kind {
        ExprKind::Field(name) => only &= readable.contains(name),
        ExprKind::Call { name, .. } if name == "kql" => only = false,
        _ => {}
    });
    only
}

/// The aggregate calls in an expression of STATS, outermost only.
fn collect_aggregate_calls<'e>(expr: &'e ast::Expr, calls: &mut Vec<&'e ast::Expr>) {
    if let ExprKind::Call { name, args } = &expr.kind {
        if AGGREGATES.contains(&name.as_str()) {
            calls.push(expr);
            return;
        }
        for arg in args {
            collect_aggregate_calls(arg, calls);
        }
        return;
    }
    let mut children = Vec::new();
    match &expr.kind {
        ExprKind::Not(e) | ExprKind::Neg(e) | ExprKind::Cast { expr: e, .. } => children.push(e.as_ref()),
        ExprKind::IsNull { expr, .. } | ExprKind::Match { expr, .. } => children.push(expr.as_ref()),
        ExprKind::Binary(_, l, r) => children.extend([l.as_ref(), r.as_ref()]),
        ExprKind::In { expr, list, .. } => {
            children.push(expr.as_ref());
            children.extend(list.iter());
        }
        _ => {}
    }
    for child in children {
        collect_aggregate_calls(child, calls);
    }
}

/// Whether `name` matches a KEEP/DROP pattern, where `*` stands for any run of characters.
pub(crate) fn wildcard_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    true
}
