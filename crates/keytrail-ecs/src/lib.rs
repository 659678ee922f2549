//! Normalization and enrichment: one CloudTrail record (or ECS document) to one row of the
//! `cloudtrail` table, whose columns carry the Elastic Common Schema names the public
//! detection rules use (`event.action`, `source.ip`, `aws.cloudtrail.user_identity.access_key_id`…).
//!
//! [`schema`] lists the columns once; [`normalize_record`] maps a record onto them following
//! Elastic's AWS integration; [`Enrichment`] adds the network and place of `source.ip`;
//! [`BatchBuilder`] turns events into Arrow batches with only the projected columns.
//! Secrets (session tokens, secret keys, passwords) are redacted while normalizing, so no
//! later stage can print one.

mod builder;
mod categorize;
mod cloudtrail;
mod ecs_doc;
mod enrich;
mod event;
mod flattened;
mod normalize;
pub mod schema;
mod table;

pub use builder::BatchBuilder;
pub use enrich::Enrichment;
pub use event::{EcsEvent, Value};
pub use flattened::{FlattenedPath, REDACTED, redact};
pub use normalize::parse_time;
pub use schema::{COLUMNS, Col, ColumnDef, Kind, SCHEMA};
pub use table::TableSchema;

use normalize::Parsed;

/// How deep EventBridge envelopes may nest before a record is refused.
const MAX_ENVELOPE_DEPTH: usize = 4;

/// The ECS event of one record: a CloudTrail event, an EventBridge / CloudTrail Lake envelope
/// around one, or an ECS document exported from Elastic. The error says why a record is not
/// an event; it never quotes the record.
pub fn normalize_record<'a>(json: &'a str, enrichment: &Enrichment) -> Result<EcsEvent<'a>, String> {
    let mut event = EcsEvent::default();
    let mut text = json;
    for _ in 0..MAX_ENVELOPE_DEPTH {
        match normalize::parse(text)? {
            Parsed::CloudTrail(record) => {
                normalize::normalize(*record, &mut event)?;
                enrichment.apply(&mut event);
                return Ok(event);
            }
            Parsed::Ecs => {
                ecs_doc::read(text, &mut event)?;
                enrichment.apply(&mut event);
                return Ok(event);
            }
            Parsed::Envelope(detail) => text = detail,
        }
    }
    Err("envelopes nested too deep".into())
}

/// Epoch milliseconds as a UTC time.
pub fn millis_to_utc(millis: i64) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_millis(millis)
}
