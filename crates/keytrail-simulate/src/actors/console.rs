//! A person in the AWS console: signs in (now and then failing first), then
//! browses with temporary credentials, some calls made by the console's
//! backend on their behalf ("AWS Internal"). Either an IAM user with a
//! password and MFA, or an IAM Identity Center (SSO) user whose sign-in
//! lands in a reserved role.

use super::{Actor, console_login, day_end};
use crate::agents;
use crate::api::{self, Op};
use crate::estate::Account;
use crate::ids;
use crate::net;
use crate::principal::{IamUser, Role, Session};
use crate::record::UserIdentity;
use crate::time;
use crate::unit::{AWS_INTERNAL, Caller, Unit};
use rand::Rng;
use rand::rngs::SmallRng;

enum Who {
    Iam(IamUser),
    Sso { role: Role, email: String },
}

pub(crate) struct ConsoleUser {
    home: usize,
    who: Who,
    tz: i32,
    ips: Vec<String>,
    browser: &'static str,
    region: usize,
    regions: usize,
}

static OPS: &[(&Op, u32)] = &[
    (&api::DESCRIBE_INSTANCES, 20),
    (&api::DESCRIBE_INSTANCE_STATUS, 8),
    (&api::DESCRIBE_SECURITY_GROUPS, 6),
    (&api::DESCRIBE_VPCS, 4),
    (&api::DESCRIBE_SUBNETS, 3),
    (&api::DESCRIBE_AVAILABILITY_ZONES, 2),
    (&api::DESCRIBE_VOLUMES, 3),
    (&api::LIST_BUCKETS, 8),
    (&api::GET_BUCKET_LOCATION, 4),
    (&api::GET_BUCKET_POLICY, 3),
    (&api::GET_BUCKET_ACL, 3),
    (&api::GET_BUCKET_VERSIONING, 2),
    (&api::GET_BUCKET_ENCRYPTION, 2),
    (&api::LIST_OBJECTS, 5),
    (&api::LIST_USERS, 3),
    (&api::GET_ACCOUNT_SUMMARY, 3),
    (&api::LIST_ROLES, 3),
    (&api::GET_ROLE, 2),
    (&api::LIST_MFA_DEVICES, 2),
    (&api::LIST_POLICIES, 2),
    (&api::LIST_FUNCTIONS, 4),
    (&api::GET_FUNCTION, 3),
    (&api::DESCRIBE_ALARMS, 5),
    (&api::DESCRIBE_LOG_GROUPS, 4),
    (&api::DESCRIBE_STACKS, 3),
    (&api::DESCRIBE_STACK_EVENTS, 2),
    (&api::LIST_SECRETS, 2),
    (&api::DESCRIBE_SECRET, 1),
    (&api::LOOKUP_EVENTS, 3),
    (&api::DESCRIBE_TRAILS, 1),
    (&api::LIST_CLUSTERS, 2),
    (&api::DESCRIBE_SERVICES, 2),
    (&api::DESCRIBE_TABLE, 1),
    (&api::DESCRIBE_INSTANCE_INFORMATION, 2),
    (&api::START_INSTANCES, 1),
    (&api::STOP_INSTANCES, 1),
    (&api::CREATE_TAGS, 1),
    (&api::PUT_PARAMETER, 1),
    (&api::UPDATE_SERVICE, 1),
];

impl ConsoleUser {
    pub fn new(rng: &mut SmallRng, account: &Account, home: usize, name: &str, regions: &[String], sso: bool) -> Self {
        let who = if sso {
            let role = format!("AWSReservedSSO_AdministratorAccess_{}", ids::hex(rng, 16));
            Who::Sso {
                role: Role::new(rng, &account.id, "aws-reserved/sso.amazonaws.com/", &role),
                email: format!("{name}@example.com"),
            }
        } else {
            Who::Iam(IamUser::new(rng, &account.id, name))
        };
        ConsoleUser {
            home,
            who,
            tz: account.tz,
            ips: (0..2).map(|_| net::sample(rng, account.isp)).collect(),
            browser: agents::browser(rng),
            region: if rng.random_bool(0.8) { 0 } else { rng.random_range(0..regions.len()) },
            regions: regions.len(),
        }
    }

    /// The identity of a signed-in session.
    fn identity(&self, session: &Session) -> UserIdentity {
        match &self.who {
            Who::Iam(user) => user.console_identity(session),
            Who::Sso { role, email } => role.identity(email, session, None),
        }
    }

    /// The `ConsoleLogin` event, successful or not.
    fn sign_in(&self, unit: &mut Unit, t: i64, ip: &str, session: &Session, success: bool) {
        let (identity, mfa) = match &self.who {
            Who::Iam(user) => (user.sign_in_identity(), true),
            Who::Sso { .. } => {
                let mut identity = self.identity(session);
                identity.access_key_id = None;
                (identity, false)
            }
        };
        console_login(unit, t, identity, ip, self.browser, mfa, success);
    }

    /// The IAM user behind the sign-ins (none for SSO users) and the
    /// browser they sign in with.
    pub fn iam_user(&self) -> Option<(&IamUser, &'static str)> {
        match &self.who {
            Who::Iam(user) => Some((user, self.browser)),
            Who::Sso { .. } => None,
        }
    }
}

impl Actor for ConsoleUser {
    fn weight(&self, weekend: bool) -> f64 {
        if weekend { 0.1 } else { 2.0 }
    }

    fn emit(&self, unit: &mut Unit, plan: &mut SmallRng, budget: u64) {
        let end = day_end(unit);
        let login = &api::CONSOLE_LOGIN;
        let mut left = budget;
        while left > 0 {
            let start = time::sample(plan, unit.day, |t| time::human_density(t, self.tz));
            let ip = &self.ips[plan.random_range(0..self.ips.len())];
            let session = Session::new(plan, start, matches!(self.who, Who::Iam(_)));
            let mut spent = 0;
            // A mistyped password now and then (SSO failures stay in the
            // identity provider).
            if matches!(self.who, Who::Iam(_)) && left > 1 && plan.random_bool(0.05) {
                if unit.owns(self.home, 0, login) {
                    let t = (start - plan.random_range(10..40)).max(unit.day);
                    self.sign_in(unit, t, ip, &session, false);
                }
                spent += 1;
            }
            if unit.owns(self.home, 0, login) {
                self.sign_in(unit, start, ip, &session, true);
            }
            spent += 1;
            let identity = self.identity(&session);
            let region = if plan.random_bool(0.8) { self.region } else { plan.random_range(0..self.regions) };
            let n = left.min(spent + plan.random_range(10..=80));
            let mut t = start + plan.random_range(2..10);
            while spent < n && t < end {
                let op = *api::pick(plan, OPS);
                let internal = plan.random_bool(0.2);
                if unit.owns(self.home, region, op) {
                    let (ip, agent) = if internal { (AWS_INTERNAL, AWS_INTERNAL) } else { (ip.as_str(), self.browser) };
                    let caller = Caller { identity: &identity, ip, agent, console: true };
                    unit.call(t, &caller, op);
                }
                spent += 1;
                t += plan.random_range(2..90);
            }
            left -= spent.min(left);
        }
    }
}
