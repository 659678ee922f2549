//! Step 4: undoing the persistence the investigation found, one finding at a time.
//!
//! Each kind of persistence call (the investigation's catalog) has its clean-up commands. A
//! user or role the attacker created is deleted whole, so the findings that only added to it
//! (its keys, password, policies, groups) are listed under it instead of one by one. These
//! commands delete evidence and are never run by keytrail: a person runs them after forensics.

use std::collections::BTreeMap;

use keytrail_investigate::Finding;

use crate::command::{Aws, Shell};
use crate::plan::{By, Item, Step, StepKind};
use crate::target::Target;

/// Calls that only add to a user, and so go with the user when it is deleted.
const ON_USER: &[&str] = &[
    "CreateAccessKey",
    "CreateLoginProfile",
    "UpdateLoginProfile",
    "AttachUserPolicy",
    "PutUserPolicy",
    "AddUserToGroup",
];
/// The same for roles.
const ON_ROLE: &[&str] = &["AttachRolePolicy", "PutRolePolicy", "UpdateAssumeRolePolicy"];

pub(crate) fn step(target: &Target) -> Step {
    let findings = &target.persistence;
    // Whether the finding's user or role is one the attacker created (in the same account).
    let created = |action: &str, finding: &Finding| {
        findings.iter().any(|f| f.action == action && f.target == finding.target && f.account == finding.account)
    };
    let mut items = Vec::new();
    for finding in findings {
        let covered = (ON_USER.contains(&finding.action.as_str()) && created("CreateUser", finding))
            || (ON_ROLE.contains(&finding.action.as_str()) && created("CreateRole", finding));
        if covered {
            continue;
        }
        let mut about = describe(finding, &target.networks);
        let also: Vec<String> = findings
            .iter()
            .filter(|f| f.target == finding.target && f.account == finding.account)
            .filter(|f| match finding.action.as_str() {
                "CreateUser" => ON_USER.contains(&f.action.as_str()),
                "CreateRole" => ON_ROLE.contains(&f.action.as_str()),
                _ => false,
            })
            .map(|f| f.action.clone() + f.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default().as_str())
            .collect();
        if !also.is_empty() {
            about.push_str(&format!("; removes its {}", also.join(", ")));
        }
        let (commands, advice) = commands(finding);
        if let Some(advice) = advice {
            about.push_str(&format!(". {advice}"));
        }
        items.push(Item { about: Some(about), commands, change: None });
    }
    if items.is_empty() {
        items.push(Item {
            about: Some("No persistence found (none known without an investigation).".into()),
            commands: vec![],
            change: None,
        });
    }
    let why = "Every way back in the attacker made. The key's owner may have made some of these calls: check each \
               one's address and network. Snapshot or export first what forensics needs (instance volumes, function \
               code, policy documents); run each command with the named account's credentials.";
    Step {
        number: 4,
        kind: StepKind::CleanUpPersistence,
        title: "Clean up the persistence".into(),
        why: why.into(),
        by: By::Hand,
        items,
    }
}

/// `CreateUser backdoor-7f3a in account 2222… at … from 5.0.1.10 (DigitalOcean)`.
fn describe(finding: &Finding, networks: &BTreeMap<String, String>) -> String {
    let mut text = finding.action.clone();
    if let Some(target) = &finding.target {
        text.push_str(&format!(" {target}"));
    }
    if let Some(detail) = &finding.detail {
        text.push_str(&format!(" ({detail})"));
    }
    if let Some(account) = &finding.account {
        text.push_str(&format!(" in account {account}"));
    }
    text.push_str(&format!(" at {}", finding.time));
    if let Some(address) = &finding.source_address {
        text.push_str(&format!(" from {address}"));
        if let Some(network) = networks.get(address) {
            text.push_str(&format!(" ({network})"));
        }
    }
    text
}

/// What is attached to a user or role and must go before it: (the list operation, the query
/// of the names it lists, the removing operation, the removing operation's flag for a name).
type Parts = &'static [(&'static str, &'static str, &'static str, &'static str)];

const USER_PARTS: Parts = &[
    ("list-access-keys", "AccessKeyMetadata[].AccessKeyId", "delete-access-key", "access-key-id"),
    ("list-attached-user-policies", "AttachedPolicies[].PolicyArn", "detach-user-policy", "policy-arn"),
    ("list-user-policies", "PolicyNames[]", "delete-user-policy", "policy-name"),
    ("list-groups-for-user", "Groups[].GroupName", "remove-user-from-group", "group-name"),
];

const ROLE_PARTS: Parts = &[
    ("list-attached-role-policies", "AttachedPolicies[].PolicyArn", "detach-role-policy", "policy-arn"),
    ("list-role-policies", "PolicyNames[]", "delete-role-policy", "policy-name"),
    (
        "list-instance-profiles-for-role",
        "InstanceProfiles[].InstanceProfileName",
        "remove-role-from-instance-profile",
        "instance-profile-name",
    ),
];

/// The commands that empty a user or role (`flag` names it: user-name, role-name) and delete
/// it: the `first` operations (on it alone), a loop over each kind of part, then `delete`.
fn delete_whole(flag: &str, name: &str, first: &[&str], parts: Parts, delete: &str) -> Vec<String> {
    let iam = |operation: &str| Aws::new("iam", operation).arg(flag, name);
    let loops = parts.iter().map(|(list, query, remove, part)| {
        let list = iam(list).arg("query", *query).arg("output", "text").build();
        let remove = iam(remove).arg(part, &Shell("\"$x\"")).build();
        format!("for x in $({list}); do {remove}; done")
    });
    first.iter().map(|operation| iam(operation).build()).chain(loops).chain([iam(delete).build()]).collect()
}

/// Advice for the clean-ups that commands alone cannot say.
const USER_LEFTOVERS: &str = "Deleting the user fails while MFA devices, SSH keys or signing certificates remain: \
                              remove them too";
const TRUST_POLICY: &str = "Restore the trust policy from before the change (your infrastructure code, or the previous \
                            UpdateAssumeRolePolicy/CreateRole event) into trust-policy.json";
const POLICY_VERSION: &str = "Make the version before the attacker's the default (set-default-policy-version), then \
                              delete the attacker's (delete-policy-version)";
const FUNCTION: &str = "get-function links to its code, for forensics; check its triggers and the role it runs as";
const FUNCTION_CODE: &str = "Redeploy the function's code from your own source, or delete it if it is the attacker's";
const INSTANCES: &str = "Snapshot their volumes first if forensics needs them";
const KEY_PAIR: &str = "Remove it from the instances it was put on too";

/// The clean-up commands of one finding, and advice when commands alone cannot say it.
fn commands(finding: &Finding) -> (Vec<String>, Option<String>) {
    let target = finding.target.as_deref().unwrap_or_default();
    // What the finding's detail names: the key, policy, group or CIDR.
    let object = finding.object.as_deref();
    let region = finding.region.as_deref();
    let user = |operation: &str| Aws::new("iam", operation).arg("user-name", target);
    let role = |operation: &str| Aws::new("iam", operation).arg("role-name", target);
    let regional = |service: &str, operation: &str| Aws::new(service, operation).region(region);
    let (commands, advice): (Vec<Aws>, Option<&str>) = match finding.action.as_str() {
        "CreateUser" => {
            let commands = delete_whole("user-name", target, &["delete-login-profile"], USER_PARTS, "delete-user");
            return (commands, Some(USER_LEFTOVERS.into()));
        }
        "CreateRole" => return (delete_whole("role-name", target, &[], ROLE_PARTS, "delete-role"), None),
        "CreateAccessKey" => match object {
            Some(key) => (
                vec![
                    user("update-access-key").arg("access-key-id", key).arg("status", "Inactive"),
                    user("delete-access-key").arg("access-key-id", key),
                ],
                None,
            ),
            None => (vec![user("list-access-keys")], Some("Delete the key it created")),
        },
        "CreateLoginProfile" | "UpdateLoginProfile" => (vec![user("delete-login-profile")], None),
        "AttachUserPolicy" => (vec![user("detach-user-policy").arg("policy-arn", object.unwrap_or_default())], None),
        "AttachRolePolicy" => (vec![role("detach-role-policy").arg("policy-arn", object.unwrap_or_default())], None),
        "AttachGroupPolicy" => (
            vec![
                Aws::new("iam", "detach-group-policy")
                    .arg("group-name", target)
                    .arg("policy-arn", object.unwrap_or_default()),
            ],
            None,
        ),
        "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy" => {
            let name = object.unwrap_or_default();
            let delete = match finding.action.as_str() {
                "PutUserPolicy" => user("delete-user-policy"),
                "PutRolePolicy" => role("delete-role-policy"),
                _ => Aws::new("iam", "delete-group-policy").arg("group-name", target),
            };
            (vec![delete.arg("policy-name", name)], None)
        }
        "AddUserToGroup" => {
            let group = object.unwrap_or_default();
            (vec![user("remove-user-from-group").arg("group-name", group)], None)
        }
        "UpdateAssumeRolePolicy" => (
            vec![
                role("get-role").arg("query", "Role.AssumeRolePolicyDocument"),
                role("update-assume-role-policy").arg("policy-document", "file://trust-policy.json"),
            ],
            Some(TRUST_POLICY),
        ),
        "CreatePolicyVersion" => {
            (vec![Aws::new("iam", "list-policy-versions").arg("policy-arn", target)], Some(POLICY_VERSION))
        }
        "CreateFunction" => (
            vec![
                regional("lambda", "get-function").arg("function-name", target),
                regional("lambda", "delete-function").arg("function-name", target),
            ],
            Some(FUNCTION),
        ),
        "UpdateFunctionCode" => {
            (vec![regional("lambda", "list-versions-by-function").arg("function-name", target)], Some(FUNCTION_CODE))
        }
        "RunInstances" => {
            let ids: Vec<&str> = target.split([',', ' ']).filter(|s| !s.is_empty()).collect();
            (vec![regional("ec2", "terminate-instances").args("instance-ids", &ids)], Some(INSTANCES))
        }
        "CreateKeyPair" | "ImportKeyPair" => {
            (vec![regional("ec2", "delete-key-pair").arg("key-name", target)], Some(KEY_PAIR))
        }
        "AuthorizeSecurityGroupIngress" => {
            let cidr = object.unwrap_or_default();
            let field = if cidr.contains(':') { "CidrIpv6" } else { "CidrIpv4" };
            let rules = regional("ec2", "describe-security-group-rules")
                .arg("filters", &format!("Name=group-id,Values={target}"))
                .arg("query", &format!("SecurityGroupRules[?!IsEgress && {field}==`\"{cidr}\"`].SecurityGroupRuleId"))
                .arg("output", "text")
                .build();
            let revoke = regional("ec2", "revoke-security-group-ingress")
                .arg("group-id", target)
                .arg("security-group-rule-ids", &Shell(&format!("$({rules})")));
            (vec![revoke], None)
        }
        other => return (vec![], Some(format!("Review what {other} did and reverse it"))),
    };
    (commands.into_iter().map(Aws::build).collect(), advice.map(str::to_string))
}
