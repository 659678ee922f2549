//! Attacks and look-alikes woven into the estate, read back as a reader of
//! the bucket would, against the ground truth written next to the logs.

mod common;
use chrono::{DateTime, NaiveDateTime};
use common::tree;
use flate2::read::GzDecoder;
use keytrail_simulate::{EstateConfig, EstateSummary, GROUND_TRUTH, TOR_EXIT_LIST, attack_names, write_estate};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::OnceLock;

const DAY: i64 = 86_400;

/// The records of the log files (not digests) of a tree.
fn records(files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<Value> {
    let mut out = Vec::new();
    for (path, bytes) in files {
        let key = path.to_str().unwrap();
        if key.contains("/CloudTrail/") {
            let mut json = Vec::new();
            GzDecoder::new(&bytes[..]).read_to_end(&mut json).unwrap();
            let doc: Value = serde_json::from_slice(&json).unwrap();
            out.extend(doc["Records"].as_array().unwrap().iter().cloned());
        }
    }
    out
}

fn config(days: u32, attacks: Vec<String>) -> EstateConfig {
    EstateConfig { days, events_per_day: 3_000, seed: 11, attacks, ..EstateConfig::default() }
}

fn all() -> Vec<String> {
    attack_names().into_iter().map(String::from).collect()
}

/// An estate as written, read back.
struct Written {
    config: EstateConfig,
    summary: EstateSummary,
    files: BTreeMap<PathBuf, Vec<u8>>,
    records: Vec<Value>,
    truth: Option<Value>,
    /// The Tor exit list beside the logs.
    tor_exits: String,
}

fn write(config: EstateConfig) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let summary = write_estate(dir.path(), &config, &|_| {}).unwrap();
    let truth = std::fs::read(dir.path().join(GROUND_TRUTH)).ok().map(|b| serde_json::from_slice(&b).unwrap());
    let files: BTreeMap<_, _> = tree(dir.path()).into_iter().filter(|(p, _)| p.starts_with("AWSLogs")).collect();
    let records = records(&files);
    let tor_exits = std::fs::read_to_string(dir.path().join(TOR_EXIT_LIST)).unwrap();
    Written { config, summary, files, records, truth, tor_exits }
}

/// Three days with everything on, and the same estate without attacks.
fn with_attacks() -> &'static Written {
    static W: OnceLock<Written> = OnceLock::new();
    W.get_or_init(|| write(config(3, all())))
}

fn without_attacks() -> &'static Written {
    static W: OnceLock<Written> = OnceLock::new();
    W.get_or_init(|| write(config(3, Vec::new())))
}

fn s<'a>(r: &'a Value, pointer: &str) -> &'a str {
    r.pointer(pointer).and_then(Value::as_str).unwrap_or_default()
}

fn time(text: &str) -> i64 {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return t.timestamp();
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%SZ").unwrap().and_utc().timestamp()
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect()
}

fn entry<'a>(truth: &'a Value, name: &str) -> &'a Value {
    truth["attacks"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap_or_else(|| panic!("no {name}"))
}

/// Whether `r` is one of the events of the ground-truth entry `e`: in its
/// time span, and with one of its keys, or by one of its users from one of
/// its addresses (sign-ins carry no key).
fn belongs(r: &Value, e: &Value) -> bool {
    let t = time(s(r, "/eventTime"));
    if t < time(e["start"].as_str().unwrap()) || t > time(e["end"].as_str().unwrap()) {
        return false;
    }
    let key = s(r, "/userIdentity/accessKeyId");
    let issued = s(r, "/responseElements/credentials/accessKeyId");
    let keys = strings(&e["access_key_ids"]);
    let by_user = strings(&e["user_names"]).contains(&s(r, "/userIdentity/userName"))
        && strings(&e["source_ips"]).contains(&s(r, "/sourceIPAddress"));
    keys.contains(&key) || keys.contains(&issued) || by_user
}

/// The events of `name`, in time order.
fn events<'a>(w: &'a Written, name: &str) -> Vec<&'a Value> {
    let e = entry(w.truth.as_ref().unwrap(), name);
    let mut out: Vec<_> = w.records.iter().filter(|r| belongs(r, e)).collect();
    out.sort_by_key(|r| time(s(r, "/eventTime")));
    out
}

/// Events of `name` from the addresses it lists.
fn from_listed<'a>(w: &'a Written, name: &str) -> Vec<&'a Value> {
    let ips = strings(&entry(w.truth.as_ref().unwrap(), name)["source_ips"]);
    events(w, name).into_iter().filter(|r| ips.contains(&s(r, "/sourceIPAddress"))).collect()
}

fn in_cidrs(ip: &str, cidrs: &[(&str, u32)]) -> bool {
    let Ok(ip) = ip.parse::<Ipv4Addr>() else {
        return false;
    };
    cidrs.iter().any(|(base, bits)| {
        let base = u32::from(base.parse::<Ipv4Addr>().unwrap());
        u32::from(ip) >> (32 - bits) == base >> (32 - bits)
    })
}

/// Amazon's blocks the estate's workloads use in its regions.
const AMAZON: &[(&str, u32)] = &[
    ("3.208.0.0", 12),
    ("44.192.0.0", 11),
    ("54.144.0.0", 14),
    ("35.80.0.0", 12),
    ("44.224.0.0", 11),
    ("54.184.0.0", 13),
    ("34.240.0.0", 13),
    ("52.208.0.0", 13),
    ("3.248.0.0", 13),
];
const AZURE: &[(&str, u32)] = &[
    ("20.0.0.0", 11),
    ("4.148.0.0", 16),
    ("52.224.0.0", 11),
    ("13.64.0.0", 11),
    ("40.80.0.0", 12),
    ("40.112.0.0", 13),
];
const DIGITALOCEAN: &[(&str, u32)] = &[("68.183.0.0", 16), ("46.101.0.0", 16), ("206.189.0.0", 16), ("178.62.0.0", 16)];
const M247: &[(&str, u32)] = &[("146.70.64.0", 18), ("146.70.128.0", 18), ("5.157.192.0", 19)];
const DATACAMP: &[(&str, u32)] = &[("89.187.160.0", 19), ("149.102.224.0", 19)];

const GITHUB_AGENT_SUFFIX: &str = "aws-credentials-for-github-actions";

#[test]
fn ground_truth_names_every_scenario_in_the_last_days() {
    let w = with_attacks();
    let truth = w.truth.as_ref().expect("ground truth written");
    let entries = truth["attacks"].as_array().unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), attack_names().len());
    assert!(attack_names().iter().all(|n| names.contains(n)));
    let start = w.config.start.timestamp();
    let end = start + i64::from(w.config.days) * DAY;
    for e in entries {
        let name = e["name"].as_str().unwrap();
        assert!(!e["description"].as_str().unwrap().is_empty());
        let (from, to) = (time(e["start"].as_str().unwrap()), time(e["end"].as_str().unwrap()));
        assert!(start <= from && from <= to && to < end, "{name}: {from}..{to}");
        assert!(!strings(&e["access_key_ids"]).is_empty(), "{name}");
        assert!(!strings(&e["user_names"]).is_empty(), "{name}");
        let (fire, not_fire) = (strings(&e["must_fire"]), strings(&e["must_not_fire"]));
        match e["kind"].as_str().unwrap() {
            "attack" => assert!(!fire.is_empty() && not_fire.is_empty(), "{name}"),
            "look-alike" => assert!(fire.is_empty() && !not_fire.is_empty(), "{name}"),
            kind => panic!("{name}: kind {kind}"),
        }
        for rule in fire.iter().chain(&not_fire) {
            assert_eq!(rule.len(), 36, "{name}: rule id {rule}");
        }
    }
}

#[test]
fn scenarios_fall_in_the_last_three_days() {
    let w = write(EstateConfig { days: 5, events_per_day: 1_000, ..config(5, all()) });
    let attacks_from = w.config.start.timestamp() + 2 * DAY;
    for e in w.truth.as_ref().unwrap()["attacks"].as_array().unwrap() {
        assert!(time(e["start"].as_str().unwrap()) >= attacks_from, "{}", e["name"]);
    }
    assert!(w.summary.injected > 0);
}

#[test]
fn every_scenario_is_in_the_logs_from_start_to_end() {
    let w = with_attacks();
    for e in w.truth.as_ref().unwrap()["attacks"].as_array().unwrap() {
        let name = e["name"].as_str().unwrap();
        let mine = events(w, name);
        let times: HashSet<i64> = mine.iter().map(|r| time(s(r, "/eventTime"))).collect();
        assert!(times.contains(&time(e["start"].as_str().unwrap())), "{name}: nothing at start");
        assert!(times.contains(&time(e["end"].as_str().unwrap())), "{name}: nothing at end");
        let ips: HashSet<&str> = mine.iter().map(|r| s(r, "/sourceIPAddress")).collect();
        for ip in strings(&e["source_ips"]) {
            assert!(ips.contains(ip), "{name}: nothing from {ip}");
        }
        let users: HashSet<&str> = mine
            .iter()
            .flat_map(|r| [s(r, "/userIdentity/userName"), s(r, "/userIdentity/sessionContext/sessionIssuer/userName")])
            .collect();
        for user in strings(&e["user_names"]) {
            assert!(users.contains(user), "{name}: nothing by {user}");
        }
    }
}

#[test]
fn attacks_on_is_the_benign_estate_plus_the_scenarios() {
    let (on, off) = (with_attacks(), without_attacks());
    assert!(off.truth.is_none(), "no ground truth without attacks");
    assert_eq!(off.summary.injected, 0);
    let benign: HashMap<&str, &Value> = off.records.iter().map(|r| (s(r, "/eventID"), r)).collect();
    let truth = on.truth.as_ref().unwrap();
    let mut extra = 0;
    for r in &on.records {
        match benign.get(s(r, "/eventID")) {
            Some(b) => assert_eq!(*b, r),
            None => {
                extra += 1;
                let owners = truth["attacks"].as_array().unwrap().iter().filter(|e| belongs(r, e)).count();
                assert!(owners > 0, "an injected event no scenario owns: {r}");
            }
        }
    }
    assert_eq!(on.records.len() - off.records.len(), extra);
    assert_eq!(extra as u64, on.summary.injected);
    assert_eq!(on.summary.events - off.summary.events, on.summary.injected);
}

#[test]
fn same_seed_same_bytes_with_attacks() {
    let a = write(config(2, all()));
    let b = write(config(2, all()));
    assert!(a.files == b.files);
    assert_eq!(a.truth, b.truth);
    let other = write(EstateConfig { seed: 12, ..config(2, all()) });
    assert_ne!(a.truth, other.truth);
}

#[test]
fn one_scenario_alone_is_the_same_as_among_all() {
    let alone = write(config(3, vec!["stolen-key-role-chain-backdoor".into()]));
    let truth = alone.truth.as_ref().unwrap();
    assert_eq!(truth["attacks"].as_array().unwrap().len(), 1);
    assert_eq!(truth["attacks"][0], *entry(with_attacks().truth.as_ref().unwrap(), "stolen-key-role-chain-backdoor"));
}

#[test]
fn unknown_attack_names_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_estate(dir.path(), &config(1, vec!["nope".into()]), &|_| {}).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn thieves_succeed_from_their_networks() {
    let w = with_attacks();
    for name in [
        "github-key-replayed",
        "leaked-human-key",
        "lambda-credentials-replayed",
        "automation-key-from-vpn",
        "stolen-key-role-chain-backdoor",
        "ec2-credentials-outside-aws",
    ] {
        let theirs = from_listed(w, name);
        assert!(theirs.iter().any(|r| r["errorCode"].is_null()), "{name}: no successful call");
        for r in &theirs {
            assert!(!in_cidrs(s(r, "/sourceIPAddress"), AMAZON) && !in_cidrs(s(r, "/sourceIPAddress"), AZURE));
            assert!(!s(r, "/userAgent").contains("exec-env/AWS_Lambda") && r["userIdentity"]["invokedBy"].is_null());
        }
    }
    let github = from_listed(w, "github-key-replayed");
    assert!(github.iter().all(|r| in_cidrs(s(r, "/sourceIPAddress"), DIGITALOCEAN) && r["errorCode"].is_null()));
    assert!(github.iter().all(|r| !s(r, "/userAgent").ends_with(GITHUB_AGENT_SUFFIX)));
    let key = s(github[0], "/userIdentity/accessKeyId");
    assert!(key.starts_with("AKIA"));
    assert!(
        w.records.iter().any(|r| s(r, "/userIdentity/accessKeyId") == key
            && s(r, "/userAgent").ends_with(GITHUB_AGENT_SUFFIX)
            && in_cidrs(s(r, "/sourceIPAddress"), AZURE)),
        "the key is a GitHub workflow's"
    );
    let vpn = from_listed(w, "automation-key-from-vpn");
    assert_eq!(vpn.len(), 4);
    assert!(vpn.iter().all(|r| in_cidrs(s(r, "/sourceIPAddress"), M247) && r["errorCode"].is_null()));
    assert!(vpn.iter().all(|r| r["userIdentity"]["userName"] == "terraform"));
}

#[test]
fn a_leaked_key_is_quarantined_then_scanned() {
    let w = with_attacks();
    let truth = w.truth.as_ref().unwrap();
    let (leak, quarantine) = (entry(truth, "leaked-human-key"), entry(truth, "quarantine-policy-attached"));
    assert_eq!(leak["access_key_ids"], quarantine["access_key_ids"]);
    let attach = events(w, "quarantine-policy-attached");
    assert_eq!(attach.len(), 1);
    let r = attach[0];
    assert_eq!(r["eventName"], "AttachUserPolicy");
    assert_eq!(r["sourceIPAddress"], "AWS Internal");
    assert_eq!(r["requestParameters"]["policyArn"], "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3");
    assert_eq!(r["requestParameters"]["userName"], r["userIdentity"]["userName"]);
    assert!(r["errorCode"].is_null());
    assert!(time(s(r, "/eventTime")) < time(leak["start"].as_str().unwrap()));
    let scan = from_listed(w, "leaked-human-key");
    assert_eq!(scan[0]["eventName"], "GetCallerIdentity");
    let denied: Vec<_> = scan.iter().filter(|r| r["errorCode"].is_string()).collect();
    assert_eq!(denied.len(), 1);
    assert!(s(denied[0], "/errorMessage").ends_with("AWSCompromisedKeyQuarantineV3"));
}

#[test]
fn the_role_chain_leads_from_the_stolen_key_to_the_backdoor() {
    let w = with_attacks();
    let e = entry(w.truth.as_ref().unwrap(), "stolen-key-role-chain-backdoor");
    let keys = strings(&e["access_key_ids"]);
    assert_eq!(keys.len(), 3, "the stolen key, the role session's, the backdoor's");
    assert!(keys[0].starts_with("AKIA") && keys[1].starts_with("ASIA") && keys[2].starts_with("AKIA"));
    let mine = from_listed(w, "stolen-key-role-chain-backdoor");
    let assume: Vec<_> = mine.iter().filter(|r| r["eventName"] == "AssumeRole").collect();
    assert!(!assume.is_empty());
    for r in &assume {
        assert_eq!(s(r, "/userIdentity/accessKeyId"), keys[0]);
        assert_eq!(s(r, "/responseElements/credentials/accessKeyId"), keys[1]);
        assert!(s(r, "/responseElements/credentials/sessionToken").len() > 300);
    }
    let role = s(assume[0], "/requestParameters/roleArn");
    let session: Vec<_> = mine.iter().filter(|r| s(r, "/userIdentity/accessKeyId") == keys[1]).collect();
    assert!(session.iter().all(|r| r["userIdentity"]["type"] == "AssumedRole"
        && s(r, "/userIdentity/sessionContext/sessionIssuer/arn") == role
        && r["errorCode"].is_null()));
    let actions: Vec<&str> = session.iter().map(|r| s(r, "/eventName")).collect();
    for action in ["CreateUser", "CreateAccessKey", "AttachUserPolicy", "CreateLoginProfile"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    let backdoor = session.iter().find(|r| r["eventName"] == "CreateUser").unwrap();
    let name = s(backdoor, "/requestParameters/userName");
    assert!(name.starts_with("backdoor-"));
    assert!(
        session.iter().all(|r| r["eventName"] == "GetCallerIdentity" || s(r, "/requestParameters/userName") == name)
    );
    let attach = session.iter().find(|r| r["eventName"] == "AttachUserPolicy").unwrap();
    assert_eq!(attach["requestParameters"]["policyArn"], "arn:aws:iam::aws:policy/AdministratorAccess");

    // The key CreateAccessKey returned goes to work hours later, from a network the role never used.
    let created = session.iter().find(|r| r["eventName"] == "CreateAccessKey").unwrap();
    assert_eq!(s(created, "/responseElements/accessKey/accessKeyId"), keys[2]);
    let used: Vec<_> = mine.iter().filter(|r| s(r, "/userIdentity/accessKeyId") == keys[2]).collect();
    assert!(!used.is_empty());
    assert!(used.iter().all(|r| s(r, "/userIdentity/userName") == name
        && in_cidrs(s(r, "/sourceIPAddress"), DATACAMP)
        && time(s(r, "/eventTime")) > time(s(created, "/eventTime")) + 3600));
    assert!(!w.records.iter().any(|r| r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == role
        && in_cidrs(s(r, "/sourceIPAddress"), DATACAMP)));
}

#[test]
fn instance_credentials_come_through_vpc_endpoints() {
    let w = with_attacks();
    let endpoint_account = |r: &Value| r["vpcEndpointAccountId"].as_str().map(str::to_string);
    // The thief's calls: a private address, through an endpoint of an account not the instance's.
    let thief = from_listed(w, "ec2-credentials-from-another-account");
    assert!(thief.len() >= 4);
    for r in &thief {
        assert!(in_cidrs(s(r, "/sourceIPAddress"), &[("172.31.0.0", 16)]));
        assert!(s(r, "/vpcEndpointId").starts_with("vpce-0"));
        assert_ne!(endpoint_account(r).unwrap(), s(r, "/recipientAccountId"));
        assert!(s(r, "/userIdentity/arn").contains(":assumed-role/") && s(r, "/userIdentity/arn").contains("/i-"));
    }
    // The instance itself, its look-alike, and the benign fleets: their own account's endpoints.
    let own = from_listed(w, "instance-through-own-endpoint");
    assert!(!own.is_empty());
    let through_own = without_attacks().records.iter().filter(|r| r["vpcEndpointId"].is_string());
    for r in own.into_iter().chain(through_own) {
        assert_eq!(endpoint_account(r).as_deref(), Some(s(r, "/recipientAccountId")), "{r}");
    }
}

#[test]
fn the_tor_exit_is_on_the_list_and_new_for_the_key() {
    let w = with_attacks();
    let e = entry(w.truth.as_ref().unwrap(), "key-used-from-tor-exit");
    let (key, ip) = (strings(&e["access_key_ids"])[0], strings(&e["source_ips"])[0]);
    assert!(key.starts_with("AKIA"));
    assert!(w.tor_exits.lines().any(|l| l.starts_with(&format!("ExitAddress {ip} "))), "{ip} on the list");
    let calls = from_listed(w, "key-used-from-tor-exit");
    assert!(calls.len() >= 6);
    let first = time(s(calls[0], "/eventTime"));
    assert!(w.records.iter().any(|r| s(r, "/userIdentity/accessKeyId") == key && time(s(r, "/eventTime")) < first));
    assert!(!w.records.iter().any(|r| s(r, "/sourceIPAddress") == ip && time(s(r, "/eventTime")) < first));
}

/// Calls of the scenario's session from inside and from outside: (inside, outside) times.
fn inside_and_outside(w: &Written, name: &str, inside: impl Fn(&Value) -> bool) -> (Vec<i64>, Vec<i64>) {
    let (mut ins, mut outs) = (Vec::new(), Vec::new());
    for r in events(w, name) {
        if r["userIdentity"]["type"] != "AssumedRole" {
            continue;
        }
        let t = time(s(r, "/eventTime"));
        if inside(r) { ins.push(t) } else { outs.push(t) }
    }
    (ins, outs)
}

#[test]
fn stolen_workload_credentials_are_used_inside_and_outside_at_once() {
    let w = with_attacks();
    let (ins, outs) =
        inside_and_outside(w, "lambda-credentials-replayed", |r| s(r, "/userAgent").contains("exec-env/AWS_Lambda"));
    assert!(!outs.is_empty() && ins.len() > 20);
    // Any hour-long window holding an outside call holds inside calls.
    for &o in &outs {
        assert!(ins.iter().any(|&i| (o - 20 * 60..=o).contains(&i)));
        assert!(ins.iter().any(|&i| (o..=o + 20 * 60).contains(&i)));
    }
    let (ins, outs) =
        inside_and_outside(w, "ec2-credentials-outside-aws", |r| in_cidrs(s(r, "/sourceIPAddress"), AMAZON));
    assert!(!outs.is_empty() && ins.len() > 10);
    for r in events(w, "ec2-credentials-outside-aws") {
        if r["userIdentity"]["type"] == "AssumedRole" {
            assert!(s(r, "/userIdentity/arn").rsplit('/').next().unwrap().starts_with("i-0"));
            assert!(s(r, "/userIdentity/accessKeyId").starts_with("ASIA"));
        }
    }
}

#[test]
fn look_alikes_keep_what_sets_them_apart() {
    let w = with_attacks();
    // A GitHub key from a self-hosted runner: Amazon's network, a CI one.
    let runner = from_listed(w, "self-hosted-runner-github-key");
    assert!(runner.iter().any(|r| s(r, "/userAgent").ends_with(GITHUB_AGENT_SUFFIX)));
    assert!(runner.iter().all(|r| in_cidrs(s(r, "/sourceIPAddress"), AMAZON)));
    let key = s(runner[0], "/userIdentity/accessKeyId");
    assert!(w.records.iter().filter(|r| s(r, "/userIdentity/accessKeyId") == key).all(|r| in_cidrs(
        s(r, "/sourceIPAddress"),
        AMAZON
    ) || in_cidrs(
        s(r, "/sourceIPAddress"),
        AZURE
    )));

    // A long-term key from a new address, refused every time.
    let denied = from_listed(w, "denied-calls-from-new-ip");
    assert!(!denied.is_empty());
    assert!(denied.iter().all(|r| r["errorCode"] == "AccessDenied" && r["eventName"] != "GetCallerIdentity"));
    let e = entry(w.truth.as_ref().unwrap(), "denied-calls-from-new-ip");
    let (key, ip) = (strings(&e["access_key_ids"])[0], strings(&e["source_ips"])[0]);
    assert!(key.starts_with("AKIA"));
    assert!(
        !w.records.iter().any(|r| s(r, "/userIdentity/accessKeyId") == key
            && s(r, "/sourceIPAddress") == ip
            && r["errorCode"].is_null()),
        "never a success from there"
    );

    // A console session from a new address: temporary keys only.
    let console = events(w, "console-session-from-new-ip");
    let login = console.iter().find(|r| r["eventName"] == "ConsoleLogin").expect("a sign-in");
    assert_eq!(login["responseElements"]["ConsoleLogin"], "Success");
    let calls: Vec<_> = console.iter().filter(|r| r["eventName"] != "ConsoleLogin").collect();
    assert!(!calls.is_empty());
    assert!(calls.iter().all(|r| s(r, "/userIdentity/accessKeyId").starts_with("ASIA")
        && r["sessionCredentialFromConsole"] == "true"
        && r["userIdentity"]["type"] == "IAMUser"));
    let ip = s(login, "/sourceIPAddress");
    let user = s(login, "/userIdentity/userName");
    let first = time(s(login, "/eventTime"));
    assert!(
        !w.records.iter().any(|r| s(r, "/userIdentity/userName") == user
            && s(r, "/sourceIPAddress") == ip
            && time(s(r, "/eventTime")) < first),
        "the address is new"
    );

    // One Lambda session from two environments, both inside Lambda.
    let lambda: Vec<_> = events(w, "lambda-credentials-two-containers")
        .into_iter()
        .filter(|r| r["userIdentity"]["type"] == "AssumedRole")
        .collect();
    assert!(lambda.iter().all(|r| s(r, "/userAgent").contains("exec-env/AWS_Lambda")));
    let ips: HashSet<&str> = lambda.iter().map(|r| s(r, "/sourceIPAddress")).collect();
    assert_eq!(ips.len(), 2);
    assert!(ips.iter().all(|ip| in_cidrs(ip, AMAZON)));

    // A key created for a backup job, used from an address its creator works from.
    let job = events(w, "key-for-pipeline-on-creators-network");
    let created = job.iter().find(|r| r["eventName"] == "CreateAccessKey").expect("a key");
    let (creator, key) = (s(created, "/userIdentity/arn"), s(created, "/responseElements/accessKey/accessKeyId"));
    let used: Vec<_> = job.iter().filter(|r| s(r, "/userIdentity/accessKeyId") == key).collect();
    assert!(used.len() >= 10);
    for r in used {
        let ip = s(r, "/sourceIPAddress");
        assert!(w.records.iter().any(|c| s(c, "/userIdentity/arn") == creator
            && s(c, "/sourceIPAddress") == ip
            && c["userIdentity"]["accessKeyId"] != key));
    }
}
