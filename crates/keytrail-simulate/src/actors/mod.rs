//! Actors: whoever makes calls in the estate, one kind per module. Each
//! actor plans its day from its own RNG (the same plan in every unit that
//! replays it) and emits the planned events that land in the unit at hand.
//! New behaviours are new actors: a module with a type implementing
//! [`Actor`], added to its account's staff in [`staff`]. Attacks live apart
//! (`crate::attacks`): they steal or imitate what the [`Roster`] lists.

mod console;
mod ec2;
mod engineer;
mod github;
mod lambda;
mod root;
mod runner;
mod service;
mod terraform;

pub(crate) use ec2::Instance;
pub(crate) use lambda::Function;

use crate::api;
use crate::estate::Account;
use crate::ids;
use crate::principal::{IamUser, Role, Session, service_identity};
use crate::record::UserIdentity;
use crate::time::DAY;
use crate::unit::{AssumeRole, Caller, Unit};
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::json;

pub(crate) trait Actor: Send + Sync {
    /// The actor's share of its home account's daily events, on a weekday
    /// or at a weekend.
    fn weight(&self, weekend: bool) -> f64;

    /// Whether the actor's events can land in `account` other than its
    /// home (cross-account access).
    fn visits(&self, _account: usize) -> bool {
        false
    }

    /// Plans the unit's day from `plan` (never from `unit.rng`, whose draws
    /// differ between units) with about `budget` events across all the
    /// regions and accounts the actor reaches, and emits those that land in
    /// `unit` (drawing their details from `unit.rng`).
    fn emit(&self, unit: &mut Unit, plan: &mut SmallRng, budget: u64);
}

/// The identities and workloads of an account, for attacks to steal or
/// imitate: the same keys, roles, instances and addresses its actors use.
pub(crate) struct Roster {
    /// Command-line users, in the order of [`Account::engineers`]; the first
    /// account's first two administer the other accounts.
    pub engineers: Vec<IamUser>,
    /// The addresses each engineer calls from (home, office), in the same order.
    pub engineer_ips: Vec<Vec<String>>,
    /// Console users with an IAM user (SSO users have none), and their browser.
    pub console_users: Vec<(IamUser, &'static str)>,
    pub github: IamUser,
    pub terraform: IamUser,
    pub functions: Vec<Function>,
    pub instances: Vec<Instance>,
    /// The self-hosted CI runners.
    pub runners: Vec<Instance>,
}

/// The actors of account `home`, and its roster.
pub(crate) fn staff(
    rng: &mut SmallRng,
    accounts: &[Account],
    home: usize,
    regions: &[String],
) -> (Vec<Box<dyn Actor>>, Roster) {
    let account = &accounts[home];
    let mut actors: Vec<Box<dyn Actor>> = Vec::new();
    let (mut engineers, mut engineer_ips) = (Vec::new(), Vec::new());
    for (i, name) in account.engineers.iter().enumerate() {
        // The first account's first two engineers administer the others.
        let admin_of = if home == 0 && i < 2 {
            (1..accounts.len()).map(|a| (a, accounts[a].admin_role.clone())).collect()
        } else {
            Vec::new()
        };
        let engineer = engineer::Engineer::new(rng, account, home, name, regions, admin_of);
        engineers.push(engineer.user().clone());
        engineer_ips.push(engineer.ips().to_vec());
        actors.push(Box::new(engineer));
    }
    let mut console_users = Vec::new();
    for (i, name) in account.console_users.iter().enumerate() {
        let sso = i == 0;
        let user = console::ConsoleUser::new(rng, account, home, name, regions, sso);
        console_users.extend(user.iam_user().map(|(u, browser)| (u.clone(), browser)));
        actors.push(Box::new(user));
    }
    let github = github::GithubActions::new(rng, account, home, regions);
    let runners = runner::Runners::new(rng, account, home, regions);
    let terraform = terraform::Terraform::new(rng, account, home, regions);
    let functions = lambda::Functions::new(rng, account, home, regions);
    let fleet = ec2::Fleet::new(rng, account, home, regions);
    let roster = Roster {
        engineers,
        engineer_ips,
        console_users,
        github: github.user().clone(),
        terraform: terraform.user().clone(),
        functions: functions.functions().to_vec(),
        instances: fleet.instances().cloned().collect(),
        runners: runners.instances().to_vec(),
    };
    actors.push(Box::new(github));
    actors.push(Box::new(runners));
    actors.push(Box::new(terraform));
    actors.push(Box::new(functions));
    actors.push(Box::new(fleet));
    actors.push(Box::new(service::Services::new(rng, account, home, regions)));
    actors.push(Box::new(root::Root::new(account, home)));
    (actors, roster)
}

/// End of the unit's day: planned steps at or past it are dropped.
fn day_end(unit: &Unit) -> i64 {
    unit.day + DAY
}

/// A think-time gap of a person between two calls.
fn human_gap(plan: &mut SmallRng) -> i64 {
    if plan.random_bool(0.1) { plan.random_range(30..300) } else { plan.random_range(1..20) }
}

/// Credentials an AWS service keeps fresh for a workload (an instance
/// profile, a Lambda function's role): a new session every few hours from
/// early in the day on.
fn rotations(plan: &mut SmallRng, day: i64, hours: std::ops::Range<i64>) -> Vec<Session> {
    let mut t = day + plan.random_range(0..600);
    let mut sessions = Vec::new();
    while t < day + DAY {
        sessions.push(Session::new(plan, t, false));
        t += plan.random_range(hours.start * 3600..hours.end * 3600);
    }
    sessions
}

/// The session in force at `t` (the last one started before it).
fn session_at(sessions: &[Session], t: i64) -> &Session {
    let i = sessions.partition_point(|s| s.start < t);
    &sessions[i.saturating_sub(1)]
}

/// A service assuming a role for a workload: the service is the caller, its
/// name the source and the agent.
fn service_assume_role(
    unit: &mut Unit,
    service: &'static str,
    role: &Role,
    session_name: &str,
    session: &Session,
    duration: i64,
) {
    let identity = service_identity(service);
    let caller = Caller { identity: &identity, ip: service, agent: service, console: false };
    unit.assume_role(
        session.start,
        &AssumeRole { caller: &caller, role, session_name, session, duration, cross_account: false },
    );
}

/// Splits `budget` over shares of `weights`, exactly.
fn split(budget: u64, weights: &[u32]) -> Vec<u64> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    let mut cum = 0;
    weights
        .iter()
        .map(|&w| {
            let lo = budget * cum / total;
            cum += u64::from(w);
            budget * cum / total - lo
        })
        .collect()
}

/// A `ConsoleLogin` event (console sign-in: no request id, no TLS details
/// of the browser).
pub(crate) fn console_login(
    unit: &mut Unit,
    t: i64,
    identity: UserIdentity,
    ip: &str,
    browser: &str,
    mfa: bool,
    success: bool,
) {
    let mut rec = unit.envelope(t, &api::CONSOLE_LOGIN, identity, ip, browser);
    rec.request_id = None;
    rec.event_type = "AwsConsoleSignIn";
    rec.response_elements = Some(json!({
        "ConsoleLogin": if success { "Success" } else { "Failure" }
    }));
    let state = ids::hex(&mut unit.rng, 16);
    rec.additional_event_data = Some(json!({
        "LoginTo": format!("https://console.aws.amazon.com/console/home?hashArgs=%23&isauthcode=true&state=hashArgsFromTB_us-east-1_{state}"),
        "MobileVersion": "No",
        "MFAUsed": if mfa { "Yes" } else { "No" },
    }));
    if !success {
        rec.error_message = Some("Failed authentication".into());
    }
    unit.push(rec);
}
