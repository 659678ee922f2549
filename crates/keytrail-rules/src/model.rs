//! The Elastic detection-rules TOML format, as far as running a rule needs it.
//!
//! Unknown keys are ignored on purpose: the format grows with every Kibana release and a
//! rule written for a newer stack should still run when its logic is one we understand.

use serde::{Deserialize, Serialize};
use toml::Spanned;

/// One rule file: `[metadata]` and `[rule]`.
#[derive(Debug, Clone, Deserialize)]
pub struct RuleFile {
    #[serde(default)]
    pub metadata: Metadata,
    pub rule: Rule,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Metadata {
    pub maturity: Option<String>,
    pub creation_date: Option<String>,
    pub updated_date: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Rule {
    pub rule_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub rule_type: Spanned<String>,
    pub language: Option<String>,
    pub query: Option<Spanned<String>>,
    #[serde(default)]
    pub index: Vec<String>,
    pub from: Option<Spanned<String>>,
    pub interval: Option<Spanned<String>>,
    pub max_signals: Option<u32>,
    pub new_terms: Option<NewTerms>,
    pub risk_score: u32,
    pub severity: String,
    #[serde(default)]
    pub threat: Vec<Threat>,
    #[serde(default)]
    pub false_positives: Vec<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    pub investigation_fields: Option<InvestigationFields>,
    /// The time field that places events in a run's window (`event.ingested`), else `@timestamp`.
    pub timestamp_override: Option<Spanned<String>>,
    pub building_block_type: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Kibana filters (query DSL) that narrow the query.
    #[serde(default)]
    pub filters: Vec<Spanned<serde_json::Value>>,
}

/// `[rule.new_terms]`: the fields whose value combinations must be new, and how far back
/// "new" looks.
#[derive(Debug, Clone, Deserialize)]
pub struct NewTerms {
    pub value: Spanned<Vec<String>>,
    #[serde(default)]
    pub history_window_start: Vec<HistoryWindowStart>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct HistoryWindowStart {
    pub value: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct InvestigationFields {
    #[serde(default)]
    pub field_names: Vec<String>,
}

/// A MITRE ATT&CK mapping, carried into alerts as it is.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Threat {
    pub framework: String,
    pub tactic: ThreatEntry,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub technique: Vec<Technique>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct ThreatEntry {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub reference: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Technique {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub reference: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtechnique: Vec<ThreatEntry>,
}
