//! The estate: accounts, what lives in them, and the actors that work in
//! them. Built once from the seed and shared read-only by all workers.

use crate::EstateConfig;
use crate::actors::{self, Actor};
use crate::api::Op;
use crate::attacks::{self, Cast, Injected};
use crate::ids::{self, mix};
use crate::net::{self, Cidr};
use crate::principal::Role;
use crate::record::Record;
use crate::time::DAY;
use crate::unit::Unit;
use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Seed domains, so that the estate, plans and units draw unrelated numbers.
const ESTATE: u64 = 1;
const PLAN: u64 = 2;
const ACTORS: u64 = 3;
const TOR: u64 = 6;

/// How many relays the estate's Tor exit list names.
const TOR_EXIT_COUNT: usize = 60;

/// An AWS account and the resources its workloads use. Actors take their
/// names from here, so parameters of calls name things that exist.
pub(crate) struct Account {
    pub id: String,
    pub alias: String,
    /// Relative share of the estate's traffic.
    pub weight: f64,
    /// Hours ahead of UTC of the team (and customers) of this account.
    pub tz: i32,
    /// Broadband providers the team works from.
    pub isp: &'static [Cidr],
    pub trail: String,
    pub trail_bucket: String,
    pub digest_fingerprint: String,
    pub vpc_endpoint: String,
    /// IAM users who work from the command line and SDKs.
    pub engineers: Vec<String>,
    /// IAM users who work in the console.
    pub console_users: Vec<String>,
    pub users: Vec<String>,
    pub roles: Vec<String>,
    pub functions: Vec<String>,
    /// The role that engineers of the first account assume to administer
    /// the others.
    pub admin_role: Role,
    pub buckets: Vec<String>,
    pub secrets: Vec<String>,
    pub parameters: Vec<String>,
    pub tables: Vec<String>,
    pub queues: Vec<String>,
    pub repositories: Vec<String>,
    pub cluster: String,
    pub services: Vec<String>,
    pub stacks: Vec<String>,
    pub log_groups: Vec<String>,
    pub kms_keys: Vec<String>,
}

const ALIASES: &[(&str, f64)] = &[
    ("prod", 1.6),
    ("staging", 1.0),
    ("dev", 0.6),
    ("data", 1.2),
    ("shared", 0.8),
    ("sandbox", 0.4),
    ("security", 0.5),
    ("analytics", 0.9),
];

const TEAMS: &[(i32, &[Cidr])] =
    &[(-5, net::ISP_US), (0, net::ISP_UK), (1, net::ISP_DE), (-8, net::ISP_US), (1, net::ISP_FR)];

const PEOPLE: &[&str] = &[
    "alice.martin",
    "bob.nguyen",
    "carol.smith",
    "dave.kumar",
    "erin.oconnor",
    "frank.muller",
    "grace.lee",
    "heidi.schmidt",
    "ivan.petrov",
    "judy.garcia",
    "mallory.chen",
    "oscar.dubois",
    "peggy.wilson",
    "trent.brown",
    "victor.rossi",
    "wendy.jones",
    "yusuf.demir",
    "zoe.taylor",
];

const FUNCTIONS: &[&str] = &[
    "order-processor",
    "thumbnail-generator",
    "stripe-webhook",
    "nightly-report",
    "session-cleanup",
    "api-authorizer",
    "email-sender",
    "audit-exporter",
];

const SERVICES: &[&str] = &["api", "worker", "web", "scheduler", "billing"];

/// The IAM users every account has for its pipelines.
pub(crate) const TERRAFORM_USER: &str = "terraform";
pub(crate) const GITHUB_USER: &str = "github-actions-deploy";

fn names(rng: &mut SmallRng, from: &[&str], n: usize) -> Vec<String> {
    let mut all: Vec<&str> = from.to_vec();
    all.shuffle(rng);
    all.into_iter().take(n).map(String::from).collect()
}

impl Account {
    fn new(rng: &mut SmallRng, index: usize) -> Self {
        let (alias, weight) = ALIASES[index % ALIASES.len()];
        let alias = match index / ALIASES.len() {
            0 => alias.to_string(),
            n => format!("{alias}{}", n + 1),
        };
        let (tz, isp) = TEAMS[index % TEAMS.len()];
        let id = ids::account_id(rng);
        let mut people = names(rng, PEOPLE, 7);
        let console_users = people.split_off(rng.random_range(3..=5));
        let engineers = people;
        let count = rng.random_range(3..=6);
        let functions = names(rng, FUNCTIONS, count);
        let services = names(rng, SERVICES, 3);
        let mut users = engineers.clone();
        users.extend(console_users.iter().cloned());
        users.extend([TERRAFORM_USER.to_string(), GITHUB_USER.to_string()]);
        let mut roles: Vec<String> = functions.iter().map(|f| format!("{f}-role")).collect();
        roles.extend(["app-server-role", "batch-worker-role", "github-runner-role", "PlatformAdmin"].map(String::from));
        Account {
            admin_role: Role::new(rng, &id, "", "PlatformAdmin"),
            trail: "management-events".into(),
            trail_bucket: format!("aws-cloudtrail-logs-{id}-{}", ids::hex(rng, 8)),
            digest_fingerprint: ids::hex(rng, 32),
            vpc_endpoint: format!("vpce-0{}", ids::hex(rng, 16)),
            buckets: ["artifacts", "uploads", "data-lake", "reports"]
                .iter()
                .map(|b| format!("{alias}-{b}-{id}"))
                .collect(),
            secrets: ["db/postgres", "api/stripe", "api/sendgrid", "oauth/github"]
                .iter()
                .map(|s| format!("{alias}/{s}"))
                .collect(),
            parameters: ["app/db_host", "app/feature_flags", "app/log_level", "deploy/image_tag"]
                .iter()
                .map(|p| format!("/{alias}/{p}"))
                .collect(),
            tables: vec!["orders".into(), "sessions".into(), "customers".into()],
            queues: vec!["order-events".into(), "email-outbox".into(), "order-events-dlq".into()],
            repositories: services.clone(),
            cluster: format!("{alias}-cluster"),
            stacks: vec![format!("{alias}-network"), format!("{alias}-app")],
            log_groups: functions
                .iter()
                .map(|f| format!("/aws/lambda/{f}"))
                .chain([format!("/{alias}/app"), format!("/{alias}/nginx")])
                .collect(),
            kms_keys: (0..3).map(|_| ids::uuid(rng)).collect(),
            services,
            functions,
            roles,
            users,
            engineers,
            console_users,
            id,
            alias,
            weight,
            tz,
            isp,
        }
    }
}

pub(crate) struct Estate {
    pub seed: u64,
    pub regions: Vec<String>,
    /// us-east-1, where CloudTrail records global services, if configured.
    global: Option<usize>,
    pub accounts: Vec<Account>,
    actors: Vec<Entry>,
    /// The attacks and look-alikes woven in.
    pub attacks: Vec<Injected>,
    /// The Tor exit relays of the estate's time: a known-bad list for
    /// `keytrail intel add`, whatever the attacks (benign actors never use them).
    pub tor_exits: Vec<String>,
    start: i64,
    events_per_day: u64,
}

/// An actor and the account whose traffic budget it draws on.
struct Entry {
    home: usize,
    actor: Box<dyn Actor>,
}

impl Estate {
    pub fn new(config: &EstateConfig) -> Self {
        let accounts: Vec<Account> = (0..config.accounts as usize)
            .map(|a| Account::new(&mut SmallRng::seed_from_u64(mix(&[config.seed, ESTATE, a as u64])), a))
            .collect();
        let mut actors = Vec::new();
        let mut rosters = Vec::new();
        for home in 0..accounts.len() {
            let mut rng = SmallRng::seed_from_u64(mix(&[config.seed, ACTORS, home as u64]));
            let (staff, roster) = actors::staff(&mut rng, &accounts, home, &config.regions);
            actors.extend(staff.into_iter().map(|actor| Entry { home, actor }));
            rosters.push(roster);
        }
        let start = config.start.timestamp().div_euclid(DAY) * DAY;
        let mut rng = SmallRng::seed_from_u64(mix(&[config.seed, TOR]));
        let mut tor_exits: Vec<String> = Vec::new();
        while tor_exits.len() < TOR_EXIT_COUNT {
            let ip = net::sample(&mut rng, net::TOR_EXITS);
            if !tor_exits.contains(&ip) {
                tor_exits.push(ip);
            }
        }
        let cast =
            Cast { accounts: &accounts, rosters: &rosters, regions: config.regions.len(), tor_exits: &tor_exits };
        let attacks = attacks::inject(&cast, &config.attacks, config.seed, start, config.days);
        Estate {
            seed: config.seed,
            global: config.regions.iter().position(|r| r == "us-east-1"),
            regions: config.regions.clone(),
            accounts,
            actors,
            attacks,
            tor_exits,
            start,
            events_per_day: config.events_per_day,
        }
    }

    /// Start of day `day` (00:00 UTC).
    pub fn day_start(&self, day: u32) -> i64 {
        self.start + i64::from(day) * DAY
    }

    /// The region whose log files record `op` called through `region`'s
    /// endpoint: us-east-1 for global services (none if it is not
    /// configured), else the region itself.
    pub fn delivery_region(&self, region: usize, op: &Op) -> Option<usize> {
        if op.global { self.global } else { Some(region) }
    }

    /// Events each actor is to produce on the day starting at `day`: the
    /// day's total split over accounts by weight, then over each account's
    /// actors by weight (people and pipelines weigh less at weekends).
    /// Rounding carries over so the totals are exact.
    fn budgets(&self, day: i64) -> Vec<u64> {
        let weekend = crate::time::is_weekend(day);
        let mut out = vec![0; self.actors.len()];
        let total_weight: f64 = self.accounts.iter().map(|a| a.weight).sum();
        let mut acc_cum = 0.0;
        for (home, account) in self.accounts.iter().enumerate() {
            let lo = (self.events_per_day as f64 * acc_cum / total_weight).round();
            acc_cum += account.weight;
            let hi = (self.events_per_day as f64 * acc_cum / total_weight).round();
            let members: Vec<usize> = (0..self.actors.len()).filter(|&i| self.actors[i].home == home).collect();
            let weights: Vec<f64> = members.iter().map(|&i| self.actors[i].actor.weight(weekend)).collect();
            let sum: f64 = weights.iter().sum();
            let mut cum = 0.0;
            for (&i, w) in members.iter().zip(&weights) {
                let a = (lo + (hi - lo) * cum / sum).round();
                cum += w;
                let b = (lo + (hi - lo) * cum / sum).round();
                out[i] = (b - a) as u64;
            }
        }
        out
    }

    /// The records of one account in one region on day `day`, sorted by
    /// time, and how many of them attacks and look-alikes made. Every actor
    /// whose work can reach the account replays its plan for the day and
    /// keeps what lands in this unit; then the attacks add theirs.
    pub fn unit(&self, account: usize, region: usize, day: u32) -> (Vec<Record>, u64) {
        let start = self.day_start(day);
        let budgets = self.budgets(start);
        let mut unit = Unit {
            estate: self,
            account,
            region,
            day: start,
            rng: SmallRng::seed_from_u64(mix(&[
                self.seed,
                account as u64,
                ids::hash_str(&self.regions[region]),
                start as u64,
            ])),
            records: Vec::new(),
        };
        for (i, entry) in self.actors.iter().enumerate() {
            if entry.home == account || entry.actor.visits(account) {
                let mut plan = SmallRng::seed_from_u64(mix(&[self.seed, PLAN, i as u64, start as u64]));
                entry.actor.emit(&mut unit, &mut plan, budgets[i]);
            }
        }
        let injected = self.attacks.iter().map(|a| a.emit(&mut unit)).sum();
        // Records are large: sort their positions (stably, so ties keep
        // the order actors emitted them in), then move each record once.
        let mut order: Vec<usize> = (0..unit.records.len()).collect();
        order.sort_by_key(|&i| unit.records[i].event_time);
        let mut records: Vec<Option<Record>> = unit.records.into_iter().map(Some).collect();
        (order.into_iter().map(|i| records[i].take().expect("each position once")).collect(), injected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_add_up_to_the_day() {
        let config = EstateConfig::default();
        let estate = Estate::new(&config);
        for day in 0..7 {
            let budgets = estate.budgets(estate.day_start(day));
            assert_eq!(budgets.iter().sum::<u64>(), config.events_per_day);
        }
    }
}
