//! The events an investigation needs, read from the `cloudtrail` table into memory with only
//! the columns the report needs: the `events` table every section is answered from. Only the
//! events that can matter are kept (the subject's, those of the credentials derived from it,
//! the calls that issue credentials, AWS's verdicts), filtered while reading.
//!
//! Paths inside the free-form objects get short names: `req.userName` for
//! `aws.cloudtrail.flattened.request_parameters.userName`, `resp.…` for response elements.
//! Each event also carries `__subject`: whether it is one of the subject's own calls.

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::{Expr, SessionContext, ident, lit, not};
use datafusion::scalar::ScalarValue;
use keytrail_ecs::TableSchema;

use crate::query::materialize;
use crate::report::DerivedCredential;
use crate::subject::Subject;

pub(crate) const EVENTS: &str = "events";

/// The fixed columns read.
const COLUMNS: &[&str] = &[
    "@timestamp",
    "event.action",
    "event.outcome",
    "cloud.service.name",
    "cloud.account.id",
    "cloud.region",
    "source.address",
    "source.ip",
    "source.as.number",
    "source.as.organization.name",
    "source.geo.country_iso_code",
    "user_agent.original",
    "user.name",
    "aws.cloudtrail.user_identity.type",
    "aws.cloudtrail.user_identity.arn",
    "aws.cloudtrail.user_identity.access_key_id",
    "aws.cloudtrail.user_identity.session_context.session_issuer.arn",
    "aws.cloudtrail.error_code",
    "aws.cloudtrail.error_message",
    "aws.cloudtrail.recipient_account_id",
    "aws.cloudtrail.resources.arn",
    // AWS's own service events (AwsServiceEvent) carry their notices here.
    "aws.cloudtrail.flattened.service_event_details",
];

/// Paths inside requestParameters: whom and what a call acted on.
const REQUEST_PATHS: &[&str] = &[
    "userName",
    "roleName",
    "groupName",
    "policyArn",
    "policyName",
    "functionName",
    "role",
    "keyName",
    "groupId",
    "instanceType",
    "instancesSet.items.imageId",
    "ipPermissions.items.ipRanges.items.cidrIp",
    "ipPermissions.items.ipv6Ranges.items.cidrIpv6",
    "bucketName",
    "key",
    "secretId",
    "name",
    "names",
    "path",
    "keyId",
    "roleArn",
    "roleSessionName",
    "trailName",
    "eventDataStore",
];

/// Paths inside responseElements: the credentials and resources a call created.
const RESPONSE_PATHS: &[&str] = &[
    "credentials.accessKeyId",
    "assumedRoleUser.arn",
    "federatedUser.arn",
    "accessKey.accessKeyId",
    "accessKey.userName",
    "instancesSet.items.instanceId",
];

const REQUEST_PREFIX: &str = "aws.cloudtrail.flattened.request_parameters.";
const RESPONSE_PREFIX: &str = "aws.cloudtrail.flattened.response_elements.";

/// Each flattened column read: its name in the `cloudtrail` table, and in `events`.
fn paths() -> impl Iterator<Item = (String, String)> {
    let request = REQUEST_PATHS.iter().map(|p| (format!("{REQUEST_PREFIX}{p}"), format!("req.{p}")));
    let response = RESPONSE_PATHS.iter().map(|p| (format!("{RESPONSE_PREFIX}{p}"), format!("resp.{p}")));
    request.chain(response)
}

/// The `cloudtrail` table an investigation reads: the fixed columns and the paths above.
pub fn table_schema() -> TableSchema {
    let names: Vec<String> = paths().map(|(name, _)| name).collect();
    TableSchema::with_names(names.iter().map(String::as_str))
}

/// The columns `events` holds, from the `cloudtrail` table's.
fn columns(subject: &Subject) -> Vec<Expr> {
    let mut columns: Vec<Expr> = COLUMNS.iter().map(|name| ident(*name)).collect();
    columns.extend(paths().map(|(name, short)| ident(name).alias(short)));
    columns.push(subject.predicate().is_true().alias("__subject"));
    columns
}

/// The events an investigation needs before it knows which credentials derive from the
/// subject: the subject's calls, every call that issued credentials (the edges the walk
/// follows), and AWS's verdicts by anyone's hand (policies attached to users, among them AWS's
/// quarantine policy; service events that report exposed credentials).
fn needed_before_the_walk(subject: &Subject) -> Expr {
    let issued = ident(format!("{RESPONSE_PREFIX}credentials.accessKeyId"))
        .is_not_null()
        .or(ident(format!("{RESPONSE_PREFIX}accessKey.accessKeyId")).is_not_null());
    let verdicts = ident("event.action")
        .eq(lit("AttachUserPolicy"))
        .or(ident("aws.cloudtrail.flattened.service_event_details").like(lit("%AWS_RISK_CREDENTIALS_EXPOSED%")));
    subject.predicate().or(issued).or(verdicts).is_true()
}

/// The timed events (events without a time fit in no timeline, and hunts leave them out too)
/// of the context's `cloudtrail` table that meet `condition`, as a table of [`columns`].
async fn read_where(context: &SessionContext, subject: &Subject, condition: Expr) -> Result<MemTable> {
    let frame = context
        .table(keytrail_engine::TABLE_NAME)
        .await?
        .filter(ident("@timestamp").is_not_null().and(condition))?
        .select(columns(subject))?;
    materialize(frame).await
}

/// Reads what an investigation of `subject` needs before its walk ([`needed_before_the_walk`])
/// into a new context's `events` table: the read is filtered, so the estate is never held.
pub(crate) async fn read(context: &SessionContext, subject: &Subject) -> Result<SessionContext> {
    let analysis = SessionContext::new();
    analysis.register_table(EVENTS, Arc::new(read_where(context, subject, needed_before_the_walk(subject)).await?))?;
    Ok(analysis)
}

/// Adds to `events` the calls made with the derived keys (a second, filtered read), which the
/// walk could only name after the first.
pub(crate) async fn add_calls_of(
    context: &SessionContext,
    analysis: &SessionContext,
    subject: &Subject,
    derived: &[DerivedCredential],
) -> Result<()> {
    if derived.is_empty() {
        return Ok(());
    }
    let keys = derived.iter().map(|d| lit(d.access_key_id.as_str())).collect();
    // A key is used only after it was issued: the scan skips the days before the first issue.
    let first_issued = derived.iter().map(|d| d.issued_at.0).min().expect("derived is not empty");
    let condition = ident("aws.cloudtrail.user_identity.access_key_id")
        .in_list(keys, false)
        .and(not(needed_before_the_walk(subject)))
        .and(ident("@timestamp").gt_eq(lit(ScalarValue::TimestampMillisecond(Some(first_issued), Some("UTC".into())))));
    let added = read_where(context, subject, condition).await?;
    let first = analysis.table(EVENTS).await?.collect().await?;
    let mut batches = vec![first];
    for partition in &added.batches {
        batches.push(partition.read().await.clone());
    }
    analysis.deregister_table(EVENTS)?;
    analysis.register_table(EVENTS, Arc::new(MemTable::try_new(added.schema(), batches)?))?;
    Ok(())
}
