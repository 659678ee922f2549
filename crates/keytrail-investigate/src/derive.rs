//! Derived credentials, and the scope of the investigation.
//!
//! Every call that hands out credentials names them in its response: STS sessions in
//! `responseElements.credentials.accessKeyId` (AssumeRole, GetSessionToken,
//! GetFederationToken, AssumeRoleWithWebIdentity…), new long-term keys in
//! `responseElements.accessKey.accessKeyId` (CreateAccessKey). Those calls are the edges of
//! a graph from issuing key to issued key; the credentials derived from the subject are the
//! keys reachable from the subject's own calls, found by widening the set of keys until it
//! stops growing (role chaining: a session that assumes another role). A key is taken once,
//! so cycles and the copies of one cross-account call end the walk instead of repeating it.
//!
//! The scope is then the subject's own calls plus every call made with a derived key.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use datafusion::arrow::array::{RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;
use serde::Deserialize;

use crate::query::{materialize, rows};
use crate::report::{DerivedCredential, Time};
use crate::subject::Subject;

/// The derived keys, one column `access_key_id`.
pub(crate) const DERIVED: &str = "derived";
/// The events in scope: `events`' columns plus `api` (the action without Lambda's version
/// suffix) and `origin` (subject or derived).
pub(crate) const SCOPE: &str = "scope";

/// Every successful call that issued credentials, oldest first.
const ISSUED: &str = r#"
SELECT coalesce("resp.credentials.accessKeyId", "resp.accessKey.accessKeyId") AS access_key_id,
       "event.action" AS issued_by_action,
       "@timestamp" AS issued_at,
       "aws.cloudtrail.user_identity.access_key_id" AS issued_by,
       "source.address" AS issued_from,
       coalesce("resp.assumedRoleUser.arn", "resp.federatedUser.arn", "resp.accessKey.userName") AS identity,
       "req.roleArn" AS role_arn,
       CASE WHEN "resp.credentials.accessKeyId" IS NOT NULL THEN coalesce("req.roleSessionName", "req.name") END
           AS session_name,
       __subject AS by_subject
FROM events
WHERE coalesce("resp.credentials.accessKeyId", "resp.accessKey.accessKeyId") IS NOT NULL
  AND "event.outcome" = 'success'
ORDER BY issued_at, access_key_id
"#;

#[derive(Deserialize)]
struct Issue {
    access_key_id: String,
    issued_by_action: String,
    issued_at: Time,
    issued_by: Option<String>,
    issued_from: Option<String>,
    identity: Option<String>,
    role_arn: Option<String>,
    session_name: Option<String>,
    by_subject: bool,
}

/// The credentials derived from the subject's, in the order they were issued (usage not yet
/// counted).
pub(crate) async fn derived(context: &SessionContext, subject: &Subject) -> Result<Vec<DerivedCredential>> {
    let issues: Vec<Issue> = rows(context, ISSUED).await?;
    // The subject's own key is where the walk starts, never something it reaches.
    let mut taken: HashSet<String> = match subject {
        Subject::AccessKeyId(key) => HashSet::from([key.clone()]),
        _ => HashSet::new(),
    };
    let mut depth: HashMap<String, u32> = HashMap::new();
    let mut found = Vec::new();
    loop {
        let before = found.len();
        for issue in &issues {
            if taken.contains(&issue.access_key_id) {
                continue;
            }
            let parent =
                if issue.by_subject { Some(0) } else { issue.issued_by.as_ref().and_then(|k| depth.get(k)).copied() };
            let Some(parent) = parent else { continue };
            taken.insert(issue.access_key_id.clone());
            depth.insert(issue.access_key_id.clone(), parent + 1);
            found.push(DerivedCredential {
                access_key_id: issue.access_key_id.clone(),
                issued_by_action: issue.issued_by_action.clone(),
                issued_at: issue.issued_at,
                issued_by: issue.issued_by.clone(),
                issued_from: issue.issued_from.clone(),
                identity: issue.identity.clone(),
                role_arn: issue.role_arn.clone(),
                session_name: issue.session_name.clone(),
                depth: parent + 1,
                calls: 0,
                first_used: None,
                last_used: None,
            });
        }
        // Issues come oldest first, so one pass finds most chains; another pass is needed
        // only when a session was issued before (in log order) the key that issued it.
        if found.len() == before {
            break;
        }
    }
    found.sort_by(|a, b| (a.issued_at, &a.access_key_id).cmp(&(b.issued_at, &b.access_key_id)));
    Ok(found)
}

/// The scope's events, and how many calls each derived key made.
const SCOPE_SQL: &str = r#"
SELECT e.*,
       regexp_replace(e."event.action", '20[0-9]{6}(v[0-9]+)?$', '') AS api,
       CASE WHEN d.access_key_id IS NULL THEN 'subject' ELSE 'derived' END AS origin
FROM events e LEFT JOIN derived d ON e."aws.cloudtrail.user_identity.access_key_id" = d.access_key_id
WHERE e.__subject OR d.access_key_id IS NOT NULL
"#;

const USAGE: &str = r#"
SELECT "aws.cloudtrail.user_identity.access_key_id" AS access_key_id, count(*) AS calls,
       min("@timestamp") AS first_used, max("@timestamp") AS last_used
FROM scope WHERE origin = 'derived' GROUP BY 1
"#;

#[derive(Deserialize)]
struct Usage {
    access_key_id: String,
    calls: u64,
    first_used: Time,
    last_used: Time,
}

/// Registers the `derived` and `scope` tables, and fills in each derived key's usage.
pub(crate) async fn register_scope(context: &SessionContext, derived: &mut [DerivedCredential]) -> Result<()> {
    let schema = Arc::new(Schema::new(vec![Field::new("access_key_id", DataType::Utf8, false)]));
    let keys = StringArray::from_iter_values(derived.iter().map(|d| d.access_key_id.as_str()));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(keys)])?;
    context.register_table(DERIVED, Arc::new(MemTable::try_new(schema, vec![vec![batch]])?))?;

    // Materialized once: every section reads it.
    context.register_table(SCOPE, Arc::new(materialize(context.sql(SCOPE_SQL).await?).await?))?;

    let usage: HashMap<String, Usage> =
        rows::<Usage>(context, USAGE).await?.into_iter().map(|u| (u.access_key_id.clone(), u)).collect();
    for credential in derived.iter_mut() {
        if let Some(usage) = usage.get(&credential.access_key_id) {
            credential.calls = usage.calls;
            credential.first_used = Some(usage.first_used);
            credential.last_used = Some(usage.last_used);
        }
    }
    Ok(())
}
