//! Kibana Query Language (KQL, "kuery") compiled to a DataFusion predicate, so that Elastic's
//! detection rules run offline over keytrail's `cloudtrail` table.
//!
//! ```text
//!  query text ──parse──► Query (Kibana's tree) ──to_expr(schema)──► datafusion Expr
//!                          │ fields()             columns by name,     (a filter, never NULL)
//!                          │ required_values()    types from the schema
//! ```
//!
//! [`parse`] accepts exactly what Kibana's grammar (`kbn-es-query`, `grammar.peggy`) accepts,
//! including its surprises: unquoted values may contain spaces, and `or`/`and`/`not` are
//! keywords only with whitespace around them (see `parser.rs`). [`Query::to_expr`] then gives
//! each node the meaning Elasticsearch gives the query Kibana would send for a `keyword` field.
//!
//! # Semantics
//!
//! - **Terms are exact and case-sensitive** (`term` on a keyword): `event.action:GetObject`
//!   is `"event.action" = 'GetObject'`. Quoted and unquoted values mean the same on keywords.
//! - **Wildcards**: `*` is the only wildcard (KQL escapes `?` before handing a pattern to
//!   Elasticsearch, so `?` is a literal); a pattern must match the whole value, case-sensitively,
//!   like Elasticsearch's `wildcard` query. It compiles to `LIKE` with `%`, `_` and `\` escaped.
//!   On columns that are not text a pattern matches nothing.
//! - **`field:*`** is `exists`: the value is not null; for a list, some element is not null.
//!   `*:*` matches everything.
//! - **Missing is false, and `not` of missing is true.** A field absent from the schema, or a
//!   null value, is Elasticsearch's missing field: `f:x` and `f:*` are false, `not f:x` is true.
//!   Every leaf is wrapped in `IS TRUE`, so the predicate is never NULL and SQL's three-valued
//!   logic never turns a `not` into "no match".
//! - **Lists** (`List<Utf8>`, multi-valued keywords): a term matches when any element matches
//!   (`array_has` for exact values, `array_any_match` with a lambda for patterns, ranges and
//!   `exists`), and `not` is true when no element matches, an empty or missing list included.
//! - **Booleans** read `true`, and `false` or the empty string, as Elasticsearch does; numbers
//!   parse as numbers (`5.0` equals 5, `5.5` equals no long); dates are ISO 8601 or epoch
//!   milliseconds, in UTC unless they carry a zone, and name a period (`2024-05-01` is a whole
//!   day), rounded at range bounds by Elasticsearch's rules (see `date.rs`). A value the column's
//!   type cannot hold matches nothing, where Elasticsearch would fail the whole query: a rule
//!   keeps running on the fields it can read.
//! - **Ranges** (`>`, `>=`, `<`, `<=`) compare numbers numerically, dates as instants and
//!   keywords by their bytes, as Elasticsearch's `range` on a keyword does.
//! - **`path:{ query }`** (nested) reads the inner field names as `path.name`: keytrail's table
//!   is flat, so there is no per-object matching as in an Elasticsearch `nested` query.
//! - **Wildcard field names** (`aws.cloudtrail.*:x`) select the schema's columns that match,
//!   joined by `or`; [`Query::fields`] leaves them out, as they name no column to create.
//!
//! Refused with an error that points at the text: free text without a field (Kibana would run
//! a `multi_match` over every field; no Elastic AWS rule uses it), `null` as a value
//! (Elasticsearch rejects it), date math (`now-1d`), and columns of types KQL cannot search.

mod ast;
mod compile;
mod date;
mod error;
mod parser;

use std::collections::BTreeSet;
use std::fmt;

use datafusion::arrow::datatypes::Schema;
use datafusion::logical_expr::Expr;

pub use error::KqlError;

/// A parsed KQL query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    text: String,
    root: ast::Node,
}

/// Parses a KQL query. The empty query matches every event, as in Kibana.
pub fn parse(text: &str) -> Result<Query, KqlError> {
    Ok(Query { text: text.to_string(), root: parser::parse(text)? })
}

impl Query {
    /// Every field name the query references, once each, in the order written; names inside
    /// `path:{…}` come with their path. Wildcard field names are left out.
    pub fn fields(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        self.root.each_field(&mut |name| {
            if let Some(name) = name.exact()
                && !names.contains(&name)
            {
                names.push(name);
            }
        });
        names
    }

    /// The query as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The values `field` must equal in every event the query matches, when the query pins
    /// them down: `event.action:(A or B) and …` gives `{A, B}`. `None` when any value may match
    /// (the field is not constrained, or only by a wildcard, a range, or under `not`). An empty
    /// set means no event can match.
    pub fn required_values(&self, field: &str) -> Option<BTreeSet<String>> {
        self.root.required_values(field)
    }

    /// The query as a predicate over a table with `schema`. Columns are referenced by their
    /// full dotted name (`Column::from_name`), never as qualified names.
    pub fn to_expr(&self, schema: &Schema) -> Result<Expr, KqlError> {
        compile::Compiler { text: &self.text, schema }.node(&self.root)
    }
}

/// The parsed tree in Kibana's function notation, e.g.
/// `and(is(event.action, "GetObject"), not(exists(source.ip)))`.
impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.root.fmt(f)
    }
}
