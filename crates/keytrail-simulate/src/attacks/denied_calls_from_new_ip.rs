//! Look-alike: an engineer's key from an address it never used, every call
//! refused. Travelling, the engineer runs the usual commands from a hotel
//! without the VPN, and the account's policy that denies calls from
//! outside the company's networks refuses each one. Nothing succeeded, so
//! nothing was done with the key from there.

use super::{Agent, Attack, Cast, KEY_FIRST_SEEN_FROM_IP, Kind, Source, Step, Window, abroad};
use crate::agents::Cli;
use crate::api;
use crate::net;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct DeniedCallsFromNewIp;

const SHARE: f64 = 0.45;

impl Attack for DeniedCallsFromNewIp {
    fn name(&self) -> &'static str {
        "denied-calls-from-new-ip"
    }

    fn description(&self) -> &'static str {
        "An engineer's long-term key calls from a broadband address abroad it never used, and every call is denied \
         by the account's deny-outside-corporate-network policy (no GetCallerIdentity, which no policy can deny)."
    }

    fn kind(&self) -> Kind {
        Kind::LookAlike
    }

    fn must_not_fire(&self) -> &'static [&'static str] {
        &[KEY_FIRST_SEEN_FROM_IP]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = cast.account(2);
        let user = &cast.rosters[account].engineers[2];
        let policy = format!("arn:aws:iam::{}:policy/deny-outside-corporate-network", cast.accounts[account].id);
        let ip = net::sample(rng, abroad(&cast.accounts[account]));
        let traveller = Source::new(user.identity(), ip, Agent::Cli(Cli::personal(rng))).listed();
        let mut t = window.at(SHARE);
        let mut steps = Vec::new();
        for op in [&api::LIST_BUCKETS, &api::LIST_OBJECTS, &api::LIST_USERS, &api::GET_PARAMETER, &api::LIST_SECRETS] {
            steps.push(traveller.call(t, account, 0, op).denied(Some(&policy)));
            t += rng.random_range(5..120);
        }
        steps
    }
}
