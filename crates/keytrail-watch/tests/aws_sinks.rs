//! The AWS sinks against moto's server on 127.0.0.1 (skipped with a message when moto is not
//! installed): SNS publishes each alert to topics whose SQS subscriptions are read back, and
//! Security Hub imports each alert as a finding, read back with GetFindings. Security Hub's
//! refusal of single findings, which moto does not make, is tested against a recording server.
//!
//! moto's topics, queues and findings are set up and read with boto3, which moto's server
//! needs anyway: the workspace has no SDK crate for SNS, SQS or Security Hub (the sinks sign
//! their own requests).

use std::process::Command;
use std::sync::Once;

use keytrail_source::AwsOptions;
use keytrail_testkit::http::Recorder;
use keytrail_testkit::moto::{ACCOUNT, ENVIRONMENT, Moto};
use keytrail_watch::{NamedSink, RaisedAlert, SinkSecrets, SinkSpec, State, Tick, deliver};
use serde_json::{Value, json};

const TICK: Tick = Tick { started: 1, now: 1, objects: 0, events: 0, newest_delivery: None, seconds: 0.0 };
const RULE_ID: &str = "9f8e3c5e-f72e-4e91-93f6-e98a4fae3e4f";

/// Sets the process's AWS environment to moto's, from which the sinks take their credentials.
fn aws_environment() {
    static SET: Once = Once::new();
    SET.call_once(|| {
        for (name, value) in ENVIRONMENT {
            // SAFETY: every test of this binary calls this before anything of it reads the
            // environment, and the first to call it sets it while the others wait.
            unsafe { std::env::set_var(name, value) };
        }
    });
}

fn document(id: &str, account: Option<&str>) -> String {
    let mut document = json!({
        "@timestamp": "2024-05-01T10:05:00.000Z",
        "kibana": {"alert": {"uuid": id}},
        "rule": {"uuid": RULE_ID, "name": "Access key used from a new network", "severity": "high",
                 "threat": [{"framework": "MITRE ATT&CK", "tactic": {"id": "TA0001", "name": "Initial Access"}}]},
        "aws": {"cloudtrail": {"user_identity": {"arn": format!("arn:aws:iam::{ACCOUNT}:user/alice"),
                                                 "access_key_id": format!("AKIA{id}")}}},
        "source": {"ip": "203.0.113.9"}
    });
    if let Some(account) = account {
        document["cloud"] = json!({"account": {"id": account}});
    }
    document.to_string()
}

fn alert(id: &str) -> RaisedAlert {
    RaisedAlert { id: id.into(), rule_id: RULE_ID.into(), run_time: 1, document: document(id, Some(ACCOUNT)) }
}

/// A state in `dir` whose outbox holds `ids` for `spec`, and `spec`'s sink opened to reach
/// AWS at `endpoint`.
fn outbox(dir: &std::path::Path, spec: &SinkSpec, ids: &[&str], endpoint: &str) -> (State, Vec<NamedSink>) {
    let mut state = State::open(dir).unwrap();
    let alerts: Vec<_> = ids.iter().map(|id| alert(id)).collect();
    state.commit_tick(&TICK, None, &[], &alerts, &[spec.name()]).unwrap();
    let aws = AwsOptions { endpoint_url: Some(endpoint.to_string()), ..AwsOptions::default() };
    let sink = spec.open(None, &SinkSecrets::default(), &aws).unwrap();
    (state, vec![(spec.name(), sink)])
}

fn waiting(state: &State, spec: &SinkSpec) -> usize {
    state.undelivered(&spec.name(), 1000).unwrap().len()
}

/// Runs `script` with boto3 against moto (`client(NAME)` gives a client of it) and returns
/// the JSON it prints.
fn boto3(moto: &Moto, script: &str) -> Value {
    let prelude = "import boto3, json, os\n\
                   def client(name):\n    \
                       return boto3.client(name, region_name='us-east-1', endpoint_url=os.environ['MOTO_ENDPOINT'])\n";
    let output = Command::new("python3")
        .arg("-c")
        .arg(format!("{prelude}{script}"))
        .envs(ENVIRONMENT.iter().copied())
        .env("MOTO_ENDPOINT", &moto.endpoint)
        .output()
        .expect("python3 runs");
    assert!(output.status.success(), "boto3 failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

/// The messages an SQS queue holds, each with its attributes, taken off the queue.
fn received(moto: &Moto, queue_url: &str) -> Vec<Value> {
    let script = format!(
        "sqs = client('sqs')\n\
         messages = []\n\
         while True:\n    \
             got = sqs.receive_message(QueueUrl='{queue_url}', MaxNumberOfMessages=10, AttributeNames=['All'])\n    \
             if not got.get('Messages'):\n        \
                 break\n    \
             for m in got['Messages']:\n        \
                 sqs.delete_message(QueueUrl='{queue_url}', ReceiptHandle=m['ReceiptHandle'])\n        \
                 messages.append({{'body': json.loads(m['Body']), 'attributes': m['Attributes']}})\n\
         print(json.dumps(messages))\n"
    );
    boto3(moto, &script).as_array().unwrap().clone()
}

#[tokio::test]
async fn sns_publishes_each_alert_to_a_topic_and_a_fifo_topic_drops_a_resend() {
    aws_environment();
    let Some(moto) = Moto::start() else { return };
    let topics = boto3(
        &moto,
        "sns, sqs = client('sns'), client('sqs')\n\
         def subscribed(topic, queue, fifo):\n    \
             attributes = {'FifoTopic': 'true'} if fifo else {}\n    \
             arn = sns.create_topic(Name=topic, Attributes=attributes)['TopicArn']\n    \
             queue_attributes = {'FifoQueue': 'true'} if fifo else {}\n    \
             url = sqs.create_queue(QueueName=queue, Attributes=queue_attributes)['QueueUrl']\n    \
             queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n    \
             sns.subscribe(TopicArn=arn, Protocol='sqs', Endpoint=queue_arn)\n    \
             return {'topic': arn, 'queue': url}\n\
         print(json.dumps({'standard': subscribed('alerts', 'alerts', False),\n                  \
                           'fifo': subscribed('alerts.fifo', 'alerts.fifo', True)}))\n",
    );

    let dir = tempfile::tempdir().unwrap();
    let spec: SinkSpec = format!("sns:{}", topics["standard"]["topic"].as_str().unwrap()).parse().unwrap();
    let (mut state, mut sinks) = outbox(dir.path(), &spec, &["a", "b"], &moto.endpoint);
    let (delivered, failures) = deliver(&mut state, &mut sinks, 1).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!((delivered, waiting(&state, &spec)), (2, 0));
    let messages = received(&moto, topics["standard"]["queue"].as_str().unwrap());
    assert_eq!(messages.len(), 2, "{messages:?}");
    for (message, id) in messages.iter().zip(["a", "b"]) {
        let notification = &message["body"];
        assert_eq!(notification["Message"].as_str(), Some(alert(id).document.as_str()));
        assert_eq!(notification["Subject"], "keytrail high: Access key used from a new network");
        assert_eq!(notification["MessageAttributes"]["kibana.alert.uuid"]["Value"], id);
        assert_eq!(notification["MessageAttributes"]["rule.severity"]["Value"], "high");
    }

    // The FIFO topic: the same alerts twice, as after a restart that lost the deliveries.
    let spec: SinkSpec = format!("sns:{}", topics["fifo"]["topic"].as_str().unwrap()).parse().unwrap();
    for attempt in ["first", "again"] {
        let dir = tempfile::tempdir().unwrap();
        let (mut state, mut sinks) = outbox(dir.path(), &spec, &["a", "b"], &moto.endpoint);
        let (delivered, failures) = deliver(&mut state, &mut sinks, 1).await;
        assert!(failures.is_empty(), "{attempt}: {failures:?}");
        assert_eq!(delivered, 2, "{attempt}");
    }
    let messages = received(&moto, topics["fifo"]["queue"].as_str().unwrap());
    let ids: Vec<&Value> =
        messages.iter().map(|m| &m["body"]["MessageAttributes"]["kibana.alert.uuid"]["Value"]).collect();
    assert_eq!(ids, [&json!("a"), &json!("b")], "{messages:?}");
    for (message, id) in messages.iter().zip(["a", "b"]) {
        assert_eq!(message["attributes"]["MessageGroupId"], RULE_ID);
        assert_eq!(message["attributes"]["MessageDeduplicationId"], id);
    }
}

#[tokio::test]
async fn sns_to_a_missing_topic_leaves_the_alerts_in_the_outbox() {
    aws_environment();
    let Some(moto) = Moto::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let spec: SinkSpec = format!("sns:arn:aws:sns:us-east-1:{ACCOUNT}:nowhere").parse().unwrap();
    let (mut state, mut sinks) = outbox(dir.path(), &spec, &["a"], &moto.endpoint);
    let (delivered, failures) = deliver(&mut state, &mut sinks, 1).await;
    assert_eq!((delivered, waiting(&state, &spec)), (0, 1));
    let failure = format!("{:#}", failures[0]);
    assert!(failure.contains("nowhere") && failure.contains("NotFound"), "{failure}");
    assert!(!failure.contains("testing"), "credentials in a message: {failure}");
}

#[tokio::test]
async fn security_hub_imports_each_alert_as_a_finding_and_a_resend_updates_it() {
    aws_environment();
    let Some(moto) = Moto::start() else { return };
    let spec: SinkSpec = "securityhub:us-east-1".parse().unwrap();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let (mut state, mut sinks) = outbox(dir.path(), &spec, &["a", "b"], &moto.endpoint);
        let (delivered, failures) = deliver(&mut state, &mut sinks, 1).await;
        assert!(failures.is_empty(), "{failures:?}");
        assert_eq!((delivered, waiting(&state, &spec)), (2, 0));
    }
    let findings = boto3(&moto, "print(json.dumps(client('securityhub').get_findings()['Findings']))");
    let findings = findings.as_array().unwrap();
    assert_eq!(findings.iter().map(|f| f["Id"].as_str().unwrap()).collect::<Vec<_>>(), ["a", "b"]);
    let finding = &findings[0];
    let product = format!("arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default");
    assert_eq!(finding["ProductArn"], product);
    assert_eq!(finding["AwsAccountId"], ACCOUNT);
    assert_eq!(finding["GeneratorId"], RULE_ID);
    assert_eq!(finding["Title"], "Access key used from a new network");
    assert_eq!(finding["Severity"]["Label"], "HIGH");
    assert_eq!(finding["Types"], json!(["TTPs/Initial Access"]));
    assert_eq!(
        finding["Resources"],
        json!([{"Type": "AwsIamAccessKey", "Id": "AKIAa"}, {"Type": "AwsIamUser", "Id": format!("arn:aws:iam::{ACCOUNT}:user/alice")}])
    );
}

#[tokio::test]
async fn security_hub_refusing_one_finding_keeps_the_batch_in_the_outbox() {
    aws_environment();
    let caller = format!(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
         <Arn>arn:aws:iam::{ACCOUNT}:user/watch</Arn><UserId>AIDAWATCH</UserId><Account>{ACCOUNT}</Account>\
         </GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
    );
    let imported = r#"{"FailedCount":0,"SuccessCount":100,"FailedFindings":[]}"#;
    let refused = r#"{"FailedCount":1,"SuccessCount":49,"FailedFindings":[{"Id":"a120","ErrorCode":"InvalidInput","ErrorMessage":"Finding does not adhere to ASFF"}]}"#;
    let server = Recorder::start(vec![(200, caller), (200, imported.into()), (200, refused.into())]);
    let dir = tempfile::tempdir().unwrap();
    let spec: SinkSpec = "securityhub:eu-west-1".parse().unwrap();
    let ids: Vec<String> = (0..150).map(|n| format!("a{n:03}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (mut state, mut sinks) = outbox(dir.path(), &spec, &ids, &server.url);
    let (delivered, failures) = deliver(&mut state, &mut sinks, 1).await;
    assert_eq!((delivered, waiting(&state, &spec)), (0, 150));
    let failure = format!("{:#}", failures[0]);
    assert!(failure.contains("alert a120: InvalidInput Finding does not adhere to ASFF"), "{failure}");

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert!(requests[0].body.contains("Action=GetCallerIdentity"), "{}", requests[0].body);
    for (request, count) in requests[1..].iter().zip([100, 50]) {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/findings/import"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        let authorization = request.header("authorization").unwrap();
        assert!(authorization.starts_with("AWS4-HMAC-SHA256 Credential=testing/"), "{authorization}");
        assert!(authorization.contains("/eu-west-1/securityhub/aws4_request"), "{authorization}");
        let body: Value = serde_json::from_str(&request.body).unwrap();
        let findings = body["Findings"].as_array().unwrap();
        assert_eq!(findings.len(), count);
        assert_eq!(
            findings[0]["ProductArn"],
            format!("arn:aws:securityhub:eu-west-1:{ACCOUNT}:product/{ACCOUNT}/default")
        );
    }
}
