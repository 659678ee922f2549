//! `keytrail contain` against IAM, end to end: moto's server on 127.0.0.1 (skipped with a
//! message when moto is not installed). A user with a key and a role are created; the key is
//! contained through the library and through the binary (from an investigation of logs in
//! which it assumed the role and created a backdoor user), a second run changes nothing,
//! `--undo` restores what was there, and `--release` lifts the temporary policies.
//!
//! One test, because it sets the process's AWS environment for the SDK.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use aws_sdk_iam::types::StatusType;
use keytrail_contain::apply::Todo;
use keytrail_contain::audit::{self, AuditLog, Outcome};
use keytrail_contain::plan::Mode;
use keytrail_contain::{Applier, AwsOptions, Plan, Target, policy};
use keytrail_testkit::moto::{ENVIRONMENT, Moto};

const USER: &str = "alice";
const ROLE: &str = "deploy";
/// A policy already on the user under keytrail's deny-all name: undo must put it back.
const EARLIER: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["s3:*"],"Resource":["*"]}]}"#;
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#;

/// Runs the binary in `dir`, where its default audit logs go.
fn keytrail(dir: &Path, args: &[&str]) -> Output {
    keytrail_as(dir, &[], args)
}

/// The same, with `environment` over [`ENVIRONMENT`] (other credentials).
fn keytrail_as(dir: &Path, environment: &[(&str, &str)], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keytrail"))
        .args(args)
        .current_dir(dir)
        .envs(ENVIRONMENT.iter().chain(environment).copied())
        .env("KEYTRAIL_DATA_DIR", "/nonexistent/keytrail-test-data")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

struct Account {
    iam: aws_sdk_iam::Client,
    key: String,
}

impl Account {
    async fn key_status(&self) -> StatusType {
        let keys = self.iam.list_access_keys().user_name(USER).send().await.unwrap();
        keys.access_key_metadata()[0].status().unwrap().clone()
    }

    async fn user_policy(&self) -> Option<String> {
        let read = self.iam.get_user_policy().user_name(USER).policy_name(policy::DENY_ALL).send().await;
        read.ok().map(|o| policy::from_iam(o.policy_document()))
    }

    async fn role_policy(&self) -> Option<String> {
        let read = self.iam.get_role_policy().role_name(ROLE).policy_name(policy::REVOKE_SESSIONS).send().await;
        read.ok().map(|o| policy::from_iam(o.policy_document()))
    }
}

fn results(log: &Path) -> Vec<(u8, Outcome)> {
    audit::read(log).unwrap().iter().map(|r| (r.step, r.result)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn contains_a_stolen_key_in_iam_and_undoes_it() {
    let Some(moto) = Moto::start() else { return };
    // SAFETY: the only test of this binary sets them before any thread that reads them (the
    // SDK's) starts.
    for (name, value) in ENVIRONMENT {
        unsafe { std::env::set_var(name, value) };
    }
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(&moto.endpoint).load().await;
    let iam = aws_sdk_iam::Client::new(&config);
    iam.create_user().user_name(USER).send().await.unwrap();
    let created = iam.create_access_key().user_name(USER).send().await.unwrap();
    let key = created.access_key().unwrap().access_key_id().to_string();
    iam.create_role().role_name(ROLE).assume_role_policy_document(TRUST).send().await.unwrap();
    iam.put_user_policy().user_name(USER).policy_name(policy::DENY_ALL).policy_document(EARLIER).send().await.unwrap();
    let account = Account { iam, key };
    let dir = tempfile::tempdir().unwrap();
    let endpoint = moto.endpoint.as_str();

    // Without a terminal to ask on, and without --yes, nothing is changed.
    let refused = keytrail(
        dir.path(),
        &["contain", "--access-key-id", &account.key, "--role", ROLE, "--apply", "--endpoint-url", endpoint],
    );
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("(pass --yes)"), "{}", stderr(&refused));
    assert_eq!(account.key_status().await, StatusType::Active);

    // Through the library: the owner is looked up, then steps 1-3.
    let applier = Applier::connect(&AwsOptions { endpoint_url: Some(moto.endpoint.clone()), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(applier.account(), keytrail_testkit::moto::ACCOUNT);
    let owner = applier.key_owner(&account.key).await.unwrap();
    assert_eq!(owner.as_deref(), Some(USER));
    assert_eq!(applier.key_owner("AKIAIOSFODNN7UNKNOWN").await.unwrap(), None, "IAM does not know this key");
    let plan = Plan::new(&Target::from_key(&account.key, owner.as_deref(), &[ROLE.into()]), chrono::Utc::now());
    let changes = plan.changes(Mode::Contain).into_iter().map(|(s, c)| (s, c.clone())).collect();
    let pending = applier.survey(changes).await.unwrap();
    assert!(pending.iter().all(|p| p.todo == Todo::Call), "{pending:?}");
    let first = dir.path().join("first.jsonl");
    applier.execute(pending, Mode::Contain, &mut AuditLog::create(&first).unwrap()).await.unwrap();
    assert_eq!(results(&first), [(1, Outcome::Applied), (2, Outcome::Applied), (3, Outcome::Applied)]);
    assert_eq!(account.key_status().await, StatusType::Inactive);
    assert!(policy::same_document(&account.user_policy().await.unwrap(), &policy::deny_all()));
    let revoke = account.role_policy().await.expect("the role's revoke policy");
    assert!(policy::revoke_cutoff(&revoke).is_some(), "{revoke}");

    // Through the binary, from an investigation of the logs: the key assumed the role and
    // created a backdoor user. Everything is in place already, so nothing changes.
    let events =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/contain_estate.jsonl"))
            .unwrap()
            .replace("{ACCOUNT}", keytrail_testkit::moto::ACCOUNT)
            .replace("{KEY}", &account.key);
    let (logs, investigation) = (dir.path().join("events.jsonl"), dir.path().join("investigation.json"));
    std::fs::write(&logs, events).unwrap();
    let investigated = keytrail(
        dir.path(),
        &[
            "investigate",
            logs.to_str().unwrap(),
            "--access-key-id",
            &account.key,
            "--format",
            "json",
            "-o",
            investigation.to_str().unwrap(),
        ],
    );
    assert!(investigated.status.success(), "{}", stderr(&investigated));
    let second = dir.path().join("second.jsonl");
    let again = keytrail(
        dir.path(),
        &[
            "contain",
            "--from-investigation",
            investigation.to_str().unwrap(),
            "--apply",
            "--yes",
            "--endpoint-url",
            endpoint,
            "--audit-log",
            second.to_str().unwrap(),
        ],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    let plan = String::from_utf8_lossy(&again.stdout);
    assert!(plan.contains(&format!("# role {ROLE}: session alice (ASIACONTAINTEST00001)")), "{plan}");
    assert!(plan.contains("# CreateUser backdoor in account 123456789012"), "{plan}");
    assert!(plan.contains("aws iam delete-user --user-name backdoor"), "{plan}");
    assert_eq!(results(&second), [(1, Outcome::Unchanged), (2, Outcome::Unchanged), (3, Outcome::Unchanged)]);
    assert_eq!(account.role_policy().await.as_deref(), Some(revoke.as_str()), "the cutoff stays the first run's");

    // --undo restores what the first run found: the key active, the earlier policy back, the
    // role without a revoke policy.
    let undone =
        keytrail(dir.path(), &["contain", "--undo", first.to_str().unwrap(), "--yes", "--endpoint-url", endpoint]);
    assert!(undone.status.success(), "{}", stderr(&undone));
    assert!(stderr(&undone).contains("3 applied"), "{}", stderr(&undone));
    assert_eq!(account.key_status().await, StatusType::Active);
    assert!(policy::same_document(&account.user_policy().await.unwrap(), EARLIER));
    assert_eq!(account.role_policy().await, None);

    // Contained again, then released: the temporary policies go, the key stays inactive.
    let args = ["contain", "--access-key-id", &account.key, "--user", USER, "--role", ROLE, "--endpoint-url", endpoint];
    let contained = keytrail(dir.path(), &[&args[..], &["--apply", "--yes"]].concat());
    assert!(contained.status.success(), "{}", stderr(&contained));
    let default_log = format!("audit log keytrail-contain-{}-apply-", account.key);
    assert!(stderr(&contained).contains(&default_log), "{}", stderr(&contained));
    let release = dir.path().join("release.jsonl");
    let released = keytrail(
        dir.path(),
        &[&args[..], &["--apply", "--release", "--yes", "--audit-log", release.to_str().unwrap()]].concat(),
    );
    assert!(released.status.success(), "{}", stderr(&released));
    assert_eq!(results(&release), [(6, Outcome::Applied), (6, Outcome::Applied)]);
    assert_eq!((account.user_policy().await, account.role_policy().await), (None, None));
    assert_eq!(account.key_status().await, StatusType::Inactive);

    // An investigation of another account's key: every change is skipped under these
    // credentials, and nothing changes.
    let elsewhere =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../keytrail-contain/tests/cases/stolen_key.investigation.json");
    let skipped = dir.path().join("skipped.jsonl");
    let other = keytrail(
        dir.path(),
        &[
            "contain",
            "--from-investigation",
            elsewhere.to_str().unwrap(),
            "--apply",
            "--yes",
            "--endpoint-url",
            endpoint,
            "--audit-log",
            skipped.to_str().unwrap(),
        ],
    );
    assert!(other.status.success(), "{}", stderr(&other));
    let skipped = results(&skipped);
    assert!(!skipped.is_empty() && skipped.iter().all(|(_, outcome)| *outcome == Outcome::Skipped), "{skipped:?}");

    // A responder allowed to deactivate keys but not to put policies: step 1 is applied, step
    // 2 is refused, and the error names the permission and what was applied.
    account
        .iam
        .update_access_key()
        .user_name(USER)
        .access_key_id(&account.key)
        .status(StatusType::Active)
        .send()
        .await
        .unwrap();
    let responder = responder(&account.iam).await;
    moto.enforce_iam(true);
    let denied = keytrail_as(
        dir.path(),
        &[("AWS_ACCESS_KEY_ID", &responder.0), ("AWS_SECRET_ACCESS_KEY", &responder.1)],
        &[
            "contain",
            "--access-key-id",
            &account.key,
            "--user",
            USER,
            "--role",
            ROLE,
            "--apply",
            "--yes",
            "--endpoint-url",
            endpoint,
        ],
    );
    moto.enforce_iam(false);
    assert_eq!(denied.status.code(), Some(2), "{}", stderr(&denied));
    let message = stderr(&denied);
    assert!(message.contains("iam:PutUserPolicy on user alice, policy keytrail-quarantine-deny-all was refused: the credentials need the IAM permission iam:PutUserPolicy; already applied: step 1 iam:UpdateAccessKey"), "{message}");
    assert!(message.contains("keytrail contain --undo keytrail-contain-"), "{message}");
    assert_eq!(account.key_status().await, StatusType::Inactive);
    assert_eq!(account.user_policy().await, None);
}

/// A user whose key may read state and deactivate keys, and nothing else: (key id, secret).
async fn responder(iam: &aws_sdk_iam::Client) -> (String, String) {
    const ALLOWED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:GetCallerIdentity","iam:ListAccessKeys","iam:UpdateAccessKey","iam:GetUserPolicy","iam:GetRolePolicy"],"Resource":"*"}]}"#;
    iam.create_user().user_name("responder").send().await.unwrap();
    iam.put_user_policy().user_name("responder").policy_name("respond").policy_document(ALLOWED).send().await.unwrap();
    let created = iam.create_access_key().user_name("responder").send().await.unwrap();
    let key = created.access_key().unwrap();
    (key.access_key_id().to_string(), key.secret_access_key().to_string())
}
