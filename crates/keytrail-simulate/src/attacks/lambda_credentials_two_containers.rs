//! Look-alike: one Lambda session key seen from two addresses. Lambda runs
//! concurrent invocations in separate execution environments, each with
//! its own address, and all of them get the function's current role
//! session; every call still comes from inside Lambda.

use super::{Agent, Attack, Cast, Grant, Kind, LAMBDA_CREDENTIALS_OUTSIDE, Source, Step, Window};
use crate::api;
use crate::net;
use crate::principal::Session;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct LambdaCredentialsTwoContainers;

const SHARE: f64 = 0.70;

/// How long the two environments call on the session.
const SPAN: i64 = 30 * 60;

impl Attack for LambdaCredentialsTwoContainers {
    fn name(&self) -> &'static str {
        "lambda-credentials-two-containers"
    }

    fn description(&self) -> &'static str {
        "A Lambda function's new role session is used from two Amazon addresses (two execution environments), \
         every call with the runtime's exec-env/AWS_Lambda agent."
    }

    fn kind(&self) -> Kind {
        Kind::LookAlike
    }

    fn must_not_fire(&self) -> &'static [&'static str] {
        &[LAMBDA_CREDENTIALS_OUTSIDE]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = cast.account(1);
        let f = &cast.rosters[account].functions[1];
        let start = window.at(SHARE);
        let grant = Grant {
            role: f.role.clone(),
            session_name: f.name.clone(),
            session: Session::new(rng, start, false),
            duration: 43_200,
            cross_account: false,
        };
        let identity = f.role.identity(&f.name, &grant.session, None);
        let mut steps = vec![Source::service("lambda.amazonaws.com").assume_role(start, account, f.region, grant)];
        let environments: Vec<Source> = (0..2)
            .map(|_| {
                let ip = net::sample(rng, net::aws(&f.region_name));
                Source::new(identity.clone(), ip, Agent::Fixed(f.agent.clone())).listed()
            })
            .collect();
        let mut t = start + rng.random_range(1..5);
        let mut i = 0;
        while t < start + SPAN {
            let op = *api::pick(rng, f.ops);
            steps.push(environments[i % 2].call(t, account, f.region, op));
            i += 1;
            t += rng.random_range(10..50);
        }
        steps
    }
}
