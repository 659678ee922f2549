//! The account's root user: every few days someone signs in to the console
//! as root (with MFA) and looks at account-level settings.

use super::{Actor, console_login, day_end};
use crate::agents;
use crate::api::{self, Op};
use crate::estate::Account;
use crate::net::{self, Cidr};
use crate::principal::Session;
use crate::record::UserIdentity;
use crate::time;
use crate::unit::{Caller, Unit};
use rand::Rng;
use rand::rngs::SmallRng;

pub(crate) struct Root {
    home: usize,
    account_id: String,
    tz: i32,
    isp: &'static [Cidr],
}

/// Root signs in every this many days, accounts taking turns, so that any
/// few days of a few accounts have a root sign-in to look at.
const SIGN_IN_EVERY: i64 = 5;

static OPS: &[(&Op, u32)] = &[
    (&api::GET_ACCOUNT_SUMMARY, 3),
    (&api::LIST_USERS, 2),
    (&api::LIST_MFA_DEVICES, 2),
    (&api::LIST_ACCESS_KEYS, 1),
    (&api::DESCRIBE_TRAILS, 1),
    (&api::LIST_BUCKETS, 1),
];

impl Root {
    pub fn new(account: &Account, home: usize) -> Self {
        Root { home, account_id: account.id.clone(), tz: account.tz, isp: account.isp }
    }

    fn identity(&self) -> UserIdentity {
        UserIdentity {
            kind: "Root",
            principal_id: Some(self.account_id.clone()),
            arn: Some(format!("arn:aws:iam::{}:root", self.account_id)),
            account_id: Some(self.account_id.clone()),
            ..UserIdentity::default()
        }
    }
}

impl Actor for Root {
    /// Root's sign-ins are too rare to take a share of the budget.
    fn weight(&self, _weekend: bool) -> f64 {
        0.0
    }

    fn emit(&self, unit: &mut Unit, plan: &mut SmallRng, _budget: u64) {
        if (unit.day / time::DAY + self.home as i64) % SIGN_IN_EVERY != 0 {
            return;
        }
        let start = time::sample(plan, unit.day, |t| time::human_density(t, self.tz));
        let ip = net::sample(plan, self.isp);
        let browser = agents::browser(plan);
        let session = Session::new(plan, start, true);
        if unit.owns(self.home, 0, &api::CONSOLE_LOGIN) {
            console_login(unit, start, self.identity(), &ip, browser, true, true);
        }
        let identity = UserIdentity {
            access_key_id: Some(session.key.clone()),
            session_context: Some(session.console_context()),
            ..self.identity()
        };
        let mut t = start;
        for _ in 0..plan.random_range(2..=6) {
            t += plan.random_range(3..60);
            let op = *api::pick(plan, OPS);
            if t < day_end(unit) && unit.owns(self.home, 0, op) {
                let caller = Caller { identity: &identity, ip: &ip, agent: browser, console: true };
                unit.call(t, &caller, op);
            }
        }
    }
}
