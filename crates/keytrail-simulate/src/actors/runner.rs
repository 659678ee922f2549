//! Self-hosted CI runners on EC2: role sessions named after the instance,
//! from a stable AWS address, running jobs around the clock (busier in
//! office hours) with the AWS CLI.

use super::ec2::Instance;
use super::{Actor, day_end, session_at};
use crate::agents;
use crate::api::{self, Op};
use crate::estate::Account;
use crate::principal::Role;
use crate::time;
use crate::unit::{Caller, Unit};
use rand::Rng;
use rand::rngs::SmallRng;

pub(crate) struct Runners {
    home: usize,
    tz: i32,
    instances: Vec<Instance>,
}

static OPS: &[(&Op, u32)] = &[
    (&api::GET_OBJECT, 12),
    (&api::PUT_OBJECT, 10),
    (&api::LIST_OBJECTS, 6),
    (&api::GET_AUTHORIZATION_TOKEN, 4),
    (&api::BATCH_GET_IMAGE, 4),
    (&api::GET_PARAMETER, 3),
    (&api::GET_PARAMETERS, 3),
    (&api::GET_SECRET_VALUE, 4),
    (&api::DESCRIBE_STACKS, 4),
    (&api::DESCRIBE_SERVICES, 4),
    (&api::UPDATE_FUNCTION_CODE, 2),
    (&api::UPDATE_SERVICE, 1),
];

impl Runners {
    pub fn new(rng: &mut SmallRng, account: &Account, home: usize, regions: &[String]) -> Self {
        let role = Role::new(rng, &account.id, "", "github-runner-role");
        Runners {
            home,
            tz: account.tz,
            instances: (0..rng.random_range(1..=2)).map(|_| Instance::new(rng, 0, &regions[0], role.clone())).collect(),
        }
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }
}

impl Actor for Runners {
    fn weight(&self, weekend: bool) -> f64 {
        if weekend { 2.0 } else { 6.0 }
    }

    fn emit(&self, unit: &mut Unit, plan: &mut SmallRng, budget: u64) {
        let n = self.instances.len() as u64;
        for (i, inst) in self.instances.iter().enumerate() {
            let share = budget / n + u64::from((i as u64) < budget % n);
            let sessions = inst.credentials(unit, plan, self.home, share);
            let Some(first) = sessions.first().map(|s| s.start) else {
                continue;
            };
            let mut left = share - sessions.len() as u64;
            let end = day_end(unit);
            while left > 0 {
                let mut t = time::sample(plan, unit.day, |t| if time::office_hours(t, self.tz) { 1.0 } else { 0.25 })
                    .max(first + 1);
                let n = left.min(plan.random_range(5..=40));
                let mut spent = 0;
                while spent < n && t < end {
                    let op = if spent == 0 { &api::GET_CALLER_IDENTITY } else { *api::pick(plan, OPS) };
                    if unit.owns(self.home, inst.region, op) {
                        let identity = inst.role.identity(&inst.id, session_at(&sessions, t), Some(inst.delivery));
                        let agent = agents::SERVER.agent(op);
                        let caller = Caller { identity: &identity, ip: &inst.ip, agent: &agent, console: false };
                        unit.call(t, &caller, op);
                    }
                    spent += 1;
                    t += plan.random_range(0..20);
                }
                left -= spent.max(1).min(left);
            }
        }
    }
}
