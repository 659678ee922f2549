//! A GitHub Actions deploy key replayed from a rented server: a compromised
//! action or dependency printed the workflow's long-term key, and the thief
//! checks whose it is and reads what the pipeline can reach (artifacts,
//! the deploy secrets).

use super::{Agent, Attack, Cast, GITHUB_KEY_OUTSIDE_CI, KEY_FIRST_SEEN_FROM_IP, Kind, Source, Step, Window};
use crate::agents;
use crate::api;
use crate::net;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct GithubKeyReplayed;

const SHARE: f64 = 0.50;

impl Attack for GithubKeyReplayed {
    fn name(&self) -> &'static str {
        "github-key-replayed"
    }

    fn description(&self) -> &'static str {
        "The first account's GitHub Actions deploy key (used by workflows from Microsoft's network) is replayed \
         from DigitalOcean with the AWS CLI: GetCallerIdentity, ListBuckets, ListObjects, GetObject, GetSecretValue."
    }

    fn kind(&self) -> Kind {
        Kind::Attack
    }

    fn must_fire(&self) -> &'static [&'static str] {
        &[GITHUB_KEY_OUTSIDE_CI, KEY_FIRST_SEEN_FROM_IP]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = 0;
        let user = &cast.rosters[account].github;
        let thief =
            Source::new(user.identity(), net::sample(rng, net::DIGITALOCEAN), Agent::Cli(&agents::INTRUDER)).listed();
        let mut t = window.at(SHARE);
        let mut steps = vec![thief.call(t, account, 0, &api::GET_CALLER_IDENTITY)];
        let mut ops = vec![&api::LIST_BUCKETS, &api::LIST_OBJECTS, &api::LIST_OBJECTS];
        ops.extend((0..rng.random_range(4..8)).map(|_| &api::GET_OBJECT));
        ops.extend([&api::LIST_SECRETS, &api::GET_SECRET_VALUE, &api::GET_SECRET_VALUE]);
        for op in ops {
            t += rng.random_range(3..40);
            steps.push(thief.call(t, account, 0, op));
        }
        steps
    }
}
