//! CloudTrail record → ECS event, following Elastic's AWS integration (see the corpus's
//! ECS-MAPPING.md); where Elastic's versions differ, the newer behaviour.

use std::borrow::Cow;
use std::net::IpAddr;

use sonic_rs::LazyValue;

use crate::categorize::categorize;
use crate::cloudtrail::{Record, UserIdentity};
use crate::event::{EcsEvent, Value};
use crate::flattened::{lookup_str, redact};
use crate::schema::Col;

const DATASET: &str = "aws.cloudtrail";

/// What a record turned out to be.
pub(crate) enum Parsed<'a> {
    CloudTrail(Box<Record<'a>>),
    /// An EventBridge / CloudTrail Lake envelope: the event is the `detail` text.
    Envelope(&'a str),
    /// An ECS document exported from Elastic.
    Ecs,
}

/// Parses a record and says what it is. Errors name the problem, never the content.
pub(crate) fn parse(json: &str) -> Result<Parsed<'_>, String> {
    let record: Record = sonic_rs::from_str(json).map_err(|e| describe(&e))?;
    if record.event_name.is_some() || record.event_time.is_some() {
        return Ok(Parsed::CloudTrail(Box::new(record)));
    }
    if let Some(detail) = &record.detail {
        let raw = crate::flattened::reslice(json, detail.as_raw_str());
        return if raw.starts_with('{') {
            Ok(Parsed::Envelope(raw))
        } else {
            Err("envelope 'detail' is not an object".into())
        };
    }
    if record.ecs_timestamp.is_some() {
        return Ok(Parsed::Ecs);
    }
    Err("not a CloudTrail event (no eventTime or eventName)".into())
}

/// sonic-rs describes the failure, then quotes the input around it; keep the description and
/// position only, since the input may hold secrets.
pub(crate) fn describe(e: &sonic_rs::Error) -> String {
    let text = e.to_string();
    let first = without_quoted_values(text.lines().next().unwrap_or_default().trim_end_matches('.'));
    if e.is_syntax() || e.is_eof() { format!("invalid JSON: {first}") } else { format!("unexpected shape: {first}") }
}

/// serde quotes the offending value (`invalid type: string "…"`), which may be a secret.
fn without_quoted_values(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quoted = false;
    for c in text.chars() {
        if c == '"' {
            if !quoted {
                out.push_str("\"…\"");
            }
            quoted = !quoted;
        } else if !quoted {
            out.push(c);
        }
    }
    out
}

/// Fills `event` from a CloudTrail record. An event whose time is missing or unreadable is
/// kept with a null `@timestamp`: it is still evidence, though no time window will hold it.
pub(crate) fn normalize<'a>(record: Record<'a>, event: &mut EcsEvent<'a>) -> Result<(), String> {
    if let Some(millis) = record.event_time.as_deref().and_then(parse_time) {
        event.set(Col::Timestamp, Value::Time(millis));
    }
    event.set(Col::EventKind, Value::Str(Cow::Borrowed("event")));
    event.set(Col::EventDataset, Value::Str(Cow::Borrowed(DATASET)));
    event.set(Col::DataStreamDataset, Value::Str(Cow::Borrowed(DATASET)));
    event.set(Col::CloudProvider, Value::Str(Cow::Borrowed("aws")));

    if let Some(provider) = &record.event_source {
        let service = provider.strip_suffix(".amazonaws.com").unwrap_or(provider);
        event.set_str(Col::CloudServiceName, Some(Cow::Owned(service.to_string())));
    }
    event.set_str(Col::EventProvider, record.event_source);
    event.set_str(Col::EventId, record.event_id);
    event.set_str(Col::CloudRegion, record.aws_region);
    event.set_str(Col::UserAgentOriginal, record.user_agent);
    event.set_str(Col::EventVersion, record.event_version);
    event.set_str(Col::CloudTrailEventType, record.event_type);
    event.set_str(Col::CloudTrailEventCategory, record.event_category);
    event.set_str(Col::RecipientAccountId, record.recipient_account_id.clone());
    event.set_str(Col::RequestId, record.request_id);
    event.set_str(Col::SharedEventId, record.shared_event_id);
    event.set_str(Col::VpcEndpointId, record.vpc_endpoint_id);
    event.set_str(Col::ApiVersion, record.api_version);
    event.set_str(Col::SessionCredentialFromConsole, record.session_credential_from_console);
    if let Some(b) = record.read_only {
        event.set(Col::ReadOnly, Value::Bool(b));
    }
    if let Some(b) = record.management_event {
        event.set(Col::ManagementEvent, Value::Bool(b));
    }

    let failed = record.error_code.as_deref().is_some_and(|s| !s.is_empty())
        || record.error_message.as_deref().is_some_and(|s| !s.is_empty());
    event.set_str(Col::ErrorCode, record.error_code);
    event.set_str(Col::ErrorMessage, record.error_message);

    let flat = |value: &Option<LazyValue<'a>>| -> Option<Cow<'a, str>> {
        let value = value.as_ref()?;
        let raw = value.as_raw_str();
        // Elastic drops null and empty values; `{}` stays, as it does there.
        (raw != "null" && raw != "\"\"").then(|| cow_from_lazy(value))
    };
    let request = flat(&record.request_parameters);
    let response = flat(&record.response_elements).map(|r| redact_cow(r));
    let additional = flat(&record.additional_event_data).map(|r| redact_cow(r));
    let service_details = flat(&record.service_event_details);

    // Outcome: any error fails the call; a ConsoleLogin says its own result.
    let mut outcome = Cow::Borrowed(if failed { "failure" } else { "success" });
    let action = record.event_name.clone();
    if action.as_deref() == Some("ConsoleLogin")
        && let Some(result) = response.as_deref().and_then(|r| lookup_str(r, &["ConsoleLogin"]))
    {
        outcome = Cow::Owned(result.to_lowercase());
    }
    event.set(Col::EventOutcome, Value::Str(outcome));
    if let Some(action) = action.as_deref() {
        let (categories, types) = categorize(action);
        if !categories.is_empty() {
            event.set(Col::EventCategory, Value::List(categories.iter().map(|c| Cow::Borrowed(*c)).collect()));
        }
        event.set(Col::EventType, Value::List(types.iter().map(|t| Cow::Borrowed(*t)).collect()));
        if action == "ConsoleLogin"
            && let Some(data) = additional.as_deref()
        {
            console_login(data, event);
        }
    }
    event.set_str(Col::EventAction, action);

    if let Some(address) = record.source_ip_address {
        if let Some(ip) = single_ip(&address) {
            event.set(Col::SourceIp, Value::Str(ip.clone()));
            event.push_unique(Col::RelatedIp, ip);
        }
        event.set_str(Col::SourceAddress, Some(address));
    }

    identity(record.user_identity.unwrap_or_default(), additional.as_deref(), record.recipient_account_id, event);

    if let Some(request) = request.as_deref() {
        let user = lookup_str(request, &["userName"]);
        let new_user = lookup_str(request, &["newUserName"]);
        if let Some(user) = &user {
            event.push_unique(Col::RelatedUser, Cow::Owned(user.to_string()));
        }
        if let Some(new_user) = &new_user {
            event.push_unique(Col::RelatedUser, Cow::Owned(new_user.to_string()));
        }
        event.set_str(Col::UserTargetName, user.map(owned));
        event.set_str(Col::UserChangesName, new_user.map(owned));
        event.set_str(Col::GroupName, lookup_str(request, &["groupName"]).map(owned));
    }
    if let Some(response) = response.as_deref() {
        event.set_str(Col::UserTargetId, lookup_str(response, &["user", "userId"]).map(owned));
        event.set_str(Col::GroupId, lookup_str(response, &["group", "groupId"]).map(owned));
    }

    if let Some(tls) = record.tls_details {
        if let Some((protocol, version)) = tls.tls_version.as_deref().and_then(|v| v.split_once('v')) {
            event.set_str(Col::TlsVersionProtocol, Some(Cow::Owned(protocol.to_lowercase())));
            event.set_str(Col::TlsVersion, Some(Cow::Owned(version.to_string())));
        }
        event.set_str(Col::TlsCipher, tls.cipher_suite);
        event.set_str(Col::TlsClientServerName, tls.client_provided_host_header);
    }

    if let Some(resources) = record.resources {
        // Elastic keeps one entry per distinct (ARN, account, type).
        let mut seen: Vec<(Option<Cow<str>>, Option<Cow<str>>, Option<Cow<str>>)> = Vec::new();
        let (mut arns, mut accounts, mut types) = (Vec::new(), Vec::new(), Vec::new());
        for r in resources {
            let key = (r.arn.clone(), r.account_id.clone(), r.kind.clone());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            arns.extend(r.arn);
            accounts.extend(r.account_id);
            types.extend(r.kind);
        }
        for (col, list) in [(Col::ResourcesArn, arns), (Col::ResourcesAccountId, accounts), (Col::ResourcesType, types)]
        {
            if !list.is_empty() {
                event.set(col, Value::List(list));
            }
        }
    }

    event.set_str(Col::FlatRequestParameters, request);
    event.set_str(Col::FlatResponseElements, response);
    event.set_str(Col::FlatAdditionalEventData, additional);
    event.set_str(Col::FlatServiceEventDetails, service_details);
    Ok(())
}

/// Who made the call: user.name, user.id, related.user and the aws.cloudtrail.user_identity
/// fields, per identity type.
fn identity<'a>(
    identity: UserIdentity<'a>,
    additional: Option<&str>,
    recipient_account: Option<Cow<'a, str>>,
    event: &mut EcsEvent<'a>,
) {
    let kind = identity.kind.as_deref().unwrap_or_default().to_string();
    if let Some(name) = &identity.user_name {
        event.push_unique(Col::RelatedUser, name.clone());
    }
    let mut user_name = identity.user_name;
    let (mut issuer_name, mut attributes) = (None, None);
    if let Some(context) = identity.session_context {
        attributes = context.attributes;
        if let Some(issuer) = context.session_issuer {
            event.set_str(Col::SessionIssuerType, issuer.kind);
            event.set_str(Col::SessionIssuerPrincipalId, issuer.principal_id);
            event.set_str(Col::SessionIssuerArn, issuer.arn);
            event.set_str(Col::SessionIssuerAccountId, issuer.account_id);
            issuer_name = issuer.user_name;
        }
    }
    if let Some(attributes) = attributes {
        event.set_str(Col::SessionMfaAuthenticated, attributes.mfa_authenticated);
        if let Some(millis) = attributes.creation_date.as_deref().and_then(parse_time) {
            event.set(Col::SessionCreationDate, Value::Time(millis));
        }
    }
    // Role and federated sessions are named after the role (or federating user) that issued
    // them; the session's own name goes to related.user, with its local part if an e-mail.
    if matches!(kind.as_str(), "AssumedRole" | "FederatedUser") {
        if let Some(session) =
            identity.principal_id.as_deref().and_then(|p| p.split_once(':')).map(|(_, s)| s.to_string())
            && !session.is_empty()
        {
            if let Some((local, _)) = session.split_once('@') {
                event.set_str(Col::UserEmail, Some(Cow::Owned(session.clone())));
                event.push_unique(Col::RelatedUser, Cow::Owned(session.clone()));
                event.push_unique(Col::RelatedUser, Cow::Owned(local.to_string()));
            } else {
                event.push_unique(Col::RelatedUser, Cow::Owned(session));
            }
            if let Some(id) = &identity.principal_id {
                event.push_unique(Col::RelatedUser, id.clone());
            }
        }
        if issuer_name.is_some() {
            user_name = issuer_name;
        }
    }
    // Identity Center sign-ins name the user only in additionalEventData.
    if kind == "IdentityCenterUser"
        && user_name.is_none()
        && let Some(name) = additional.and_then(|a| lookup_str(a, &["UserName"]))
    {
        if name.contains('@') {
            event.set_str(Col::UserEmail, Some(Cow::Owned(name.to_string())));
        }
        user_name = Some(Cow::Owned(name.into_owned()));
    }
    if let Some(name) = &user_name {
        event.push_unique(Col::RelatedUser, name.clone());
    }
    event.set_str(Col::UserName, user_name);
    event.set_str(Col::UserId, identity.principal_id);
    event.set_str(Col::UserIdentityType, identity.kind);
    event.set_str(Col::UserIdentityArn, identity.arn);
    event.set_str(Col::UserIdentityAccessKeyId, identity.access_key_id);
    event.set_str(Col::UserIdentityInvokedBy, identity.invoked_by);
    let account = identity.account_id.filter(|a| !a.is_empty()).or(recipient_account);
    event.set_str(Col::CloudAccountId, account);
}

fn console_login<'a>(additional: &str, event: &mut EcsEvent<'a>) {
    let yes = |v: &str| v != "No";
    if let Some(v) = lookup_str(additional, &["MobileVersion"]) {
        event.set(Col::ConsoleLoginMobileVersion, Value::Bool(yes(&v)));
    }
    if let Some(v) = lookup_str(additional, &["MFAUsed"]) {
        event.set(Col::ConsoleLoginMfaUsed, Value::Bool(yes(&v)));
    }
    event.set_str(Col::ConsoleLoginLoginTo, lookup_str(additional, &["LoginTo"]).map(owned));
}

fn owned<'a>(text: Cow<'_, str>) -> Cow<'a, str> {
    Cow::Owned(text.into_owned())
}

fn cow_from_lazy<'a>(value: &LazyValue<'a>) -> Cow<'a, str> {
    value.as_raw_cow()
}

fn redact_cow(text: Cow<'_, str>) -> Cow<'_, str> {
    match text {
        Cow::Borrowed(s) => redact(s),
        Cow::Owned(s) => Cow::Owned(redact(&s).into_owned()),
    }
}

/// The address when it is exactly one IPv4 or IPv6 address, in canonical form. Leading zeros
/// (`253.252.51.07`) make an address invalid, as they do for Elasticsearch's ip type.
pub(crate) fn single_ip<'a>(address: &Cow<'a, str>) -> Option<Cow<'a, str>> {
    let ip: IpAddr = address.parse().ok()?;
    let canonical = ip.to_string();
    Some(if canonical == **address { address.clone() } else { Cow::Owned(canonical) })
}

/// ISO 8601 / RFC 3339 time to epoch milliseconds. CloudTrail writes `2023-07-10T11:42:31Z`;
/// fractions and offsets are accepted too.
pub fn parse_time(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis()).or_else(|| {
        // Times without a zone are read as UTC, with a `T` or (as some exporters write them,
        // e.g. Panther's) a space between date and time.
        ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
            .iter()
            .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
            .map(|t| t.and_utc().timestamp_millis())
    })
}
