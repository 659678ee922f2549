//! The four JSON objects CloudTrail leaves free-form (requestParameters, responseElements,
//! additionalEventData, serviceEventDetails): kept as JSON text, secrets redacted, and read
//! by path as `aws.cloudtrail.flattened.<object>.<path>` columns, as Elastic's flattened
//! fields are.

use std::borrow::Cow;
use std::sync::LazyLock;

use memchr::memmem;
use sonic_rs::{JsonContainerTrait, JsonValueTrait};

use crate::schema::Col;

/// The replacement for secret values, so that no output or log ever carries one.
pub const REDACTED: &str = "<redacted>";

/// Keys whose values are credentials or secrets wherever they appear (compared in lowercase).
const SECRET_KEYS: &[&str] = &[
    "sessiontoken",
    "secretaccesskey",
    "password",
    "newpassword",
    "oldpassword",
    "keymaterial",
    "privatekey",
    "secretstring",
    "secretbinary",
    "plaintext",
    "clientsecret",
    "authtoken",
];

/// Fragments of those keys in the casings AWS uses, to skip the parse when none is present.
const SECRET_HINTS: &[&str] =
    &["ession", "ecret", "assword", "aterial", "rivate", "laintext", "SESSION", "SECRET", "PASSWORD", "uthToken"];

/// The JSON text with every secret value replaced by [`REDACTED`]. Text with no hint of a
/// secret key is returned as it is, unparsed; otherwise only the secret values change, so keys
/// keep their order and Elastic's text copies (which depend on it) stay right.
pub fn redact(json: &str) -> Cow<'_, str> {
    // Searchers built once: building one per search cost more than the search itself.
    static HINTS: LazyLock<Vec<memmem::Finder<'static>>> =
        LazyLock::new(|| SECRET_HINTS.iter().map(memmem::Finder::new).collect());
    if !HINTS.iter().any(|hint| hint.find(json.as_bytes()).is_some()) {
        return Cow::Borrowed(json);
    }
    let mut secrets = Vec::new();
    // The iterators below stop at the end of the first value; anything after it (or text
    // that is no JSON at all) must count as unparseable too.
    let valid = sonic_rs::from_str::<serde::de::IgnoredAny>(json).is_ok();
    if !valid || find_secrets(json, json, &mut secrets).is_err() {
        // Unparseable text can't be checked key by key: drop it rather than risk a leak.
        return Cow::Borrowed(REDACTED_OBJECT);
    }
    if secrets.is_empty() {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let mut copied = 0;
    for secret in secrets {
        out.push_str(&json[copied..secret.start]);
        out.push('"');
        out.push_str(REDACTED);
        out.push('"');
        copied = secret.end;
    }
    out.push_str(&json[copied..]);
    Cow::Owned(out)
}

const REDACTED_OBJECT: &str = "{\"redacted\":true}";

/// Adds to `secrets` the byte ranges (in `whole`) of the secret values inside `value`, a
/// slice of `whole`, in text order.
fn find_secrets(whole: &str, value: &str, secrets: &mut Vec<std::ops::Range<usize>>) -> Result<(), sonic_rs::Error> {
    let range = |raw: &str| {
        let start = raw.as_ptr() as usize - whole.as_ptr() as usize;
        start..start + raw.len()
    };
    if value.starts_with('{') {
        for entry in sonic_rs::to_object_iter(value) {
            let (key, child) = entry?;
            let raw = child.as_raw_str();
            if is_secret_key(&key) {
                if raw != "null" {
                    secrets.push(range(raw));
                }
            } else {
                find_secrets(whole, reslice(value, raw), secrets)?;
            }
        }
    } else if value.starts_with('[') {
        for item in sonic_rs::to_array_iter(value) {
            find_secrets(whole, reslice(value, item?.as_raw_str()), secrets)?;
        }
    }
    Ok(())
}

fn is_secret_key(key: &str) -> bool {
    SECRET_KEYS.iter().any(|secret| key.eq_ignore_ascii_case(secret))
}

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
    fn secrets_are_redacted_at_any_depth_and_case() {
        let json = r#"{"credentials":{"accessKeyId":"ASIAEXAMPLE","sessionToken":"TOKEN","expiration":"x"},"accessKey":{"SecretAccessKey":"S"},"list":[{"password":"p"}]}"#;
        let out = redact(json);
        assert!(!out.contains("TOKEN") && !out.contains("\"S\"") && !out.contains("\"p\""), "{out}");
        assert!(out.contains("ASIAEXAMPLE"));
        assert_eq!(out.matches(REDACTED).count(), 3);
    }

    #[test]
    fn redaction_changes_only_the_secret_values() {
        let json = r#"{"credentials": {"accessKeyId": "ASIA1", "sessionToken": "T\"x", "expiration": 1}, "b": [null]}"#;
        let want =
            r#"{"credentials": {"accessKeyId": "ASIA1", "sessionToken": "<redacted>", "expiration": 1}, "b": [null]}"#;
        assert_eq!(redact(json), want);
        assert_eq!(redact(r#"{"password":null}"#), r#"{"password":null}"#);
        assert_eq!(redact(r#"{"password":"p"} trailing"#), REDACTED_OBJECT);
        assert_eq!(redact("password=p"), REDACTED_OBJECT);
    }

    #[test]
    fn text_without_secrets_is_not_rewritten() {
        let json = r#"{"roleArn":"arn:aws:iam::1:role/x", "roleSessionName":"s"}"#;
        assert!(matches!(redact(json), Cow::Borrowed(s) if s == json));
    }

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
