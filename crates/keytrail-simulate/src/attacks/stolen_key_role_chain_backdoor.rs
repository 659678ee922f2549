//! A stolen engineer's key used to take over an account: from a rented
//! server the thief assumes the platform's admin role (into another account
//! when the engineer administers others), and with the role session creates
//! a user of their own with a key, a console password and administrator
//! rights. CloudTrail's AssumeRole event names the session's key in
//! `responseElements.credentials`, which is how the session's calls lead
//! back to the stolen key. Hours later the backdoor user's key is used from
//! a VPN: a network the admin role, its creator, never called from.

use super::{
    Agent, Attack, Cast, Grant, KEY_FIRST_SEEN_FROM_IP, Kind, NEW_KEY_FROM_CREATORS_UNSEEN_NETWORK,
    PERSISTENCE_AFTER_FIRST_SEEN, Source, Step, Window, create_user_with_key,
};
use crate::agents;
use crate::api;
use crate::ids;
use crate::net;
use crate::principal::{IamUser, Session};
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
         password for it, and attaches AdministratorAccess; hours later the backdoor key is used from Datacamp Limited (a VPN): \
         GetCallerIdentity, ListBuckets, ListSecrets, GetSecretValue."
    }

    fn kind(&self) -> Kind {
        Kind::Attack
    }

    fn must_fire(&self) -> &'static [&'static str] {
        &[KEY_FIRST_SEEN_FROM_IP, PERSISTENCE_AFTER_FIRST_SEEN, NEW_KEY_FROM_CREATORS_UNSEEN_NETWORK]
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

        let name = format!("backdoor-{}", ids::hex(rng, 6));
        let backdoor = IamUser::new(rng, &cast.accounts[target].id, &name);
        t += rng.random_range(20..90);
        let gap = rng.random_range(3..15);
        steps.extend(create_user_with_key(&admin, t, gap, target, &backdoor));
        t += gap;
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
        // Hours later the backdoor key goes to work, from a VPN the admin role never called from.
        let vpn =
            Source::new(backdoor.identity(), net::sample(rng, net::DATACAMP), Agent::Cli(&agents::INTRUDER)).listed();
        t += rng.random_range(2 * 3600..4 * 3600);
        for op in [&api::GET_CALLER_IDENTITY, &api::LIST_BUCKETS, &api::LIST_SECRETS, &api::GET_SECRET_VALUE] {
            steps.push(vpn.call(t, target, 0, op));
            t += rng.random_range(10..120);
        }
        steps
    }
}
