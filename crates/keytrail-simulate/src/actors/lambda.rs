//! Lambda functions: the Lambda service assumes each function's role every
//! few hours (the AssumeRole response carries the new `ASIA` key), and the
//! function's invocations call with that key from AWS addresses, around the
//! clock, with the runtime's SDK agent.

use super::{Actor, rotations, service_assume_role, split};
use crate::agents;
use crate::api::{self, Op};
use crate::estate::Account;
use crate::net;
use crate::principal::Role;
use crate::time;
use crate::unit::{Caller, Unit};
use rand::Rng;
use rand::rngs::SmallRng;

/// A function, its execution role and what it calls.
#[derive(Clone)]
pub(crate) struct Function {
    pub name: String,
    pub region: usize,
    pub region_name: String,
    pub role: Role,
    /// The runtime's SDK agent, with its `exec-env/AWS_Lambda_*` marker.
    pub agent: String,
    pub ops: &'static [(&'static Op, u32)],
    weight: u32,
}

pub(crate) struct Functions {
    home: usize,
    tz: i32,
    functions: Vec<Function>,
}

static ORDER_PROCESSOR: &[(&Op, u32)] = &[
    (&api::GET_ITEM, 3),
    (&api::PUT_ITEM, 4),
    (&api::UPDATE_ITEM, 2),
    (&api::SEND_MESSAGE, 3),
    (&api::GET_SECRET_VALUE, 1),
    (&api::DECRYPT, 1),
];
static THUMBNAIL_GENERATOR: &[(&Op, u32)] = &[(&api::GET_OBJECT, 5), (&api::PUT_OBJECT, 5), (&api::HEAD_OBJECT, 1)];
static STRIPE_WEBHOOK: &[(&Op, u32)] =
    &[(&api::GET_SECRET_VALUE, 2), (&api::PUT_ITEM, 3), (&api::SEND_MESSAGE, 2), (&api::DECRYPT, 1)];
static NIGHTLY_REPORT: &[(&Op, u32)] = &[(&api::QUERY, 4), (&api::PUT_OBJECT, 2), (&api::GET_PARAMETER, 1)];
static SESSION_CLEANUP: &[(&Op, u32)] = &[(&api::QUERY, 3), (&api::UPDATE_ITEM, 3)];
static API_AUTHORIZER: &[(&Op, u32)] = &[(&api::GET_ITEM, 6), (&api::GET_PARAMETER, 1), (&api::DECRYPT, 1)];
static EMAIL_SENDER: &[(&Op, u32)] =
    &[(&api::RECEIVE_MESSAGE, 2), (&api::DELETE_MESSAGE, 3), (&api::GET_SECRET_VALUE, 1), (&api::GET_ITEM, 2)];
static OTHER: &[(&Op, u32)] =
    &[(&api::LIST_OBJECTS, 1), (&api::GET_OBJECT, 2), (&api::PUT_OBJECT, 3), (&api::GENERATE_DATA_KEY, 1)];

/// What a function does, by its name.
fn ops_for(name: &str) -> &'static [(&'static Op, u32)] {
    match name {
        "order-processor" => ORDER_PROCESSOR,
        "thumbnail-generator" => THUMBNAIL_GENERATOR,
        "stripe-webhook" => STRIPE_WEBHOOK,
        "nightly-report" => NIGHTLY_REPORT,
        "session-cleanup" => SESSION_CLEANUP,
        "api-authorizer" => API_AUTHORIZER,
        "email-sender" => EMAIL_SENDER,
        _ => OTHER,
    }
}

impl Functions {
    pub fn new(rng: &mut SmallRng, account: &Account, home: usize, regions: &[String]) -> Self {
        let functions = account
            .functions
            .iter()
            .map(|name| {
                let region = if rng.random_bool(0.6) { 0 } else { rng.random_range(0..regions.len()) };
                let runtime = if rng.random_bool(0.75) { "python3.12" } else { "nodejs20.x" };
                Function {
                    name: name.clone(),
                    region,
                    region_name: regions[region].clone(),
                    role: Role::new(rng, &account.id, "service-role/", &format!("{name}-role")),
                    agent: agents::lambda(runtime),
                    ops: ops_for(name),
                    weight: rng.random_range(1..=10),
                }
            })
            .collect();
        Functions { home, tz: account.tz, functions }
    }

    pub fn functions(&self) -> &[Function] {
        &self.functions
    }
}

impl Actor for Functions {
    fn weight(&self, _weekend: bool) -> f64 {
        30.0
    }

    fn emit(&self, unit: &mut Unit, plan: &mut SmallRng, budget: u64) {
        let weights: Vec<u32> = self.functions.iter().map(|f| f.weight).collect();
        for (f, budget) in self.functions.iter().zip(split(budget, &weights)) {
            let mut sessions = rotations(plan, unit.day, 2..6);
            sessions.truncate(budget as usize);
            // Each credential period runs on a few execution environments,
            // each with its own address.
            let ips: Vec<Vec<String>> = sessions
                .iter()
                .map(|_| (0..plan.random_range(1..=3)).map(|_| net::sample(plan, net::aws(&f.region_name))).collect())
                .collect();
            if unit.owns(self.home, f.region, &api::ASSUME_ROLE) {
                for s in &sessions {
                    service_assume_role(unit, "lambda.amazonaws.com", &f.role, &f.name, s, 43_200);
                }
            }
            let Some(first) = sessions.first().map(|s| s.start) else {
                continue;
            };
            for _ in sessions.len() as u64..budget {
                let t = time::sample(plan, unit.day, |t| time::service_density(t, self.tz)).max(first + 1);
                let op = *api::pick(plan, f.ops);
                let i = sessions.partition_point(|s| s.start < t) - 1;
                let ip = &ips[i][plan.random_range(0..ips[i].len())];
                if unit.owns(self.home, f.region, op) {
                    let identity = f.role.identity(&f.name, &sessions[i], None);
                    let caller = Caller { identity: &identity, ip, agent: &f.agent, console: false };
                    unit.call(t, &caller, op);
                }
            }
        }
    }
}
