//! The calls the report names one by one, what each acted on, and the detail that matters;
//! the section queries are generated from this table.
//!
//! `target` and `detail` are SQL expressions over the `scope` table's columns (see
//! [`crate::evidence`] for the `req.`/`resp.` paths); a detail is NULL when there is nothing
//! to add. A detail that names something (the key created, the policy put) also gives that
//! name on its own, as the finding's `object`, for tools that act on it (`contain`).

use Detail::{Labelled, Name, Note};
use Section::{Data, Persistence, Tampering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    /// Ways back in: identities, keys, passwords, policies, code, instances, open ports.
    Persistence,
    /// Reads of objects, secrets, parameters and decryption.
    Data,
    /// Turning CloudTrail off or down.
    Tampering,
}

pub(crate) struct Watched {
    pub action: &'static str,
    pub section: Section,
    pub target: &'static str,
    pub detail: Option<Detail>,
}

/// What a finding's detail says, as SQL.
#[derive(Clone, Copy)]
pub(crate) enum Detail {
    /// A name, which is the detail as it is (a policy ARN).
    Name(&'static str),
    /// A name after a label: the detail reads `label name` (`new key AKIA…`).
    Labelled(&'static str, &'static str),
    /// Words only, naming nothing to act on.
    Note(&'static str),
}

const fn watch(action: &'static str, section: Section, target: &'static str, detail: Option<Detail>) -> Watched {
    Watched { action, section, target, detail }
}

/// The user a call names, else the caller (CreateAccessKey and login profiles default to it).
const USER_OR_CALLER: &str = r#"coalesce("req.userName", "user.name")"#;

pub(crate) static WATCHED: &[Watched] = &[
    watch("CreateUser", Persistence, r#""req.userName""#, None),
    watch("CreateAccessKey", Persistence, USER_OR_CALLER, Some(Labelled("new key", r#""resp.accessKey.accessKeyId""#))),
    watch("CreateLoginProfile", Persistence, USER_OR_CALLER, Some(Note("'console password'"))),
    watch("UpdateLoginProfile", Persistence, USER_OR_CALLER, Some(Note("'console password changed'"))),
    watch("AttachUserPolicy", Persistence, r#""req.userName""#, Some(Name(r#""req.policyArn""#))),
    watch("PutUserPolicy", Persistence, r#""req.userName""#, Some(Labelled("inline policy", r#""req.policyName""#))),
    watch("AttachRolePolicy", Persistence, r#""req.roleName""#, Some(Name(r#""req.policyArn""#))),
    watch("PutRolePolicy", Persistence, r#""req.roleName""#, Some(Labelled("inline policy", r#""req.policyName""#))),
    watch("AttachGroupPolicy", Persistence, r#""req.groupName""#, Some(Name(r#""req.policyArn""#))),
    watch("PutGroupPolicy", Persistence, r#""req.groupName""#, Some(Labelled("inline policy", r#""req.policyName""#))),
    watch("AddUserToGroup", Persistence, r#""req.userName""#, Some(Labelled("group", r#""req.groupName""#))),
    watch("CreateRole", Persistence, r#""req.roleName""#, None),
    watch("UpdateAssumeRolePolicy", Persistence, r#""req.roleName""#, Some(Note("'trust policy changed'"))),
    watch("CreatePolicyVersion", Persistence, r#""req.policyArn""#, Some(Note("'new policy version'"))),
    watch("CreateFunction", Persistence, r#""req.functionName""#, Some(Labelled("role", r#""req.role""#))),
    watch("UpdateFunctionCode", Persistence, r#""req.functionName""#, Some(Note("'code replaced'"))),
    watch(
        "RunInstances",
        Persistence,
        r#""resp.instancesSet.items.instanceId""#,
        Some(Note(r#"nullif(concat_ws(' ', "req.instanceType", "req.instancesSet.items.imageId"), '')"#)),
    ),
    watch("CreateKeyPair", Persistence, r#""req.keyName""#, None),
    watch("ImportKeyPair", Persistence, r#""req.keyName""#, None),
    watch(
        "AuthorizeSecurityGroupIngress",
        Persistence,
        r#"coalesce("req.groupId", "req.groupName")"#,
        Some(Labelled(
            "from",
            r#"coalesce("req.ipPermissions.items.ipRanges.items.cidrIp", "req.ipPermissions.items.ipv6Ranges.items.cidrIpv6")"#,
        )),
    ),
    watch("GetObject", Data, r#"'s3://' || "req.bucketName" || '/' || "req.key""#, None),
    watch("GetSecretValue", Data, r#""req.secretId""#, None),
    watch("GetParameter", Data, r#""req.name""#, None),
    watch("GetParameters", Data, r#""req.names""#, None),
    watch("GetParametersByPath", Data, r#""req.path""#, None),
    watch(
        "Decrypt",
        Data,
        r#"coalesce("req.keyId", nullif(array_to_string("aws.cloudtrail.resources.arn", ', '), ''))"#,
        None,
    ),
    watch("StopLogging", Tampering, r#""req.name""#, None),
    watch("DeleteTrail", Tampering, r#""req.name""#, None),
    watch("UpdateTrail", Tampering, r#""req.name""#, None),
    watch("PutEventSelectors", Tampering, r#""req.trailName""#, Some(Note("'what is logged changed'"))),
    watch("PutInsightSelectors", Tampering, r#""req.trailName""#, None),
    watch("DeleteEventDataStore", Tampering, r#""req.eventDataStore""#, None),
    watch("StopEventDataStoreIngestion", Tampering, r#""req.eventDataStore""#, None),
];

/// The actions of a section, as an SQL list: `'CreateUser', 'CreateAccessKey', …`.
pub(crate) fn actions(section: Section) -> String {
    in_section(section).map(|w| format!("'{}'", w.action)).collect::<Vec<_>>().join(", ")
}

/// `CASE api WHEN 'CreateUser' THEN <target> … END`: the section's targets.
pub(crate) fn target(section: Section) -> String {
    case(section, |w| Some(w.target.to_string()))
}

/// The section's details, the same way.
pub(crate) fn detail(section: Section) -> String {
    case(section, |w| {
        w.detail.map(|detail| match detail {
            Name(name) | Note(name) => name.to_string(),
            Labelled(label, name) => format!("'{label} ' || {name}"),
        })
    })
}

/// The names the section's details give, on their own.
pub(crate) fn object(section: Section) -> String {
    case(section, |w| match w.detail? {
        Name(name) | Labelled(_, name) => Some(name.to_string()),
        Note(_) => None,
    })
}

fn in_section(section: Section) -> impl Iterator<Item = &'static Watched> {
    WATCHED.iter().filter(move |w| w.section == section)
}

fn case(section: Section, expression: impl Fn(&Watched) -> Option<String>) -> String {
    let arms: Vec<String> = in_section(section)
        .filter_map(|w| expression(w).map(|e| format!("WHEN '{}' THEN CAST({e} AS VARCHAR)", w.action)))
        .collect();
    if arms.is_empty() { "CAST(NULL AS VARCHAR)".into() } else { format!("CASE api {} END", arms.join(" ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_is_watched_once() {
        let mut actions: Vec<&str> = WATCHED.iter().map(|w| w.action).collect();
        actions.sort();
        let count = actions.len();
        actions.dedup();
        assert_eq!(actions.len(), count);
    }
}
