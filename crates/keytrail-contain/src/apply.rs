//! Making the plan's changes with the AWS SDK, idempotently: every change first reads the
//! state it would change ([`Applier::survey`]), so what is in place already is recorded as
//! unchanged and never called, and the state before is kept for `--undo`. A refused call
//! (AccessDenied) stops the run and says which IAM permission was missing.

use std::fmt;

use aws_sdk_iam::config::http::HttpResponse;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::StatusType;
use chrono::Utc;
use keytrail_investigate::Time;
pub use keytrail_source::AwsOptions;

use crate::audit::{AuditLog, Before, Outcome, Record};
use crate::plan::{Action, Change, Holder, KeyStatus, Mode};
use crate::policy;

/// IAM is global; its endpoint lives in us-east-1 (and the SDK wants some region).
const DEFAULT_REGION: &str = "us-east-1";

/// A failed API call: the IAM operation (= the permission it needs without `iam:`) and why.
#[derive(Debug, Clone)]
pub struct CallError {
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
}

impl CallError {
    fn new<E>(operation: &'static str, error: SdkError<E, HttpResponse>) -> CallError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        // Refusals that come without IAM's error document (moto's, some proxies') are still
        // refusals.
        let forbidden = error.raw_response().is_some_and(|r| r.status().as_u16() == 403);
        let message = match (error.code(), error.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_string(),
            (None, _) if forbidden => "AccessDenied (HTTP 403)".into(),
            (None, _) => DisplayErrorContext(&error).to_string(),
        };
        let code = error.code().map(str::to_string).or_else(|| forbidden.then(|| "AccessDenied".into()));
        CallError { operation, code, message }
    }

    /// The IAM permission the call needs: IAM names its permissions after its operations.
    pub fn permission(&self) -> String {
        match self.operation {
            "GetCallerIdentity" => "sts:GetCallerIdentity".into(),
            operation => format!("iam:{operation}"),
        }
    }

    pub fn is_denied(&self) -> bool {
        matches!(self.code.as_deref(), Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation"))
    }

    fn is_missing(&self) -> bool {
        self.code.as_deref() == Some("NoSuchEntity")
    }
}

impl std::error::Error for CallError {}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.permission(), self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "{} on {target} was refused: the credentials need the IAM permission {}{}",
        error.permission(), error.permission(), applied_list(applied)
    )]
    Denied { error: CallError, target: String, applied: Vec<String> },
    #[error("{0}")]
    Call(CallError),
    #[error("cannot write the audit log: {0}")]
    Audit(#[from] std::io::Error),
}

fn applied_list(applied: &[String]) -> String {
    if applied.is_empty() {
        "; nothing was applied".into()
    } else {
        format!("; already applied: {}", applied.join("; "))
    }
}

/// A change with the state it found, and what is to be done about it.
#[derive(Debug, Clone)]
pub struct Pending {
    pub step: u8,
    pub change: Change,
    pub before: Before,
    pub todo: Todo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Todo {
    Call,
    /// In place already; why.
    Nothing(String),
    /// Not for this account's credentials; why.
    Skip(String),
    /// Reading the state failed (no such user or role…); why.
    Fail(String),
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Summary {
    pub records: Vec<Record>,
}

impl Summary {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.records.iter().filter(|r| r.result == outcome).count()
    }
}

pub struct Applier {
    iam: aws_sdk_iam::Client,
    account: String,
}

impl Applier {
    /// Connects with the standard credential chain and asks STS whose credentials they are.
    pub async fn connect(options: &AwsOptions) -> Result<Applier, ApplyError> {
        let region = options.region.clone().unwrap_or_else(|| DEFAULT_REGION.to_string());
        let config = AwsOptions { region: Some(region), ..options.clone() }.sdk_config().await;
        let identity = aws_sdk_sts::Client::new(&config)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| ApplyError::Call(CallError::new("GetCallerIdentity", e)))?;
        let account = identity.account().unwrap_or_default().to_string();
        Ok(Applier { iam: aws_sdk_iam::Client::new(&config), account })
    }

    /// The account the credentials belong to.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The IAM user owning a key of this account; None when IAM does not know the key. Any
    /// other failure (a refusal, throttling, the network) is an error: it says nothing about
    /// the key.
    pub async fn key_owner(&self, access_key_id: &str) -> Result<Option<String>, CallError> {
        match self.iam.get_access_key_last_used().access_key_id(access_key_id).send().await {
            Ok(output) => Ok(output.user_name().map(str::to_string)),
            Err(e) => {
                let error = CallError::new("GetAccessKeyLastUsed", e);
                if error.is_missing() { Ok(None) } else { Err(error) }
            }
        }
    }

    /// Reads the state each change would change. Stops at a refused read: nothing has been
    /// changed yet, and the error names the permission.
    pub async fn survey(&self, changes: Vec<(u8, Change)>) -> Result<Vec<Pending>, ApplyError> {
        let mut pending = Vec::new();
        for (step, change) in changes {
            if let Some(account) = change.account.as_deref().filter(|a| *a != self.account) {
                let why = format!("in account {account}; these credentials are account {}'s", self.account);
                pending.push(Pending { step, change, before: Before::Unknown, todo: Todo::Skip(why) });
                continue;
            }
            let (before, todo) = match self.read(&change.action).await {
                Ok(before) => {
                    let todo = todo(&change, &before);
                    (before, todo)
                }
                Err(error) if error.is_denied() => {
                    return Err(ApplyError::Denied { target: change.action.target(), error, applied: Vec::new() });
                }
                Err(error) => (Before::Unknown, Todo::Fail(error.to_string())),
            };
            pending.push(Pending { step, change, before, todo });
        }
        Ok(pending)
    }

    /// Makes the pending calls in order, writing each outcome to the log as it happens. Stops
    /// at a refused call; other failures are recorded and the run goes on.
    pub async fn execute(&self, pending: Vec<Pending>, mode: Mode, log: &mut AuditLog) -> Result<Summary, ApplyError> {
        let mut summary = Summary::default();
        for p in pending {
            let (result, message) = match &p.todo {
                Todo::Nothing(why) => (Outcome::Unchanged, Some(why.clone())),
                Todo::Skip(why) => (Outcome::Skipped, Some(why.clone())),
                Todo::Fail(why) => (Outcome::Failed, Some(why.clone())),
                Todo::Call => match self.call(&p.change.action).await {
                    Ok(()) => (Outcome::Applied, None),
                    Err(error) if error.is_denied() => {
                        let record = self.record(&p, mode, Outcome::Failed, Some(error.to_string()));
                        log.write(&record)?;
                        let applied = summary
                            .records
                            .iter()
                            .filter(|r| r.result == Outcome::Applied)
                            .map(|r| format!("step {} {} {}", r.step, r.call, r.target))
                            .collect();
                        return Err(ApplyError::Denied { target: p.change.action.target(), error, applied });
                    }
                    Err(error) => (Outcome::Failed, Some(error.to_string())),
                },
            };
            let record = self.record(&p, mode, result, message);
            log.write(&record)?;
            summary.records.push(record);
        }
        Ok(summary)
    }

    fn record(&self, pending: &Pending, mode: Mode, result: Outcome, message: Option<String>) -> Record {
        let action = &pending.change.action;
        Record {
            time: Time(Utc::now().timestamp_millis()),
            mode,
            step: pending.step,
            call: format!("iam:{}", action.operation()),
            target: action.target(),
            account: self.account.clone(),
            result,
            message,
            change: action.clone(),
            before: pending.before.clone(),
        }
    }

    /// The state an action would change.
    async fn read(&self, action: &Action) -> Result<Before, CallError> {
        match action {
            Action::UpdateAccessKey { user, access_key_id, .. } => {
                let keys = self
                    .iam
                    .list_access_keys()
                    .user_name(user)
                    .send()
                    .await
                    .map_err(|e| CallError::new("ListAccessKeys", e))?;
                let key = keys.access_key_metadata().iter().find(|k| k.access_key_id() == Some(access_key_id.as_str()));
                let Some(key) = key else {
                    return Err(CallError {
                        operation: "ListAccessKeys",
                        code: Some("NoSuchEntity".into()),
                        message: format!("user {user} has no access key {access_key_id}"),
                    });
                };
                let status =
                    if key.status() == Some(&StatusType::Active) { KeyStatus::Active } else { KeyStatus::Inactive };
                Ok(Before::KeyStatus { status })
            }
            Action::PutPolicy { on, policy_name, .. } | Action::DeletePolicy { on, policy_name } => {
                let document = match on {
                    Holder::User(user) => {
                        let read = self.iam.get_user_policy().user_name(user).policy_name(policy_name).send().await;
                        read.map(|o| o.policy_document().to_string()).map_err(|e| CallError::new("GetUserPolicy", e))
                    }
                    Holder::Role(role) => {
                        let read = self.iam.get_role_policy().role_name(role).policy_name(policy_name).send().await;
                        read.map(|o| o.policy_document().to_string()).map_err(|e| CallError::new("GetRolePolicy", e))
                    }
                };
                policy_before(document)
            }
        }
    }

    async fn call(&self, action: &Action) -> Result<(), CallError> {
        let operation = action.operation();
        match action {
            Action::UpdateAccessKey { user, access_key_id, status } => {
                let status = match status {
                    KeyStatus::Active => StatusType::Active,
                    KeyStatus::Inactive => StatusType::Inactive,
                };
                let call = self.iam.update_access_key().user_name(user).access_key_id(access_key_id).status(status);
                done(operation, call.send().await)
            }
            Action::PutPolicy { on: Holder::User(user), policy_name, document } => {
                let call =
                    self.iam.put_user_policy().user_name(user).policy_name(policy_name).policy_document(document);
                done(operation, call.send().await)
            }
            Action::PutPolicy { on: Holder::Role(role), policy_name, document } => {
                let call =
                    self.iam.put_role_policy().role_name(role).policy_name(policy_name).policy_document(document);
                done(operation, call.send().await)
            }
            Action::DeletePolicy { on: Holder::User(user), policy_name } => {
                done(operation, self.iam.delete_user_policy().user_name(user).policy_name(policy_name).send().await)
            }
            Action::DeletePolicy { on: Holder::Role(role), policy_name } => {
                done(operation, self.iam.delete_role_policy().role_name(role).policy_name(policy_name).send().await)
            }
        }
    }
}

/// A write call's outcome: nothing to keep, or why it failed.
fn done<T, E>(operation: &'static str, result: Result<T, SdkError<E, HttpResponse>>) -> Result<(), CallError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    result.map(drop).map_err(|e| CallError::new(operation, e))
}

/// An inline policy's document, or None when there is none of that name.
fn policy_before(read: Result<String, CallError>) -> Result<Before, CallError> {
    match read {
        Ok(document) => Ok(Before::Policy { document: Some(policy::from_iam(&document)) }),
        Err(error) if error.is_missing() => Ok(Before::Policy { document: None }),
        Err(error) => Err(error),
    }
}

/// What to do about a change, given the state it found.
fn todo(change: &Change, before: &Before) -> Todo {
    match (&change.action, before) {
        (Action::UpdateAccessKey { status, .. }, Before::KeyStatus { status: now }) if status == now => {
            Todo::Nothing(format!("the key is {now:?} already"))
        }
        (Action::PutPolicy { document, .. }, Before::Policy { document: Some(now) }) => {
            if policy::same_document(document, now) {
                return Todo::Nothing("the policy is in place already".into());
            }
            // A revoke policy in place from an earlier run covers the sessions known now if
            // its cutoff is later than the last of them: moving the cutoff would only revoke
            // sessions issued since, which keytrail knows nothing against.
            match (policy::revoke_cutoff(document), policy::revoke_cutoff(now)) {
                (Some(_), Some(cutoff)) if change.covers.is_none_or(|last| cutoff > last.utc()) => Todo::Nothing(
                    format!("sessions issued before {} are revoked already", cutoff.format("%Y-%m-%dT%H:%M:%SZ")),
                ),
                _ => Todo::Call,
            }
        }
        (Action::DeletePolicy { .. }, Before::Policy { document: None }) => {
            Todo::Nothing("there is no such policy".into())
        }
        _ => Todo::Call,
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;

    fn denied(operation: &'static str) -> CallError {
        CallError { operation, code: Some("AccessDenied".into()), message: "User: x is not authorized".into() }
    }

    #[test]
    fn a_refused_call_names_its_permission_and_what_was_applied() {
        let error = ApplyError::Denied {
            error: denied("PutRolePolicy"),
            target: "role deploy, policy keytrail-revoke-sessions-before".into(),
            applied: vec!["step 1 iam:UpdateAccessKey user alice, key AKIA1 → Inactive".into()],
        };
        assert_eq!(
            error.to_string(),
            "iam:PutRolePolicy on role deploy, policy keytrail-revoke-sessions-before was refused: the credentials \
             need the IAM permission iam:PutRolePolicy; already applied: step 1 iam:UpdateAccessKey user alice, key \
             AKIA1 → Inactive"
        );
        let first = ApplyError::Denied { error: denied("GetUserPolicy"), target: "user alice".into(), applied: vec![] };
        assert!(first.to_string().ends_with("iam:GetUserPolicy; nothing was applied"), "{first}");
        assert!(denied("ListAccessKeys").is_denied());
        assert_eq!(denied("GetCallerIdentity").permission(), "sts:GetCallerIdentity");
        let missing =
            CallError { operation: "GetUserPolicy", code: Some("NoSuchEntity".into()), message: String::new() };
        assert!(!missing.is_denied());
        assert_eq!(policy_before(Err(missing)).unwrap(), Before::Policy { document: None });
    }

    fn time(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().to_utc()
    }

    fn revoke(covers: Option<&str>) -> Change {
        let document = policy::revoke_sessions_before(time("2024-05-03T08:00:00Z"));
        Change {
            action: Action::PutPolicy {
                on: Holder::Role("r".into()),
                policy_name: policy::REVOKE_SESSIONS.into(),
                document,
            },
            account: None,
            covers: covers.map(|t| Time(time(t).timestamp_millis())),
        }
    }

    #[test]
    fn a_revoke_policy_in_place_is_kept_while_it_covers_the_known_sessions() {
        let earlier = Before::Policy { document: Some(policy::revoke_sessions_before(time("2024-05-02T12:00:00Z"))) };
        assert!(matches!(todo(&revoke(None), &earlier), Todo::Nothing(_)));
        assert!(matches!(todo(&revoke(Some("2024-05-02T10:05:00Z")), &earlier), Todo::Nothing(_)));
        // A session issued after the earlier cutoff is not covered: the cutoff moves.
        assert_eq!(todo(&revoke(Some("2024-05-02T13:00:00Z")), &earlier), Todo::Call);
        // Someone else's policy under the name is replaced (and kept in the log for undo).
        let other = Before::Policy { document: Some(policy::deny_all()) };
        assert_eq!(todo(&revoke(None), &other), Todo::Call);
        assert_eq!(todo(&revoke(None), &Before::Policy { document: None }), Todo::Call);
    }
}
