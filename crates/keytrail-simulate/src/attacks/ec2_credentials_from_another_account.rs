//! An EC2 instance's role credentials replayed from the thief's own AWS
//! account: the stolen instance-profile session is used from an instance in
//! the attacker's default VPC, through a VPC endpoint of the attacker's
//! account. CloudTrail records the private address (no network to judge)
//! and, in `vpcEndpointAccountId`, the account that owns the endpoint: not
//! the instance's.

use super::ec2_credentials_outside_aws::{instance_session, thief_calls};
use super::{Agent, Attack, Cast, EC2_CREDENTIALS_FROM_ANOTHER_ACCOUNT, Kind, Source, Step, Window};
use crate::agents;
use crate::api;
use crate::ids;
use crate::net;
use rand::rngs::SmallRng;

pub(super) struct Ec2CredentialsFromAnotherAccount;

const SHARE: f64 = 0.30;

/// When the thief starts, into the instance's fresh session.
const THIEF_AFTER: i64 = 25 * 60;

impl Attack for Ec2CredentialsFromAnotherAccount {
    fn name(&self) -> &'static str {
        "ec2-credentials-from-another-account"
    }

    fn description(&self) -> &'static str {
        "An EC2 instance profile session (session name i-…) is replayed from an instance in the attacker's own AWS \
         account, through that account's VPC endpoint (vpcEndpointAccountId is not the instance's account; the \
         source is a private 172.31.x address): GetCallerIdentity, ListBuckets, GetObject, GetSecretValue, \
         GetParametersByPath."
    }

    fn kind(&self) -> Kind {
        Kind::Attack
    }

    fn must_fire(&self) -> &'static [&'static str] {
        &[EC2_CREDENTIALS_FROM_ANOTHER_ACCOUNT]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = cast.account(1);
        let inst = &cast.rosters[account].instances[0];
        let start = window.at(SHARE);
        let (identity, mut steps) = instance_session(rng, account, inst, start);
        let (attacker, endpoint) = (ids::account_id(rng), format!("vpce-0{}", ids::hex(rng, 16)));
        let thief = Source::new(identity, net::sample(rng, net::DEFAULT_VPC), Agent::Cli(&agents::INTRUDER)).listed();
        let last = [&api::GET_SECRET_VALUE, &api::GET_PARAMETERS_BY_PATH];
        let route = |step: Step| step.through_endpoint(&endpoint, &attacker);
        steps.extend(thief_calls(rng, &thief, account, inst, start + THIEF_AFTER, last, route));
        steps
    }
}
