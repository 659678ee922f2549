//! One SQL query per section of the report, over the `scope` table (and `events`, for what
//! others did to the subject: AWS's quarantine). Each query's columns are named after the
//! fields of its report structure ([`crate::query::rows`]).

use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use crate::catalog::{self, Section};
use crate::query::rows;
use crate::report::{
    ActionCount, Burst, Credential, DataAccess, Finding, FirstSeen, HourCount, IdentityCheck, Network, Reconnaissance,
    RegionCount, SourceAddress, Summary, Timeline, UserAgent,
};
use crate::{BURST_ACTIONS, BURST_CALLS, BURST_WINDOW, DENIED_BURST_CALLS, TOP_ACTIONS};

/// `count(*) FILTER (WHERE failed)`, as SQL.
const FAILURES: &str = r#"count(*) FILTER (WHERE "event.outcome" = 'failure')"#;

/// Error codes of calls refused for lack of permission.
const DENIED: &str = r#""aws.cloudtrail.error_code" IN ('AccessDenied', 'AccessDeniedException', 'UnauthorizedOperation', 'Client.UnauthorizedOperation')"#;

pub(crate) async fn summary(context: &SessionContext) -> Result<Summary> {
    let sql = format!(
        r#"SELECT min("@timestamp") AS first_seen, max("@timestamp") AS last_seen, count(*) AS calls,
                  count(*) FILTER (WHERE "event.outcome" = 'success') AS successes, {FAILURES} AS failures,
                  array_sort(array_agg(DISTINCT "cloud.account.id") FILTER (WHERE "cloud.account.id" IS NOT NULL))
                      AS accounts,
                  count(DISTINCT "aws.cloudtrail.user_identity.access_key_id") AS access_keys,
                  count(DISTINCT "source.address") AS source_addresses
           FROM scope"#
    );
    Ok(rows(context, &sql).await?.pop().unwrap_or_default())
}

pub(crate) async fn credentials(context: &SessionContext) -> Result<Vec<Credential>> {
    let sql = format!(
        r#"SELECT "aws.cloudtrail.user_identity.access_key_id" AS access_key_id, origin,
                  "aws.cloudtrail.user_identity.type" AS identity_type, "aws.cloudtrail.user_identity.arn" AS arn,
                  "cloud.account.id" AS account, "user.name" AS user_name,
                  count(*) AS calls, {FAILURES} AS failures, min("@timestamp") AS first_seen, max("@timestamp") AS last_seen
           FROM scope GROUP BY 1, 2, 3, 4, 5, 6
           ORDER BY origin DESC, first_seen, access_key_id, arn"#
    );
    rows(context, &sql).await
}

pub(crate) async fn actions(context: &SessionContext) -> Result<Vec<ActionCount>> {
    let sql = format!(
        r#"SELECT service, action, calls, failures, service_calls FROM (
               SELECT *, sum(calls) OVER (PARTITION BY service) AS service_calls,
                      row_number() OVER (PARTITION BY service ORDER BY calls DESC, action) AS rank
               FROM (SELECT "cloud.service.name" AS service, "event.action" AS action, count(*) AS calls,
                            {FAILURES} AS failures
                     FROM scope GROUP BY 1, 2))
           WHERE rank <= {TOP_ACTIONS}
           ORDER BY service_calls DESC, service, calls DESC, action"#
    );
    rows(context, &sql).await
}

pub(crate) async fn regions(context: &SessionContext) -> Result<Vec<RegionCount>> {
    let sql = r#"SELECT "cloud.region" AS region, count(*) AS calls FROM scope GROUP BY 1 ORDER BY calls DESC, region"#;
    rows(context, sql).await
}

pub(crate) async fn source_addresses(context: &SessionContext) -> Result<Vec<SourceAddress>> {
    let sql = format!(
        r#"SELECT "source.address" AS address, "source.as.number" AS as_number,
                  "source.as.organization.name" AS as_organization, "source.geo.country_iso_code" AS country,
                  count(*) AS calls, {FAILURES} AS failures, min("@timestamp") AS first_seen, max("@timestamp") AS last_seen,
                  array_sort(array_agg(DISTINCT "aws.cloudtrail.user_identity.access_key_id")
                      FILTER (WHERE "aws.cloudtrail.user_identity.access_key_id" IS NOT NULL)) AS access_keys
           FROM scope GROUP BY 1, 2, 3, 4 ORDER BY first_seen, address"#
    );
    rows(context, &sql).await
}

pub(crate) async fn networks(context: &SessionContext) -> Result<Vec<Network>> {
    let sql = r#"SELECT "source.as.number" AS as_number, "source.as.organization.name" AS as_organization,
                        array_sort(array_agg(DISTINCT "source.geo.country_iso_code")
                            FILTER (WHERE "source.geo.country_iso_code" IS NOT NULL)) AS countries,
                        count(DISTINCT "source.ip") AS addresses, count(*) AS calls,
                        min("@timestamp") AS first_seen, max("@timestamp") AS last_seen
                 FROM scope WHERE "source.ip" IS NOT NULL GROUP BY 1, 2 ORDER BY first_seen, as_number"#;
    rows(context, sql).await
}

pub(crate) async fn user_agents(context: &SessionContext) -> Result<Vec<UserAgent>> {
    let sql = r#"SELECT "user_agent.original" AS user_agent, count(*) AS calls,
                        count(DISTINCT "source.address") AS addresses,
                        min("@timestamp") AS first_seen, max("@timestamp") AS last_seen
                 FROM scope GROUP BY 1 ORDER BY calls DESC, user_agent"#;
    rows(context, sql).await
}

pub(crate) async fn timeline(context: &SessionContext) -> Result<Timeline> {
    let hours = format!(
        r#"SELECT date_trunc('hour', "@timestamp") AS hour, count(*) AS calls, {FAILURES} AS failures
           FROM scope GROUP BY 1 ORDER BY 1"#
    );
    let firsts = r#"
        SELECT time, kind, value, as_organization FROM (
            SELECT min("@timestamp") AS time, 'address' AS kind, "source.address" AS value,
                   max("source.as.organization.name") AS as_organization
            FROM scope WHERE "source.address" IS NOT NULL GROUP BY "source.address"
            UNION ALL
            SELECT min("@timestamp"), 'network', "source.as.organization.name", CAST(NULL AS VARCHAR)
            FROM scope WHERE "source.as.organization.name" IS NOT NULL GROUP BY "source.as.organization.name")
        ORDER BY time, kind, value"#;
    let hours: Vec<HourCount> = rows(context, &hours).await?;
    let firsts: Vec<FirstSeen> = rows(context, firsts).await?;
    Ok(Timeline { hours, firsts })
}

/// The columns of a [`Finding`] for one event of `scope` (or `events`, aliased `e`).
const FINDING: &str = r#"e."@timestamp" AS time, e."event.outcome" AS outcome, e."aws.cloudtrail.error_code" AS error_code,
    coalesce(e."aws.cloudtrail.recipient_account_id", e."cloud.account.id") AS account, e."cloud.region" AS region,
    e."aws.cloudtrail.user_identity.access_key_id" AS access_key_id, e."source.address" AS source_address,
    e."aws.cloudtrail.user_identity.arn" AS caller"#;

/// AWS's quarantine policy: an AWS signal, not the subject's persistence, though CloudTrail
/// records it as the quarantined user's own call.
const QUARANTINE: &str = r#"coalesce(e."req.policyArn" LIKE '%AWSCompromisedKeyQuarantine%', false)"#;

/// Each call of a section of the catalog, with what it acted on.
pub(crate) async fn findings(context: &SessionContext, section: Section) -> Result<Vec<Finding>> {
    let sql = format!(
        "SELECT {FINDING}, api AS action, {target} AS target, {detail} AS detail, {object} AS object
         FROM scope e WHERE api IN ({actions}) AND NOT {QUARANTINE} ORDER BY time, action, target",
        target = catalog::target(section),
        detail = catalog::detail(section),
        object = catalog::object(section),
        actions = catalog::actions(section),
    );
    rows(context, &sql).await
}

pub(crate) async fn data_access(context: &SessionContext) -> Result<Vec<DataAccess>> {
    let sql = format!(
        r#"SELECT action, resource, count(*) AS calls, {FAILURES} AS failures,
                  min("@timestamp") AS first_seen, max("@timestamp") AS last_seen,
                  array_sort(array_agg(DISTINCT "source.address") FILTER (WHERE "source.address" IS NOT NULL))
                      AS source_addresses
           FROM (SELECT *, api AS action, {target} AS resource FROM scope WHERE api IN ({actions}))
           GROUP BY 1, 2 ORDER BY first_seen, action, resource"#,
        target = catalog::target(Section::Data),
        actions = catalog::actions(Section::Data),
    );
    rows(context, &sql).await
}

pub(crate) async fn reconnaissance(context: &SessionContext) -> Result<Reconnaissance> {
    let identity_checks = r#"
        SELECT "source.address" AS source_address, "aws.cloudtrail.user_identity.access_key_id" AS access_key_id,
               count(*) AS calls, min("@timestamp") AS first_seen, max("@timestamp") AS last_seen
        FROM scope WHERE api = 'GetCallerIdentity' GROUP BY 1, 2 ORDER BY first_seen, source_address"#;
    // Discovery calls: List*, Describe*, and Get* other than the data reads listed apart.
    let enumeration = format!(
        r#"(api LIKE 'List%' OR api LIKE 'Describe%' OR (api LIKE 'Get%' AND api NOT IN ({data})))"#,
        data = catalog::actions(Section::Data)
    );
    let bursts = |filter: &str, having: &str| {
        format!(
            r#"SELECT date_bin(INTERVAL '{BURST_WINDOW}', "@timestamp") AS start, count(*) AS calls,
                      {FAILURES} AS failures, count(DISTINCT api) AS distinct_actions,
                      array_sort(array_agg(DISTINCT api)) AS actions,
                      array_sort(array_agg(DISTINCT "source.address") FILTER (WHERE "source.address" IS NOT NULL))
                          AS source_addresses
               FROM scope WHERE {filter} GROUP BY 1 HAVING {having} ORDER BY start"#
        )
    };
    let enumeration_bursts =
        bursts(&enumeration, &format!("count(*) >= {BURST_CALLS} OR count(DISTINCT api) >= {BURST_ACTIONS}"));
    let denied_bursts = bursts(DENIED, &format!("count(*) >= {DENIED_BURST_CALLS}"));
    Ok(Reconnaissance {
        identity_checks: rows::<IdentityCheck>(context, identity_checks).await?,
        enumeration_bursts: rows::<Burst>(context, &enumeration_bursts).await?,
        denied_bursts: rows::<Burst>(context, &denied_bursts).await?,
    })
}

/// AWS's own verdicts on the credentials, by anyone's hand (AWS attaches its quarantine
/// policy itself, as a call of its own): the quarantine policy attached to a user of the
/// scope, calls the quarantine refused, and AWS service events that name one of the scope's
/// keys or users as exposed.
pub(crate) async fn aws_signals(context: &SessionContext) -> Result<Vec<Finding>> {
    let sql = format!(
        r#"
        SELECT {FINDING}, e."event.action" AS action, e."req.userName" AS target, e."req.policyArn" AS detail
        FROM events e
             LEFT JOIN (SELECT DISTINCT "user.name" AS name FROM scope
                        WHERE "aws.cloudtrail.user_identity.type" = 'IAMUser') owner ON e."req.userName" = owner.name
             LEFT JOIN derived d ON e."aws.cloudtrail.user_identity.access_key_id" = d.access_key_id
        WHERE e."event.action" = 'AttachUserPolicy' AND {QUARANTINE}
          AND (e.__subject OR owner.name IS NOT NULL OR d.access_key_id IS NOT NULL)
        UNION ALL
        SELECT min(e."@timestamp") AS time, e."event.outcome", e."aws.cloudtrail.error_code",
               coalesce(e."aws.cloudtrail.recipient_account_id", e."cloud.account.id"), e."cloud.region",
               e."aws.cloudtrail.user_identity.access_key_id", e."source.address", e."aws.cloudtrail.user_identity.arn",
               e.api, CAST(NULL AS VARCHAR),
               count(*) || ' call(s) refused by the quarantine policy'
        FROM scope e WHERE e."aws.cloudtrail.error_message" LIKE '%AWSCompromisedKeyQuarantine%'
        GROUP BY 2, 3, 4, 5, 6, 7, 8, 9
        UNION ALL
        SELECT {FINDING}, e."event.action", string_agg(DISTINCT named.value, ', ') AS target,
               'AWS_RISK_CREDENTIALS_EXPOSED'
        FROM events e JOIN (
                 SELECT DISTINCT "aws.cloudtrail.user_identity.access_key_id" AS value FROM scope
                 WHERE "aws.cloudtrail.user_identity.access_key_id" IS NOT NULL
                 UNION SELECT DISTINCT "user.name" FROM scope WHERE "aws.cloudtrail.user_identity.type" = 'IAMUser'
             ) named ON strpos(e."aws.cloudtrail.flattened.service_event_details", named.value) > 0
        WHERE strpos(e."aws.cloudtrail.flattened.service_event_details", 'AWS_RISK_CREDENTIALS_EXPOSED') > 0
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        ORDER BY time, action"#
    );
    rows(context, &sql).await
}
