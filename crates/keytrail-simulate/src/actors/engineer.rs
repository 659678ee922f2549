//! An engineer with a long-term access key, working from the command line
//! and scripts at home or the office: mostly reads, some writes, and for the
//! first account's platform team, hops into the other accounts.

use super::{Actor, day_end, human_gap};
use crate::agents::{self, Cli};
use crate::api::{self, Op};
use crate::estate::Account;
use crate::net;
use crate::principal::{IamUser, Role, Session};
use crate::time;
use crate::unit::{AssumeRole, Caller, Unit};
use rand::Rng;
use rand::rngs::SmallRng;

pub(crate) struct Engineer {
    home: usize,
    user: IamUser,
    tz: i32,
    /// Home and office addresses: a person calls from a few stable places.
    ips: Vec<String>,
    cli: &'static Cli,
    /// The agent of the engineer's own boto3 scripts.
    script: String,
    region: usize,
    regions: usize,
    /// Accounts the engineer administers through their `PlatformAdmin` role.
    admin_of: Vec<(usize, Role)>,
}

static OPS: &[(&Op, u32)] = &[
    (&api::GET_CALLER_IDENTITY, 60),
    (&api::DESCRIBE_INSTANCES, 140),
    (&api::DESCRIBE_SECURITY_GROUPS, 40),
    (&api::DESCRIBE_VPCS, 20),
    (&api::DESCRIBE_SUBNETS, 20),
    (&api::DESCRIBE_REGIONS, 10),
    (&api::DESCRIBE_IMAGES, 10),
    (&api::DESCRIBE_VOLUMES, 10),
    (&api::LIST_BUCKETS, 60),
    (&api::LIST_OBJECTS, 80),
    (&api::GET_OBJECT, 80),
    (&api::HEAD_OBJECT, 20),
    (&api::PUT_OBJECT, 30),
    (&api::DELETE_OBJECT, 5),
    (&api::LIST_USERS, 20),
    (&api::GET_USER, 10),
    (&api::LIST_ROLES, 20),
    (&api::GET_ROLE, 20),
    (&api::LIST_ATTACHED_ROLE_POLICIES, 10),
    (&api::LIST_ACCESS_KEYS, 10),
    (&api::LIST_ATTACHED_USER_POLICIES, 5),
    (&api::GET_ACCOUNT_AUTHORIZATION_DETAILS, 1),
    (&api::GET_PARAMETER, 30),
    (&api::GET_PARAMETERS_BY_PATH, 10),
    (&api::GET_SECRET_VALUE, 20),
    (&api::LIST_SECRETS, 10),
    (&api::DESCRIBE_LOG_GROUPS, 20),
    (&api::DESCRIBE_LOG_STREAMS, 20),
    (&api::LIST_FUNCTIONS, 20),
    (&api::GET_FUNCTION, 20),
    (&api::DESCRIBE_STACKS, 20),
    (&api::DESCRIBE_SERVICES, 20),
    (&api::LIST_CLUSTERS, 10),
    (&api::DESCRIBE_TABLE, 10),
    (&api::GET_QUEUE_ATTRIBUTES, 10),
    (&api::DESCRIBE_ALARMS, 10),
    (&api::LOOKUP_EVENTS, 10),
    (&api::CREATE_TAGS, 8),
    (&api::START_INSTANCES, 6),
    (&api::STOP_INSTANCES, 6),
    (&api::PUT_PARAMETER, 8),
    (&api::UPDATE_SERVICE, 6),
    (&api::GET_SESSION_TOKEN, 3),
    (&api::CREATE_ACCESS_KEY, 1),
    (&api::ATTACH_USER_POLICY, 1),
];

impl Engineer {
    pub fn new(
        rng: &mut SmallRng,
        account: &Account,
        home: usize,
        name: &str,
        regions: &[String],
        admin_of: Vec<(usize, Role)>,
    ) -> Self {
        // Most work from their team's country; a few are remote.
        let (tz, isp) = if rng.random_bool(0.8) { (account.tz, account.isp) } else { (-5, net::ISP_US) };
        Engineer {
            home,
            user: IamUser::new(rng, &account.id, name),
            tz,
            ips: (0..rng.random_range(2..=3)).map(|_| net::sample(rng, isp)).collect(),
            cli: Cli::personal(rng),
            script: agents::boto3(rng),
            region: if rng.random_bool(0.7) { 0 } else { rng.random_range(0..regions.len()) },
            regions: regions.len(),
            admin_of,
        }
    }

    pub fn user(&self) -> &IamUser {
        &self.user
    }

    pub fn ips(&self) -> &[String] {
        &self.ips
    }
}

impl Actor for Engineer {
    fn weight(&self, weekend: bool) -> f64 {
        if weekend { 0.15 } else { 3.0 }
    }

    fn visits(&self, account: usize) -> bool {
        self.admin_of.iter().any(|(a, _)| *a == account)
    }

    fn emit(&self, unit: &mut Unit, plan: &mut SmallRng, budget: u64) {
        let end = day_end(unit);
        let mine = self.user.identity();
        let mut left = budget;
        while left > 0 {
            let start = time::sample(plan, unit.day, |t| time::human_density(t, self.tz));
            let region = if plan.random_bool(0.75) { self.region } else { plan.random_range(0..self.regions) };
            let ip = &self.ips[plan.random_range(0..self.ips.len())];
            let scripted = plan.random_bool(0.2);
            let n = left.min(plan.random_range(3..=40));
            let hop = (!self.admin_of.is_empty() && plan.random_bool(0.3))
                .then(|| &self.admin_of[plan.random_range(0..self.admin_of.len())]);
            let mut t = start;
            let mut spent = 0;
            let (account, identity) = match hop {
                None => (self.home, mine.clone()),
                Some((target, role)) => {
                    let session = Session::new(plan, t, false);
                    let caller =
                        Caller { identity: &mine, ip, agent: &self.cli.agent(&api::ASSUME_ROLE), console: false };
                    // Recorded in both accounts, under one sharedEventID.
                    for account in [self.home, *target] {
                        if unit.owns(account, region, &api::ASSUME_ROLE) {
                            unit.assume_role(
                                t,
                                &AssumeRole {
                                    caller: &caller,
                                    role,
                                    session_name: &self.user.name,
                                    session: &session,
                                    duration: 3600,
                                    cross_account: true,
                                },
                            );
                        }
                    }
                    spent += 1;
                    t += plan.random_range(1..4);
                    (*target, role.identity(&self.user.name, &session, None))
                }
            };
            while spent < n && t < end {
                let op = *api::pick(plan, OPS);
                if unit.owns(account, region, op) {
                    let agent = if scripted { self.script.clone() } else { self.cli.agent(op) };
                    let caller = Caller { identity: &identity, ip, agent: &agent, console: false };
                    unit.call(t, &caller, op);
                }
                spent += 1;
                t += human_gap(plan);
            }
            left -= spent.max(1).min(left);
        }
    }
}
