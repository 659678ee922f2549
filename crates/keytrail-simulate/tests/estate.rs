//! The generated estate, as a reader of the S3 bucket would see it.

mod common;
use chrono::NaiveDateTime;
use common::tree;
use flate2::read::GzDecoder;
use keytrail_simulate::{EstateConfig, EstateSummary, TOR_EXIT_LIST, write_estate};
use regex::Regex;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

const DATA_KEY: &str = r"^AWSLogs/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/(\d{12})_CloudTrail_([a-z0-9-]+)_(\d{8})T(\d{4})Z_[A-Za-z0-9]{16}\.json\.gz$";
const DIGEST_KEY: &str = r"^AWSLogs/(\d{12})/CloudTrail-Digest/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/(\d{12})_CloudTrail-Digest_([a-z0-9-]+)_[A-Za-z0-9-]+_([a-z0-9-]+)_(\d{8})T(\d{6})Z\.json\.gz$";

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
    out
}

fn generate(config: &EstateConfig) -> (tempfile::TempDir, EstateSummary) {
    let dir = tempfile::tempdir().unwrap();
    let summary = write_estate(dir.path(), config, &|_| {}).unwrap();
    (dir, summary)
}

fn small(seed: u64) -> EstateConfig {
    EstateConfig { events_per_day: 3_000, seed, ..EstateConfig::default() }
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, _) = generate(&small(7));
    let (b, _) = generate(&small(7));
    let (c, _) = generate(&small(8));
    let (a, b, c) = (tree(a.path()), tree(b.path()), tree(c.path()));
    assert!(!a.is_empty());
    assert!(a == b, "same seed, different output");
    assert!(a != c, "different seeds, same output");
}

/// A few days of a mid-sized estate, generated once and parsed.
struct Corpus {
    config: EstateConfig,
    summary: EstateSummary,
    progress_max: u64,
    /// Everything under `AWSLogs/`.
    files: BTreeMap<PathBuf, Vec<u8>>,
    /// The Tor exit list written beside the logs.
    tor_exits: String,
    /// Data files' records, with the file's key.
    records: Vec<(String, Value)>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        // Sunday 1 to Tuesday 3 November 2026: a weekend day and workdays.
        let config = EstateConfig { days: 3, events_per_day: 10_000, seed: 42, accounts: 4, ..EstateConfig::default() };
        let dir = tempfile::tempdir().unwrap();
        let progress_max = AtomicU64::new(0);
        let summary = write_estate(dir.path(), &config, &|n| {
            progress_max.fetch_max(n, Ordering::Relaxed);
        })
        .unwrap();
        let mut files = tree(dir.path());
        let tor_exits = String::from_utf8(files.remove(&PathBuf::from(TOR_EXIT_LIST)).unwrap()).unwrap();
        let data = Regex::new(DATA_KEY).unwrap();
        let mut records = Vec::new();
        for (path, bytes) in &files {
            let key = path.to_str().unwrap();
            if data.is_match(key) {
                let doc: Value = serde_json::from_slice(&gunzip(bytes)).unwrap();
                let obj = doc.as_object().unwrap();
                assert_eq!(obj.len(), 1, "{key}: only Records");
                for r in obj["Records"].as_array().unwrap() {
                    records.push((key.to_string(), r.clone()));
                }
            }
        }
        Corpus { config, summary, progress_max: progress_max.into_inner(), files, tor_exits, records }
    })
}

fn s<'a>(r: &'a Value, pointer: &str) -> &'a str {
    r.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("{pointer} missing in {r}"))
}

fn time(s: &str) -> i64 {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%SZ").unwrap_or_else(|e| panic!("{s}: {e}")).and_utc().timestamp()
}

/// The Tor exit list is in Tor's format, names distinct relays, and no benign actor calls
/// from one of them (so a hunt with the list loaded raises nothing on a benign estate).
#[test]
fn tor_exit_list_names_no_benign_address() {
    let c = corpus();
    let exits: Vec<&str> = c
        .tor_exits
        .lines()
        .filter_map(|l| l.strip_prefix("ExitAddress "))
        .map(|rest| rest.split_whitespace().next().unwrap())
        .collect();
    assert!(exits.len() >= 20, "{} exits", exits.len());
    assert_eq!(exits.iter().collect::<HashSet<_>>().len(), exits.len(), "distinct relays");
    assert_eq!(c.tor_exits.lines().filter(|l| l.starts_with("ExitNode ")).count(), exits.len());
    for exit in &exits {
        exit.parse::<Ipv4Addr>().unwrap();
    }
    let exits: HashSet<&str> = exits.into_iter().collect();
    for (key, r) in &c.records {
        assert!(!exits.contains(s(r, "/sourceIPAddress")), "{key}: a benign call from a Tor exit");
    }
}

#[test]
fn layout_is_cloudtrails() {
    let c = corpus();
    let data = Regex::new(DATA_KEY).unwrap();
    let digest = Regex::new(DIGEST_KEY).unwrap();
    let (mut data_files, mut digests) = (0, 0);
    for (path, bytes) in &c.files {
        let key = path.to_str().unwrap();
        if let Some(m) = data.captures(key) {
            data_files += 1;
            assert_eq!(&m[1], &m[6], "{key}");
            assert_eq!(&m[2], &m[7], "{key}");
            assert_eq!(format!("{}{}{}", &m[3], &m[4], &m[5]), &m[8], "{key}");
        } else if let Some(m) = digest.captures(key) {
            digests += 1;
            assert_eq!(&m[1], &m[6], "{key}");
            assert_eq!(&m[2], &m[7], "{key}");
            assert_eq!(&m[2], &m[8], "{key}");
            let doc: Value = serde_json::from_slice(&gunzip(bytes)).unwrap();
            for field in ["digestStartTime", "digestEndTime", "awsAccountId"] {
                assert!(doc[field].is_string(), "{key}: {field}");
            }
            assert_eq!(doc["awsAccountId"], &m[1]);
            assert!(doc["logFiles"].is_array());
        } else {
            panic!("unexpected file {key}");
        }
    }
    let units = u64::from(c.config.accounts) * c.config.regions.len() as u64 * u64::from(c.config.days);
    assert_eq!(digests, units * 24, "a digest per account, region and hour");
    // Many five-minute slots have events (secondary regions of small
    // accounts are quiet).
    assert!(data_files as u64 <= units * 288);
    assert!(data_files as u64 > units * 288 / 3, "{data_files} log files");
}

#[test]
fn records_are_complete_and_in_their_file() {
    let c = corpus();
    let data = Regex::new(DATA_KEY).unwrap();
    let mut last: HashMap<&str, i64> = HashMap::new();
    for (key, r) in &c.records {
        let m = data.captures(key).unwrap();
        for field in [
            "/eventVersion",
            "/userIdentity/type",
            "/eventTime",
            "/eventSource",
            "/eventName",
            "/awsRegion",
            "/sourceIPAddress",
            "/userAgent",
            "/eventID",
            "/eventType",
            "/recipientAccountId",
            "/eventCategory",
        ] {
            s(r, field);
        }
        assert!(matches!(s(r, "/eventVersion"), "1.08" | "1.09"));
        assert!(r["readOnly"].is_boolean() && r["managementEvent"].is_boolean());
        assert!(r.get("requestParameters").is_some() && r.get("responseElements").is_some());
        if r["eventName"] != "ConsoleLogin" {
            s(r, "/requestID");
        }
        assert_eq!(s(r, "/recipientAccountId"), &m[1]);
        assert_eq!(s(r, "/awsRegion"), &m[2], "{key}: {r}");
        if s(r, "/eventSource") == "iam.amazonaws.com" {
            assert_eq!(&m[2], "us-east-1", "IAM is delivered in us-east-1");
        }
        let delivered =
            NaiveDateTime::parse_from_str(&format!("{}{}", &m[8], &m[9]), "%Y%m%d%H%M").unwrap().and_utc().timestamp();
        let t = time(s(r, "/eventTime"));
        // Five minutes of events, delivered 5 to 15 minutes after they end.
        assert!((delivered - 20 * 60..delivered - 5 * 60).contains(&t), "{key}: {t}");
        let prev = last.insert(key.as_str(), t).unwrap_or(t);
        assert!(prev <= t, "{key}: sorted by eventTime");
        let id = s(r, "/eventID");
        assert!(id.len() == 36 && &id[14..15] == "4", "{id}");
    }
}

#[test]
fn volume_and_summary_match() {
    let c = corpus();
    let expected = c.config.events_per_day * u64::from(c.config.days);
    let events = c.records.len() as u64;
    assert!(events.abs_diff(expected) * 20 <= expected, "{events} events, expected about {expected}");
    let uncompressed: u64 = c.files.values().map(|b| gunzip(b).len() as u64).sum();
    let on_disk = EstateSummary {
        files: c.files.len() as u64,
        events,
        injected: 0,
        bytes_compressed: c.files.values().map(|b| b.len() as u64).sum(),
        bytes_uncompressed: uncompressed,
    };
    assert_eq!(c.summary, on_disk);
    assert_eq!(c.progress_max, c.summary.files);
}

fn any(c: &Corpus, what: &str, pred: impl Fn(&Value) -> bool) -> usize {
    let n = c.records.iter().filter(|(_, r)| pred(r)).count();
    assert!(n > 0, "no {what}");
    n
}

fn ua(r: &Value) -> &str {
    r["userAgent"].as_str().unwrap_or_default()
}

fn key(r: &Value) -> &str {
    r["userIdentity"]["accessKeyId"].as_str().unwrap_or_default()
}

fn in_cidr(ip: &str, cidrs: &[(&str, u32)]) -> bool {
    let Ok(ip) = ip.parse::<Ipv4Addr>() else {
        return false;
    };
    cidrs.iter().any(|(base, bits)| {
        let base = u32::from(base.parse::<Ipv4Addr>().unwrap());
        u32::from(ip) >> (32 - bits) == base >> (32 - bits)
    })
}

#[test]
fn every_kind_of_actor_shows_up() {
    let c = corpus();
    any(c, "engineer with a long-term key", |r| {
        r["userIdentity"]["type"] == "IAMUser" && key(r).starts_with("AKIA") && ua(r).starts_with("aws-cli/")
    });
    any(c, "console sign-in", |r| {
        r["eventName"] == "ConsoleLogin"
            && r["eventType"] == "AwsConsoleSignIn"
            && r["responseElements"]["ConsoleLogin"] == "Success"
    });
    any(c, "console session", |r| r["sessionCredentialFromConsole"] == "true" && ua(r).starts_with("Mozilla/5.0"));
    any(c, "console backend call", |r| r["sourceIPAddress"] == "AWS Internal");
    any(c, "SSO console session", |r| {
        s(r, "/userIdentity/type") == "AssumedRole"
            && r["userIdentity"]["arn"].as_str().is_some_and(|a| a.contains("AWSReservedSSO_"))
    });
    let azure = [("20.0.0.0", 11), ("4.148.0.0", 16), ("52.224.0.0", 11), ("13.64.0.0", 11), ("40.64.0.0", 10)];
    let jobs = any(c, "GitHub Actions job", |r| {
        r["eventName"] == "GetCallerIdentity"
            && ua(r).ends_with("aws-credentials-for-github-actions")
            && r["userIdentity"]["userName"] == "github-actions-deploy"
    });
    let github_ips: Vec<&str> = c
        .records
        .iter()
        .filter(|(_, r)| r["userIdentity"]["userName"] == "github-actions-deploy")
        .map(|(_, r)| s(r, "/sourceIPAddress"))
        .collect();
    assert!(github_ips.iter().all(|ip| in_cidr(ip, &azure)), "GitHub runs in Azure");
    let distinct: HashSet<&str> = github_ips.iter().copied().collect();
    assert!(distinct.len() * 10 >= jobs * 9, "a new address per job");
    any(c, "self-hosted runner", |r| {
        r["userIdentity"]["arn"].as_str().is_some_and(|a| a.contains(":assumed-role/github-runner-role/i-0"))
    });
    let gcp = [("34.64.0.0", 10), ("35.184.0.0", 13)];
    any(c, "Terraform", |r| {
        r["userIdentity"]["userName"] == "terraform"
            && ua(r).contains("Terraform/1.9.5")
            && in_cidr(r["sourceIPAddress"].as_str().unwrap(), &gcp)
    });
    any(c, "Lambda function call", |r| ua(r).contains("exec-env/AWS_Lambda_python3.12") && key(r).starts_with("ASIA"));
    any(c, "EC2 instance profile call", |r| r["userIdentity"]["sessionContext"]["ec2RoleDelivery"] == "2.0");
    any(c, "root sign-in", |r| r["userIdentity"]["type"] == "Root" && r["eventName"] == "ConsoleLogin");
    any(c, "root call", |r| r["userIdentity"]["type"] == "Root" && r["eventName"] != "ConsoleLogin");
    any(c, "service event", |r| r["eventType"] == "AwsServiceEvent");
    any(c, "AWS Config describing", |r| r["sourceIPAddress"] == "config.amazonaws.com");
    any(c, "data event", |r| r["eventCategory"] == "Data" && r["managementEvent"] == false);
    any(c, "VPC endpoint call", |r| r["vpcEndpointId"].is_string());
}

#[test]
fn services_call_from_their_name_not_an_address() {
    let c = corpus();
    any(c, "service", |r| r["userIdentity"]["type"] == "AWSService");
    for (_, r) in &c.records {
        if r["userIdentity"]["type"] == "AWSService" {
            let src = s(r, "/sourceIPAddress");
            assert!(src.parse::<Ipv4Addr>().is_err(), "{src}");
            assert!(r.get("tlsDetails").is_none());
        }
    }
}

#[test]
fn some_calls_fail() {
    let c = corpus();
    let calls = c.records.iter().filter(|(_, r)| r["eventType"] == "AwsApiCall").count();
    let failed = any(c, "error", |r| r["errorCode"].is_string());
    let rate = failed as f64 / calls as f64;
    assert!((0.015..0.05).contains(&rate), "error rate {rate}");
    for code in ["AccessDenied", "Client.UnauthorizedOperation", "ThrottlingException"] {
        any(c, code, |r| r["errorCode"] == code);
    }
    any(c, "AccessDenied naming the caller", |r| {
        r["errorMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("User: arn:aws:") && m.contains("is not authorized to perform"))
    });
}

#[test]
fn lambda_uses_the_key_its_assume_role_returned() {
    let c = corpus();
    let mut issued: HashMap<&str, i64> = HashMap::new();
    for (_, r) in &c.records {
        if r["eventName"] == "AssumeRole" && r["userIdentity"]["invokedBy"] == "lambda.amazonaws.com" {
            assert_eq!(r["sourceIPAddress"], "lambda.amazonaws.com");
            assert!(s(r, "/responseElements/credentials/sessionToken").len() > 300);
            s(r, "/responseElements/credentials/expiration");
            let key = s(r, "/responseElements/credentials/accessKeyId");
            assert!(key.starts_with("ASIA"));
            issued.insert(key, time(s(r, "/eventTime")));
        }
    }
    assert!(!issued.is_empty());
    let used = any(c, "Lambda call with an issued key", |r| {
        r["userIdentity"]["type"] == "AssumedRole"
            && r["userIdentity"]["accessKeyId"]
                .as_str()
                .and_then(|k| issued.get(k))
                .is_some_and(|&t0| time(s(r, "/eventTime")) > t0)
    });
    assert!(used > 100);
}

#[test]
fn cross_account_role_hops_are_recorded_in_both_accounts() {
    let c = corpus();
    let mut shared: HashMap<&str, HashSet<&str>> = HashMap::new();
    for (_, r) in &c.records {
        if let Some(id) = r["sharedEventID"].as_str() {
            assert_eq!(r["eventName"], "AssumeRole");
            shared.entry(id).or_default().insert(s(r, "/recipientAccountId"));
        }
    }
    assert!(!shared.is_empty());
    assert!(shared.values().all(|accounts| accounts.len() == 2));
}

#[test]
fn people_work_office_hours_automation_does_not_stop() {
    let c = corpus();
    let hour = |r: &Value| (time(s(r, "/eventTime")) / 3600) % 24;
    let mut console_hours = [0usize; 24];
    let mut lambda_hours = [0usize; 24];
    for (_, r) in &c.records {
        if r["sessionCredentialFromConsole"] == "true" {
            console_hours[hour(r) as usize] += 1;
        }
        if ua(r).contains("exec-env/AWS_Lambda_") {
            lambda_hours[hour(r) as usize] += 1;
        }
    }
    let (quietest, busiest) = (console_hours.iter().min().unwrap(), console_hours.iter().max().unwrap());
    assert!(quietest * 20 < *busiest, "console users sleep: {console_hours:?}");
    assert!(lambda_hours.iter().all(|&n| n > 0), "{lambda_hours:?}");
    // Fewer people on Sunday (the first day) than on Monday.
    let day = |r: &Value| s(r, "/eventTime")[..10].to_string();
    let people =
        |d: &str| c.records.iter().filter(|(_, r)| r["sessionCredentialFromConsole"] == "true" && day(r) == d).count();
    assert!(people("2026-11-01") * 5 < people("2026-11-02"));
}

#[test]
fn secrets_are_where_cloudtrail_puts_them() {
    let c = corpus();
    for (_, r) in &c.records {
        if r["eventName"] == "CreateAccessKey" && r["errorCode"].is_null() {
            assert_eq!(r["responseElements"]["accessKey"]["secretAccessKey"], "HIDDEN_DUE_TO_SECURITY_REASONS");
        }
        if r["eventName"] == "GetSecretValue" {
            assert!(r["responseElements"].is_null());
        }
    }
}

/// A day of the default estate: about 2,600 files, as CloudTrail writes for
/// 30,000 events a day over 3 accounts and 3 regions.
#[test]
#[ignore]
fn default_day() {
    let (_dir, summary) = generate(&EstateConfig::default());
    println!("{summary:?}");
    assert!((2_000..3_000).contains(&summary.files), "{summary:?}");
}

/// 400k events in ~30k files, the size of a benchmark corpus. Run with
/// `cargo test --release -p keytrail-simulate -- --ignored --nocapture`.
#[test]
#[ignore]
fn benchmark_corpus() {
    let config = EstateConfig { days: 7, events_per_day: 57_000, accounts: 5, ..EstateConfig::default() };
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let summary = write_estate(dir.path(), &config, &|_| {}).unwrap();
    let took = started.elapsed();
    println!(
        "{} events, {} files, {:.1} MB gzip ({:.1} MB JSON) in {:.2?} ({:.0} events/s) on {} threads",
        summary.events,
        summary.files,
        summary.bytes_compressed as f64 / 1e6,
        summary.bytes_uncompressed as f64 / 1e6,
        took,
        summary.events as f64 / took.as_secs_f64(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    assert!(summary.events > 380_000);
}
