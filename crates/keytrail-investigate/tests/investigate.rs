//! Investigations over small CloudTrail estates in `tests/cases/` (raw events, one a line).
//!
//! `stolen_key.jsonl`: alice's key (AKIAALICE…) is used from DigitalOcean (5.0.0.0/16) to
//! enumerate, get refused, and assume PlatformAdmin in another account (two copies of the
//! AssumeRole event, one per account); the session creates user backdoor-7f3a with a key, a
//! console password and AdministratorAccess, then from M247 (45.0.0.0/16) reads a backup and a
//! secret, stops the trail, and assumes Auditor, whose session reads a parameter and creates a
//! function. The backdoor key is used once. AWS then quarantines alice, says the key is
//! exposed, and refuses a call. Noise: alice's own days from Comcast, and bob with his own
//! session creating a CI user.
//!
//! `role_chain_cycle.jsonl`: sessions issuing sessions, with a cycle, a session logged before
//! the one that issued it, and someone else's session.
//!
//! Set `KEYTRAIL_BLESS=1` to rewrite the expected renderings (`tests/cases/*.md`), and
//! `KEYTRAIL_KEEP_SCREENSHOT=FILE.png` to keep the browser's picture of the HTML report.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use keytrail_ecs::Enrichment;
use keytrail_engine::{MemoryOptions, ReadOptions, ReadReport, session};
use keytrail_investigate::{Report, Subject, investigate, render};
use keytrail_source::{DiscoverOptions, Sources};
use serde_json::{Value, json};

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(name)
}

/// AS organizations of the cases' addresses: 5.0/16 DigitalOcean, 20/8 Microsoft, 34/8
/// Google, 45.0/16 M247, 73/8 Comcast.
fn networks() -> Arc<Enrichment> {
    let csv = std::fs::File::open(case("networks.csv")).unwrap();
    let index = keytrail_enrich::AsnIndex::from_csv(csv, std::io::empty()).unwrap();
    Arc::new(Enrichment { asn: Some(keytrail_enrich::AsnDatabase::Index(index)), geo: None, intel: None })
}

async fn run(events: &str, subject: &Subject) -> Report {
    let sources = Sources::discover(&[case(events).display().to_string()], &DiscoverOptions::default()).await.unwrap();
    let read = Arc::new(ReadReport::default());
    let context = session(
        sources,
        networks(),
        keytrail_ecs::EnrichmentFiles::default(),
        keytrail_investigate::table_schema(),
        ReadOptions::default(),
        read.clone(),
        &MemoryOptions::default(),
    )
    .unwrap();
    let report = investigate(&context, subject).await.unwrap();
    assert!(!read.had_errors(), "{:?}", read.errors());
    report
}

const ALICE_KEY: &str = "AKIAALICE00000000001";
const ADMIN_SESSION: &str = "ASIASESSION000000001";
const AUDIT_SESSION: &str = "ASIASESSION000000002";
const BACKDOOR_KEY: &str = "AKIABACKDOOR00000001";
const BACKDOOR_USER: &str = "backdoor-7f3a";

fn stolen_key() -> Subject {
    Subject::AccessKeyId(ALICE_KEY.into())
}

/// The named fields of each item of a list in the report's JSON.
fn pick(list: &Value, fields: &[&str]) -> Vec<Value> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| Value::Array(fields.iter().map(|f| item[*f].clone()).collect()))
        .collect()
}

#[tokio::test]
async fn a_stolen_key_leads_to_its_role_sessions_the_backdoor_and_the_intruders_networks() {
    let report = serde_json::to_value(run("stolen_key.jsonl", &stolen_key()).await).unwrap();

    assert_eq!(report["subject"], json!({"kind": "access_key_id", "value": ALICE_KEY}));
    assert_eq!(
        pick(&report["credentials"], &["access_key_id", "origin", "arn"])[0],
        json!([ALICE_KEY, "subject", "arn:aws:iam::111111111111:user/alice"])
    );
    // The role session (named once, though both accounts logged the AssumeRole), the role it
    // chained into, and the backdoor's key.
    assert_eq!(
        pick(&report["derived"], &["access_key_id", "issued_by_action", "issued_by", "role_arn", "depth", "calls"]),
        [
            json!([ADMIN_SESSION, "AssumeRole", ALICE_KEY, "arn:aws:iam::222222222222:role/PlatformAdmin", 1, 9]),
            json!([BACKDOOR_KEY, "CreateAccessKey", ADMIN_SESSION, null, 2, 1]),
            json!([AUDIT_SESSION, "AssumeRole", ADMIN_SESSION, "arn:aws:iam::222222222222:role/Auditor", 2, 2]),
        ]
    );
    assert_eq!(
        pick(&report["persistence"], &["action", "target", "detail", "access_key_id", "outcome"]),
        [
            json!(["CreateUser", BACKDOOR_USER, null, ADMIN_SESSION, "success"]),
            json!(["CreateAccessKey", BACKDOOR_USER, format!("new key {BACKDOOR_KEY}"), ADMIN_SESSION, "success"]),
            json!(["CreateLoginProfile", BACKDOOR_USER, "console password", ADMIN_SESSION, "success"]),
            json!([
                "AttachUserPolicy",
                BACKDOOR_USER,
                "arn:aws:iam::aws:policy/AdministratorAccess",
                ADMIN_SESSION,
                "success"
            ]),
            json!([
                "CreateFunction",
                "log-shipper",
                "role arn:aws:iam::222222222222:role/lambda-exec",
                AUDIT_SESSION,
                "success"
            ]),
            json!(["CreateUser", "mailer", null, ALICE_KEY, "failure"]),
        ]
    );
    assert_eq!(
        pick(&report["data_access"], &["action", "resource", "source_addresses"]),
        [
            json!(["GetObject", "s3://team-docs/notes.txt", ["73.1.2.3"]]),
            json!(["GetObject", "s3://prod-backups/db/dump.sql.gz", ["45.0.0.7"]]),
            json!(["GetSecretValue", "prod/db/password", ["45.0.0.7"]]),
            json!(["GetParameter", "/prod/api-key", ["45.0.0.7"]]),
        ]
    );
    assert_eq!(
        pick(&report["source_addresses"], &["address", "as_organization", "calls"]),
        [
            json!(["73.1.2.3", "Comcast Cable Communications, LLC", 9]),
            json!(["5.0.1.10", "DigitalOcean, LLC", 21]),
            json!(["45.0.0.7", "M247 Europe SRL", 7]),
            json!(["AWS Internal", null, 1]),
        ]
    );
    assert_eq!(
        pick(&report["networks"], &["as_number", "as_organization"]),
        [
            json!([7922, "Comcast Cable Communications, LLC"]),
            json!([14061, "DigitalOcean, LLC"]),
            json!([9009, "M247 Europe SRL"])
        ]
    );
    let network_firsts: Vec<Value> = pick(&report["timeline"]["firsts"], &["kind", "value", "time"])
        .into_iter()
        .filter(|f| f[0] == "network")
        .collect();
    assert_eq!(
        network_firsts,
        [
            json!(["network", "Comcast Cable Communications, LLC", "2024-05-01T09:10:00Z"]),
            json!(["network", "DigitalOcean, LLC", "2024-05-02T10:00:00Z"]),
            json!(["network", "M247 Europe SRL", "2024-05-02T10:40:00Z"]),
        ]
    );
    assert_eq!(
        pick(&report["log_tampering"], &["action", "target", "access_key_id"]),
        [json!(["StopLogging", "arn:aws:cloudtrail:us-east-1:222222222222:trail/main", ADMIN_SESSION])]
    );
    assert_eq!(
        pick(&report["aws_signals"], &["action", "target", "detail"]),
        [
            json!(["AttachUserPolicy", "alice", "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"]),
            json!(["AWSHealthEvent", ALICE_KEY, "AWS_RISK_CREDENTIALS_EXPOSED"]),
            json!(["CreateUser", null, "1 call(s) refused by the quarantine policy"]),
        ]
    );
    let recon = &report["reconnaissance"];
    assert_eq!(pick(&recon["identity_checks"], &["access_key_id"]).len(), 3);
    assert_eq!(
        pick(&recon["enumeration_bursts"], &["start", "distinct_actions"]),
        [json!(["2024-05-02T10:00:00Z", 8])]
    );
    assert_eq!(pick(&recon["denied_bursts"], &["calls", "actions"]), [json!([6, ["ListSecrets"]])]);
    // bob's own session and the user it created are no part of it.
    let text = report.to_string();
    assert!(!text.contains("svc-ci") && !text.contains("ASIABOBSESSION"), "{text}");
}

#[tokio::test]
async fn the_user_and_the_address_lead_to_the_same_session() {
    let by_user = run("stolen_key.jsonl", &Subject::User("alice".into())).await;
    let by_arn = run("stolen_key.jsonl", &Subject::User("arn:aws:iam::111111111111:user/alice".into())).await;
    let by_ip = run("stolen_key.jsonl", &Subject::Ip("5.0.1.10".parse().unwrap())).await;
    let derived = |report: &Report| report.derived.iter().map(|d| d.access_key_id.clone()).collect::<Vec<_>>();
    assert_eq!(derived(&by_user), [ADMIN_SESSION, BACKDOOR_KEY, AUDIT_SESSION]);
    assert_eq!(derived(&by_arn), derived(&by_user));
    assert_eq!(derived(&by_ip), derived(&by_user));
    // From the address: only the intruder's calls of alice's key, not her own from home.
    assert!(by_ip.source_addresses.iter().all(|s| s.address.as_deref() != Some("73.1.2.3")));
    assert_eq!(by_ip.persistence.len(), 6);
    // An alert of `keytrail hunt --format ndjson` names the key.
    let alert = r#"{"@timestamp":"2024-05-02T10:05:00.000Z","rule":{"name":"Long-term key first seen from an IP"},
                    "aws":{"cloudtrail":{"user_identity":{"access_key_id":"AKIAALICE00000000001"}}},"source":{"ip":"5.0.1.10"}}"#;
    assert_eq!(Subject::from_alert(&alert.replace('\n', " ")).unwrap(), stolen_key());
}

#[tokio::test]
async fn role_chains_are_followed_to_the_end_and_cycles_do_not_loop() {
    let report = run("role_chain_cycle.jsonl", &Subject::AccessKeyId("AKIAROOT000000000001".into())).await;
    let derived: Vec<(&str, u32)> = report.derived.iter().map(|d| (d.access_key_id.as_str(), d.depth)).collect();
    assert_eq!(derived, [("ASIAONE0000000000001", 1), ("ASIATHREE00000000001", 3), ("ASIATWO0000000000001", 2)]);
}

#[tokio::test]
async fn a_subject_absent_from_the_logs_gives_an_empty_report() {
    let report = run("stolen_key.jsonl", &Subject::AccessKeyId("AKIANOBODY0000000001".into())).await;
    assert!(report.is_empty());
    assert!(report.derived.is_empty() && report.persistence.is_empty() && report.timeline.hours.is_empty());
    assert!(render::terminal(&report, 80).contains("does not appear"));
    assert!(render::html(&report).ends_with("</html>\n"));
}

#[tokio::test]
async fn secrets_never_reach_any_format() {
    let report = run("stolen_key.jsonl", &stolen_key()).await;
    let outputs = [
        serde_json::to_string(&report).unwrap(),
        render::markdown(&report),
        render::html(&report),
        render::terminal(&report, 100),
    ];
    for output in &outputs {
        for secret in ["SESSION-TOKEN-SECRET", "BACKDOOR-SECRET-KEY", "Hunter2-Password!"] {
            assert!(!output.contains(secret), "{secret} in {output}");
        }
    }
}

#[tokio::test]
async fn the_terminal_report_fits_its_width() {
    let report = run("stolen_key.jsonl", &stolen_key()).await;
    for width in [80, 120] {
        let text = render::terminal(&report, width);
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= width, "a line of {widest} characters in {width}:\n{text}");
        for needle in [ADMIN_SESSION, "DERIVED CREDENTIALS", "Persistence", "backdoor-7f3", "new network M247"] {
            assert!(text.contains(needle), "{needle} missing at width {width}:\n{text}");
        }
    }
}

/// The Markdown rendering, compared with `tests/cases/stolen_key.md`.
#[tokio::test]
async fn markdown_rendering() {
    let report = run("stolen_key.jsonl", &stolen_key()).await;
    let got = render::markdown(&report);
    let path = case("stolen_key.md");
    if std::env::var_os("KEYTRAIL_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(got == want, "the Markdown differs from {} (KEYTRAIL_BLESS=1 rewrites it):\n{got}", path.display());
}

/// Opens the HTML in headless Chromium (Debian's `chromium`) and checks that the page and
/// its chart render. Without Chromium it checks only the markup and reports the skip.
#[tokio::test]
async fn html_renders_in_a_browser_with_its_chart() {
    let report = run("stolen_key.jsonl", &stolen_key()).await;
    let page = render::html(&report);
    assert!(page.contains("<svg class=\"chart\"") && page.contains("class=\"bar\""));
    assert!(
        !page.contains("http://") && !page.contains("https://") && !page.contains("<script"),
        "fetches or runs something"
    );

    let Some(chromium) =
        keytrail_testkit::require::program(&["chromium", "chromium-browser"], "apt-get install chromium")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    std::fs::write(&file, &page).unwrap();
    let headless = |extra: &[&str]| {
        let out = std::process::Command::new(chromium)
            .args(["--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--disable-dev-shm-usage"])
            .arg(format!("--user-data-dir={}", dir.path().join("profile").display()))
            .args(extra)
            .arg(&file)
            .output()
            .unwrap();
        assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
        out
    };
    let dom = String::from_utf8(headless(&["--dump-dom"]).stdout).unwrap();
    assert!(dom.contains("<svg class=\"chart\""), "no chart in the rendered page:\n{dom}");
    assert_eq!(dom.matches("class=\"bar\"").count(), report.timeline.hours.len(), "one bar an hour");
    assert!(dom.contains(ADMIN_SESSION) && dom.contains("M247 Europe SRL"));

    let png = dir.path().join("report.png");
    headless(&[&format!("--screenshot={}", png.display()), "--window-size=1280,1600", "--hide-scrollbars"]);
    let image = std::fs::read(&png).unwrap();
    assert!(image.starts_with(b"\x89PNG") && image.len() > 20_000, "the screenshot is empty ({} bytes)", image.len());
    if let Some(keep) = std::env::var_os("KEYTRAIL_KEEP_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}
