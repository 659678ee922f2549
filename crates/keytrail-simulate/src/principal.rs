//! Principals (IAM users, roles) and the temporary sessions they run, and how
//! each appears in `userIdentity`.

use crate::ids;
use crate::record::{Attributes, Empty, SessionContext, SessionIssuer, UserIdentity};
use crate::time;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// An IAM user and its long-term access key.
#[derive(Clone)]
pub(crate) struct IamUser {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub account_id: String,
    pub key: String,
}

impl IamUser {
    pub fn new(rng: &mut SmallRng, account_id: &str, name: &str) -> Self {
        IamUser {
            name: name.to_string(),
            id: ids::principal_id(rng, "AIDA"),
            arn: format!("arn:aws:iam::{account_id}:user/{name}"),
            account_id: account_id.to_string(),
            key: ids::access_key_id(rng, "AKIA"),
        }
    }

    /// The user calling with its long-term key.
    pub fn identity(&self) -> UserIdentity {
        UserIdentity {
            kind: "IAMUser",
            principal_id: Some(self.id.clone()),
            arn: Some(self.arn.clone()),
            account_id: Some(self.account_id.clone()),
            access_key_id: Some(self.key.clone()),
            user_name: Some(self.name.clone()),
            ..UserIdentity::default()
        }
    }

    /// The user signing in to the console (no key yet).
    pub fn sign_in_identity(&self) -> UserIdentity {
        UserIdentity { access_key_id: None, ..self.identity() }
    }

    /// The user's console session: temporary key, empty session issuer.
    pub fn console_identity(&self, session: &Session) -> UserIdentity {
        UserIdentity {
            access_key_id: Some(session.key.clone()),
            session_context: Some(session.console_context()),
            ..self.identity()
        }
    }
}

/// An IAM role.
#[derive(Clone)]
pub(crate) struct Role {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub account_id: String,
}

impl Role {
    pub fn new(rng: &mut SmallRng, account_id: &str, path: &str, name: &str) -> Self {
        Role {
            name: name.to_string(),
            id: ids::principal_id(rng, "AROA"),
            arn: format!("arn:aws:iam::{account_id}:role/{path}{name}"),
            account_id: account_id.to_string(),
        }
    }

    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub fn session_arn(&self, session_name: &str) -> String {
        format!("arn:aws:sts::{}:assumed-role/{}/{session_name}", self.account_id, self.name)
    }

    /// A session of this role, as its calls show it. `ec2_role_delivery` is
    /// set for instance-profile credentials ("1.0" IMDSv1, "2.0" IMDSv2).
    pub fn identity(
        &self,
        session_name: &str,
        session: &Session,
        ec2_role_delivery: Option<&'static str>,
    ) -> UserIdentity {
        UserIdentity {
            kind: "AssumedRole",
            principal_id: Some(format!("{}:{session_name}", self.id)),
            arn: Some(self.session_arn(session_name)),
            account_id: Some(self.account_id.clone()),
            access_key_id: Some(session.key.clone()),
            session_context: Some(SessionContext {
                session_issuer: SessionIssuer {
                    kind: Some("Role"),
                    principal_id: Some(self.id.clone()),
                    arn: Some(self.arn.clone()),
                    account_id: Some(self.account_id.clone()),
                    user_name: Some(self.name.clone()),
                },
                web_id_federation_data: Empty {},
                attributes: session.attributes(),
                ec2_role_delivery,
            }),
            ..UserIdentity::default()
        }
    }
}

/// Temporary credentials. Drawn from an actor's plan, so every unit that
/// sees the session (its regions, both sides of a cross-account call)
/// agrees on the key; the bulky parts are expanded from `seed` on demand.
#[derive(Clone)]
pub(crate) struct Session {
    pub key: String,
    pub start: i64,
    pub mfa: bool,
    seed: u64,
}

impl Session {
    pub fn new(plan: &mut SmallRng, start: i64, mfa: bool) -> Self {
        Session { key: ids::access_key_id(plan, "ASIA"), start, mfa, seed: plan.random() }
    }

    /// The session context of a console sign-in by a user (IAM or root):
    /// no issuer, as no role was assumed.
    pub fn console_context(&self) -> SessionContext {
        SessionContext {
            session_issuer: SessionIssuer::default(),
            web_id_federation_data: Empty {},
            attributes: self.attributes(),
            ec2_role_delivery: None,
        }
    }

    fn attributes(&self) -> Attributes {
        Attributes { creation_date: time::iso(self.start), mfa_authenticated: if self.mfa { "true" } else { "false" } }
    }

    /// The STS request id and session token that issued these credentials.
    pub fn issue(&self) -> (String, String) {
        let mut rng = SmallRng::seed_from_u64(self.seed);
        (ids::uuid(&mut rng), ids::session_token(&mut rng))
    }

    /// The same event recorded in two accounts carries one `sharedEventID`.
    pub fn shared_event_id(&self) -> String {
        ids::uuid(&mut SmallRng::seed_from_u64(self.seed ^ 0x5EED))
    }
}

/// An AWS service acting for the account: `sourceIPAddress` and
/// `userAgent` are the service's name, never an address.
pub(crate) fn service_identity(service: &'static str) -> UserIdentity {
    UserIdentity { kind: "AWSService", invoked_by: Some(service), ..UserIdentity::default() }
}
