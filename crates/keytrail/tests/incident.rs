//! The incident path on a simulated estate, through the binary, as a responder would walk it:
//! `simulate` an estate in which an administrator's key is stolen, assumes a role and makes a
//! backdoor user; `investigate` the stolen key; `contain` from that investigation (the plan).
//!
//! The networks are checked when the real IP-to-AS data is there (`KEYTRAIL_ASN_CSV_DIR`, set
//! by scripts/test.sh); without it the rest still runs and the skip is reported (under
//! `KEYTRAIL_REQUIRE_ALL=1` the test fails instead).

use std::path::Path;
use std::process::{Command, Output};

use keytrail_testkit::require;
use serde_json::Value;

const ATTACK: &str = "stolen-key-role-chain-backdoor";

fn keytrail(data_dir: &Path, args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_keytrail"))
        .args(args)
        .env("KEYTRAIL_DATA_DIR", data_dir)
        .env_remove("KEYTRAIL_ASN_DB")
        .output()
        .unwrap();
    assert!(output.status.success(), "keytrail {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output
}

fn strings(value: &Value) -> Vec<&str> {
    value.as_array().unwrap().iter().filter_map(Value::as_str).collect()
}

#[test]
fn a_stolen_key_is_investigated_and_contained_on_a_simulated_estate() {
    let dir = tempfile::tempdir().unwrap();
    let (estate, data) = (dir.path().join("estate"), dir.path().join("data"));
    let estate_arg = estate.to_str().unwrap();
    let simulate =
        ["simulate", estate_arg, "--days", "3", "--events-per-day", "3000", "--seed", "5", "--attack", ATTACK];
    keytrail(&data, &simulate);
    let networks = match require::env_path("KEYTRAIL_ASN_CSV_DIR", "scripts/test.sh fetches the ASN data") {
        Some(csv) => {
            keytrail(&data, &["asn", "build", csv.to_str().unwrap()]);
            true
        }
        None => false,
    };
    let truth: Value = serde_json::from_slice(&std::fs::read(estate.join("ground-truth.json")).unwrap()).unwrap();
    let attack = &truth["attacks"][0];
    assert_eq!(attack["name"], ATTACK);
    // The stolen key, the role session it opened, the backdoor user's key.
    let [stolen, session, backdoor_key] = strings(&attack["access_key_ids"])[..] else { panic!("{attack}") };
    let [owner, role, backdoor_user] = strings(&attack["user_names"])[..] else { panic!("{attack}") };
    let intruder_addresses = strings(&attack["source_ips"]);

    let report_path = dir.path().join("report.json");
    let report_arg = report_path.to_str().unwrap();
    let logs = estate.join("AWSLogs");
    keytrail(
        &data,
        &["investigate", logs.to_str().unwrap(), "--access-key-id", stolen, "--format", "json", "-o", report_arg],
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&report_path).unwrap()).unwrap();

    let derived: Vec<&str> =
        report["derived"].as_array().unwrap().iter().filter_map(|d| d["access_key_id"].as_str()).collect();
    assert!(derived.contains(&session) && derived.contains(&backdoor_key), "derived credentials: {derived:?}");
    let persistence: Vec<(&str, &str)> = report["persistence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["action"].as_str().unwrap(), f["target"].as_str().unwrap_or_default()))
        .collect();
    // What contain acts on is named on its own, not only inside the detail's words.
    let objects: Vec<(&str, &str)> = report["persistence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| Some((f["action"].as_str()?, f["object"].as_str()?)))
        .collect();
    assert!(objects.contains(&("CreateAccessKey", backdoor_key)), "{objects:?}");
    assert!(objects.contains(&("AttachUserPolicy", "arn:aws:iam::aws:policy/AdministratorAccess")), "{objects:?}");
    for action in ["CreateUser", "CreateAccessKey", "CreateLoginProfile", "AttachUserPolicy"] {
        assert!(
            persistence.iter().any(|(a, target)| *a == action && target.contains(backdoor_user)),
            "{action} on {backdoor_user} in {persistence:?}"
        );
    }
    let addresses: Vec<&str> =
        report["source_addresses"].as_array().unwrap().iter().filter_map(|a| a["address"].as_str()).collect();
    for address in &intruder_addresses {
        assert!(addresses.contains(address), "{address} among {addresses:?}");
    }
    if networks {
        let organizations: Vec<&str> =
            report["networks"].as_array().unwrap().iter().filter_map(|n| n["as_organization"].as_str()).collect();
        for expected in ["DigitalOcean", "Datacamp"] {
            assert!(organizations.iter().any(|o| o.contains(expected)), "{expected} among {organizations:?}");
        }
    }

    let plan = keytrail(&data, &["contain", "--from-investigation", report_arg]);
    let plan = String::from_utf8_lossy(&plan.stdout);
    for expected in [
        format!("update-access-key --user-name {owner} --access-key-id {stolen} --status Inactive"),
        format!("put-role-policy --role-name {role} --policy-name keytrail-revoke-sessions-before"),
        format!("delete-user --user-name {backdoor_user}"),
    ] {
        assert!(plan.contains(&expected), "the plan lacks `{expected}`:\n{plan}");
    }
}
