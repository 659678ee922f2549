//! Look-alike: a console user signing in from an address they never used,
//! on a trip abroad, and browsing as usual. Console sessions call with
//! temporary keys (`ASIA…`), never the user's long-term key.

use super::{Agent, Attack, Cast, KEY_FIRST_SEEN_FROM_IP, Kind, Source, Step, Window, abroad};
use crate::api::{self, Op};
use crate::net;
use crate::principal::Session;
use crate::unit::AWS_INTERNAL;
use rand::Rng;
use rand::rngs::SmallRng;

pub(super) struct ConsoleSessionFromNewIp;

const SHARE: f64 = 0.58;

static OPS: &[(&Op, u32)] = &[
    (&api::DESCRIBE_INSTANCES, 6),
    (&api::DESCRIBE_INSTANCE_STATUS, 2),
    (&api::LIST_BUCKETS, 3),
    (&api::LIST_OBJECTS, 2),
    (&api::DESCRIBE_ALARMS, 3),
    (&api::DESCRIBE_LOG_GROUPS, 2),
    (&api::LIST_FUNCTIONS, 2),
    (&api::LOOKUP_EVENTS, 1),
    (&api::GET_ACCOUNT_SUMMARY, 1),
];

impl Attack for ConsoleSessionFromNewIp {
    fn name(&self) -> &'static str {
        "console-session-from-new-ip"
    }

    fn description(&self) -> &'static str {
        "An IAM console user signs in with MFA from a broadband address abroad never seen before and browses; the \
         session's calls carry a temporary ASIA key (sessionCredentialFromConsole), some made by the console's backend."
    }

    fn kind(&self) -> Kind {
        Kind::LookAlike
    }

    fn must_not_fire(&self) -> &'static [&'static str] {
        &[KEY_FIRST_SEEN_FROM_IP]
    }

    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step> {
        let account = 0;
        let (user, browser) = &cast.rosters[account].console_users[0];
        let ip = net::sample(rng, abroad(&cast.accounts[account]));
        let mut t = window.at(SHARE);
        let session = Session::new(rng, t, true);
        let mut steps = vec![
            Source::new(user.sign_in_identity(), ip.clone(), Agent::Fixed(browser.to_string()))
                .listed()
                .console_login(t, account, true),
        ];
        let identity = user.console_identity(&session);
        let person = Source::new(identity.clone(), ip, Agent::Fixed(browser.to_string())).listed().console();
        let backend = Source::new(identity, AWS_INTERNAL, Agent::Fixed(AWS_INTERNAL.into())).console();
        for _ in 0..rng.random_range(15..30) {
            t += rng.random_range(3..60);
            let source = if rng.random_bool(0.2) { &backend } else { &person };
            let op = *api::pick(rng, OPS);
            steps.push(source.call(t, account, 0, op));
        }
        steps
    }
}
