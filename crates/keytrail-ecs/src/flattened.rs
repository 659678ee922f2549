//! The four JSON objects CloudTrail leaves free-form (requestParameters, responseElements,
//! additionalEventData, serviceEventDetails): kept as JSON text, secrets redacted (see
//! [`crate::secrets`]), and read by path as `aws.cloudtrail.flattened.<object>.<path>`
//! columns, as Elastic's flattened fields are.

use std::borrow::Cow;

use sonic_rs::{JsonContainerTrait, JsonValueTrait};

use crate::schema::Col;

/// A column that reads one path inside one of the flattened objects.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FlattenedPath {
    /// The column's name, e.g. `aws.cloudtrail.flattened.request_parameters.userName`.
    pub name: String,
    pub object: Col,
    pub path: Vec<String>,
}

impl FlattenedPath {
    /// Recognises a column name that reads inside a flattened object.
    pub fn parse(name: &str) -> Option<FlattenedPath> {
        [
            Col::FlatRequestParameters,
            Col::FlatResponseElements,
            Col::FlatAdditionalEventData,
            Col::FlatServiceEventDetails,
        ]
        .into_iter()
        .find_map(|object| {
            let rest = name.strip_prefix(object.def().name)?.strip_prefix('.')?;
            let path: Vec<String> = rest.split('.').map(str::to_string).collect();
            path.iter().all(|p| !p.is_empty()).then(|| FlattenedPath { name: name.to_string(), object, path })
        })
    }

    /// The value at the path in the object's JSON text. Strings come unquoted, numbers and
    /// booleans as their text; arrays along the path are searched element by element (as
    /// Elasticsearch's flattened fields do), and several matches come back as a JSON array.
    pub fn extract(&self, json: &str) -> Option<String> {
        let value: sonic_rs::Value = sonic_rs::from_str(json).ok()?;
        let mut found = Vec::new();
        collect(&value, &self.path, &mut found);
        match found.len() {
            0 => None,
            1 => Some(leaf_text(found[0])),
            _ => sonic_rs::to_string(&found).ok(),
        }
    }
}

fn collect<'v>(value: &'v sonic_rs::Value, path: &[String], found: &mut Vec<&'v sonic_rs::Value>) {
    if let Some(array) = value.as_array() {
        for item in array.iter() {
            collect(item, path, found);
        }
        return;
    }
    match path.split_first() {
        None => {
            if !value.is_null() {
                found.push(value);
            }
        }
        Some((key, rest)) => {
            if let Some(child) = value.as_object().and_then(|o| o.get(key)) {
                collect(child, rest, found);
            }
        }
    }
}

fn leaf_text(value: &sonic_rs::Value) -> String {
    match value.as_str() {
        Some(s) => s.to_string(),
        None => sonic_rs::to_string(value).unwrap_or_default(),
    }
}

/// Looks one top-level-or-nested string up in a small JSON object, skipping the parse when
/// the key does not occur in the text at all.
pub(crate) fn lookup_str<'a>(json: &'a str, path: &[&str]) -> Option<Cow<'a, str>> {
    let last = path.last()?;
    if !json.contains(last) {
        return None;
    }
    let value = sonic_rs::get_from_str(json, path.iter().copied()).ok()?;
    let raw = value.as_raw_str();
    if let Some(s) = value.as_str() {
        // A string without escapes is its raw text between the quotes: borrow it.
        return Some(match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(inner) if !inner.contains('\\') => Cow::Borrowed(reslice(json, inner)),
            _ => Cow::Owned(s.to_string()),
        });
    }
    (raw != "null").then(|| Cow::Borrowed(reslice(json, raw)))
}

/// `inner`, a slice of `outer` that a parser handed back with a shorter lifetime, as a slice
/// of `outer` again.
pub(crate) fn reslice<'a>(outer: &'a str, inner: &str) -> &'a str {
    let start = inner.as_ptr() as usize - outer.as_ptr() as usize;
    &outer[start..start + inner.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_read_inside_objects_and_arrays() {
        let path =
            FlattenedPath::parse("aws.cloudtrail.flattened.request_parameters.policy.statements.effect").unwrap();
        assert_eq!(path.object, Col::FlatRequestParameters);
        let json = r#"{"policy":{"statements":[{"effect":"Allow"},{"effect":"Deny"}]}}"#;
        assert_eq!(path.extract(json).as_deref(), Some(r#"["Allow","Deny"]"#));
        let single = FlattenedPath::parse("aws.cloudtrail.flattened.request_parameters.durationSeconds").unwrap();
        assert_eq!(single.extract(r#"{"durationSeconds":3600}"#).as_deref(), Some("3600"));
        assert_eq!(single.extract(r#"{"other":1}"#), None);
        assert!(FlattenedPath::parse("aws.cloudtrail.flattened.request_parameters").is_none());
        assert!(FlattenedPath::parse("aws.cloudtrail.flattened.request_parameters..x").is_none());
        assert!(FlattenedPath::parse("event.action").is_none());
    }
}
