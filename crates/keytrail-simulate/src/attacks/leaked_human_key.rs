//! An engineer's access key pushed to a public repository: within a minute
//! AWS quarantines the user (see `quarantine_policy_attached`) and a
//! scanner on a rented server tries the key. It asks who the key is, lists
//! what it can, and tries to create a user for mailing spam, which the
//! quarantine policy refuses; its reads still go through.

use super::{Agent, Attack, Cast, KEY_FIRST_SEEN_FROM_IP, Kind, Source, Step, Window};
use crate::agents;
use crate::api;
use crate::ids;
use crate::net;
use crate::principal::IamUser;
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::json;

pub(super) struct LeakedHumanKey;

/// Where in the window the scanner's first call falls: past the first
/// third, so that even in a 12-day estate the key has ten days of history.
pub(super) const SHARE: f64 = 0.40;

/// The policy AWS attaches to users whose key it finds in public.
pub(super) const QUARANTINE_POLICY: &str = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3";

/// The engineer whose key leaks, and their account.
pub(super) fn victim<'c>(cast: &'c Cast) -> (usize, &'c IamUser) {
    let account = cast.account(1);
    (account, &cast.rosters[account].engineers[0])
}

impl Attack for LeakedHumanKey {
    fn name(&self) -> &'static str {
        "leaked-human-key"
    }

    fn description(&self) -> &'static str {
        "An engineer's long-term key, leaked in a public repository, is tried by a scanner on a rented server (OVH): \
         GetCallerIdentity, IAM, S3 and EC2 recon, and a CreateUser that the quarantine policy denies."
    }

    fn kind(&self) -> Kind {
        Kind::Attack
    }

    fn must_fire(&self) -> &'static [&'static str] {
        &[KEY_FIRST_SEEN_FROM_IP]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let (account, user) = victim(cast);
        let scanner =
            Source::new(user.identity(), net::sample(rng, net::OVH), Agent::Fixed(agents::KEY_SCANNER.into())).listed();
        let mut t = window.at(SHARE);
        let mut steps = vec![scanner.call(t, account, 0, &api::GET_CALLER_IDENTITY)];
        for op in [&api::LIST_USERS, &api::GET_ACCOUNT_SUMMARY, &api::LIST_BUCKETS, &api::LIST_ATTACHED_USER_POLICIES] {
            t += rng.random_range(1..4);
            let step = scanner.call(t, account, 0, op);
            steps.push(if op.name == "ListAttachedUserPolicies" {
                step.request(json!({"userName": user.name}))
            } else {
                step
            });
        }
        // Where could instances be started?
        t += rng.random_range(1..4);
        steps.push(scanner.call(t, account, 0, &api::DESCRIBE_REGIONS));
        for region in 0..cast.regions {
            t += rng.random_range(0..3);
            steps.push(scanner.call(t, account, region, &api::DESCRIBE_INSTANCES));
        }
        t += rng.random_range(2..6);
        let spammer = format!("ses-smtp-user.{}", ids::hex(rng, 8));
        steps.push(
            scanner
                .call(t, account, 0, &api::CREATE_USER)
                .request(json!({"userName": spammer}))
                .denied(Some(QUARANTINE_POLICY)),
        );
        steps
    }
}
