//! No secret reaches any output. `tests/cases/canary_estate.jsonl` plants a canary under
//! every kind of secret key, in every free-form object of a record (request, response,
//! additional data, service event details; nested, in lists and lists of lists), in raw
//! CloudTrail, an EventBridge envelope and an ECS document exported from Elastic; damaged
//! records carry canaries too. Each `{CANARY}` becomes a unique `KTCANARY-NNN`, and every
//! path a user has is read — `query` of every column and of paths inside the objects,
//! `convert` to NDJSON and Parquet, `hunt` alerts in every format, `investigate` in every
//! format, `contain` plans, audit logs and undo (against moto), `--errors` files and every
//! message on stderr — and no canary may appear in any of them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use keytrail_testkit::files_under;
use keytrail_testkit::moto::{ENVIRONMENT, Moto};

const CANARY: &str = "KTCANARY-";

/// The key whose calls plant the canaries (replaced by a key moto made, when moto runs).
const KEY: &str = "AKIACANARYTEST000001";

/// Every `{CANARY}` in `template` replaced by its own numbered canary.
fn plant(template: &str) -> String {
    let mut parts = template.split("{CANARY}");
    let mut out = parts.next().unwrap_or_default().to_string();
    for (n, part) in parts.enumerate() {
        out.push_str(&format!("{CANARY}{n:03}"));
        out.push_str(part);
    }
    out
}

/// Everything keytrail showed a user: what it was (command and stream or file), and its bytes.
#[derive(Default)]
struct Seen(Vec<(String, Vec<u8>)>);

impl Seen {
    fn output(&mut self, what: &str, output: &Output) {
        self.0.push((format!("{what}: stdout"), output.stdout.clone()));
        self.0.push((format!("{what}: stderr"), output.stderr.clone()));
    }

    fn file(&mut self, what: &str, path: &Path) {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{what}: {} was not written: {e}", path.display()));
        assert!(!bytes.is_empty(), "{what}: {} is empty", path.display());
        self.0.push((format!("{what}: {}", path.display()), bytes));
    }

    /// Fails naming every output that holds a canary, and which.
    fn assert_no_canary(&self) {
        let leaks: Vec<String> = self
            .0
            .iter()
            .filter_map(|(what, bytes)| {
                let text = String::from_utf8_lossy(bytes);
                let found: Vec<&str> = text
                    .match_indices(CANARY)
                    .map(|(at, _)| &text[at..(at + CANARY.len() + 3).min(text.len())])
                    .collect();
                (!found.is_empty()).then(|| format!("{what}: {}", found.join(", ")))
            })
            .collect();
        assert!(leaks.is_empty(), "secrets reached the output:\n{}", leaks.join("\n"));
    }
}

fn keytrail(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keytrail"))
        .args(args)
        .current_dir(dir)
        .envs(ENVIRONMENT.iter().copied())
        .env("KEYTRAIL_DATA_DIR", "/nonexistent/keytrail-test-data")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs keytrail, requires it to end with `code`, and keeps what it printed.
fn run(seen: &mut Seen, dir: &Path, code: i32, args: &[&str]) -> Output {
    let output = keytrail(dir, args);
    assert_eq!(output.status.code(), Some(code), "keytrail {args:?}:\n{}", String::from_utf8_lossy(&output.stderr));
    seen.output(&args.join(" "), &output);
    output
}

/// The damaged inputs: a truncated record, values of the wrong type, a record over the size
/// limit and a cut gzip stream, each holding canaries.
fn write_damaged(dir: &Path) -> Vec<PathBuf> {
    let record = |name: &str, extra: &str| {
        format!(
            r#"{{"eventTime":"2024-05-02T11:00:00Z","eventSource":"iam.amazonaws.com","eventName":"{name}","sourceIPAddress":"45.0.0.7","requestParameters":{{"userName":"x","password":"{{CANARY}}"}}{extra}}}"#
        )
    };
    let lines = [
        // Cut inside the object: the reader must resume at the next line.
        record("CreateLoginProfile", "").replace("\"}}", ""),
        record("CreateLoginProfile", r#","userIdentity":"{CANARY}","readOnly":{"password":"{CANARY}"}"#),
        record("CreateLoginProfile", &format!(r#","responseElements":{{"pad":"{}"}}"#, "x".repeat(8192))),
        record("CreateLoginProfile", r#","eventID":{"sessionToken":"{CANARY}"}"#),
    ];
    let ndjson = dir.join("damaged.jsonl");
    std::fs::write(&ndjson, plant(&(lines.join("\n") + "\n"))).unwrap();
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let records = format!(
        r#"{{"Records":[{}]}}"#,
        record("ChangePassword", r#","additionalEventData":{"newPassword":"{CANARY}"}"#)
    );
    std::io::Write::write_all(&mut gzip, plant(&records).as_bytes()).unwrap();
    let bytes = gzip.finish().unwrap();
    let cut = dir.join("123456789012_CloudTrail_us-east-1_20240502T1105Z_cut.json.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    vec![ndjson, cut]
}

/// A rule file alerting on every call: the header the three rules share, then their own lines.
fn rule_file(id: &str, kind: &str, language: &str, rest: &str) -> String {
    format!(
        "[rule]\nrule_id = \"{id}\"\nname = \"{id}\"\ndescription = \"{id}\"\ntype = \"{kind}\"\nlanguage = \"{language}\"\n\
         from = \"now-6m\"\ninterval = \"5m\"\nrisk_score = 21\nseverity = \"low\"\nindex = [\"logs-aws.cloudtrail-*\"]\n{rest}"
    )
}

const EVERY_CALL: &str = "query = 'event.dataset: \"aws.cloudtrail\"'\n";

/// New request parameters: every call's text copy of them is a term.
const NEW_REQUEST: &str = r#"
[rule.new_terms]
field = "new_terms_fields"
value = ["aws.cloudtrail.request_parameters"]
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "now-7d"
"#;

/// The four objects of every call, as text and as JSON.
const OBJECTS: &str = r#"query = '''
FROM logs-aws.cloudtrail-*
| KEEP @timestamp, aws.cloudtrail.request_parameters, aws.cloudtrail.response_elements,
       aws.cloudtrail.additional_eventdata, aws.cloudtrail.service_event_details,
       aws.cloudtrail.flattened.request_parameters, aws.cloudtrail.flattened.response_elements
'''
"#;

/// Paths inside the objects that hold canaries, read as columns.
const PATH_COLUMNS: &[&str] = &[
    "aws.cloudtrail.flattened.request_parameters.password",
    "aws.cloudtrail.flattened.request_parameters.Password",
    "aws.cloudtrail.flattened.request_parameters.secretString",
    "aws.cloudtrail.flattened.request_parameters.environment.variables.DB_PASSWORD",
    "aws.cloudtrail.flattened.request_parameters.privateKey.pem",
    "aws.cloudtrail.flattened.request_parameters.tags.value",
    "aws.cloudtrail.flattened.response_elements.credentials.sessionToken",
    "aws.cloudtrail.flattened.response_elements.accessKey.secretAccessKey",
    "aws.cloudtrail.flattened.response_elements.user.passwords",
    "aws.cloudtrail.flattened.additional_eventdata.nested.list.Client_Secret",
    "aws.cloudtrail.flattened.service_event_details.SecretString",
    "aws.cloudtrail.flattened.service_event_details.items.DbPassword",
];

/// moto's IAM with the planting user and its key, when moto is installed.
async fn iam_with_user(moto: &Moto) -> String {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_sdk_iam::config::Credentials::new("testing", "testing", None, None, "test"))
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let iam = aws_sdk_iam::Client::new(&config);
    iam.create_user().user_name("alice").send().await.unwrap();
    let created = iam.create_access_key().user_name("alice").send().await.unwrap();
    created.access_key().unwrap().access_key_id().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_any_output() {
    let moto = Moto::start();
    let key = match &moto {
        Some(moto) => iam_with_user(moto).await,
        None => KEY.to_string(),
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let template =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/canary_estate.jsonl"))
            .unwrap()
            .replace("{ACCOUNT}", keytrail_testkit::moto::ACCOUNT)
            .replace("{KEY}", &key);
    let estate = d.join("estate.jsonl");
    std::fs::write(&estate, plant(&template)).unwrap();
    assert!(std::fs::read_to_string(&estate).unwrap().matches(CANARY).count() >= 30, "the canaries are planted");
    let damaged = write_damaged(d);
    let mut inputs: Vec<&str> = vec![estate.to_str().unwrap()];
    inputs.extend(damaged.iter().map(|p| p.to_str().unwrap()));
    let read = |args: &[&str], errors: &str| -> Vec<String> {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.extend(inputs.iter().map(|s| s.to_string()));
        all.extend([
            "--errors".into(),
            d.join(errors).to_str().unwrap().into(),
            "--max-record-bytes".into(),
            "4096".into(),
        ]);
        all
    };
    let mut seen = Seen::default();
    let go = |seen: &mut Seen, code: i32, args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(seen, d, code, &args)
    };

    // query: every column in every format, and the paths inside the objects.
    for format in ["table", "csv", "json", "ndjson"] {
        go(&mut seen, 0, read(&["query", "select * from cloudtrail", "--format", format], "query-errors.txt"));
    }
    seen.file("query --errors", &d.join("query-errors.txt"));
    let paths = PATH_COLUMNS.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    let sql = format!("select {paths} from cloudtrail");
    let output = go(&mut seen, 0, read(&["query", &sql, "--format", "ndjson"], "paths-errors.txt"));
    assert!(String::from_utf8_lossy(&output.stdout).contains("<redacted>"), "the paths are read");

    // convert: NDJSON, and Parquet read back.
    let ndjson = d.join("events.ndjson");
    go(&mut seen, 0, read(&["convert", "--to", "ndjson", "-o", ndjson.to_str().unwrap()], "convert-errors.txt"));
    seen.file("convert --to ndjson", &ndjson);
    let parquet = d.join("parquet");
    go(&mut seen, 0, read(&["convert", "--to", "parquet", "-o", parquet.to_str().unwrap()], "parquet-errors.txt"));
    for file in parquet_files(&parquet) {
        seen.0.push((format!("convert --to parquet: {}", file.display()), parquet_text(&file).into_bytes()));
    }

    // hunt: a query, a new_terms and an ES|QL rule that output the objects, beside the
    // built-in rules, in every format.
    let rules = d.join("rules");
    std::fs::create_dir(&rules).unwrap();
    let files = [
        ("query.toml", rule_file("canary-query", "query", "kuery", EVERY_CALL)),
        ("new_terms.toml", rule_file("canary-new-terms", "new_terms", "kuery", &format!("{EVERY_CALL}{NEW_REQUEST}"))),
        ("esql.toml", rule_file("canary-esql", "esql", "esql", OBJECTS)),
    ];
    for (name, text) in files {
        std::fs::write(rules.join(name), text).unwrap();
    }
    let alert = d.join("alert.json");
    for format in ["table", "json", "ndjson"] {
        let args = ["hunt", "--rules", rules.to_str().unwrap(), "--no-baseline", "--format", format];
        let output = go(&mut seen, 1, read(&args, "hunt-errors.txt"));
        if format == "ndjson" {
            let alerts = String::from_utf8_lossy(&output.stdout);
            for rule in ["canary-query", "canary-new-terms", "canary-esql"] {
                assert!(alerts.contains(rule), "{rule} raised no alert:\n{alerts}");
            }
            assert!(alerts.contains("<redacted>"), "the alerts carry the objects");
            let first = alerts.lines().find(|line| line.contains("canary-query")).unwrap();
            std::fs::write(&alert, first).unwrap();
        }
    }
    seen.file("hunt --errors", &d.join("hunt-errors.txt"));

    // investigate: the key, in every format, and from an alert.
    for format in ["terminal", "json", "markdown", "html"] {
        let out = d.join(format!("investigation.{format}"));
        let args = ["investigate", "--access-key-id", &key, "--format", format, "-o", out.to_str().unwrap()];
        go(&mut seen, 0, read(&args, "investigate-errors.txt"));
        seen.file(&format!("investigate --format {format}"), &out);
    }
    go(&mut seen, 0, read(&["investigate", "--access-key-id", &key], "investigate-errors.txt"));
    go(&mut seen, 0, read(&["investigate", "--alert", alert.to_str().unwrap()], "investigate-errors.txt"));
    seen.file("investigate --errors", &d.join("investigate-errors.txt"));

    // contain: the plan in both formats; applied, audited and undone when moto runs.
    let investigation = d.join("investigation.json");
    for format in ["text", "json"] {
        go(
            &mut seen,
            0,
            vec![
                "contain".into(),
                "--from-investigation".into(),
                investigation.to_str().unwrap().into(),
                "--format".into(),
                format.into(),
            ],
        );
    }
    if let Some(moto) = &moto {
        let audit = d.join("audit.jsonl");
        let apply = [
            "contain",
            "--from-investigation",
            investigation.to_str().unwrap(),
            "--apply",
            "--yes",
            "--endpoint-url",
            &moto.endpoint,
            "--audit-log",
            audit.to_str().unwrap(),
        ];
        go(&mut seen, 0, apply.iter().map(|s| s.to_string()).collect());
        seen.file("contain --apply audit log", &audit);
        let undo = ["contain", "--undo", audit.to_str().unwrap(), "--yes", "--endpoint-url", &moto.endpoint];
        go(&mut seen, 0, undo.iter().map(|s| s.to_string()).collect());
    }

    // The damaged records were counted and listed, without their content.
    let errors = std::fs::read_to_string(d.join("query-errors.txt")).unwrap();
    for reason in ["damaged.jsonl", "cut.json.gz", "4096"] {
        assert!(errors.contains(reason), "--errors names {reason}:\n{errors}");
    }
    seen.assert_no_canary();
}

fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    let files: Vec<PathBuf> =
        files_under(dir).into_iter().filter(|path| path.extension().is_some_and(|e| e == "parquet")).collect();
    assert!(!files.is_empty(), "no Parquet under {}", dir.display());
    files
}

/// Every value of a Parquet file as text (the file itself is compressed, so its bytes
/// would hide a leak).
fn parquet_text(path: &Path) -> String {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap().build().unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string()
}
