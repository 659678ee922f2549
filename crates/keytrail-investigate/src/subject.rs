//! What is investigated: an access key, a user (or role), or an address; given directly or
//! taken from an alert of `keytrail hunt --format ndjson`.

use std::net::IpAddr;

use datafusion::prelude::{Expr, ident, lit};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Subject {
    /// Calls signed with this key (AKIA… long-term or ASIA… temporary).
    AccessKeyId(String),
    /// Calls by this IAM user, or by sessions of this role (`user.name`); an ARN matches the
    /// caller's ARN or its session issuer's.
    User(String),
    /// Calls from this address.
    Ip(IpAddr),
}

/// Makes a subject of a field's text, if the text fits.
type FromText = fn(String) -> Option<Subject>;

/// The alert fields a subject is taken from, most specific first: a key names one
/// credential, a user several, an address anyone behind it. The `Esql.*` lists count only
/// when they hold one value.
const ALERT_FIELDS: &[(&str, FromText)] = &[
    ("aws.cloudtrail.user_identity.access_key_id", |v| Some(Subject::AccessKeyId(v))),
    ("Esql.access_key_ids", |v| Some(Subject::AccessKeyId(v))),
    ("user.name", |v| Some(Subject::User(v))),
    ("Esql.user_names", |v| Some(Subject::User(v))),
    ("source.ip", |v| v.parse().ok().map(Subject::Ip)),
    ("Esql.source_ips", |v| v.parse().ok().map(Subject::Ip)),
];

impl Subject {
    /// The subject of one alert, as `keytrail hunt --format ndjson` writes it (nested ECS
    /// JSON; `--format json`'s array of one alert is taken too).
    pub fn from_alert(text: &str) -> Result<Subject, Error> {
        let alert: Value = match serde_json::from_str(text) {
            Ok(Value::Array(mut alerts)) if alerts.len() == 1 => alerts.remove(0),
            Ok(Value::Array(alerts)) => {
                return Err(Error::Alert(format!("it holds {} alerts; keep the one to investigate", alerts.len())));
            }
            Ok(alert) => alert,
            Err(_) => {
                let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
                return Err(Error::Alert(if lines > 1 {
                    format!(
                        "it holds {lines} lines; keep the alert to investigate, e.g. sed -n 3p alerts.ndjson > alert.json"
                    )
                } else {
                    "it is not JSON (an alert line of `keytrail hunt --format ndjson`)".into()
                }));
            }
        };
        ALERT_FIELDS
            .iter()
            .find_map(|(name, subject)| one_text(keytrail_ecs::dotted_value(&alert, name)?).and_then(subject))
            .ok_or_else(|| {
                let names: Vec<&str> = ALERT_FIELDS.iter().map(|(name, _)| *name).collect();
                Error::Alert(format!("it names no access key, user or IP (looked for {})", names.join(", ")))
            })
    }

    /// Whether an event of the table is one of the subject's.
    pub(crate) fn predicate(&self) -> Expr {
        match self {
            Subject::AccessKeyId(key) => ident("aws.cloudtrail.user_identity.access_key_id").eq(lit(key.as_str())),
            Subject::User(arn) if arn.starts_with("arn:") => ident("aws.cloudtrail.user_identity.arn")
                .eq(lit(arn.as_str()))
                .or(ident("aws.cloudtrail.user_identity.session_context.session_issuer.arn").eq(lit(arn.as_str()))),
            Subject::User(name) => ident("user.name").eq(lit(name.as_str())),
            // source.ip holds addresses in their canonical text, as IpAddr writes them.
            Subject::Ip(ip) => ident("source.ip").eq(lit(ip.to_string())),
        }
    }

    /// How the subject is named on the command line, for headings.
    pub fn describe(&self) -> String {
        match self {
            Subject::AccessKeyId(key) => format!("access key {key}"),
            Subject::User(name) => format!("user {name}"),
            Subject::Ip(ip) => format!("address {ip}"),
        }
    }
}

/// A string, or a list holding exactly one string.
fn one_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Array(items) if items.len() == 1 => one_text(&items[0]),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_name_their_subject_by_the_most_specific_field() {
        let cases = [
            (
                r#"{"rule":{"name":"r"},"aws":{"cloudtrail":{"user_identity":{"access_key_id":"AKIA1"}}},"user":{"name":"bob"}}"#,
                Subject::AccessKeyId("AKIA1".into()),
            ),
            (r#"{"user":{"name":"bob"},"source":{"ip":"5.0.0.1"}}"#, Subject::User("bob".into())),
            (r#"{"source":{"ip":"5.0.0.1"}}"#, Subject::Ip("5.0.0.1".parse().unwrap())),
            (r#"{"Esql":{"source_ips":["AWS Internal"]},"source.ip":"::1"}"#, Subject::Ip("::1".parse().unwrap())),
            (r#"[{"Esql":{"access_key_ids":["ASIA9"]}}]"#, Subject::AccessKeyId("ASIA9".into())),
        ];
        for (alert, want) in cases {
            assert_eq!(Subject::from_alert(alert).unwrap(), want, "{alert}");
        }
    }

    #[test]
    fn alerts_without_one_subject_are_refused_with_the_reason() {
        for (alert, reason) in [
            (r#"{"Esql":{"access_key_ids":["A","B"]}}"#, "names no access key"),
            ("{\"a\":1}\n{\"a\":2}\n", "holds 2 lines"),
            ("[{}, {}]", "holds 2 alerts"),
            ("nope", "not JSON"),
        ] {
            let error = Subject::from_alert(alert).unwrap_err().to_string();
            assert!(error.contains(reason), "{alert}: {error}");
        }
    }
}
