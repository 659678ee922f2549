//! Attacks on the estate, and look-alikes of them, each with its ground
//! truth: the keys, addresses and users it involves, when it happened, which
//! detection rules must alert on it and which it imitates without being what
//! they look for. They are how detections are proven on data.
//!
//! Each scenario is one module with a type implementing [`Attack`]. It plans
//! its events once, when the estate is built, from what the accounts' actors
//! really use (their keys, roles, instances: the [`Roster`]) and from an RNG
//! of its own, so enabling one scenario never changes another. Every unit
//! then emits the planned events that land in it, after the actors' events,
//! so the benign estate is the same with or without attacks.
//!
//! Scenarios take place in the estate's last three days (fewer if it is
//! shorter), at fixed shares of that window: detections that learn from
//! seven to ten days of history see a baseline before them. Those that a
//! rule must see as a key's first use of an address come after the first
//! third, so a 12-day estate gives them ten days of history too.

mod automation_key_from_vpn;
mod console_session_from_new_ip;
mod denied_calls_from_new_ip;
mod ec2_credentials_from_another_account;
mod ec2_credentials_outside_aws;
mod github_key_replayed;
mod instance_through_own_endpoint;
mod key_for_pipeline_on_creators_network;
mod key_used_from_tor_exit;
mod lambda_credentials_replayed;
mod lambda_credentials_two_containers;
mod leaked_human_key;
mod quarantine_policy_attached;
mod selfhosted_runner_github_key;
mod stolen_key_role_chain_backdoor;

use crate::actors::{Roster, console_login};
use crate::agents::Cli;
use crate::api::Op;
use crate::estate::{Account, Estate};
use crate::ids::{self, mix};
use crate::net::{self, Cidr};
use crate::principal::{IamUser, Role, Session, service_identity};
use crate::record::UserIdentity;
use crate::time::{self, DAY};
use crate::unit::{AssumeRole, Caller, Unit};
use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::Serialize;
use serde_json::{Value, json};

/// The rules the ground truth names, by rule id.
const GITHUB_KEY_OUTSIDE_CI: &str = "b8c7d6e5-f4a3-4b2c-9d8e-7f6a5b4c3d2e";
const KEY_FIRST_SEEN_FROM_IP: &str = "9f8e3c5e-f72e-4e91-93f6-e98a4fae3e4f";
const LAMBDA_CREDENTIALS_OUTSIDE: &str = "0ae9b6c5-1deb-4ed4-9337-659dd701dfbc";
const RARE_AS_ORGANIZATION: &str = "d1b37c0b-4f8b-4cfb-9a1d-639bf8c028b7";
const PERSISTENCE_AFTER_FIRST_SEEN: &str = "438f0c7c-d50a-493c-9b86-df6a1ea58af5";
const EC2_CREDENTIALS_OUTSIDE_AWS: &str = "14d6c590-b2ff-4d8b-a974-153c6f4afbe2";
const QUARANTINE_POLICY_ATTACHED: &str = "8f4444d9-02dd-49fa-9f37-75c935c616dc";
const EC2_CREDENTIALS_FROM_ANOTHER_ACCOUNT: &str = "68af2e78-2e4d-402c-b603-6ca6f620943f";
const KNOWN_BAD_ADDRESS: &str = "5691daab-dfb5-4b8f-b375-afaed7978849";
const NEW_KEY_FROM_CREATORS_UNSEEN_NETWORK: &str = "2bea96ef-b2ca-4664-b572-96b17f033dfc";

/// Seed domain of the scenarios' RNGs.
const ATTACKS: u64 = 5;

/// Every scenario, in the order the ground truth lists them.
const ALL: &[&dyn Attack] = &[
    &leaked_human_key::LeakedHumanKey,
    &quarantine_policy_attached::QuarantinePolicyAttached,
    &github_key_replayed::GithubKeyReplayed,
    &lambda_credentials_replayed::LambdaCredentialsReplayed,
    &automation_key_from_vpn::AutomationKeyFromVpn,
    &stolen_key_role_chain_backdoor::StolenKeyRoleChainBackdoor,
    &ec2_credentials_outside_aws::Ec2CredentialsOutsideAws,
    &selfhosted_runner_github_key::SelfhostedRunnerGithubKey,
    &denied_calls_from_new_ip::DeniedCallsFromNewIp,
    &console_session_from_new_ip::ConsoleSessionFromNewIp,
    &lambda_credentials_two_containers::LambdaCredentialsTwoContainers,
    &ec2_credentials_from_another_account::Ec2CredentialsFromAnotherAccount,
    &instance_through_own_endpoint::InstanceThroughOwnEndpoint,
    &key_used_from_tor_exit::KeyUsedFromTorExit,
    &key_for_pipeline_on_creators_network::KeyForPipelineOnCreatorsNetwork,
];

/// The names of all scenarios.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    ALL.iter().map(|a| a.name())
}

#[derive(Clone, Copy)]
pub(crate) enum Kind {
    Attack,
    /// Benign activity shaped like an attack, that a rule must not take for one.
    LookAlike,
}

/// A scenario: what it is, what it emits, and what rules must make of it.
pub(crate) trait Attack: Sync {
    /// Its name on the command line and in the ground truth.
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    fn kind(&self) -> Kind;
    /// Rules that must alert on it.
    fn must_fire(&self) -> &'static [&'static str] {
        &[]
    }
    /// Rules it imitates, that must not alert on it.
    fn must_not_fire(&self) -> &'static [&'static str] {
        &[]
    }
    /// Its events, drawn from `rng` and placed inside `window`.
    fn plan(&self, cast: &Cast, rng: &mut SmallRng, window: &Window) -> Vec<Step>;
}

/// What scenarios draw on: the accounts and what works in them.
pub(crate) struct Cast<'a> {
    pub accounts: &'a [Account],
    pub rosters: &'a [Roster],
    /// How many regions the estate works in.
    pub regions: usize,
    /// The addresses of the Tor exit list written beside the logs.
    pub tor_exits: &'a [String],
}

impl Cast<'_> {
    /// The account the `i`-th role of a scenario plays in: scenarios spread
    /// over the accounts there are.
    fn account(&self, i: usize) -> usize {
        i % self.accounts.len()
    }
}

/// The stretch of time scenarios take place in.
pub(crate) struct Window {
    start: i64,
    len: i64,
}

impl Window {
    /// The minute `share` of the way into the window.
    fn at(&self, share: f64) -> i64 {
        self.start + (self.len as f64 * share) as i64 / 60 * 60
    }
}

/// The agent of a run of calls: fixed, or a CLI's that names each command.
pub(crate) enum Agent {
    Fixed(String),
    Cli(&'static Cli),
}

impl Agent {
    fn of(&self, op: &Op) -> String {
        match self {
            Agent::Fixed(agent) => agent.clone(),
            Agent::Cli(cli) => cli.agent(op),
        }
    }
}

/// Whoever makes a run of calls: identity, address and agent.
pub(crate) struct Source {
    identity: UserIdentity,
    ip: String,
    agent: Agent,
    /// The address goes into the ground truth's `source_ips`.
    listed: bool,
    console: bool,
}

impl Source {
    fn new(identity: UserIdentity, ip: impl Into<String>, agent: Agent) -> Self {
        Source { identity, ip: ip.into(), agent, listed: false, console: false }
    }

    /// An AWS service acting for the account, named as source and agent.
    fn service(name: &'static str) -> Self {
        Source::new(service_identity(name), name, Agent::Fixed(name.to_string()))
    }

    /// The address is one the scenario is about (the attacker's, or the one
    /// that makes a look-alike look like an attack).
    fn listed(mut self) -> Self {
        self.listed = true;
        self
    }

    /// Calls with the credentials of a console sign-in.
    fn console(mut self) -> Self {
        self.console = true;
        self
    }

    fn step(&self, t: i64, account: usize, region: usize, op: &'static Op, what: What) -> Step {
        Step {
            t,
            account,
            region,
            op,
            identity: self.identity.clone(),
            ip: self.ip.clone(),
            agent: self.agent.of(op),
            listed: self.listed,
            endpoint: None,
            what,
        }
    }

    /// A successful call of `op` in `account` through `region`'s endpoint.
    fn call(&self, t: i64, account: usize, region: usize, op: &'static Op) -> Step {
        let what = What::Call { console: self.console, request: None, response: None, error: None };
        self.step(t, account, region, op, what)
    }

    /// `sts:AssumeRole`, recorded in `account`.
    fn assume_role(&self, t: i64, account: usize, region: usize, grant: Grant) -> Step {
        self.step(t, account, region, &crate::api::ASSUME_ROLE, What::AssumeRole(grant))
    }

    /// A successful console sign-in.
    fn console_login(&self, t: i64, account: usize, mfa: bool) -> Step {
        self.step(t, account, 0, &crate::api::CONSOLE_LOGIN, What::ConsoleLogin { mfa })
    }
}

/// Role credentials handed out by `sts:AssumeRole`.
#[derive(Clone)]
pub(crate) struct Grant {
    role: Role,
    session_name: String,
    session: Session,
    duration: i64,
    /// The caller is in another account: both accounts record the call.
    cross_account: bool,
}

pub(crate) enum What {
    Call { console: bool, request: Option<Value>, response: Option<Value>, error: Option<(&'static str, String)> },
    AssumeRole(Grant),
    ConsoleLogin { mfa: bool },
}

/// One planned event.
pub(crate) struct Step {
    t: i64,
    /// The account that records it, and the region whose endpoint was called.
    account: usize,
    region: usize,
    op: &'static Op,
    identity: UserIdentity,
    ip: String,
    agent: String,
    listed: bool,
    /// The VPC endpoint the call came through, and the account owning it.
    endpoint: Option<(String, String)>,
    what: What,
}

impl Step {
    /// The call came through `account`'s VPC endpoint `id`.
    fn through_endpoint(mut self, id: &str, account: &str) -> Self {
        self.endpoint = Some((id.to_string(), account.to_string()));
        self
    }

    /// Request parameters of the scenario's own instead of the operation's usual ones.
    fn request(mut self, value: Value) -> Self {
        if let What::Call { request, .. } = &mut self.what {
            *request = Some(value);
        }
        self
    }

    fn response(mut self, value: Value) -> Self {
        if let What::Call { response, .. } = &mut self.what {
            *response = Some(value);
        }
        self
    }

    /// The call is refused: by `policy`'s explicit deny, or for want of an
    /// allow. S3 says no more than "Access Denied"; the others name the
    /// caller and the action, as IAM's authorizer words it.
    fn denied(mut self, policy: Option<&str>) -> Self {
        let caller = self.identity.arn.as_deref().unwrap_or_default();
        let (service, action) = (self.op.service(), self.op.action());
        let message = match (service, policy) {
            ("s3", _) => "Access Denied".to_string(),
            (_, Some(policy)) => format!(
                "User: {caller} is not authorized to perform: {service}:{action} with an explicit deny in an identity-based policy: {policy}"
            ),
            (_, None) => format!(
                "User: {caller} is not authorized to perform: {service}:{action} because no identity-based policy allows the {service}:{action} action"
            ),
        };
        if let What::Call { error, .. } = &mut self.what {
            *error = Some(("AccessDenied", message));
        }
        self
    }

    /// The user name the event shows for its caller: an IAM user's, or the
    /// role's for a role session.
    fn user_name(&self) -> Option<&str> {
        let issuer = self.identity.session_context.as_ref().and_then(|c| c.session_issuer.user_name.as_deref());
        self.identity.user_name.as_deref().or(issuer)
    }

    /// Writes the event into `unit`.
    fn emit(&self, unit: &mut Unit) {
        let caller = Caller {
            identity: &self.identity,
            ip: &self.ip,
            agent: &self.agent,
            console: matches!(self.what, What::Call { console: true, .. }),
        };
        match &self.what {
            What::Call { request, response, error, .. } => {
                let mut rec = unit.request(self.t, &caller, self.op);
                if request.is_some() {
                    rec.request_parameters = request.clone();
                }
                if response.is_some() {
                    rec.response_elements = response.clone();
                }
                if let Some((code, message)) = error {
                    rec.fail(code, message.clone());
                }
                if let Some((id, account)) = &self.endpoint {
                    rec.vpc_endpoint_id = Some(id.clone());
                    rec.vpc_endpoint_account_id = Some(account.clone());
                }
                unit.push(rec);
            }
            What::AssumeRole(g) => {
                let a = AssumeRole {
                    caller: &caller,
                    role: &g.role,
                    session_name: &g.session_name,
                    session: &g.session,
                    duration: g.duration,
                    cross_account: g.cross_account,
                };
                unit.assume_role(self.t, &a);
            }
            What::ConsoleLogin { mfa } => {
                console_login(unit, self.t, self.identity.clone(), &self.ip, &self.agent, *mfa, true);
            }
        }
    }
}

/// A scenario in the estate: its plan, ready to emit.
pub(crate) struct Injected {
    attack: &'static dyn Attack,
    steps: Vec<Step>,
}

/// Plans the scenarios named in `names` (all known: the caller checks) for
/// an estate of `days` days from `start`.
pub(crate) fn inject(cast: &Cast, names: &[String], seed: u64, start: i64, days: u32) -> Vec<Injected> {
    let span = days.min(3);
    if span == 0 || cast.accounts.is_empty() {
        return Vec::new();
    }
    let window = Window { start: start + i64::from(days - span) * DAY, len: i64::from(span) * DAY };
    ALL.iter()
        .filter(|a| names.iter().any(|n| n == a.name()))
        .map(|&attack| {
            let mut rng = SmallRng::seed_from_u64(mix(&[seed, ATTACKS, ids::hash_str(attack.name())]));
            Injected { attack, steps: attack.plan(cast, &mut rng, &window) }
        })
        .collect()
}

impl Injected {
    /// Emits the planned events that land in `unit`; returns how many.
    pub fn emit(&self, unit: &mut Unit) -> u64 {
        let day = unit.day..unit.day + DAY;
        let mut n = 0;
        for step in &self.steps {
            if day.contains(&step.t) && unit.owns(step.account, step.region, step.op) {
                step.emit(unit);
                n += 1;
            }
        }
        n
    }

    /// The scenario's entry in `ground-truth.json`, from the events that
    /// reach the logs (global services' events need us-east-1).
    pub fn truth(&self, estate: &Estate) -> Truth {
        let steps: Vec<&Step> =
            self.steps.iter().filter(|s| estate.delivery_region(s.region, s.op).is_some()).collect();
        let mut truth = Truth {
            name: self.attack.name(),
            description: self.attack.description(),
            kind: match self.attack.kind() {
                Kind::Attack => "attack",
                Kind::LookAlike => "look-alike",
            },
            access_key_ids: Vec::new(),
            source_ips: Vec::new(),
            user_names: Vec::new(),
            start: steps.iter().map(|s| s.t).min().map(time::iso),
            end: steps.iter().map(|s| s.t).max().map(time::iso),
            must_fire: self.attack.must_fire(),
            must_not_fire: self.attack.must_not_fire(),
        };
        for s in steps {
            add(&mut truth.access_key_ids, s.identity.access_key_id.as_deref());
            if let What::AssumeRole(g) = &s.what {
                add(&mut truth.access_key_ids, Some(&g.session.key));
            }
            add(&mut truth.source_ips, s.listed.then_some(s.ip.as_str()));
            add(&mut truth.user_names, s.user_name());
        }
        truth
    }
}

/// Adds `item` to `list` unless it is there already.
fn add(list: &mut Vec<String>, item: Option<&str>) {
    if let Some(item) = item.filter(|i| !list.iter().any(|x| x == i)) {
        list.push(item.to_string());
    }
}

/// A scenario's entry in `ground-truth.json`.
#[derive(Serialize)]
pub(crate) struct Truth {
    name: &'static str,
    description: &'static str,
    kind: &'static str,
    access_key_ids: Vec<String>,
    source_ips: Vec<String>,
    user_names: Vec<String>,
    start: Option<String>,
    end: Option<String>,
    must_fire: &'static [&'static str],
    must_not_fire: &'static [&'static str],
}

/// `iam:CreateUser` for `user` at `t`, then `iam:CreateAccessKey` for its key `gap` seconds
/// later, by `source` in `account`, with the responses CloudTrail records (the new key's id,
/// never its secret).
fn create_user_with_key(source: &Source, t: i64, gap: i64, account: usize, user: &IamUser) -> [Step; 2] {
    let name = &user.name;
    let created = source.call(t, account, 0, &crate::api::CREATE_USER).request(json!({"userName": name})).response(
        json!({"user": {
            "path": "/",
            "userName": name,
            "userId": user.id,
            "arn": user.arn,
            "createDate": time::aws_long(t),
        }}),
    );
    let key = source
        .call(t + gap, account, 0, &crate::api::CREATE_ACCESS_KEY)
        .request(json!({"userName": name}))
        .response(json!({"accessKey": {
            "userName": name,
            "accessKeyId": user.key,
            "status": "Active",
            "secretAccessKey": "HIDDEN_DUE_TO_SECURITY_REASONS",
            "createDate": time::aws_long(t + gap),
        }}));
    [created, key]
}

/// A broadband provider of another country than the account's team: where
/// someone of the team is when travelling.
fn abroad(account: &Account) -> &'static [Cidr] {
    if std::ptr::eq(account.isp, net::ISP_FR) { net::ISP_UK } else { net::ISP_FR }
}
