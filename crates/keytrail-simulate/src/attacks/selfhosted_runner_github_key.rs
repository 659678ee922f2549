//! Look-alike: a GitHub deploy key used outside GitHub's own runners, by a
//! self-hosted runner on EC2. Workflows start with the configure-aws-
//! credentials action, as on GitHub-hosted runners, but from an Amazon
//! address: a CI network, not a thief's.

use super::{Agent, Attack, Cast, GITHUB_KEY_OUTSIDE_CI, Kind, Source, Step, Window};
use crate::agents;
use crate::api::{self, Op};
use crate::principal::IamUser;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct SelfhostedRunnerGithubKey;

/// Jobs through the window.
const SHARES: [f64; 3] = [0.15, 0.50, 0.85];

impl Attack for SelfhostedRunnerGithubKey {
    fn name(&self) -> &'static str {
        "self-hosted-runner-github-key"
    }

    fn description(&self) -> &'static str {
        "A GitHub Actions deploy key used by workflows on a self-hosted runner on EC2 (an Amazon.com, Inc. address): \
         configure-aws-credentials' GetCallerIdentity, then an S3 upload and a CloudFront invalidation."
    }

    fn kind(&self) -> Kind {
        Kind::LookAlike
    }

    fn must_not_fire(&self) -> &'static [&'static str] {
        &[GITHUB_KEY_OUTSIDE_CI]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        // The last account's deploy key, unless that is the first account's,
        // whose key `github_key_replayed` steals: then a key of its own.
        let account = cast.accounts.len() - 1;
        let own;
        let user = if account == 0 {
            own = IamUser::new(rng, &cast.accounts[0].id, "github-actions-selfhosted");
            &own
        } else {
            &cast.rosters[account].github
        };
        let runner = &cast.rosters[account].runners[0];
        let agent = |op: &Op| match op.name {
            "GetCallerIdentity" => agents::GITHUB_CREDENTIALS.to_string(),
            _ => agents::SERVER.agent(op),
        };
        let mut steps = Vec::new();
        for share in SHARES {
            let mut t = window.at(share) + rng.random_range(0..1800);
            let mut ops = vec![&api::GET_CALLER_IDENTITY, &api::LIST_OBJECTS];
            ops.extend((0..rng.random_range(3..12)).map(|_| &api::PUT_OBJECT));
            ops.push(&api::CREATE_INVALIDATION);
            for op in ops {
                let job = Source::new(user.identity(), runner.ip.clone(), Agent::Fixed(agent(op))).listed();
                steps.push(job.call(t, account, runner.region, op));
                t += rng.random_range(1..30);
            }
        }
        steps
    }
}
