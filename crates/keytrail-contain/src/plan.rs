//! The plan: the ordered containment steps, each with the exact AWS CLI commands, the policy
//! documents, and for the steps keytrail can take itself, the [`Change`] the applier makes.
//!
//! Steps 1–3 stop the bleeding and are reversible (`--apply`); step 6 lifts the temporary
//! policies (`--apply --release`). Clean-up (4) and deletion (5) destroy evidence and are
//! left to a person after forensics; 7 and 8 are advice.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use keytrail_investigate::Time;
use serde::{Deserialize, Serialize};

use crate::cleanup;
use crate::command::Aws;
use crate::policy;
use crate::target::{Role, Target, is_session_key};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub access_key_id: String,
    pub user: Option<String>,
    pub account: Option<String>,
    /// When the plan was made: the roles' sessions issued before it are revoked.
    pub created: Time,
    pub notes: Vec<String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Step {
    pub number: u8,
    pub kind: StepKind,
    pub title: String,
    /// Why the step is there, or how to do it.
    pub why: String,
    /// Who takes the step.
    pub by: By,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    DeactivateKey,
    DenyUser,
    RevokeSessions,
    CleanUpPersistence,
    DeleteKey,
    RemoveTemporaryPolicies,
    NewCredentials,
    FollowUp,
}

/// Who takes a step: keytrail (with `--apply`, or `--apply --release`) or a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    Apply,
    Release,
    Hand,
}

/// One thing to do within a step: what it is about, its commands, and what keytrail changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub about: Option<String>,
    pub commands: Vec<String>,
    /// The change `--apply` makes; None for what is done by hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

/// One IAM change keytrail can make and, from the audit log, reverse.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub action: Action,
    /// The account the change belongs in, when known; it is skipped under another account's
    /// credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// For a revoke policy: the latest known stolen session. A revoke policy already in place
    /// whose cutoff is later covers it and is left as it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub covers: Option<Time>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call")]
pub enum Action {
    UpdateAccessKey {
        user: String,
        access_key_id: String,
        status: KeyStatus,
    },
    /// Puts an inline policy: PutUserPolicy or PutRolePolicy.
    PutPolicy {
        on: Holder,
        policy_name: String,
        document: String,
    },
    /// Deletes an inline policy: DeleteUserPolicy or DeleteRolePolicy.
    DeletePolicy {
        on: Holder,
        policy_name: String,
    },
}

/// The user or role an inline policy is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    User(String),
    Role(String),
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Holder::User(name) => write!(f, "user {name}"),
            Holder::Role(name) => write!(f, "role {name}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl Action {
    /// The IAM operation, which is also the permission it needs (`iam:` + operation).
    pub fn operation(&self) -> &'static str {
        match self {
            Action::UpdateAccessKey { .. } => "UpdateAccessKey",
            Action::PutPolicy { on: Holder::User(_), .. } => "PutUserPolicy",
            Action::PutPolicy { on: Holder::Role(_), .. } => "PutRolePolicy",
            Action::DeletePolicy { on: Holder::User(_), .. } => "DeleteUserPolicy",
            Action::DeletePolicy { on: Holder::Role(_), .. } => "DeleteRolePolicy",
        }
    }

    /// What the change acts on, for people: `user alice, key AKIA…`, `role Auditor, policy …`.
    pub fn target(&self) -> String {
        match self {
            Action::UpdateAccessKey { user, access_key_id, status } => {
                format!("user {user}, key {access_key_id} → {status:?}")
            }
            Action::PutPolicy { on, policy_name, .. } | Action::DeletePolicy { on, policy_name } => {
                format!("{on}, policy {policy_name}")
            }
        }
    }
}

/// What a run of the applier takes from the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Steps 1–3.
    Contain,
    /// Step 6.
    Release,
    /// The reverse of an audit log.
    Undo,
}

impl Plan {
    /// The plan for `target`, made at `now` (the sessions' cutoff).
    pub fn new(target: &Target, now: DateTime<Utc>) -> Plan {
        let key = target.access_key_id.as_str();
        let user = target.user.as_deref();
        let session_key = is_session_key(key);
        let mut notes = target.notes.clone();
        if user.is_none() && !session_key {
            notes.push(format!(
                "the key's owner is not known: the commands use $KEY_OWNER (KEY_OWNER=$(aws iam get-access-key-last-used \
                 --access-key-id {key} --query UserName --output text)); --apply looks it up the same way"
            ));
        }
        let steps = vec![
            deactivate(target, session_key),
            deny_user(target, session_key),
            revoke_sessions(target, now),
            cleanup::step(target),
            delete_key(target, session_key),
            release(target, session_key),
            new_credentials(user),
            follow_up(key),
        ];
        Plan {
            access_key_id: key.to_string(),
            user: target.user.clone(),
            account: target.account.clone(),
            created: Time(now.timestamp_millis()),
            notes,
            steps,
        }
    }

    /// The changes a run in `mode` makes, with their step numbers, in order.
    pub fn changes(&self, mode: Mode) -> Vec<(u8, &Change)> {
        self.steps
            .iter()
            .filter(|s| match mode {
                Mode::Contain => s.by == By::Apply,
                Mode::Release => s.by == By::Release,
                // An undo's changes come from its audit log, not from a plan.
                Mode::Undo => false,
            })
            .flat_map(|s| s.items.iter().filter_map(move |i| i.change.as_ref().map(|c| (s.number, c))))
            .collect()
    }
}

fn step(number: u8, kind: StepKind, by: By, title: &str, why: &str, items: Vec<Item>) -> Step {
    Step { number, kind, title: title.into(), why: why.into(), by, items }
}

fn item(about: Option<String>, commands: Vec<String>, change: Option<Change>) -> Item {
    Item { about, commands, change }
}

/// The key's change, when its owner is known; `account` is the key's.
fn key_change(target: &Target, action: impl FnOnce(String) -> Action) -> Option<Change> {
    target.user.clone().map(|user| Change { action: action(user), account: target.account.clone(), covers: None })
}

const SESSION_KEY: &str = "A session key (ASIA…) cannot be deactivated, denied or deleted: it expires by itself, and \
                           revoking its role's sessions (step 3) stops it now.";

/// A step's item for the key; for a session key, the note that there is nothing to do.
fn for_key(session_key: bool, make: impl FnOnce() -> Item) -> Vec<Item> {
    if session_key { vec![item(Some(SESSION_KEY.into()), vec![], None)] } else { vec![make()] }
}

fn deactivate(target: &Target, session_key: bool) -> Step {
    let key = &target.access_key_id;
    let why = "Inactive, not deleted: the key id ties the logs together for forensics, and reactivating is one call.";
    let items = for_key(session_key, || {
        let command = Aws::new("iam", "update-access-key")
            .user(target.user.as_deref())
            .arg("access-key-id", key.as_str())
            .arg("status", "Inactive")
            .build();
        let change = key_change(target, |user| Action::UpdateAccessKey {
            user,
            access_key_id: key.clone(),
            status: KeyStatus::Inactive,
        });
        item(None, vec![command], change)
    });
    step(1, StepKind::DeactivateKey, By::Apply, "Deactivate the access key", why, items)
}

fn deny_user(target: &Target, session_key: bool) -> Step {
    let why = "An explicit deny beats every allow: the user's other keys, console password, the session tokens the \
               key issued (GetSessionToken, GetFederationToken) and anything the attacker attached stop working too.";
    let items = for_key(session_key, || {
        let document = policy::deny_all();
        let command = Aws::new("iam", "put-user-policy")
            .user(target.user.as_deref())
            .arg("policy-name", policy::DENY_ALL)
            .arg("policy-document", &document)
            .build();
        let change = key_change(target, |user| Action::PutPolicy {
            on: Holder::User(user),
            policy_name: policy::DENY_ALL.into(),
            document: document.clone(),
        });
        item(None, vec![command], change)
    });
    step(2, StepKind::DenyUser, By::Apply, "Deny everything to the user", why, items)
}

fn revoke_sessions(target: &Target, now: DateTime<Utc>) -> Step {
    let cutoff = now.to_rfc3339_opts(SecondsFormat::Secs, true);
    let why = format!(
        "Role sessions stay valid after the key that created them is deactivated, for up to 12 hours. This denies \
         every session of the role issued before {cutoff}; sessions issued later, such as its legitimate users \
         signing in again, are untouched."
    );
    let document = policy::revoke_sessions_before(now);
    let items: Vec<Item> = target
        .roles
        .iter()
        .map(|role| {
            let command = Aws::new("iam", "put-role-policy")
                .arg("role-name", role.name.as_str())
                .arg("policy-name", policy::REVOKE_SESSIONS)
                .arg("policy-document", &document)
                .build();
            let change = Change {
                action: Action::PutPolicy {
                    on: Holder::Role(role.name.clone()),
                    policy_name: policy::REVOKE_SESSIONS.into(),
                    document: document.clone(),
                },
                account: role.account.clone(),
                covers: role.last_issued,
            };
            item(Some(role_about(role, target.account.as_deref())), vec![command], Some(change))
        })
        .collect();
    let items = if items.is_empty() {
        vec![item(Some("No role was assumed with the key (none known).".into()), vec![], None)]
    } else {
        items
    };
    step(3, StepKind::RevokeSessions, By::Apply, "Revoke the sessions of every role the key assumed", &why, items)
}

/// `role Auditor: sessions audit (ASIA…) issued …; in account 2222…, run with its credentials`.
fn role_about(role: &Role, key_account: Option<&str>) -> String {
    let mut about = format!("role {}", role.name);
    if !role.sessions.is_empty() {
        about.push_str(&format!(": session {}", role.sessions.join(", ")));
    }
    if let (Some(account), Some(key_account)) = (role.account.as_deref(), key_account)
        && account != key_account
    {
        about.push_str(&format!(" (in account {account}: run with that account's credentials)"));
    }
    about
}

fn delete_key(target: &Target, session_key: bool) -> Step {
    let why = "Only when forensics no longer needs the key and the investigation has covered its whole life.";
    let items = for_key(session_key, || {
        let command = Aws::new("iam", "delete-access-key")
            .user(target.user.as_deref())
            .arg("access-key-id", target.access_key_id.as_str())
            .build();
        item(None, vec![command], None)
    });
    step(5, StepKind::DeleteKey, By::Hand, "After forensics, delete the key", why, items)
}

fn release(target: &Target, session_key: bool) -> Step {
    let why = "After the key is deleted and the persistence removed, and not before the roles' longest session \
               (their MaxSessionDuration, at most 12 hours) has run out since step 3. `keytrail contain --apply \
               --release` does this.";
    let mut items = Vec::new();
    if !session_key {
        let command =
            Aws::new("iam", "delete-user-policy").user(target.user.as_deref()).arg("policy-name", policy::DENY_ALL);
        let change = key_change(target, |user| Action::DeletePolicy {
            on: Holder::User(user),
            policy_name: policy::DENY_ALL.into(),
        });
        items.push(item(None, vec![command.build()], change));
    }
    for role in &target.roles {
        let command = Aws::new("iam", "delete-role-policy")
            .arg("role-name", role.name.as_str())
            .arg("policy-name", policy::REVOKE_SESSIONS)
            .build();
        let change = Change {
            action: Action::DeletePolicy {
                on: Holder::Role(role.name.clone()),
                policy_name: policy::REVOKE_SESSIONS.into(),
            },
            account: role.account.clone(),
            covers: None,
        };
        items.push(item(None, vec![command], Some(change)));
    }
    step(6, StepKind::RemoveTemporaryPolicies, By::Release, "Remove the temporary deny policies", why, items)
}

fn new_credentials(user: Option<&str>) -> Step {
    let why = "Only if the user's work still needs AWS access. Prefer credentials that expire: a role for workloads \
               (instance profile, ECS task role, Lambda execution role), OIDC federation for CI/CD (GitHub Actions, \
               GitLab: a role trusting token.actions.githubusercontent.com, no stored key), IAM Identity Center for \
               people. If a long-term key is unavoidable, create it after step 6, keep it in a secrets manager, and \
               rotate it.";
    let command = Aws::new("iam", "create-access-key").user(user).build();
    step(
        7,
        StepKind::NewCredentials,
        By::Hand,
        "Only if needed, new credentials",
        why,
        vec![item(Some("last resort: a new long-term key".into()), vec![command], None)],
    )
}

fn follow_up(key: &str) -> Step {
    let detector = "$(aws guardduty list-detectors --query 'DetectorIds[0]' --output text)";
    let criteria = format!(r#"{{"Criterion":{{"resource.accessKeyDetails.accessKeyId":{{"Eq":["{key}"]}}}}}}"#);
    let guardduty = Aws::new("guardduty", "list-findings")
        .arg("detector-id", &crate::command::Shell(detector))
        .arg("finding-criteria", &criteria)
        .build();
    let rule = r#"{"ConfigRuleName":"access-keys-rotated","Source":{"Owner":"AWS","SourceIdentifier":"ACCESS_KEYS_ROTATED"},"InputParameters":"{\"maxAccessKeyAge\":\"90\"}"}"#;
    let config = Aws::new("configservice", "put-config-rule").arg("config-rule", rule).build();
    let items = vec![
        item(Some("GuardDuty's findings for the key, in every region GuardDuty runs in".into()), vec![guardduty], None),
        item(Some("AWS Config: flag access keys older than 90 days".into()), vec![config], None),
        item(
            Some(format!(
                "Investigate again on the logs after containment: nothing should succeed with {key} or the revoked \
                 sessions (keytrail investigate LOGS --access-key-id {key})"
            )),
            vec![],
            None,
        ),
    ];
    step(
        8,
        StepKind::FollowUp,
        By::Hand,
        "Follow-ups",
        "Find what else the attacker touched, and old keys before they leak.",
        items,
    )
}
