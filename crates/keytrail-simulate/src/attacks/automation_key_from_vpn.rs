//! The Terraform pipeline's key, which only ever calls from Google Cloud,
//! used from a commercial VPN's exit: someone who copied the key out of the
//! pipeline's variables checks it and reads the account's secrets.

use super::{Agent, Attack, Cast, KEY_FIRST_SEEN_FROM_IP, Kind, RARE_AS_ORGANIZATION, Source, Step, Window};
use crate::agents;
use crate::api;
use crate::net;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct AutomationKeyFromVpn;

const SHARE: f64 = 0.64;

impl Attack for AutomationKeyFromVpn {
    fn name(&self) -> &'static str {
        "automation-key-from-vpn"
    }

    fn description(&self) -> &'static str {
        "The terraform user's key (all its calls come from Google LLC) makes four successful sensitive calls from \
         an M247 VPN exit: GetCallerIdentity, ListSecrets and two GetSecretValue."
    }

    fn kind(&self) -> Kind {
        Kind::Attack
    }

    fn must_fire(&self) -> &'static [&'static str] {
        &[RARE_AS_ORGANIZATION, KEY_FIRST_SEEN_FROM_IP]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = cast.account(1);
        let user = &cast.rosters[account].terraform;
        let thief = Source::new(user.identity(), net::sample(rng, net::M247), Agent::Cli(&agents::INTRUDER)).listed();
        let mut t = window.at(SHARE);
        let mut steps = Vec::new();
        for op in [&api::GET_CALLER_IDENTITY, &api::LIST_SECRETS, &api::GET_SECRET_VALUE, &api::GET_SECRET_VALUE] {
            steps.push(thief.call(t, account, 0, op));
            t += rng.random_range(10..90);
        }
        steps
    }
}
