//! Step 4: undoing the persistence the investigation found, one finding at a time.
//!
//! Each kind of persistence call (the investigation's catalog) has its clean-up commands. A
//! user or role the attacker created is deleted whole, so the findings that only added to it
//! (its keys, password, policies, groups) are listed under it instead of one by one. These
//! commands delete evidence and are never run by keytrail: a person runs them after forensics.

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
        let mut about = describe(finding);
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
    let why = "Every way back in the attacker made. Snapshot or export first what forensics needs (instance \
               volumes, function code, policy documents); run each command with the named account's credentials.";
    Step {
        number: 4,
        kind: StepKind::CleanUpPersistence,
        title: "Clean up the persistence".into(),
        why: why.into(),
        by: By::Hand,
        items,
    }
}

/// `CreateUser backdoor-7f3a (account 2222…, us-east-1) at … from 5.0.1.10`.
fn describe(finding: &Finding) -> String {
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
    }
    text
}

/// A loop over the names a list command prints, running `body` (which uses `$x`) for each.
fn for_each(list: String, body: String) -> String {
    format!("for x in $({list}); do {body}; done")
}

/// The clean-up commands of one finding, and advice when commands alone cannot say it.
fn commands(finding: &Finding) -> (Vec<String>, Option<String>) {
    let target = finding.target.as_deref().unwrap_or_default();
    let detail = finding.detail.as_deref().unwrap_or_default();
    let region = finding.region.as_deref();
    let x = Shell("\"$x\"");
    let iam = |operation: &str| Aws::new("iam", operation);
    match finding.action.as_str() {
        "CreateUser" => {
            let list = |operation: &str, query: &str| {
                iam(operation).arg("user-name", target).arg("query", query).arg("output", "text").build()
            };
            (
                vec![
                    for_each(
                        list("list-access-keys", "AccessKeyMetadata[].AccessKeyId"),
                        iam("delete-access-key").arg("user-name", target).arg("access-key-id", &x).build(),
                    ),
                    iam("delete-login-profile").arg("user-name", target).build(),
                    for_each(
                        list("list-attached-user-policies", "AttachedPolicies[].PolicyArn"),
                        iam("detach-user-policy").arg("user-name", target).arg("policy-arn", &x).build(),
                    ),
                    for_each(
                        list("list-user-policies", "PolicyNames[]"),
                        iam("delete-user-policy").arg("user-name", target).arg("policy-name", &x).build(),
                    ),
                    for_each(
                        list("list-groups-for-user", "Groups[].GroupName"),
                        iam("remove-user-from-group").arg("user-name", target).arg("group-name", &x).build(),
                    ),
                    iam("delete-user").arg("user-name", target).build(),
                ],
                Some("delete-user also refuses while MFA devices, SSH keys or signing certificates remain".into()),
            )
        }
        "CreateAccessKey" => match detail.strip_prefix("new key ") {
            Some(key) => (
                vec![
                    iam("update-access-key").arg("user-name", target).arg("access-key-id", key).arg("status", "Inactive").build(),
                    iam("delete-access-key").arg("user-name", target).arg("access-key-id", key).build(),
                ],
                None,
            ),
            None => (vec![iam("list-access-keys").arg("user-name", target).build()], Some("delete the key created then".into())),
        },
        "CreateLoginProfile" | "UpdateLoginProfile" => {
            (vec![iam("delete-login-profile").arg("user-name", target).build()], None)
        }
        "AttachUserPolicy" => (vec![iam("detach-user-policy").arg("user-name", target).arg("policy-arn", detail).build()], None),
        "AttachRolePolicy" => (vec![iam("detach-role-policy").arg("role-name", target).arg("policy-arn", detail).build()], None),
        "AttachGroupPolicy" => {
            (vec![iam("detach-group-policy").arg("group-name", target).arg("policy-arn", detail).build()], None)
        }
        "PutUserPolicy" | "PutRolePolicy" | "PutGroupPolicy" => {
            let name = detail.strip_prefix("inline policy ").unwrap_or(detail);
            let (operation, flag) = match finding.action.as_str() {
                "PutUserPolicy" => ("delete-user-policy", "user-name"),
                "PutRolePolicy" => ("delete-role-policy", "role-name"),
                _ => ("delete-group-policy", "group-name"),
            };
            (vec![iam(operation).arg(flag, target).arg("policy-name", name).build()], None)
        }
        "AddUserToGroup" => {
            let group = detail.strip_prefix("group ").unwrap_or(detail);
            (vec![iam("remove-user-from-group").arg("user-name", target).arg("group-name", group).build()], None)
        }
        "CreateRole" => {
            let list = |operation: &str, query: &str| {
                iam(operation).arg("role-name", target).arg("query", query).arg("output", "text").build()
            };
            (
                vec![
                    for_each(
                        list("list-attached-role-policies", "AttachedPolicies[].PolicyArn"),
                        iam("detach-role-policy").arg("role-name", target).arg("policy-arn", &x).build(),
                    ),
                    for_each(
                        list("list-role-policies", "PolicyNames[]"),
                        iam("delete-role-policy").arg("role-name", target).arg("policy-name", &x).build(),
                    ),
                    for_each(
                        list("list-instance-profiles-for-role", "InstanceProfiles[].InstanceProfileName"),
                        iam("remove-role-from-instance-profile").arg("role-name", target).arg("instance-profile-name", &x).build(),
                    ),
                    iam("delete-role").arg("role-name", target).build(),
                ],
                None,
            )
        }
        "UpdateAssumeRolePolicy" => (
            vec![
                iam("get-role").arg("role-name", target).arg("query", "Role.AssumeRolePolicyDocument").build(),
                iam("update-assume-role-policy").arg("role-name", target).arg("policy-document", "file://trust-policy.json").build(),
            ],
            Some("restore the trust policy from before the change (your infrastructure code, or the previous UpdateAssumeRolePolicy/CreateRole event) into trust-policy.json".into()),
        ),
        "CreatePolicyVersion" => (
            vec![iam("list-policy-versions").arg("policy-arn", target).build()],
            Some("make the version before the attacker's the default (set-default-policy-version), then delete the attacker's (delete-policy-version)".into()),
        ),
        "CreateFunction" => (
            vec![
                Aws::new("lambda", "get-function").arg("function-name", target).region(region).build(),
                Aws::new("lambda", "delete-function").arg("function-name", target).region(region).build(),
            ],
            Some("get-function gives a link to its code, for forensics; check its triggers and the role it runs as".into()),
        ),
        "UpdateFunctionCode" => (
            vec![Aws::new("lambda", "list-versions-by-function").arg("function-name", target).region(region).build()],
            Some("redeploy the function's code from your own source, or delete it if it is the attacker's".into()),
        ),
        "RunInstances" => {
            let ids: Vec<&str> = target.split([',', ' ']).filter(|s| !s.is_empty()).collect();
            let mut command = Aws::new("ec2", "terminate-instances").region(region).build();
            command.push_str(" --instance-ids");
            for id in ids {
                command.push_str(&format!(" {}", crate::command::quote(id)));
            }
            (vec![command], Some("snapshot their volumes first if forensics needs them".into()))
        }
        "CreateKeyPair" | "ImportKeyPair" => {
            (vec![Aws::new("ec2", "delete-key-pair").arg("key-name", target).region(region).build()], Some("and remove it from the instances it was put on".into()))
        }
        "AuthorizeSecurityGroupIngress" => {
            let cidr = detail.strip_prefix("from ").unwrap_or(detail);
            let field = if cidr.contains(':') { "CidrIpv6" } else { "CidrIpv4" };
            let rules = Aws::new("ec2", "describe-security-group-rules")
                .arg("filters", &format!("Name=group-id,Values={target}"))
                .arg("query", &format!("SecurityGroupRules[?!IsEgress && {field}=='{cidr}'].SecurityGroupRuleId"))
                .arg("output", "text")
                .region(region)
                .build();
            let revoke = Aws::new("ec2", "revoke-security-group-ingress")
                .arg("group-id", target)
                .arg("security-group-rule-ids", &Shell(&format!("$({rules})")))
                .region(region)
                .build();
            (vec![revoke], None)
        }
        other => (vec![], Some(format!("review what {other} did and reverse it"))),
    }
}
