//! From a rule file to a [`Detection`]: the rule's schedule and its query, parsed and
//! checked, or the reason it cannot run.

use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;
use datafusion::catalog::default_table_source::provider_as_source;
use datafusion::datasource::empty::EmptyTable;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder};
use keytrail_ecs::{Col, Kind};

use crate::duration::{parse_interval, parse_lookback};
use crate::filters::filters_to_kql;
use crate::load::{RuleError, RuleErrorKind, RuleSource};
use crate::model::Rule;

/// Elastic's defaults for a rule that does not set them.
pub const DEFAULT_FROM: &str = "now-6m";
pub const DEFAULT_INTERVAL: &str = "5m";
const DEFAULT_MAX_SIGNALS: u32 = 100;

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct Detection {
    pub origin: String,
    pub rule: Arc<Rule>,
    pub schedule: Schedule,
    pub logic: Logic,
}

/// When the rule runs and what each run sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Time between runs.
    pub interval_ms: i64,
    /// How far before the run time its window starts (`from`).
    pub lookback_ms: i64,
    /// Most alerts one run raises.
    pub max_signals: u32,
    /// The time column that places events in a run's window (`timestamp_override`, as
    /// Elastic selects a run's documents by it); where it is null, `@timestamp`. Alerts'
    /// evidence times stay `@timestamp`.
    pub timestamp_field: Col,
}

#[derive(Debug, Clone)]
pub enum Logic {
    /// One alert per matching event.
    Query(keytrail_kql::Query),
    /// One alert per combination of `fields` values that matching events show for the first
    /// time within `history_ms` before the run's window.
    NewTerms { query: keytrail_kql::Query, fields: Vec<String>, history_ms: i64 },
    /// One alert per result row.
    Esql(keytrail_esql::Query),
}

impl Detection {
    /// The table columns the rule reads (for flattened paths, which exist only when named).
    pub fn fields(&self) -> Vec<String> {
        match &self.logic {
            Logic::Query(query) => query.fields().into_iter().map(str::to_string).collect(),
            Logic::NewTerms { query, fields, .. } => {
                query.fields().into_iter().map(str::to_string).chain(fields.iter().cloned()).collect()
            }
            Logic::Esql(query) => query.fields(),
        }
    }

    /// Plans the rule against `schema` (our table with the rule's fields), which finds every
    /// error that does not depend on the data.
    pub fn check(&self, schema: &Arc<Schema>) -> Result<(), String> {
        match &self.logic {
            Logic::Query(query) | Logic::NewTerms { query, .. } => {
                query.to_expr(schema).map(drop).map_err(|e| format!("KQL: {e}"))
            }
            Logic::Esql(query) => {
                let options = keytrail_esql::PlanOptions::at(datafusion::prelude::lit(
                    datafusion::scalar::ScalarValue::TimestampMillisecond(Some(0), Some("UTC".into())),
                ));
                query
                    .plan(empty_scan(schema).map_err(|e| e.to_string())?, &options)
                    .map(drop)
                    .map_err(|e| format!("ES|QL: {e}"))
            }
        }
    }
}

/// A scan of an empty table with `schema`, the input rules are planned against.
pub fn empty_scan(schema: &Arc<Schema>) -> datafusion::error::Result<LogicalPlan> {
    let table = provider_as_source(Arc::new(EmptyTable::new(schema.clone())));
    LogicalPlanBuilder::scan("cloudtrail", table, None)?.build()
}

/// Compiles a parsed rule file.
pub fn compile(source: &RuleSource) -> Result<Detection, RuleError> {
    let rule = &source.file.rule;
    let rule_type = rule.rule_type.get_ref().as_str();
    let error = |kind, line: Option<usize>, message: String| RuleError {
        origin: source.origin.clone(),
        line,
        rule_type: Some(rule_type.to_string()),
        kind,
        message,
    };
    let invalid = |line, message| error(RuleErrorKind::Invalid, Some(line), message);
    let type_line = source.line_of(rule.rule_type.span().start);

    let schedule = Schedule {
        interval_ms: match &rule.interval {
            Some(text) => parse_interval(text.get_ref()).map_err(|m| invalid(source.line_of(text.span().start), m))?,
            None => parse_interval(DEFAULT_INTERVAL).expect("the default interval parses"),
        },
        lookback_ms: match &rule.from {
            Some(text) => parse_lookback(text.get_ref()).map_err(|m| invalid(source.line_of(text.span().start), m))?,
            None => parse_lookback(DEFAULT_FROM).expect("the default lookback parses"),
        },
        max_signals: rule.max_signals.unwrap_or(DEFAULT_MAX_SIGNALS),
        timestamp_field: match &rule.timestamp_override {
            Some(name) => time_column(name.get_ref()).ok_or_else(|| {
                error(
                    RuleErrorKind::Unsupported,
                    Some(source.line_of(name.span().start)),
                    format!("timestamp_override '{}' is not a time column of the table", name.get_ref()),
                )
            })?,
            None => Col::Timestamp,
        },
    };

    let language = rule.language.as_deref();
    let logic = match (rule_type, language) {
        ("query" | "new_terms", Some("kuery") | None) => {
            let query = kql_query(source, rule)?;
            if rule_type == "query" {
                Logic::Query(query)
            } else {
                let new_terms = rule
                    .new_terms
                    .as_ref()
                    .ok_or_else(|| invalid(type_line, "a new_terms rule needs [rule.new_terms]".into()))?;
                let history = new_terms
                    .history_window_start
                    .first()
                    .ok_or_else(|| invalid(type_line, "[rule.new_terms] needs history_window_start".into()))?;
                let history_ms = parse_lookback(history.value.get_ref())
                    .map_err(|m| invalid(source.line_of(history.value.span().start), m))?;
                let fields = new_terms.value.get_ref().clone();
                if fields.is_empty() {
                    return Err(invalid(source.line_of(new_terms.value.span().start), "no new_terms fields".into()));
                }
                if history_ms <= schedule.lookback_ms {
                    return Err(invalid(
                        source.line_of(history.value.span().start),
                        "the history window must start before the rule's window (from)".into(),
                    ));
                }
                Logic::NewTerms { query, fields, history_ms }
            }
        }
        ("esql", _) => {
            let (text, line) = query_text(source, rule)?;
            let query = keytrail_esql::parse(text)
                .map_err(|e| invalid(line, format!("ES|QL (line:column in the query) {e}")))?;
            Logic::Esql(query)
        }
        ("query" | "new_terms", Some(other)) => {
            return Err(error(
                RuleErrorKind::Unsupported,
                Some(type_line),
                format!("language '{other}' is not supported"),
            ));
        }
        ("eql" | "threshold" | "machine_learning" | "threat_match" | "saved_query", _) => {
            return Err(error(
                RuleErrorKind::Unsupported,
                Some(type_line),
                format!("rule type '{rule_type}' is not supported yet"),
            ));
        }
        (other, _) => return Err(invalid(type_line, format!("unknown rule type '{other}'"))),
    };
    Ok(Detection { origin: source.origin.clone(), rule: Arc::new(rule.clone()), schedule, logic })
}

/// The time column named `name`.
fn time_column(name: &str) -> Option<Col> {
    Col::ALL.iter().copied().find(|col| col.def().name == name && col.def().kind == Kind::Time)
}

/// The rule's query and the line its text starts on.
fn query_text<'r>(source: &RuleSource, rule: &'r Rule) -> Result<(&'r str, usize), RuleError> {
    let query = rule.query.as_ref().ok_or_else(|| RuleError {
        origin: source.origin.clone(),
        line: Some(source.line_of(rule.rule_type.span().start)),
        rule_type: Some(rule.rule_type.get_ref().clone()),
        kind: RuleErrorKind::Invalid,
        message: "the rule has no query".into(),
    })?;
    let start = query.span().start;
    // A multi-line string's first newline is not part of the value.
    let literal = &source.text[start..];
    let skipped_newline = ["'''\n", "\"\"\"\n", "'''\r\n", "\"\"\"\r\n"].iter().any(|p| literal.starts_with(p));
    Ok((query.get_ref().as_str(), source.line_of(start) + usize::from(skipped_newline)))
}

/// The rule's KQL query with its filters folded in.
fn kql_query(source: &RuleSource, rule: &Rule) -> Result<keytrail_kql::Query, RuleError> {
    let (text, line) = query_text(source, rule)?;
    let invalid = |line, message| RuleError {
        origin: source.origin.clone(),
        line: Some(line),
        rule_type: Some(rule.rule_type.get_ref().clone()),
        kind: RuleErrorKind::Invalid,
        message,
    };
    if rule.filters.is_empty() {
        return keytrail_kql::parse(text).map_err(|e| invalid(line, format!("KQL (line:column in the query) {e}")));
    }
    let mut full = format!("({text})");
    for filter in &rule.filters {
        let filter_line = source.line_of(filter.span().start);
        let kql = filters_to_kql(filter.get_ref())
            .map_err(|m| RuleError { kind: RuleErrorKind::Unsupported, ..invalid(filter_line, m) })?;
        if let Some(kql) = kql {
            full = format!("{full} and ({kql})");
        }
    }
    keytrail_kql::parse(&full).map_err(|e| invalid(line, format!("KQL (the query and its filters: {full}) {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::parse_rule;

    fn compiled(timestamp_override: &str) -> Result<Detection, RuleError> {
        let text = format!(
            "[rule]\nrule_id = \"r\"\nname = \"r\"\ntype = \"query\"\nrisk_score = 1\nseverity = \"low\"\n{timestamp_override}\nquery = 'event.action:A'\n"
        );
        compile(&parse_rule("r.toml", text).unwrap())
    }

    #[test]
    fn runs_select_events_by_the_rules_timestamp_field() {
        assert_eq!(compiled("").unwrap().schedule.timestamp_field, Col::Timestamp);
        let ingested = compiled("timestamp_override = \"event.ingested\"").unwrap();
        assert_eq!(ingested.schedule.timestamp_field, Col::EventIngested);
        for field in ["event.created", "event.action"] {
            let error = compiled(&format!("timestamp_override = \"{field}\"")).unwrap_err();
            assert_eq!((error.kind, error.line), (RuleErrorKind::Unsupported, Some(7)), "{error}");
        }
    }
}
