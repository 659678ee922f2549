//! ECS documents exported from Elastic (nested objects or dotted keys): already normalized,
//! so each column is read from its own path.

use std::borrow::Cow;

use sonic_rs::{JsonContainerTrait, JsonValueTrait};

use crate::event::{EcsEvent, Value};
use crate::normalize::{describe, parse_time};
use crate::schema::{COLUMNS, Col, Kind, col_at};
use crate::secrets::redact;

pub(crate) fn read(json: &str, event: &mut EcsEvent<'_>) -> Result<(), String> {
    let doc: sonic_rs::Value = sonic_rs::from_str(json).map_err(|e| describe(&e))?;
    for (i, column) in COLUMNS.iter().enumerate() {
        let col = col_at(i);
        // Elastic's text copies hold secrets unredacted, in a syntax redaction cannot parse;
        // they are derived from the redacted flattened objects instead.
        if !event.wants(col) || col.text_copy_of().is_some() {
            continue;
        }
        let Some(value) = lookup(&doc, column.name) else { continue };
        let converted = match column.kind {
            Kind::Str if is_flattened(col) => {
                let text = value
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| sonic_rs::to_string(value).unwrap_or_default());
                Value::Str(Cow::Owned(redact(&text).into_owned()))
            }
            Kind::Str => text_of(value).map_or(Value::Null, |t| Value::Str(Cow::Owned(t))),
            Kind::Bool => {
                value.as_bool().or_else(|| value.as_str().and_then(|s| s.parse().ok())).map_or(Value::Null, Value::Bool)
            }
            Kind::Int => {
                value.as_i64().or_else(|| value.as_str().and_then(|s| s.parse().ok())).map_or(Value::Null, Value::Int)
            }
            Kind::Time => time_of(value).map_or(Value::Null, Value::Time),
            Kind::StrList => match value.as_array() {
                Some(items) => Value::List(items.iter().filter_map(text_of).map(Cow::Owned).collect()),
                None => text_of(value).map_or(Value::Null, |t| Value::List(vec![Cow::Owned(t)])),
            },
        };
        event.set(col, converted);
    }
    // Checked whether or not the read wants the column: it decides whether this is an event.
    let timestamp = lookup(&doc, Col::Timestamp.def().name).and_then(time_of);
    if timestamp.is_none() {
        return Err("ECS document without a readable @timestamp".into());
    }
    Ok(())
}

fn time_of(value: &sonic_rs::Value) -> Option<i64> {
    value.as_str().and_then(parse_time).or_else(|| value.as_i64())
}

fn is_flattened(col: Col) -> bool {
    matches!(
        col,
        Col::FlatRequestParameters
            | Col::FlatResponseElements
            | Col::FlatAdditionalEventData
            | Col::FlatServiceEventDetails
    )
}

fn text_of(value: &sonic_rs::Value) -> Option<String> {
    if let Some(s) = value.as_str() {
        return (!s.is_empty()).then(|| s.to_string());
    }
    if value.is_number() || value.is_boolean() {
        return sonic_rs::to_string(value).ok();
    }
    None
}

/// The value at a dotted ECS name in a JSON document keytrail wrote (an alert, an NDJSON
/// event): nested objects (`{"user":{"name":…}}`), or the dotted key itself where the writer
/// kept it dotted, at any level.
pub fn dotted_value<'v>(document: &'v serde_json::Value, name: &str) -> Option<&'v serde_json::Value> {
    let object = document.as_object()?;
    if let Some(found) = object.get(name) {
        return Some(found);
    }
    name.match_indices('.').find_map(|(at, _)| dotted_value(object.get(&name[..at])?, &name[at + 1..]))
}

/// The value at a dotted path, whether the document nests objects, uses dotted keys, or mixes
/// both (`{"aws": {"cloudtrail.user_identity": {"type": …}}}`).
fn lookup<'v>(value: &'v sonic_rs::Value, path: &str) -> Option<&'v sonic_rs::Value> {
    let object = value.as_object()?;
    if let Some(found) = object.get(&path) {
        return Some(found);
    }
    path.match_indices('.').find_map(|(i, _)| lookup(object.get(&&path[..i])?, &path[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_dotted_and_mixed_documents_read_alike() {
        for doc in [
            r#"{"@timestamp":"2024-01-02T03:04:05.000Z","event":{"action":"GetCallerIdentity"},"source":{"ip":"1.2.3.4"},"related":{"user":["a","b"]}}"#,
            r#"{"@timestamp":"2024-01-02T03:04:05.000Z","event.action":"GetCallerIdentity","source.ip":"1.2.3.4","related.user":["a","b"]}"#,
            r#"{"@timestamp":"2024-01-02T03:04:05.000Z","event":{"action":"GetCallerIdentity"},"source.ip":"1.2.3.4","related":{"user":["a","b"]}}"#,
        ] {
            let mut event = EcsEvent::default();
            read(doc, &mut event).unwrap();
            assert_eq!(event.str(Col::EventAction), Some("GetCallerIdentity"));
            assert_eq!(event.str(Col::SourceIp), Some("1.2.3.4"));
            assert_eq!(event.get(Col::Timestamp), &Value::Time(1_704_164_645_000));
            assert_eq!(event.get(Col::RelatedUser), &Value::List(vec!["a".into(), "b".into()]));
        }
    }

    #[test]
    fn a_document_is_an_event_by_its_timestamp_whatever_the_columns_read() {
        let mut event = EcsEvent::with_columns(crate::ColumnSet::default());
        read(r#"{"@timestamp":"2024-01-02T03:04:05Z","event":{"action":"A"}}"#, &mut event).unwrap();
        assert_eq!(event.get(Col::EventAction), &Value::Null);
        assert!(read(r#"{"@timestamp":"yesterday","event":{"action":"A"}}"#, &mut event).is_err());
    }

    #[test]
    fn flattened_objects_are_kept_as_json_with_secrets_redacted() {
        let doc = r#"{"@timestamp":"2024-01-02T03:04:05Z","event":{"action":"AssumeRole"},"aws":{"cloudtrail":{"flattened":{"response_elements":{"credentials":{"sessionToken":"T"}}}}}}"#;
        let mut event = EcsEvent::default();
        read(doc, &mut event).unwrap();
        let text = event.str(Col::FlatResponseElements).unwrap();
        assert!(!text.contains("\"T\"") && text.contains("<redacted>"), "{text}");
    }
}
