//! ES|QL, the query language of Elastic's newer detection rules, compiled to DataFusion
//! [`LogicalPlan`]s over keytrail's CloudTrail table.
//!
//! ```text
//!  query text ──► lexer ──► parser ──► Query ──► planner ──► LogicalPlan
//!                 tokens    commands,   fields()   one plan node (or a few) per command,
//!                 + offsets expressions            ES|QL semantics in DataFusion expressions
//! ```
//!
//! [`parse`] checks the syntax; [`Query::plan`] turns the commands into plan nodes over an
//! input plan that stands for the FROM source (a scan of the table), checking names and types
//! as it goes. Every error carries the line and column of the construct at fault.
//!
//! Where ES|QL and DataFusion differ, the planner follows ES|QL:
//! - Multi-valued fields are Arrow lists. Functions and operators that take one value read a
//!   list as null unless it holds exactly one value (ES|QL answers null with a warning);
//!   `MV_*` functions, conversions, `IS NULL` and aggregations read every value. Empty lists
//!   read as null, since ES|QL has no empty multi-value.
//! - `VALUES` returns a list of the distinct non-null values, sorted (ES|QL leaves the order
//!   open). `COUNT(field)` counts values, `COUNT_DISTINCT` is exact (ES|QL's is approximate
//!   above 3000 values). STATS without BY gives one row, even over no rows. Both keep each
//!   group's distinct values with an aggregate of our own (the `distinct_values` module),
//!   whose groups share one store of values.
//! - Output columns are named as in ES|QL: the expression text for unnamed EVAL and STATS
//!   outputs (`COUNT(*)`), aggregates before the BY columns.
//! - Fields our table lacks (from Elastic's other integrations, such as `user_agent.name` or
//!   `kibana.alert.*`) read as null — text, or the ECS type for a few date and number fields
//!   — where ES|QL would stop with "Unknown column": rules must still run.
//! - `INLINE STATS` (or `INLINESTATS`) is a STATS joined back to the rows on its BY values,
//!   null matching null as ES|QL groups nulls together; as in Elastic, it may not follow SORT
//!   or LIMIT.
//! - METADATA `_id` is `event.id`, `_index` is [`INDEX_NAME`], `_version` is 1.
//! - `KQL("…")` compiles with `keytrail-kql`, with KQL's semantics (missing fields do not
//!   match; the result is never null).
//! - Commands and functions outside the subset the AWS rules use (ENRICH, LOOKUP JOIN,
//!   MATCH, MEDIAN, …) are refused with an error naming them.
//! - No implicit `LIMIT 1000`: the caller decides how many rows it wants.
//!
//! [`PlanOptions::partition_by`] runs one plan as if separately for each value of some input
//! columns, which [`Query::plan_windowed`] uses to evaluate many scheduled runs of a rule in
//! one pass (see the `window` module).

mod ast;
mod dissect;
mod distinct_values;
mod error;
mod expr;
mod grok;
mod lexer;
mod parser;
mod planner;
mod prefilter;
mod udf;
mod window;

use std::collections::HashSet;

use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::Expr;

pub use error::EsqlError;
pub use planner::INDEX_NAME;
pub use window::{RUN_TIME_COLUMN, Window};

use ast::{Command, CommandKind, ExprKind, NamePattern};
use dissect::DissectPattern;
use grok::GrokPattern;
use planner::Planner;

/// A parsed ES|QL query.
#[derive(Debug, Clone)]
pub struct Query {
    text: String,
    indices: Vec<String>,
    metadata: Vec<NamePattern>,
    commands: Vec<Command>,
}

/// How to plan a query.
#[derive(Clone)]
pub struct PlanOptions {
    /// What `NOW()` means: a timestamp literal, or a column of the input (then it should be
    /// among `partition_by`).
    pub now: Expr,
    /// Input columns the plan carries through every command, as if it ran separately for
    /// each of their values: STATS also groups by them, SORT and LIMIT apply within each,
    /// KEEP and DROP never remove them, and they come out last in the result.
    pub partition_by: Vec<String>,
}

impl PlanOptions {
    /// Options for one run of a query at `now`.
    pub fn at(now: Expr) -> PlanOptions {
        PlanOptions { now, partition_by: Vec::new() }
    }
}

/// A DataFusion context to run ES|QL plans in. DataFusion 55's leaf-projection pushdown fails
/// on some of the projections ES|QL plans stack (names made ambiguous or duplicated, e.g. with
/// list columns or the windowed plan's slot); the plans are small, so nothing is lost without it.
pub fn session_context() -> datafusion::prelude::SessionContext {
    session_context_on(Default::default())
}

/// [`session_context`] on a given runtime: its memory pool and temporary files.
pub fn session_context_on(
    runtime: std::sync::Arc<datafusion::execution::runtime_env::RuntimeEnv>,
) -> datafusion::prelude::SessionContext {
    let context =
        datafusion::prelude::SessionContext::new_with_config_rt(datafusion::prelude::SessionConfig::new(), runtime);
    context.remove_optimizer_rule("push_down_leaf_projections");
    context
}

/// Parses an ES|QL query (syntax only; names and types are checked by [`Query::plan`]).
pub fn parse(text: &str) -> Result<Query, EsqlError> {
    let parsed = parser::parse(text)?;
    Ok(Query { text: text.to_string(), indices: parsed.indices, metadata: parsed.metadata, commands: parsed.commands })
}

impl Query {
    /// The query as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The index patterns of FROM, such as `logs-aws.cloudtrail-*`.
    pub fn index_patterns(&self) -> &[String] {
        &self.indices
    }

    /// Whether the query has a STATS command: Elastic's test (computeIsESQLQueryAggregating)
    /// for rows that stand for no single event, whose alerts belong to their run.
    pub fn is_aggregating(&self) -> bool {
        self.commands.iter().any(|command| matches!(command.kind, CommandKind::Stats { .. }))
    }

    /// The source columns the query reads, in order of first use: every field it names
    /// before the query itself defines that name (KEEP/DROP wildcards are not expanded).
    pub fn fields(&self) -> Vec<String> {
        let mut defined: HashSet<String> = self.metadata.iter().map(|m| m.pattern.clone()).collect();
        let mut fields: Vec<String> = Vec::new();
        if self.metadata.iter().any(|m| m.pattern == "_id") {
            fields.push("event.id".to_string());
        }
        let read = |name: &str, defined: &HashSet<String>, fields: &mut Vec<String>| {
            if !defined.contains(name) && !fields.iter().any(|f| f == name) {
                fields.push(name.to_string());
            }
        };
        let read_expr = |expr: &ast::Expr, defined: &HashSet<String>, fields: &mut Vec<String>| {
            expr.walk(&mut |e| match &e.kind {
                ExprKind::Field(name) => read(name, defined, fields),
                // The fields of a KQL("…") query are source fields too.
                ExprKind::Call { name, args } if name == "kql" => {
                    if let Some(ExprKind::Str(kql)) = args.first().map(|a| &a.kind)
                        && let Ok(query) = keytrail_kql::parse(kql)
                    {
                        query.fields().into_iter().for_each(|f| read(f, defined, fields));
                    }
                }
                _ => {}
            })
        };
        for command in &self.commands {
            match &command.kind {
                CommandKind::Where(e) => read_expr(e, &defined, &mut fields),
                CommandKind::Eval(assignments) => {
                    for a in assignments {
                        read_expr(&a.expr, &defined, &mut fields);
                        defined.insert(a.name.clone());
                    }
                }
                CommandKind::Stats { aggregates, by } | CommandKind::InlineStats { aggregates, by } => {
                    for a in aggregates {
                        read_expr(&a.expr, &defined, &mut fields);
                        if let Some(filter) = &a.filter {
                            read_expr(filter, &defined, &mut fields);
                        }
                    }
                    for b in by {
                        read_expr(&b.expr, &defined, &mut fields);
                    }
                    if matches!(command.kind, CommandKind::Stats { .. }) {
                        // After STATS only its outputs exist: nothing more comes from the source.
                        return fields;
                    }
                    defined.extend(aggregates.iter().map(|a| a.name.clone()).chain(by.iter().map(|b| b.name.clone())));
                }
                CommandKind::Keep(patterns) | CommandKind::Drop(patterns) => {
                    for p in patterns.iter().filter(|p| !p.pattern.contains('*')) {
                        read_expr(&field_expr(p), &defined, &mut fields);
                    }
                }
                CommandKind::Rename(pairs) => {
                    for (old, new) in pairs {
                        read_expr(&field_expr(old), &defined, &mut fields);
                        defined.insert(new.pattern.clone());
                    }
                }
                CommandKind::Sort(keys) => keys.iter().for_each(|k| read_expr(&k.expr, &defined, &mut fields)),
                CommandKind::Limit(_) => {}
                CommandKind::Dissect { input, pattern, append_separator } => {
                    read_expr(input, &defined, &mut fields);
                    if let Ok(p) = DissectPattern::parse(pattern, append_separator) {
                        defined.extend(p.names().iter().cloned());
                    }
                }
                CommandKind::Grok { input, pattern } => {
                    read_expr(input, &defined, &mut fields);
                    if let Ok(p) = GrokPattern::parse(pattern) {
                        defined.extend(p.columns().iter().map(|(n, _)| n.clone()));
                    }
                }
                CommandKind::MvExpand(field) => read_expr(&field_expr(field), &defined, &mut fields),
            }
        }
        fields
    }

    /// The plan of the query over `input`, which stands for the FROM source (all the table's
    /// columns; fields the query reads that it lacks become null columns).
    pub fn plan(&self, input: LogicalPlan, options: &PlanOptions) -> Result<LogicalPlan, EsqlError> {
        let mut planner = self.planner(input, options)?;
        for command in &self.commands {
            planner.command(command)?;
        }
        planner.finish()
    }

    fn planner<'q>(&'q self, input: LogicalPlan, options: &'q PlanOptions) -> Result<Planner<'q>, EsqlError> {
        Planner::from(
            &self.text,
            input,
            &self.fields(),
            &self.metadata,
            options.now.clone(),
            options.partition_by.clone(),
        )
    }
}

fn field_expr(pattern: &NamePattern) -> ast::Expr {
    ast::Expr { kind: ExprKind::Field(pattern.pattern.clone()), at: pattern.at, text: pattern.pattern.clone() }
}
