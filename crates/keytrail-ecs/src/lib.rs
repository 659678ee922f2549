//! Normalization and enrichment: one CloudTrail record (or ECS document) to one row of the
//! `cloudtrail` table, whose columns carry the Elastic Common Schema names the public
//! detection rules use (`event.action`, `source.ip`, `aws.cloudtrail.user_identity.access_key_id`…).
//!
//! [`schema`] lists the columns once; [`normalize_record`] maps a record onto them following
//! Elastic's AWS integration; [`Enrichment`] adds the network and place of `source.ip`;
//! [`BatchBuilder`] turns events into Arrow batches with only the projected columns.
//! Secrets (session tokens, secret keys, passwords, private keys: [`is_secret_key`]) are
//! redacted from every free-form object while normalizing, whatever the input format, so no
//! later stage can print one.
//!
//! Reading is built for speed on many small files: a delivery file is parsed in one pass
//! ([`normalize_delivery`]), strings borrow from the text, and an event made for a
//! [`ColumnSet`] (the projected columns) skips the work of every other column, down to the
//! parse: only the record's fields those columns are computed from are read, the others
//! skipped. (`count(*)` reads only what tells an event from other JSON.) Since a value of the
//! wrong type costs only that value, every read keeps exactly the same events.

mod builder;
mod categorize;
mod cloudtrail;
mod ecs_doc;
mod enrich;
mod escapes;
mod event;
mod flattened;
mod map_string;
mod normalize;
pub mod schema;
mod secrets;
mod table;

pub use builder::BatchBuilder;
pub use ecs_doc::dotted_value;
pub use enrich::{Enrichment, EnrichmentFiles};
pub use event::{EcsEvent, Value};
pub use flattened::FlattenedPath;
pub use normalize::parse_time;
pub use schema::{COLUMNS, Col, ColumnDef, ColumnSet, Kind, SCHEMA};
pub use secrets::{REDACTED, is_secret_key, redact};
pub use table::TableSchema;

use normalize::Parsed;

/// How deep EventBridge envelopes may nest before a record is refused.
const MAX_ENVELOPE_DEPTH: usize = 4;

/// The ECS event of one record: a CloudTrail event, an EventBridge / CloudTrail Lake envelope
/// around one, or an ECS document exported from Elastic. The error says why a record is not
/// an event; it never quotes the record.
pub fn normalize_record<'a>(json: &'a str, enrichment: &'a Enrichment) -> Result<EcsEvent<'a>, String> {
    let mut event = EcsEvent::default();
    normalize_into(json, enrichment, &mut event)?;
    Ok(event)
}

/// [`normalize_record`] into a reused event, filling only the columns it wants.
pub fn normalize_into<'a>(json: &'a str, enrichment: &'a Enrichment, event: &mut EcsEvent<'a>) -> Result<(), String> {
    event.clear();
    let mut text = json;
    for _ in 0..MAX_ENVELOPE_DEPTH {
        match normalize::parse(text, event.fields())? {
            Parsed::CloudTrail(record) => {
                normalize::normalize(*record, event);
                complete(event, enrichment);
                return Ok(());
            }
            Parsed::Ecs => {
                ecs_doc::read(text, event)?;
                complete(event, enrichment);
                return Ok(());
            }
            Parsed::Envelope(detail) => text = detail,
        }
    }
    Err("envelopes nested too deep".into())
}

/// What an event gets after its record is read: the enrichment, and `event.ingested`.
fn complete<'a>(event: &mut EcsEvent<'a>, enrichment: &'a Enrichment) {
    enrichment.apply(event);
    event.fill_ingested();
}

/// How far [`normalize_delivery`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryRead {
    /// The text is a delivery file and every record was an event, emitted.
    Whole,
    /// The first `emitted` records were events, emitted; the rest is for framing, record by
    /// record (the text is something else, or a record is damaged, or is not a plain event).
    Stopped { emitted: usize },
}

/// The events of a CloudTrail delivery file (`{"Records":[…]}`), parsed in one pass over its
/// text, each handed to `emit` in order. It stops at anything else: framing then reads the
/// records after those emitted, with the same result as here for the records that are fine.
pub fn normalize_delivery<'a>(
    text: &'a str,
    enrichment: &'a Enrichment,
    event: &mut EcsEvent<'a>,
    emit: &mut dyn FnMut(&EcsEvent<'a>),
) -> DeliveryRead {
    if escapes::check(text).is_err() {
        return DeliveryRead::Stopped { emitted: 0 };
    }
    let mut emitted = 0;
    let fields = event.fields();
    let whole = cloudtrail::parse_delivery(text, fields, &mut |read| {
        if !normalize::is_cloudtrail(&read.record) {
            return false;
        }
        event.clear();
        normalize::normalize(read, event);
        complete(event, enrichment);
        emit(event);
        emitted += 1;
        true
    });
    if whole { DeliveryRead::Whole } else { DeliveryRead::Stopped { emitted } }
}

/// Epoch milliseconds as a UTC time.
pub fn millis_to_utc(millis: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORDS: [&str; 3] = [
        r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA1:alice@example.com","accountId":"111122223333","accessKeyId":"ASIA1","sessionContext":{"sessionIssuer":{"type":"Role","userName":"admin"},"attributes":{"mfaAuthenticated":"false","creationDate":"2024-01-02T03:00:00Z"}}},"eventTime":"2024-01-02T03:04:05Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli","requestParameters":{"userName":"bob"},"responseElements":{"user":{"userId":"AIDA2","userName":"bob"}},"eventID":"e1","readOnly":false,"eventType":"AwsApiCall","recipientAccountId":"111122223333","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256"}}"#,
        r#"{"eventTime":"2024-01-02T03:05:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","sourceIPAddress":"2001:DB8::1","userIdentity":{"type":"IAMUser","userName":"carol"},"responseElements":{"credentials":{"accessKeyId":"ASIA3","sessionToken":"SECRET"}},"resources":[{"ARN":"arn:aws:iam::1:role/r","accountId":"1","type":"AWS::IAM::Role"},{"ARN":"arn:aws:iam::1:role/r","accountId":"1","type":"AWS::IAM::Role"}]}"#,
        r#"{"eventTime":"2024-01-02T03:06:00Z","eventName":"ConsoleLogin","eventSource":"signin.amazonaws.com","errorCode":"","responseElements":{"ConsoleLogin":"Failure"},"additionalEventData":{"MFAUsed":"No","LoginTo":"https://console"}}"#,
    ];

    fn delivery() -> String {
        format!(r#"{{"Records":[{}]}}"#, RECORDS.join(","))
    }

    fn owned(value: Value<'_>) -> Value<'static> {
        let own = |s: std::borrow::Cow<'_, str>| std::borrow::Cow::Owned(s.into_owned());
        match value {
            Value::Null => Value::Null,
            Value::Str(s) => Value::Str(own(s)),
            Value::Bool(b) => Value::Bool(b),
            Value::Int(n) => Value::Int(n),
            Value::Time(t) => Value::Time(t),
            Value::List(items) => Value::List(items.into_iter().map(own).collect()),
        }
    }

    fn row(event: &EcsEvent<'_>) -> Vec<Value<'static>> {
        Col::ALL.iter().map(|c| owned(event.column(*c).into_owned())).collect()
    }

    /// Every column of every event `normalize_delivery` emits, and how far it read.
    fn one_pass(text: &str, columns: ColumnSet) -> (Vec<Vec<Value<'static>>>, DeliveryRead) {
        let enrichment = Enrichment::default();
        let mut event = EcsEvent::with_columns(columns);
        let mut events = Vec::new();
        let read = normalize_delivery(text, &enrichment, &mut event, &mut |e| events.push(row(e)));
        (events, read)
    }

    #[test]
    fn a_delivery_file_in_one_pass_equals_its_records_one_by_one() {
        let enrichment = Enrichment::default();
        let want: Vec<Vec<Value>> = RECORDS.iter().map(|r| row(&normalize_record(r, &enrichment).unwrap())).collect();
        assert_eq!(one_pass(&delivery(), ColumnSet::ALL), (want, DeliveryRead::Whole));
    }

    #[test]
    fn a_projection_fills_its_columns_as_a_full_read_does_and_nothing_else() {
        let (full, _) = one_pass(&delivery(), ColumnSet::ALL);
        for &wanted in Col::ALL {
            let mut columns = ColumnSet::default();
            columns.insert(wanted);
            let (projected, _) = one_pass(&delivery(), columns);
            for (full, projected) in full.iter().zip(&projected) {
                assert_eq!(full[wanted as usize], projected[wanted as usize], "{wanted:?}");
            }
        }
        let (none, _) = one_pass(&delivery(), ColumnSet::default());
        assert_eq!(none.len(), RECORDS.len());
        assert!(none.iter().flatten().all(|v| *v == Value::Null));
    }

    #[test]
    fn event_ingested_is_the_delivery_time_else_the_event_time() {
        let enrichment = Enrichment::default();
        let mut columns = ColumnSet::default();
        columns.insert(Col::EventIngested);
        let millis = |value: &Value<'_>| match value {
            Value::Time(millis) => Some(*millis),
            _ => None,
        };
        let ingested = |delivered_at: Option<i64>, json: &str| {
            let mut event = EcsEvent::with_columns(columns);
            event.set_delivered_at(delivered_at);
            normalize_into(json, &enrichment, &mut event).unwrap();
            millis(event.get(Col::EventIngested))
        };
        let event_time = Some(1_704_164_645_000);
        assert_eq!(ingested(None, RECORDS[0]), event_time, "NDJSON or stdin: ingested when it happened");
        assert_eq!(ingested(Some(1_704_165_000_000), RECORDS[0]), Some(1_704_165_000_000));
        let document =
            r#"{"@timestamp":"2024-01-02T03:04:05Z","event":{"action":"A","ingested":"2024-01-02T03:20:00Z"}}"#;
        assert_eq!(ingested(Some(1), document), Some(1_704_165_600_000), "a document keeps its own");
        assert_eq!(ingested(None, r#"{"@timestamp":"2024-01-02T03:04:05Z"}"#), event_time);

        let mut event = EcsEvent::with_columns(columns);
        event.set_delivered_at(Some(1_704_165_000_000));
        let mut times = Vec::new();
        let text = delivery();
        normalize_delivery(&text, &enrichment, &mut event, &mut |e| times.push(millis(e.get(Col::EventIngested))));
        assert_eq!(times, vec![Some(1_704_165_000_000); RECORDS.len()]);
    }

    #[test]
    fn anything_but_plain_events_is_left_to_framing() {
        for (text, emitted) in [
            (r#"{"Records":[{"eventName":"A"},{"eventName":5}]}"#.to_string(), 1),
            (r#"{"Records":[{"eventName":"A"},{"detail":{"eventName":"B"}},{"eventName":"C"}]}"#.to_string(), 1),
            (r#"{"Records":[{"eventName":"A"}]}{"Records":[]}"#.to_string(), 1),
            (r#"{"Records":[{"eventName":"A"}],"Records":[]}"#.to_string(), 1),
            (r#"{"Records":[{"eventName":"A"},{"eventName":"#.to_string(), 1),
            (r#"[{"eventName":"A"}]"#.to_string(), 0),
            (format!("{}\n{}", RECORDS[0], RECORDS[1]), 0),
        ] {
            let (events, read) = one_pass(&text, ColumnSet::ALL);
            assert_eq!(read, DeliveryRead::Stopped { emitted }, "{text}");
            assert_eq!(events.len(), emitted, "{text}");
        }
        assert_eq!(one_pass(r#"{"Records":[]}"#, ColumnSet::ALL), (vec![], DeliveryRead::Whole));
    }
}
