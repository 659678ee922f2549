//! What a plan is for: the key, its owner, the roles its sessions assumed and the
//! persistence it left; taken from an investigation, or given on the command line.

use std::collections::BTreeMap;

use keytrail_investigate::{Finding, Origin, Report, Subject, Time};
use serde::{Deserialize, Serialize};

/// The key to contain and everything the plan needs to know about it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Target {
    pub access_key_id: String,
    /// The IAM user owning the key; None when not known (the plan then finds it by command).
    pub user: Option<String>,
    /// The account the key belongs to, when known.
    pub account: Option<String>,
    /// The roles the key or its derived sessions assumed.
    pub roles: Vec<Role>,
    /// Successful persistence calls made with the key or its derived credentials.
    pub persistence: Vec<Finding>,
    /// The network (AS organization) of each address the calls came from: a stolen key's
    /// calls mix the owner's and the attacker's, and the network tells them apart.
    #[serde(default)]
    pub networks: BTreeMap<String, String>,
    /// What the reader should know about the plan's basis (unknown key, AWS quarantine…).
    pub notes: Vec<String>,
}

/// A role whose sessions are to be revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    /// The account the role is in, when known (from its ARN).
    pub account: Option<String>,
    /// The known stolen sessions: `name (key) issued at time`, for the plan's text.
    pub sessions: Vec<String>,
    /// When the latest known stolen session was issued: the revoke must cover it.
    pub last_issued: Option<Time>,
}

impl Role {
    /// A role by name or ARN (`arn:aws:iam::111122223333:role/path/Name`).
    pub fn parse(name_or_arn: &str) -> Role {
        let (name, account) = match name_or_arn.strip_prefix("arn:") {
            Some(rest) => {
                let fields: Vec<&str> = rest.splitn(5, ':').collect();
                let resource = fields.get(4).copied().unwrap_or(rest);
                let name = resource.rsplit('/').next().unwrap_or(resource);
                (name.to_string(), fields.get(3).filter(|a| !a.is_empty()).map(|a| a.to_string()))
            }
            None => (name_or_arn.to_string(), None),
        };
        Role { name, account, sessions: Vec::new(), last_issued: None }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("the investigation is of {0}, which names no access key; give --access-key-id (its keys: {1})")]
    NoKey(String, String),
}

/// Whether a key is a temporary session key (ASIA…), which cannot be deactivated.
pub fn is_session_key(access_key_id: &str) -> bool {
    access_key_id.starts_with("ASIA")
}

impl Target {
    /// Adds a role, unless it is there already.
    pub fn add_role(&mut self, role: Role) {
        if !self.roles.iter().any(|r| r.name == role.name && r.account == role.account) {
            self.roles.push(role);
        }
    }

    /// A key given on the command line, with what the caller knows about it.
    pub fn from_key(access_key_id: &str, user: Option<&str>, roles: &[String]) -> Target {
        let mut target =
            Target { access_key_id: access_key_id.to_string(), user: user.map(str::to_string), ..Target::default() };
        for role in roles {
            target.add_role(Role::parse(role));
        }
        if is_session_key(access_key_id) && roles.is_empty() {
            target.notes.push(format!(
                "{access_key_id} is a temporary session key: it cannot be deactivated, only its role's sessions \
                 revoked; name the role with --role"
            ));
        }
        target
    }

    /// The plan's input from a `keytrail investigate --format json` report; `key` chooses the
    /// key when the investigation was of a user or an address.
    pub fn from_report(report: &Report, key: Option<&str>) -> Result<Target, TargetError> {
        let own_keys: Vec<&str> = report
            .credentials
            .iter()
            .filter(|c| c.origin == Origin::Subject)
            .filter_map(|c| c.access_key_id.as_deref())
            .filter(|k| !is_session_key(k))
            .collect();
        let access_key_id = match (key, &report.subject) {
            (Some(key), _) => key.to_string(),
            (None, Subject::AccessKeyId(key)) => key.clone(),
            (None, _) if own_keys.len() == 1 => own_keys[0].to_string(),
            (None, subject) => return Err(TargetError::NoKey(subject.describe(), own_keys.join(", "))),
        };
        let mut target = Target { access_key_id: access_key_id.clone(), ..Target::default() };
        match report.credentials.iter().find(|c| c.access_key_id.as_deref() == Some(access_key_id.as_str())) {
            Some(credential) if credential.identity_type.as_deref() == Some("AssumedRole") => {
                target.account = credential.account.clone();
                if let Some(arn) = &credential.arn {
                    target.roles.push(Role::parse(&session_role_arn(arn)));
                }
            }
            Some(credential) => {
                target.user = credential.user_name.clone();
                target.account = credential.account.clone();
            }
            None => target.notes.push(format!(
                "{access_key_id} does not appear in the investigation: the plan is the key's alone, without the \
                 roles and persistence the logs would show"
            )),
        }
        for role in assumed_roles(report) {
            target.add_role(role);
        }
        target.persistence =
            report.persistence.iter().filter(|f| f.outcome.as_deref() == Some("success")).cloned().collect();
        target.networks = report
            .source_addresses
            .iter()
            .filter_map(|a| Some((a.address.clone()?, a.as_organization.clone()?)))
            .collect();
        let failed = report.persistence.len() - target.persistence.len();
        if failed > 0 {
            target.notes.push(format!("{failed} persistence call(s) failed and need no clean-up"));
        }
        for signal in &report.aws_signals {
            if let Some(policy) = signal.detail.as_deref().filter(|d| d.contains("AWSCompromisedKeyQuarantine")) {
                let whom = signal.target.as_deref().unwrap_or("the user");
                target.notes.push(format!(
                    "AWS attached {} to {whom} at {}: leave it attached until the key is deleted (step 5)",
                    policy.rsplit('/').next().unwrap_or(policy),
                    signal.time
                ));
            }
        }
        Ok(target)
    }
}

/// `arn:aws:sts::1:assumed-role/Role/session` → `arn:aws:iam::1:role/Role`.
fn session_role_arn(session_arn: &str) -> String {
    let Some((prefix, resource)) = session_arn.split_once(":assumed-role/") else { return session_arn.to_string() };
    let role = resource.split('/').next().unwrap_or(resource);
    format!("{}:role/{role}", prefix.replacen(":sts:", ":iam:", 1))
}

/// The roles the derived sessions assumed, each once, in the order first assumed.
fn assumed_roles(report: &Report) -> Vec<Role> {
    let mut roles: BTreeMap<String, (usize, Role)> = BTreeMap::new();
    for (order, derived) in report.derived.iter().enumerate() {
        let Some(arn) = &derived.role_arn else { continue };
        let (_, role) = roles.entry(arn.clone()).or_insert_with(|| (order, Role::parse(arn)));
        let session = derived.session_name.as_deref().unwrap_or("session");
        role.sessions.push(format!("{session} ({}) issued {}", derived.access_key_id, derived.issued_at));
        let issued = derived.issued_at;
        role.last_issued = Some(role.last_issued.map_or(issued, |t| t.max(issued)));
    }
    let mut roles: Vec<(usize, Role)> = roles.into_values().collect();
    roles.sort_by_key(|(order, _)| *order);
    roles.into_iter().map(|(_, role)| role).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_read_from_names_and_arns() {
        let role = Role::parse("arn:aws:iam::222222222222:role/ops/PlatformAdmin");
        assert_eq!((role.name.as_str(), role.account.as_deref()), ("PlatformAdmin", Some("222222222222")));
        assert_eq!(Role::parse("Auditor").name, "Auditor");
        assert_eq!(
            session_role_arn("arn:aws:sts::222222222222:assumed-role/Auditor/audit"),
            "arn:aws:iam::222222222222:role/Auditor"
        );
    }
}
