//! Look-alike of `ec2_credentials_from_another_account`: an instance whose
//! VPC reaches S3 and SSM through an endpoint of its own account. The calls
//! carry a VPC endpoint and a private address, as the attack's do, but the
//! endpoint's account is the instance's.

use super::ec2_credentials_outside_aws::instance_session;
use super::{
    Agent, Attack, Cast, EC2_CREDENTIALS_FROM_ANOTHER_ACCOUNT, EC2_CREDENTIALS_OUTSIDE_AWS, Kind, Source, Step, Window,
};
use crate::agents;
use crate::api;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct InstanceThroughOwnEndpoint;

const SHARE: f64 = 0.34;

impl Attack for InstanceThroughOwnEndpoint {
    fn name(&self) -> &'static str {
        "instance-through-own-endpoint"
    }

    fn description(&self) -> &'static str {
        "Look-alike: an EC2 instance profile session reaches S3 and SSM from the instance's private address \
         through a VPC endpoint of the instance's own account (vpcEndpointAccountId is its account)."
    }

    fn kind(&self) -> Kind {
        Kind::LookAlike
    }

    fn must_not_fire(&self) -> &'static [&'static str] {
        &[EC2_CREDENTIALS_FROM_ANOTHER_ACCOUNT, EC2_CREDENTIALS_OUTSIDE_AWS]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = cast.account(2);
        let inst = &cast.rosters[account].instances[0];
        let start = window.at(SHARE);
        let (identity, mut steps) = instance_session(rng, account, inst, start);
        let own = &cast.accounts[account];
        let app = Source::new(identity, inst.private_ip.clone(), Agent::Cli(&agents::SERVER)).listed();
        let mut t = start + rng.random_range(60..300);
        for op in [&api::GET_OBJECT, &api::PUT_OBJECT, &api::GET_PARAMETER, &api::GET_OBJECT, &api::PUT_OBJECT] {
            steps.push(app.call(t, account, inst.region, op).through_endpoint(&own.vpc_endpoint, &own.id));
            t += rng.random_range(20..120);
        }
        steps
    }
}
