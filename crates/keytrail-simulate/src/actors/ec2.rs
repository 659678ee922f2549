//! EC2 instances working with their instance profile: EC2 assumes the role
//! for each instance every few hours, and the instance's agents (SSM,
//! CloudWatch) and applications call around the clock. Instances with a VPC
//! endpoint reach S3 and SSM from their private address.

use super::{Actor, rotations, service_assume_role, session_at, split};
use crate::agents;
use crate::api::{self, Op};
use crate::estate::Account;
use crate::ids;
use crate::net;
use crate::principal::{Role, Session};
use crate::time;
use crate::unit::{Caller, Unit};
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::json;

/// An instance and the role of its instance profile.
#[derive(Clone)]
pub(crate) struct Instance {
    pub id: String,
    pub region: usize,
    /// Public address (or NAT gateway address) it reaches AWS from.
    pub ip: String,
    pub private_ip: String,
    pub role: Role,
    /// `ec2RoleDelivery`: "2.0" when credentials come through IMDSv2.
    pub delivery: &'static str,
}

impl Instance {
    pub fn new(rng: &mut SmallRng, region: usize, region_name: &str, role: Role) -> Self {
        Instance {
            id: ids::instance_id(rng),
            region,
            ip: net::sample(rng, net::aws(region_name)),
            private_ip: net::sample(rng, net::VPC),
            role,
            delivery: if rng.random_bool(0.8) { "2.0" } else { "1.0" },
        }
    }

    /// Plans the day's instance-profile sessions (at most `max`) and
    /// records EC2 assuming the role for each that lands in the unit.
    pub fn credentials(&self, unit: &mut Unit, plan: &mut SmallRng, home: usize, max: u64) -> Vec<Session> {
        let mut sessions = rotations(plan, unit.day, 1..6);
        sessions.truncate(max as usize);
        if unit.owns(home, self.region, &api::ASSUME_ROLE) {
            for s in &sessions {
                service_assume_role(unit, "ec2.amazonaws.com", &self.role, &self.id, s, 21_600);
            }
        }
        sessions
    }
}

pub(crate) struct Fleet {
    home: usize,
    tz: i32,
    instances: Vec<(Instance, u32)>,
    /// The agent of the applications on the instances.
    app: String,
    /// S3 and SSM traffic goes through a VPC endpoint.
    vpce: Option<String>,
}

static OPS: &[(&Op, u32)] = &[
    (&api::UPDATE_INSTANCE_INFORMATION, 30),
    (&api::LIST_INSTANCE_ASSOCIATIONS, 15),
    (&api::DESCRIBE_TAGS, 8),
    (&api::CREATE_LOG_STREAM, 6),
    (&api::DESCRIBE_LOG_STREAMS, 6),
    (&api::GET_OBJECT, 10),
    (&api::PUT_OBJECT, 8),
    (&api::DECRYPT, 6),
    (&api::GET_SECRET_VALUE, 3),
    (&api::GET_PARAMETER, 4),
    (&api::GET_CALLER_IDENTITY, 2),
    (&api::SEND_MESSAGE, 4),
    (&api::RECEIVE_MESSAGE, 6),
    (&api::DELETE_MESSAGE, 4),
    (&api::DESCRIBE_INSTANCES, 2),
];

impl Fleet {
    pub fn new(rng: &mut SmallRng, account: &Account, home: usize, regions: &[String]) -> Self {
        let mut instances = Vec::new();
        for (r, name) in regions.iter().enumerate() {
            // The primary region carries the bulk of the workload.
            let count = if r == 0 { rng.random_range(3..=5) } else { rng.random_range(1..=3) };
            for _ in 0..count {
                let role = if rng.random_bool(0.7) { "app-server-role" } else { "batch-worker-role" };
                let role = Role::new(rng, &account.id, "", role);
                instances.push((Instance::new(rng, r, name, role), if r == 0 { 3 } else { 1 }));
            }
        }
        Fleet {
            home,
            tz: account.tz,
            instances,
            app: agents::boto3(rng),
            vpce: rng.random_bool(0.5).then(|| account.vpc_endpoint.clone()),
        }
    }

    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances.iter().map(|(inst, _)| inst)
    }
}

impl Actor for Fleet {
    fn weight(&self, _weekend: bool) -> f64 {
        20.0
    }

    fn emit(&self, unit: &mut Unit, plan: &mut SmallRng, budget: u64) {
        let weights: Vec<u32> = self.instances.iter().map(|(_, w)| *w).collect();
        for ((inst, _), budget) in self.instances.iter().zip(split(budget, &weights)) {
            let sessions = inst.credentials(unit, plan, self.home, budget);
            let Some(first) = sessions.first().map(|s| s.start) else {
                continue;
            };
            for _ in sessions.len() as u64..budget {
                let t = time::sample(plan, unit.day, |t| time::service_density(t, self.tz)).max(first + 1);
                let op = *api::pick(plan, OPS);
                if !unit.owns(self.home, inst.region, op) {
                    continue;
                }
                let identity = inst.role.identity(&inst.id, session_at(&sessions, t), Some(inst.delivery));
                let agent = match op.name {
                    "UpdateInstanceInformation" | "ListInstanceAssociations" => agents::SSM_AGENT,
                    "DescribeTags" | "CreateLogStream" | "DescribeLogStreams" => agents::CW_AGENT,
                    _ => &self.app,
                };
                let endpoint = self.vpce.as_ref().filter(|_| matches!(op.service(), "s3" | "ssm"));
                let caller = Caller {
                    identity: &identity,
                    ip: if endpoint.is_some() { &inst.private_ip } else { &inst.ip },
                    agent,
                    console: false,
                };
                // The fleet's endpoint is in its own account.
                let endpoint_account = endpoint.map(|_| unit.account().id.clone());
                let rec = unit.call(t, &caller, op);
                rec.vpc_endpoint_id = endpoint.cloned();
                rec.vpc_endpoint_account_id = endpoint_account;
                // The agent reports about its own instance.
                if let Some(id) = rec.request_parameters.as_mut().and_then(|p| p.get_mut("instanceId")) {
                    *id = json!(inst.id);
                }
            }
        }
    }
}
