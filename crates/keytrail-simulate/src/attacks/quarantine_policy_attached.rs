//! AWS quarantining a user whose key it found in public: it attaches the
//! `AWSCompromisedKeyQuarantineV3` managed policy. CloudTrail records the
//! call as the user's own, with the exposed key, made from "AWS Internal"
//! (tools that look for these events key on that source address and on the
//! user name being the quarantined user's). It comes about a minute after
//! the leak and just before the scanner of `leaked_human_key`.

use super::leaked_human_key::{self, QUARANTINE_POLICY};
use super::{Agent, Attack, Cast, Kind, QUARANTINE_POLICY_ATTACHED, Source, Step, Window};
use crate::api;
use crate::unit::AWS_INTERNAL;
use rand::rngs::SmallRng;
use serde_json::json;

pub(super) struct QuarantinePolicyAttached;

/// Seconds between the quarantine and the scanner's first call.
const AHEAD: i64 = 67;

impl Attack for QuarantinePolicyAttached {
    fn name(&self) -> &'static str {
        "quarantine-policy-attached"
    }

    fn description(&self) -> &'static str {
        "AWS attaches AWSCompromisedKeyQuarantineV3 to the engineer whose key leaked (AttachUserPolicy from AWS Internal)."
    }

    fn kind(&self) -> Kind {
        Kind::Attack
    }

    fn must_fire(&self) -> &'static [&'static str] {
        &[QUARANTINE_POLICY_ATTACHED]
    }

    fn plan(&self, cast: &Cast, _rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let (account, user) = leaked_human_key::victim(cast);
        let aws = Source::new(user.identity(), AWS_INTERNAL, Agent::Fixed(AWS_INTERNAL.into()));
        let t = window.at(leaked_human_key::SHARE) - AHEAD;
        vec![
            aws.call(t, account, 0, &api::ATTACH_USER_POLICY)
                .request(json!({"userName": user.name, "policyArn": QUARANTINE_POLICY})),
        ]
    }
}
