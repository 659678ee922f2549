//! Terraform run from a pipeline on Google Cloud with an IAM user's key:
//! bursts of reads while it refreshes state (many in the same second), then
//! on apply a few creates and updates. Drift checks run at night.

use super::{Actor, day_end};
use crate::agents;
use crate::api::{self, Op};
use crate::estate::{Account, TERRAFORM_USER};
use crate::net;
use crate::principal::IamUser;
use crate::time;
use crate::unit::{Caller, Unit};
use rand::Rng;
use rand::rngs::SmallRng;

pub(crate) struct Terraform {
    home: usize,
    user: IamUser,
    tz: i32,
    /// The pipeline's NAT addresses.
    ips: Vec<String>,
    regions: usize,
}

static READS: &[(&Op, u32)] = &[
    (&api::DESCRIBE_VPCS, 6),
    (&api::DESCRIBE_SUBNETS, 8),
    (&api::DESCRIBE_SECURITY_GROUPS, 10),
    (&api::DESCRIBE_INSTANCES, 6),
    (&api::DESCRIBE_IMAGES, 2),
    (&api::DESCRIBE_AVAILABILITY_ZONES, 2),
    (&api::DESCRIBE_VOLUMES, 2),
    (&api::GET_ROLE, 10),
    (&api::GET_ROLE_POLICY, 6),
    (&api::LIST_ATTACHED_ROLE_POLICIES, 8),
    (&api::GET_POLICY, 6),
    (&api::GET_POLICY_VERSION, 6),
    (&api::GET_USER, 2),
    (&api::GET_BUCKET_POLICY, 4),
    (&api::GET_BUCKET_ACL, 4),
    (&api::GET_BUCKET_VERSIONING, 4),
    (&api::GET_BUCKET_ENCRYPTION, 4),
    (&api::GET_BUCKET_LOCATION, 2),
    (&api::GET_PARAMETER, 4),
    (&api::GET_FUNCTION, 4),
    (&api::DESCRIBE_SERVICES, 2),
    (&api::DESCRIBE_TASK_DEFINITION, 2),
    (&api::DESCRIBE_TABLE, 3),
    (&api::GET_QUEUE_ATTRIBUTES, 3),
    (&api::DESCRIBE_KEY, 3),
    (&api::DESCRIBE_SECRET, 2),
    (&api::DESCRIBE_LOG_GROUPS, 2),
];

static WRITES: &[(&Op, u32)] = &[
    (&api::CREATE_TAGS, 4),
    (&api::AUTHORIZE_SECURITY_GROUP_INGRESS, 2),
    (&api::PUT_ROLE_POLICY, 2),
    (&api::CREATE_ROLE, 1),
    (&api::PUT_BUCKET_POLICY, 1),
    (&api::PUT_PARAMETER, 2),
    (&api::REGISTER_TASK_DEFINITION, 1),
    (&api::UPDATE_SERVICE, 1),
];

impl Terraform {
    pub fn new(rng: &mut SmallRng, account: &Account, home: usize, regions: &[String]) -> Self {
        Terraform {
            home,
            user: IamUser::new(rng, &account.id, TERRAFORM_USER),
            tz: account.tz,
            ips: (0..rng.random_range(2..=3)).map(|_| net::sample(rng, net::GCP)).collect(),
            regions: regions.len(),
        }
    }

    pub fn user(&self) -> &IamUser {
        &self.user
    }
}

impl Actor for Terraform {
    fn weight(&self, weekend: bool) -> f64 {
        if weekend { 1.5 } else { 7.0 }
    }

    fn emit(&self, unit: &mut Unit, plan: &mut SmallRng, budget: u64) {
        let end = day_end(unit);
        let identity = self.user.identity();
        let mut left = budget;
        while left > 0 {
            let drift_check = plan.random_bool(0.2);
            let mut t = if drift_check {
                unit.day + plan.random_range(time::HOUR..4 * time::HOUR)
            } else {
                time::sample(plan, unit.day, |t| time::human_density(t, self.tz))
            };
            let apply = !drift_check && plan.random_bool(0.3);
            let region = if plan.random_bool(0.8) { 0 } else { plan.random_range(0..self.regions) };
            let ip = &self.ips[plan.random_range(0..self.ips.len())];
            let n = left.min(plan.random_range(40..=300));
            let writes = if apply { n / plan.random_range(5..20) } else { 0 };
            let mut spent = 0;
            while spent < n && t < end {
                let op = match spent {
                    0 => &api::GET_CALLER_IDENTITY,
                    s if s >= n - writes => *api::pick(plan, WRITES),
                    _ => *api::pick(plan, READS),
                };
                if unit.owns(self.home, region, op) {
                    let agent = agents::terraform(op);
                    let caller = Caller { identity: &identity, ip, agent: &agent, console: false };
                    unit.call(t, &caller, op);
                }
                spent += 1;
                // The provider refreshes resources in parallel.
                t += if plan.random_bool(0.6) { 0 } else { plan.random_range(1..4) };
            }
            left -= spent.max(1).min(left);
        }
    }
}
