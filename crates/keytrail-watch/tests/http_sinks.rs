//! The HTTP sinks against a server on 127.0.0.1 that records what it is sent: alerts leave a
//! sink's outbox once the receiver has taken them, and stay in it while the receiver fails.

use keytrail_source::AwsOptions;
use keytrail_testkit::http::Recorder;
use keytrail_watch::{NamedSink, RaisedAlert, SinkSecrets, SinkSpec, State, Tick, deliver};

const TICK: Tick = Tick { started: 1, now: 1, objects: 0, events: 0, newest_delivery: None, seconds: 0.0 };

fn alert(id: &str) -> RaisedAlert {
    RaisedAlert {
        id: id.into(),
        rule_id: "r".into(),
        run_time: 1,
        document: format!("{{\"kibana\":{{\"alert\":{{\"uuid\":\"{id}\"}}}}}}"),
    }
}

/// A state in `dir` whose outbox holds `ids` for `spec`, and `spec`'s sink opened.
fn outbox(dir: &std::path::Path, spec: &SinkSpec, ids: &[&str], secrets: &SinkSecrets) -> (State, Vec<NamedSink>) {
    let mut state = State::open(dir).unwrap();
    let alerts: Vec<_> = ids.iter().map(|id| alert(id)).collect();
    state.commit_tick(&TICK, None, &[], &alerts, &[spec.name()]).unwrap();
    let sink = spec.open(None, secrets, &AwsOptions::default()).unwrap();
    (state, vec![(spec.name(), sink)])
}

fn waiting(state: &State, spec: &SinkSpec) -> usize {
    state.undelivered(&spec.name(), 100).unwrap().len()
}

#[tokio::test]
async fn a_webhook_gets_each_alert_signed_retried_past_a_server_error() {
    let server = Recorder::start(vec![(503, "{}".into()), (200, "{}".into())]);
    let dir = tempfile::tempdir().unwrap();
    let spec: SinkSpec = format!("webhook:{}/hook", server.url).parse().unwrap();
    let secrets = SinkSecrets { webhook: Some(b"s3cret".to_vec()), ..SinkSecrets::default() };
    let (mut state, mut sinks) = outbox(dir.path(), &spec, &["a", "b"], &secrets);
    let (delivered, failures) = deliver(&mut state, &mut sinks, 1).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!((delivered, waiting(&state, &spec)), (2, 0));

    let requests = server.requests();
    // The first POST met a 503 and was sent again.
    assert_eq!(requests.iter().map(|r| r.header("idempotency-key").unwrap()).collect::<Vec<_>>(), ["a", "a", "b"]);
    for request in &requests {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/hook"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        let signature = keytrail_watch::webhook_signature(b"s3cret", request.body.as_bytes());
        assert_eq!(request.header("x-keytrail-signature"), Some(signature.as_str()));
    }
    assert_eq!(requests[2].body, alert("b").document);
}

#[tokio::test]
async fn a_webhook_that_keeps_failing_leaves_the_alerts_for_the_next_tick() {
    let server = Recorder::start(vec![(400, "{}".into())]);
    let dir = tempfile::tempdir().unwrap();
    let spec: SinkSpec = format!("webhook:{}/hook", server.url).parse().unwrap();
    let (mut state, mut sinks) = outbox(dir.path(), &spec, &["a"], &SinkSecrets::default());
    let (delivered, failures) = deliver(&mut state, &mut sinks, 1).await;
    assert_eq!((delivered, waiting(&state, &spec)), (0, 1));
    assert!(format!("{:#}", failures[0]).contains("400"), "{:#}", failures[0]);
    // Not a server error: not retried; no secret, no signature.
    assert_eq!(server.requests().len(), 1);
    assert_eq!(server.requests()[0].header("x-keytrail-signature"), None);
}

#[tokio::test]
async fn elasticsearch_creates_each_alert_under_its_id_and_takes_one_already_there() {
    let answer = r#"{"errors":true,"items":[{"create":{"_id":"a","status":201}},{"create":{"_id":"b","status":409,"error":{"reason":"version conflict, document already exists"}}}]}"#;
    let server = Recorder::start(vec![(200, answer.into())]);
    let dir = tempfile::tempdir().unwrap();
    let spec: SinkSpec = format!("elasticsearch:{}/keytrail-alerts", server.url).parse().unwrap();
    let secrets = SinkSecrets { elasticsearch_api_key: Some("a2V5".into()), ..SinkSecrets::default() };
    let (mut state, mut sinks) = outbox(dir.path(), &spec, &["a", "b"], &secrets);
    let (delivered, failures) = deliver(&mut state, &mut sinks, 1).await;
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!((delivered, waiting(&state, &spec)), (2, 0));

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/keytrail-alerts/_bulk");
    assert_eq!(requests[0].header("authorization"), Some("ApiKey a2V5"));
    assert_eq!(requests[0].header("content-type"), Some("application/x-ndjson"));
    let lines: Vec<&str> = requests[0].body.lines().collect();
    assert_eq!(lines[0], r#"{"create":{"_id":"a"}}"#);
    assert_eq!(lines[1], alert("a").document);
    assert_eq!(lines[2], r#"{"create":{"_id":"b"}}"#);
}

#[tokio::test]
async fn elasticsearch_refusing_an_alert_keeps_the_batch_in_the_outbox() {
    let answer = r#"{"errors":true,"items":[{"create":{"_id":"a","status":400,"error":{"reason":"mapper_parsing_exception"}}}]}"#;
    let server = Recorder::start(vec![(200, answer.into())]);
    let dir = tempfile::tempdir().unwrap();
    let spec: SinkSpec = format!("elasticsearch:{}/keytrail-alerts", server.url).parse().unwrap();
    let (mut state, mut sinks) = outbox(dir.path(), &spec, &["a"], &SinkSecrets::default());
    let (delivered, failures) = deliver(&mut state, &mut sinks, 1).await;
    assert_eq!((delivered, waiting(&state, &spec)), (0, 1));
    assert!(format!("{:#}", failures[0]).contains("alert a: 400 mapper_parsing_exception"), "{:#}", failures[0]);
}
