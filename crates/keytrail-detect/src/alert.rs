//! Alerts, and their ECS-shaped JSON form.

use std::sync::Arc;

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion::arrow::datatypes::DataType;
use datafusion::scalar::ScalarValue;
use keytrail_rules::Rule;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// One alert: a rule's run that found something.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The same whichever run or process raises it (made from the rule and the evidence):
    /// `kibana.alert.uuid`.
    pub id: String,
    pub rule: Arc<Rule>,
    /// When the run that raised it happened (epoch ms).
    pub run_time: i64,
    /// First and last event time of the evidence (epoch ms).
    pub first_event: i64,
    pub last_event: i64,
    /// The fields the rule returns, by dotted name, in the rule's order.
    pub fields: Vec<(String, Value)>,
}

impl Alert {
    /// The alert as a nested ECS document: `event.action` becomes `{"event":{"action":…}}`.
    pub fn to_json(&self) -> Value {
        let mut document = Map::new();
        document.insert("@timestamp".into(), time(self.run_time));
        insert_dotted(&mut document, "kibana.alert.uuid", self.id.clone().into());
        let rule = &self.rule;
        let mut rule_object = Map::new();
        rule_object.insert("uuid".into(), rule.rule_id.clone().into());
        rule_object.insert("name".into(), rule.name.clone().into());
        rule_object.insert("type".into(), rule.rule_type.get_ref().clone().into());
        rule_object.insert("severity".into(), rule.severity.clone().into());
        rule_object.insert("risk_score".into(), rule.risk_score.into());
        if !rule.threat.is_empty() {
            rule_object.insert("threat".into(), serde_json::to_value(&rule.threat).expect("threats serialize"));
        }
        document.insert("rule".into(), Value::Object(rule_object));
        if let Some(kind) = &rule.building_block_type {
            // Elastic's mark: such alerts feed other rules and stay out of its alert table.
            insert_dotted(&mut document, "kibana.alert.building_block_type", kind.clone().into());
        }
        for (name, value) in &self.fields {
            insert_dotted(&mut document, name, value.clone());
        }
        insert_dotted(&mut document, "event.start", time(self.first_event));
        insert_dotted(&mut document, "event.end", time(self.last_event));
        Value::Object(document)
    }

    /// A field's value as text, for summaries.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(field, _)| field == name).map(|(_, value)| value)
    }
}

/// An alert's id, from its rule and what it is about (as Elastic's detection engine makes
/// alert ids, which are also what it deduplicates on): for an event's alert, the event's
/// CloudTrail id; for a new term, the event and the term; for an aggregating ES|QL row, its
/// run and values. A SHA-256, in hex.
pub fn alert_id(rule_id: &str, evidence: &[&str]) -> String {
    let mut hash = Sha256::new();
    hash.update(rule_id.as_bytes());
    for part in evidence {
        // A separator no part holds, so that ("ab", "c") and ("a", "bc") differ.
        hash.update([0]);
        hash.update(part.as_bytes());
    }
    hash.finalize().iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Puts `value` at the dotted path `name`; where a path segment is already a value rather
/// than an object (rare clashes such as `a` and `a.b`), the rest of the name stays dotted.
fn insert_dotted(document: &mut Map<String, Value>, name: &str, value: Value) {
    match name.split_once('.') {
        Some((head, rest)) if !head.is_empty() && !rest.is_empty() => {
            let slot = document.entry(head.to_string()).or_insert_with(|| Value::Object(Map::new()));
            match slot {
                Value::Object(inner) => insert_dotted(inner, rest, value),
                _ => {
                    document.insert(name.to_string(), value);
                }
            }
        }
        _ => {
            document.insert(name.to_string(), value);
        }
    }
}

pub fn time(millis: i64) -> Value {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .map_or(Value::Null, Value::String)
}

/// The non-null fields of one row, in column order, skipping keytrail's own (`__…`) columns.
pub fn row_fields(batch: &RecordBatch, row: usize) -> Vec<(String, Value)> {
    let schema = batch.schema();
    schema
        .fields()
        .iter()
        .zip(batch.columns())
        .filter(|(field, column)| !field.name().starts_with("__") && column.is_valid(row))
        .filter_map(|(field, column)| {
            let value = json_value(column.as_ref(), row)?;
            Some((field.name().clone(), value))
        })
        .collect()
}

fn json_value(column: &dyn Array, row: usize) -> Option<Value> {
    let scalar = ScalarValue::try_from_array(column, row).ok()?;
    scalar_json(&scalar)
}

fn scalar_json(scalar: &ScalarValue) -> Option<Value> {
    if scalar.is_null() {
        return None;
    }
    Some(match scalar {
        ScalarValue::Boolean(Some(b)) => Value::Bool(*b),
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            Value::String(s.clone())
        }
        ScalarValue::TimestampMillisecond(Some(t), _) => time(*t),
        ScalarValue::TimestampMicrosecond(Some(t), _) => time(t / 1_000),
        ScalarValue::TimestampNanosecond(Some(t), _) => time(t / 1_000_000),
        ScalarValue::TimestampSecond(Some(t), _) => time(t * 1_000),
        ScalarValue::Float64(Some(f)) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
        ScalarValue::Float32(Some(f)) => serde_json::Number::from_f64(f64::from(*f)).map_or(Value::Null, Value::Number),
        ScalarValue::List(list) => {
            let values = list.value(0);
            Value::Array((0..values.len()).filter_map(|i| json_value(values.as_ref(), i)).collect())
        }
        other if other.data_type().is_integer() => {
            let as_i64 = other.cast_to(&DataType::Int64).ok()?;
            match as_i64 {
                ScalarValue::Int64(Some(i)) => Value::from(i),
                _ => return None,
            }
        }
        other => Value::String(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn alert_ids_follow_the_rule_and_the_evidence_only() {
        let id = alert_id("rule-1", &["event-1"]);
        assert_eq!(id.len(), 64);
        assert_eq!(id, alert_id("rule-1", &["event-1"]));
        assert_ne!(id, alert_id("rule-2", &["event-1"]));
        assert_ne!(alert_id("r", &["ab", "c"]), alert_id("r", &["a", "bc"]));
    }

    #[test]
    fn dotted_names_nest() {
        let mut document = Map::new();
        insert_dotted(&mut document, "aws.cloudtrail.user_identity.access_key_id", json!("AKIA1"));
        insert_dotted(&mut document, "aws.cloudtrail.event_type", json!("AwsApiCall"));
        insert_dotted(&mut document, "Esql.count", json!(3));
        insert_dotted(&mut document, "Esql.count.max", json!(4));
        assert_eq!(
            Value::Object(document),
            json!({"aws": {"cloudtrail": {"user_identity": {"access_key_id": "AKIA1"}, "event_type": "AwsApiCall"}},
                   "Esql": {"count": 3, "count.max": 4}})
        );
    }
}
