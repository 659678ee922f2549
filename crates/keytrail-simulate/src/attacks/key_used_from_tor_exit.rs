//! An engineer's long-term key used through Tor: the thief hides behind an
//! exit relay that is on the Tor exit list `keytrail simulate` writes beside
//! the logs (`intel/tor-exits.txt`, for `keytrail intel add`). The exit's
//! address is new for the key, as any thief's would be.

use super::{Agent, Attack, Cast, KEY_FIRST_SEEN_FROM_IP, KNOWN_BAD_ADDRESS, Kind, Source, Step, Window};
use crate::agents;
use crate::api;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct KeyUsedFromTorExit;

/// Past the first third of the window, so the key has ten days of history.
const SHARE: f64 = 0.52;

impl Attack for KeyUsedFromTorExit {
    fn name(&self) -> &'static str {
        "key-used-from-tor-exit"
    }

    fn description(&self) -> &'static str {
        "An engineer's long-term key is used from a Tor exit relay listed in intel/tor-exits.txt: \
         GetCallerIdentity, ListBuckets, ListUsers, GetSecretValue and GetObject."
    }

    fn kind(&self) -> Kind {
        Kind::Attack
    }

    fn must_fire(&self) -> &'static [&'static str] {
        &[KNOWN_BAD_ADDRESS, KEY_FIRST_SEEN_FROM_IP]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = cast.account(2);
        let user = &cast.rosters[account].engineers[0];
        let exit = cast.tor_exits[rng.random_range(0..cast.tor_exits.len())].clone();
        let thief = Source::new(user.identity(), exit, Agent::Cli(&agents::INTRUDER)).listed();
        let mut t = window.at(SHARE);
        let mut steps = Vec::new();
        for op in [&api::GET_CALLER_IDENTITY, &api::LIST_BUCKETS, &api::LIST_USERS, &api::GET_SECRET_VALUE] {
            steps.push(thief.call(t, account, 0, op));
            t += rng.random_range(10..90);
        }
        for _ in 0..rng.random_range(2..6) {
            steps.push(thief.call(t, account, 0, &api::GET_OBJECT));
            t += rng.random_range(3..30);
        }
        steps
    }
}
