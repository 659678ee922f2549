//! An EC2 instance's role credentials used outside AWS: a server-side
//! request forgery in the instance's application read the instance
//! metadata, and the thief calls with the instance profile's session from
//! a VPN while the instance keeps calling with it from its own address. The
//! scenario starts with EC2 refreshing the instance's credentials, so the
//! key is the instance's for the whole stretch.

use super::{Agent, Attack, Cast, EC2_CREDENTIALS_OUTSIDE_AWS, Grant, Kind, Source, Step, Window};
use crate::actors::Instance;
use crate::agents;
use crate::api::{self, Op};
use crate::net;
use crate::principal::Session;
use crate::record::UserIdentity;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct Ec2CredentialsOutsideAws;

const SHARE: f64 = 0.18;

/// How long the instance calls on the new session, and when the thief starts.
const INSIDE: i64 = 50 * 60;
const THIEF_AFTER: i64 = 20 * 60;

/// What the instance's agents and application call.
static OPS: &[(&Op, u32)] = &[
    (&api::UPDATE_INSTANCE_INFORMATION, 4),
    (&api::GET_OBJECT, 3),
    (&api::PUT_OBJECT, 2),
    (&api::DECRYPT, 2),
    (&api::SEND_MESSAGE, 2),
    (&api::RECEIVE_MESSAGE, 3),
];

impl Attack for Ec2CredentialsOutsideAws {
    fn name(&self) -> &'static str {
        "ec2-credentials-outside-aws"
    }

    fn description(&self) -> &'static str {
        "An EC2 instance profile session (session name i-0…, ASIA key in use from the instance's Amazon address) \
         is used from Datacamp Limited (a VPN) with the AWS CLI: GetCallerIdentity, ListBuckets, GetObject, \
         DescribeInstances, GetSecretValue."
    }

    fn kind(&self) -> Kind {
        Kind::Attack
    }

    fn must_fire(&self) -> &'static [&'static str] {
        &[EC2_CREDENTIALS_OUTSIDE_AWS]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = 0;
        let inst = &cast.rosters[account].instances[0];
        let start = window.at(SHARE);
        let (identity, mut steps) = instance_session(rng, account, inst, start);
        let thief = Source::new(identity, net::sample(rng, net::DATACAMP), Agent::Cli(&agents::INTRUDER)).listed();
        let last = [&api::DESCRIBE_INSTANCES, &api::GET_SECRET_VALUE];
        steps.extend(thief_calls(rng, &thief, account, inst, start + THIEF_AFTER, last, |step| step));
        steps
    }
}

/// What a thief does with an instance's session from `start`: asks who it is, lists the
/// buckets, reads a few objects, then calls `last`; every call goes through `route` (the VPC
/// endpoint it came through, if any).
pub(super) fn thief_calls(
    rng: &mut SmallRng,
    thief: &Source,
    account: usize,
    inst: &Instance,
    start: i64,
    last: [&'static Op; 2],
    route: impl Fn(Step) -> Step,
) -> Vec<Step> {
    let mut ops = vec![&api::GET_CALLER_IDENTITY, &api::LIST_BUCKETS];
    ops.extend((0..rng.random_range(2..5)).map(|_| &api::GET_OBJECT));
    ops.extend(last);
    let mut t = start;
    let mut steps = Vec::new();
    for op in ops {
        steps.push(route(thief.call(t, account, inst.region, op)));
        t += rng.random_range(5..40);
    }
    steps
}

/// A fresh instance-profile session of `inst` from `start`: EC2 assuming
/// the role for it, then the instance's own calls with it for `INSIDE`.
/// Returns the session's identity, for a thief to call with.
pub(super) fn instance_session(
    rng: &mut SmallRng,
    account: usize,
    inst: &Instance,
    start: i64,
) -> (UserIdentity, Vec<Step>) {
    let grant = Grant {
        role: inst.role.clone(),
        session_name: inst.id.clone(),
        session: Session::new(rng, start, false),
        duration: 21_600,
        cross_account: false,
    };
    let identity = inst.role.identity(&inst.id, &grant.session, Some(inst.delivery));
    let mut steps = vec![Source::service("ec2.amazonaws.com").assume_role(start, account, inst.region, grant)];
    let agent = |op: &Op| match op.name {
        "UpdateInstanceInformation" => agents::SSM_AGENT.to_string(),
        _ => agents::SERVER.agent(op),
    };
    let mut t = start + rng.random_range(5..30);
    while t < start + INSIDE {
        let op = *api::pick(rng, OPS);
        let instance = Source::new(identity.clone(), inst.ip.clone(), Agent::Fixed(agent(op)));
        steps.push(instance.call(t, account, inst.region, op));
        t += rng.random_range(30..90);
    }
    (identity, steps)
}
