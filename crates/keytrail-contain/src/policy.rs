//! The two temporary policies keytrail puts in place, their names, and how to tell an
//! existing one apart.
//!
//! - [`deny_all`] on the key's user: every call signed by any of the user's credentials is
//!   refused, whatever else is attached (an explicit deny wins).
//! - [`revoke_sessions_before`] on a role: AWS's documented way to revoke role sessions
//!   (the console's "Revoke active sessions", policy `AWSRevokeOlderSessions`): deny
//!   everything to sessions whose `aws:TokenIssueTime` is before a time. Sessions issued
//!   later, such as the role's legitimate users signing in again, are untouched.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// The inline policy on the user.
pub const DENY_ALL: &str = "keytrail-quarantine-deny-all";
/// The inline policy on each role.
pub const REVOKE_SESSIONS: &str = "keytrail-revoke-sessions-before";

// Written out rather than serialized, to keep the order of keys AWS's documentation uses.
const DENY_EVERYTHING: &str = r#""Effect":"Deny","Action":["*"],"Resource":["*"]"#;

/// Deny every action on every resource.
pub fn deny_all() -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{{{DENY_EVERYTHING}}}]}}"#)
}

/// Deny every action to sessions issued before `cutoff`.
pub fn revoke_sessions_before(cutoff: DateTime<Utc>) -> String {
    let cutoff = cutoff.to_rfc3339_opts(SecondsFormat::Secs, true);
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{{DENY_EVERYTHING},"Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"{cutoff}"}}}}}}]}}"#
    )
}

/// A policy document as IAM returns it: URL-encoded (RFC 3986), which the Rust SDK leaves as
/// it is. (Emulators may return it plain.)
pub fn from_iam(document: &str) -> String {
    if document.trim_start().starts_with('{') {
        return document.to_string();
    }
    percent_encoding::percent_decode_str(document).decode_utf8_lossy().into_owned()
}

/// The `aws:TokenIssueTime` cutoff of a revoke policy document, if it is one.
pub fn revoke_cutoff(document: &str) -> Option<DateTime<Utc>> {
    let document: Value = serde_json::from_str(document).ok()?;
    let statements = match &document["Statement"] {
        Value::Array(statements) => statements.clone(),
        statement => vec![statement.clone()],
    };
    statements.iter().find_map(|s| {
        let text = s["Condition"]["DateLessThan"]["aws:TokenIssueTime"].as_str()?;
        DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc())
    })
}

/// Whether two policy documents say the same (IAM may return them reformatted).
pub fn same_document(a: &str, b: &str) -> bool {
    match (serde_json::from_str::<Value>(a), serde_json::from_str::<Value>(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revoke_policy_is_the_one_aws_documents() {
        let cutoff = DateTime::parse_from_rfc3339("2024-05-02T12:30:00Z").unwrap().to_utc();
        let aws = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["*"],"Resource":["*"],
            "Condition":{"DateLessThan":{"aws:TokenIssueTime":"2024-05-02T12:30:00Z"}}}]}"#;
        assert!(same_document(&revoke_sessions_before(cutoff), aws));
        assert_eq!(revoke_sessions_before(cutoff), aws.replace(['\n', ' '], ""));
        assert_eq!(revoke_cutoff(aws), Some(cutoff));
        assert_eq!(revoke_cutoff(&deny_all()), None);
    }

    #[test]
    fn documents_compare_by_meaning_not_layout() {
        let spaced = "{ \"Version\": \"2012-10-17\",\n \"Statement\": [ { \"Effect\": \"Deny\", \"Resource\": [\"*\"], \"Action\": [\"*\"] } ] }";
        assert!(same_document(&deny_all(), spaced));
        assert!(!same_document(&deny_all(), &revoke_sessions_before(Utc::now())));
    }
}
