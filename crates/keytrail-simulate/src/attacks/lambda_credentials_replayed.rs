//! A Lambda function's execution-role credentials used from outside: code
//! injection in the function dumped its environment, and the thief calls
//! with the session's key from a rented server while the function keeps
//! calling with it from inside Lambda. The scenario starts a fresh session
//! (a cold start: Lambda assumes the role) so the key is the function's for
//! the whole hour.

use super::{Agent, Attack, Cast, Grant, Kind, LAMBDA_CREDENTIALS_OUTSIDE, Source, Step, Window};
use crate::agents;
use crate::api;
use crate::net;
use crate::principal::Session;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct LambdaCredentialsReplayed;

const SHARE: f64 = 0.08;

/// The function calls for this long on the new session; the thief starts
/// a quarter of an hour in, so any hour-long window that holds the thief's
/// calls holds the function's too.
const INSIDE: i64 = 40 * 60;
const THIEF_AFTER: i64 = 14 * 60;

impl Attack for LambdaCredentialsReplayed {
    fn name(&self) -> &'static str {
        "lambda-credentials-replayed"
    }

    fn description(&self) -> &'static str {
        "A Lambda function's execution-role session key (ASIA), used by the function from inside Lambda, is used \
         in the same hour from Hetzner with the AWS CLI (no exec-env marker, no invokedBy)."
    }

    fn kind(&self) -> Kind {
        Kind::Attack
    }

    fn must_fire(&self) -> &'static [&'static str] {
        &[LAMBDA_CREDENTIALS_OUTSIDE]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = 0;
        let f = &cast.rosters[account].functions[0];
        let start = window.at(SHARE);
        let session = Session::new(rng, start, false);
        let grant = Grant {
            role: f.role.clone(),
            session_name: f.name.clone(),
            session,
            duration: 43_200,
            cross_account: false,
        };
        let identity = f.role.identity(&f.name, &grant.session, None);
        let mut steps =
            vec![Source::service("lambda.amazonaws.com").assume_role(start, account, f.region, grant.clone())];
        let function =
            Source::new(identity.clone(), net::sample(rng, net::aws(&f.region_name)), Agent::Fixed(f.agent.clone()));
        let mut t = start + rng.random_range(1..5);
        while t < start + INSIDE {
            let op = *api::pick(rng, f.ops);
            steps.push(function.call(t, account, f.region, op));
            t += rng.random_range(20..60);
        }
        let thief = Source::new(identity, net::sample(rng, net::HETZNER), Agent::Cli(&agents::INTRUDER)).listed();
        let mut t = start + THIEF_AFTER;
        for op in [&api::GET_CALLER_IDENTITY, &api::LIST_BUCKETS, &api::LIST_SECRETS, &api::GET_SECRET_VALUE] {
            steps.push(thief.call(t, account, f.region, op));
            t += rng.random_range(5..45);
        }
        steps
    }
}
