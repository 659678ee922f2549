//! A stolen engineer's key used to take over an account: from a rented
//! server the thief assumes the platform's admin role (into another account
//! when the engineer administers others), and with the role session creates
//! a user of their own with a key, a console password and administrator
//! rights. CloudTrail's AssumeRole event names the session's key in
//! `responseElements.credentials`, which is how the session's calls lead
//! back to the stolen key.

use super::{
    Agent, Attack, Cast, Grant, KEY_FIRST_SEEN_FROM_IP, Kind, PERSISTENCE_AFTER_FIRST_SEEN, Source, Step, Window,
};
use crate::agents;
use crate::api;
use crate::ids;
use crate::net;
use crate::principal::Session;
use crate::time;
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::json;

pub(super) struct StolenKeyRoleChainBackdoor;

const SHARE: f64 = 0.78;

impl Attack for StolenKeyRoleChainBackdoor {
    fn name(&self) -> &'static str {
        "stolen-key-role-chain-backdoor"
    }

    fn description(&self) -> &'static str {
        "An administrator's long-term key, stolen, is used from DigitalOcean to assume the PlatformAdmin role; the \
         role session (ASIA key from the AssumeRole response) creates user backdoor-…, an access key and a console \
         password for it, and attaches AdministratorAccess."
    }

    fn kind(&self) -> Kind {
        Kind::Attack
    }

    fn must_fire(&self) -> &'static [&'static str] {
        &[KEY_FIRST_SEEN_FROM_IP, PERSISTENCE_AFTER_FIRST_SEEN]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        // The first account's second engineer administers the others.
        let home = 0;
        let user = &cast.rosters[home].engineers[1];
        let target = cast.account(1);
        let role = cast.accounts[target].admin_role.clone();
        let ip = net::sample(rng, net::DIGITALOCEAN);
        let thief = Source::new(user.identity(), ip.clone(), Agent::Cli(&agents::INTRUDER)).listed();
        let mut t = window.at(SHARE);
        let mut steps = vec![thief.call(t, home, 0, &api::GET_CALLER_IDENTITY)];
        t += rng.random_range(20..60);
        let grant = Grant {
            role: role.clone(),
            session_name: user.name.clone(),
            session: Session::new(rng, t, false),
            duration: 3600,
            cross_account: target != home,
        };
        let session = role.identity(&grant.session_name, &grant.session, None);
        // Recorded in the caller's account and, across accounts, the role's.
        steps.push(thief.assume_role(t, home, 0, grant.clone()));
        if target != home {
            steps.push(thief.assume_role(t, target, 0, grant));
        }
        let admin = Source::new(session, ip, Agent::Cli(&agents::INTRUDER)).listed();
        t += rng.random_range(5..20);
        steps.push(admin.call(t, target, 0, &api::GET_CALLER_IDENTITY));

        let account_id = &cast.accounts[target].id;
        let name = format!("backdoor-{}", ids::hex(rng, 6));
        t += rng.random_range(20..90);
        steps.push(admin.call(t, target, 0, &api::CREATE_USER).request(json!({"userName": name})).response(json!({
            "user": {
                "path": "/",
                "userName": name,
                "userId": ids::principal_id(rng, "AIDA"),
                "arn": format!("arn:aws:iam::{account_id}:user/{name}"),
                "createDate": time::aws_long(t),
            }
        })));
        t += rng.random_range(3..15);
        steps.push(admin.call(t, target, 0, &api::CREATE_ACCESS_KEY).request(json!({"userName": name})).response(
            json!({"accessKey": {
                "userName": name,
                "accessKeyId": ids::access_key_id(rng, "AKIA"),
                "status": "Active",
                "secretAccessKey": "HIDDEN_DUE_TO_SECURITY_REASONS",
                "createDate": time::aws_long(t),
            }}),
        ));
        t += rng.random_range(3..15);
        steps.push(
            admin
                .call(t, target, 0, &api::ATTACH_USER_POLICY)
                .request(json!({"userName": name, "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})),
        );
        t += rng.random_range(3..15);
        steps.push(
            admin
                .call(t, target, 0, &api::CREATE_LOGIN_PROFILE)
                .request(json!({"userName": name, "passwordResetRequired": false}))
                .response(json!({"loginProfile": {
                    "userName": name,
                    "createDate": time::aws_long(t),
                    "passwordResetRequired": false,
                }})),
        );
        steps
    }
}
