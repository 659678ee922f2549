//! The events, read once from the `cloudtrail` table into memory with only the columns the
//! report needs: the `events` table every section is answered from.
//!
//! Paths inside the free-form objects get short names: `req.userName` for
//! `aws.cloudtrail.flattened.request_parameters.userName`, `resp.…` for response elements.
//! Each event also carries `__subject`: whether it is one of the subject's own calls.

use std::sync::Arc;

use datafusion::error::Result;
use datafusion::prelude::{Expr, SessionContext, ident};
use keytrail_ecs::TableSchema;

use crate::query::materialize;
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

/// Reads every timed event of the context's `cloudtrail` table (events without a time fit
/// in no timeline, and hunts leave them out too) into a new context's `events` table.
pub(crate) async fn read(context: &SessionContext, subject: &Subject) -> Result<SessionContext> {
    let mut columns: Vec<Expr> = COLUMNS.iter().map(|name| ident(*name)).collect();
    columns.extend(paths().map(|(name, short)| ident(name).alias(short)));
    columns.push(subject.predicate().is_true().alias("__subject"));
    let frame =
        context.table(keytrail_engine::TABLE_NAME).await?.filter(ident("@timestamp").is_not_null())?.select(columns)?;
    let analysis = SessionContext::new();
    analysis.register_table(EVENTS, Arc::new(materialize(frame).await?))?;
    Ok(analysis)
}
