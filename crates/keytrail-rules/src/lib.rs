//! Detection rules in Elastic's detection-rules TOML format, keytrail's native rule format.
//!
//! ```text
//!  *.toml ──► load (TOML → RuleFile) ──► compile ──► Detection { schedule, Logic }
//!                 │                         │            Query(KQL) | NewTerms(KQL, fields) | Esql
//!                 └── RuleError (file:line: reason; Invalid or Unsupported) ◄──┘
//! ```
//!
//! A rule that cannot run never stops the others: [`RuleSet`] keeps the detections and the
//! problems side by side. Running detections over events is `keytrail-detect`'s job.

mod builtin;
mod compile;
mod duration;
mod filters;
mod load;
mod model;

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::Schema;

use builtin::BUILTIN_ORIGIN;
pub use builtin::{builtin_sources, builtin_text};
pub use compile::{DEFAULT_FROM, DEFAULT_INTERVAL, Detection, Logic, Schedule, compile, empty_scan};
pub use duration::{parse_interval, parse_lookback};
pub use load::{RuleError, RuleErrorKind, RuleSource, load_path, parse_rule};
pub use model::{Rule, RuleFile, Threat};

/// The runnable detections from some rule files, and why the others cannot run.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub detections: Vec<Detection>,
    pub problems: Vec<RuleError>,
}

impl RuleSet {
    /// Loads and compiles every rule file under `path`.
    pub fn add_path(&mut self, path: &Path) {
        let (sources, errors) = load_path(path);
        self.problems.extend(errors);
        sources.iter().for_each(|source| self.add_source(source));
    }

    /// Adds keytrail's built-in rules.
    pub fn add_builtin(&mut self) {
        builtin_sources().iter().for_each(|source| self.add_source(source));
    }

    /// Compiles one parsed rule file. A rule with the rule_id of a built-in rule replaces it:
    /// that is how a built-in rule is tuned (copy it with `keytrail rules show --toml`, edit,
    /// pass with `--rules`).
    pub fn add_source(&mut self, source: &RuleSource) {
        match compile(source) {
            Ok(detection) => {
                let (origin, id) = (&detection.origin, &detection.rule.rule_id);
                self.detections.retain(|d| !replaces(origin, id, &d.origin, &d.rule.rule_id));
                self.detections.push(detection)
            }
            Err(error) => self.problems.push(error),
        }
    }

    /// Every column the detections read.
    pub fn fields(&self) -> Vec<String> {
        let mut fields: Vec<String> = self.detections.iter().flat_map(Detection::fields).collect();
        fields.sort();
        fields.dedup();
        fields
    }

    /// The table schema the detections run against: ours, with the flattened columns they name.
    pub fn table_schema(&self) -> keytrail_ecs::TableSchema {
        let fields = self.fields();
        keytrail_ecs::TableSchema::with_names(fields.iter().map(String::as_str))
    }

    /// Plans every detection against `schema`; those that fail move to the problems.
    pub fn check(&mut self, schema: &Arc<Schema>) {
        let detections = std::mem::take(&mut self.detections);
        for detection in detections {
            match detection.check(schema) {
                Ok(()) => self.detections.push(detection),
                Err(message) => self.problems.push(RuleError {
                    origin: detection.origin.clone(),
                    line: None,
                    rule_type: Some(detection.rule.rule_type.get_ref().clone()),
                    kind: RuleErrorKind::Invalid,
                    message,
                }),
            }
        }
    }
}

/// Whether a rule (`origin`, `rule_id`) replaces one already loaded (`other_origin`,
/// `other_id`): a rule given by the user replaces the built-in rule with its id.
pub fn replaces(origin: &str, rule_id: &str, other_origin: &str, other_id: &str) -> bool {
    !origin.starts_with(BUILTIN_ORIGIN) && other_origin.starts_with(BUILTIN_ORIGIN) && rule_id == other_id
}
