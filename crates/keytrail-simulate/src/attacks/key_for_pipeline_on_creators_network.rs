//! Look-alike of the backdoor key in `stolen_key_role_chain_backdoor`: an
//! engineer creates a user and an access key for a backup job, and the job
//! runs with the new key from the engineer's own office network. A key
//! created and then used elsewhere than where it was created, but from a
//! network its creator works from.

use super::{
    Agent, Attack, Cast, Kind, NEW_KEY_FROM_CREATORS_UNSEEN_NETWORK, Source, Step, Window, create_user_with_key,
};
use crate::agents;
use crate::api;
use crate::principal::IamUser;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct KeyForPipelineOnCreatorsNetwork;

const SHARE: f64 = 0.60;

impl Attack for KeyForPipelineOnCreatorsNetwork {
    fn name(&self) -> &'static str {
        "key-for-pipeline-on-creators-network"
    }

    fn description(&self) -> &'static str {
        "Look-alike: an engineer creates user backup-agent and its access key from home or office; the backup job \
         then runs with the new key from another address of the engineer's own ISP (PutObject, ListObjects)."
    }

    fn kind(&self) -> Kind {
        Kind::LookAlike
    }

    fn must_not_fire(&self) -> &'static [&'static str] {
        &[NEW_KEY_FROM_CREATORS_UNSEEN_NETWORK]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = 0;
        let (engineer, ips) = (&cast.rosters[account].engineers[0], &cast.rosters[account].engineer_ips[0]);
        let admin = Source::new(engineer.identity(), ips[0].clone(), Agent::Cli(agents::Cli::personal(rng)));
        let job = IamUser::new(rng, &cast.accounts[account].id, "backup-agent");
        let mut t = window.at(SHARE);
        let gap = rng.random_range(20..90);
        let mut steps = Vec::from(create_user_with_key(&admin, t, gap, account, &job));
        // The job's host is in the office, behind its other address.
        let host = Source::new(job.identity(), ips[ips.len() - 1].clone(), Agent::Cli(&agents::SERVER)).listed();
        t += gap + rng.random_range(600..1800);
        for _ in 0..12 {
            let op = if rng.random_bool(0.5) { &api::PUT_OBJECT } else { &api::LIST_OBJECTS };
            steps.push(host.call(t, account, 0, op));
            t += rng.random_range(300..900);
        }
        steps
    }
}
