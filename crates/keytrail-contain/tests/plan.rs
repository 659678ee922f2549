//! Plans from investigations in `tests/cases/`, compared with their expected text.
//!
//! `stolen_key.investigation.json` is `keytrail investigate --format json` of
//! keytrail-investigate's `tests/cases/stolen_key.jsonl` for alice's key, with the AS index
//! `keytrail asn build` makes of its `networks.csv` (as `asn-ipv4.csv`): the key assumed
//! PlatformAdmin in another account, whose session created user backdoor-7f3a (a key, a
//! console password, AdministratorAccess) and assumed Auditor, which created a function.
//!
//! Set `KEYTRAIL_BLESS=1` to rewrite the expected plans (`tests/cases/*.plan.txt`).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use keytrail_contain::plan::{Action, By, Holder, KeyStatus, Mode};
use keytrail_contain::{Plan, Target, render};
use keytrail_investigate::Report;

fn case(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(name)
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-03T08:00:00Z").unwrap().to_utc()
}

fn report(name: &str) -> Report {
    serde_json::from_str(&std::fs::read_to_string(case(name)).unwrap()).unwrap()
}

/// Compares `text` with the expected file, or rewrites it under `KEYTRAIL_BLESS`.
fn expect(text: &str, expected: &str) {
    let path = case(expected);
    if std::env::var_os("KEYTRAIL_BLESS").is_some() {
        std::fs::write(&path, text).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(text == want, "{} differs (KEYTRAIL_BLESS=1 rewrites it):\n{text}", path.display());
}

/// The roles of step-3 changes; any other change fails the test.
fn revoked_roles<'a>(changes: &[(u8, &'a Action)]) -> Vec<&'a str> {
    changes
        .iter()
        .map(|(n, action)| match action {
            Action::PutPolicy { on: Holder::Role(role), .. } if *n == 3 => role.as_str(),
            other => panic!("step {n}: {other:?}"),
        })
        .collect()
}

#[test]
fn the_stolen_key_plan() {
    let target = Target::from_report(&report("stolen_key.investigation.json"), None).unwrap();
    let plan = Plan::new(&target, now());
    expect(&render::text(&plan), "stolen_key.plan.txt");

    let numbers: Vec<u8> = plan.steps.iter().map(|s| s.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5, 6, 7, 8]);
    let applied: Vec<(u8, &Action)> = plan.changes(Mode::Contain).into_iter().map(|(n, c)| (n, &c.action)).collect();
    assert!(
        matches!(applied[0], (1, Action::UpdateAccessKey { status: KeyStatus::Inactive, user, .. }) if user == "alice")
    );
    assert!(matches!(applied[1], (2, Action::PutPolicy { on: Holder::User(user), .. }) if user == "alice"));
    assert_eq!(revoked_roles(&applied[2..]), ["PlatformAdmin", "Auditor"]);
    // The roles are in the attacker's target account, not alice's: --apply with alice's
    // account's credentials skips them.
    let accounts: Vec<Option<&str>> = plan.changes(Mode::Contain).iter().map(|(_, c)| c.account.as_deref()).collect();
    assert_eq!(accounts, [Some("111111111111"), Some("111111111111"), Some("222222222222"), Some("222222222222")]);
    assert_eq!(plan.changes(Mode::Release).len(), 3);
    assert!(plan.steps.iter().filter(|s| s.by == By::Hand).all(|s| s.items.iter().all(|i| i.change.is_none())));
}

#[test]
fn a_key_alone_gets_its_plan_with_the_owner_looked_up_by_command() {
    let target = Target::from_key("AKIAUNKNOWN000000001", None, &["arn:aws:iam::111111111111:role/deploy".into()]);
    let plan = Plan::new(&target, now());
    expect(&render::text(&plan), "key_alone.plan.txt");
    // Without an owner nothing of the key's can be applied; the role can.
    let applied: Vec<&Action> = plan.changes(Mode::Contain).into_iter().map(|(_, c)| &c.action).collect();
    assert!(matches!(applied[..], [Action::PutPolicy { on: Holder::Role(_), .. }]));
}

#[test]
fn a_key_the_investigation_does_not_know_gets_its_plan_with_a_note() {
    let target = Target::from_report(&report("stolen_key.investigation.json"), Some("AKIAOTHER00000000001")).unwrap();
    let plan = Plan::new(&target, now());
    assert!(plan.notes.iter().any(|n| n.contains("AKIAOTHER00000000001 does not appear in the investigation")));
    assert!(plan.steps[0].items[0].commands[0].contains("--access-key-id AKIAOTHER00000000001"));
}

#[test]
fn the_json_plan_reads_back() {
    let target = Target::from_report(&report("stolen_key.investigation.json"), None).unwrap();
    let plan = Plan::new(&target, now());
    let json = serde_json::to_string(&plan).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), json);
    assert!(json.contains(r#""kind":"revoke_sessions""#));
}

/// Step 4 for every kind of persistence the investigation knows (`persistence.findings.json`):
/// a created role is deleted whole, with what was attached to it; a name from the logs that is
/// not a plain name is quoted.
#[test]
fn each_kind_of_persistence_gets_its_clean_up() {
    let text = std::fs::read_to_string(case("persistence.findings.json")).unwrap();
    let target = Target {
        access_key_id: "AKIAALICE00000000001".into(),
        user: Some("alice".into()),
        persistence: serde_json::from_str(&text).unwrap(),
        ..Target::default()
    };
    let plan = Plan::new(&target, now());
    let step = plan.steps.iter().find(|s| s.number == 4).unwrap();
    let mut lines = String::new();
    for item in &step.items {
        lines.push_str(&format!("# {}\n", item.about.as_deref().unwrap_or_default()));
        for command in &item.commands {
            lines.push_str(&format!("{command}\n"));
        }
    }
    expect(&lines, "persistence.cleanup.txt");
}

/// A session key is not deactivated or denied: its role's sessions are revoked (PlatformAdmin,
/// whose session it is, and Auditor, which the session assumed).
#[test]
fn a_session_key_has_its_role_revoked_instead() {
    let target = Target::from_report(&report("stolen_key.investigation.json"), Some("ASIASESSION000000001")).unwrap();
    let plan = Plan::new(&target, now());
    let applied: Vec<(u8, &Action)> = plan.changes(Mode::Contain).into_iter().map(|(n, c)| (n, &c.action)).collect();
    assert_eq!(revoked_roles(&applied), ["PlatformAdmin", "Auditor"]);
    for number in [1, 2, 5] {
        let about = plan.steps[number - 1].items[0].about.as_deref().unwrap_or_default();
        assert!(about.starts_with("A session key (ASIA…) cannot be deactivated"), "step {number}: {about}");
    }
}
