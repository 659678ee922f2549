//! CloudTrail record → ECS event, following Elastic's AWS integration (see the corpus's
//! ECS-MAPPING.md); where Elastic's versions differ, the newer behaviour.

use std::borrow::Cow;
use std::net::IpAddr;

use sonic_rs::LazyValue;

use crate::categorize::categorize;
use crate::cloudtrail::{Fields, ReadRecord, Record, Resource, UserIdentity, resources};
use crate::event::{EcsEvent, Value};
use crate::flattened::lookup_str;
use crate::schema::Col;
use crate::secrets::redact;

const DATASET: &str = "aws.cloudtrail";

/// What a record turned out to be.
pub(crate) enum Parsed<'a> {
    CloudTrail(Box<ReadRecord<'a>>),
    /// An EventBridge / CloudTrail Lake envelope: the event is the `detail` text.
    Envelope(&'a str),
    /// An ECS document exported from Elastic.
    Ecs,
}

/// Parses a record, filling `fields`, and says what it is. Errors name the problem, never the
/// content.
pub(crate) fn parse(json: &str, fields: Fields) -> Result<Parsed<'_>, String> {
    crate::escapes::check(json)?;
    let read = Record::parse(json, fields).map_err(|e| describe(&e))?;
    if is_cloudtrail(&read.record) {
        return Ok(Parsed::CloudTrail(Box::new(read)));
    }
    if let Some(detail) = &read.record.detail {
        let raw = crate::flattened::reslice(json, detail.as_raw_str());
        return if raw.starts_with('{') {
            Ok(Parsed::Envelope(raw))
        } else {
            Err("envelope 'detail' is not an object".into())
        };
    }
    if read.record.ecs_timestamp {
        return Ok(Parsed::Ecs);
    }
    Err("not a CloudTrail event (no eventTime or eventName)".into())
}

/// Whether a record is a CloudTrail event (rather than an envelope or an ECS document).
pub(crate) fn is_cloudtrail(record: &Record<'_>) -> bool {
    record.event_name.is_some() || record.event_time.is_some()
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
/// Work for columns the event does not want is skipped.
pub(crate) fn normalize<'a>(read: ReadRecord<'a>, event: &mut EcsEvent<'a>) {
    event.set_wrong_types(read.wrong_types);
    if event.wants_none() {
        return;
    }
    let record = read.record;
    if event.wants(Col::Timestamp)
        && let Some(millis) = record.event_time.as_deref().and_then(parse_time)
    {
        event.set(Col::Timestamp, Value::Time(millis));
    }
    event.set(Col::EventKind, Value::Str(Cow::Borrowed("event")));
    event.set(Col::EventDataset, Value::Str(Cow::Borrowed(DATASET)));
    event.set(Col::DataStreamDataset, Value::Str(Cow::Borrowed(DATASET)));
    event.set(Col::CloudProvider, Value::Str(Cow::Borrowed("aws")));

    if let Some(provider) = &record.event_source {
        let service = sub_cow(provider, |p| Some(p.strip_suffix(".amazonaws.com").unwrap_or(p)));
        event.set_str(Col::CloudServiceName, service);
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
    event.set_str(Col::VpcEndpointAccountId, record.vpc_endpoint_account_id);
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
    // An object is redacted whenever it is output (as JSON, as Elastic's text copy, or by
    // path: each wants the object's column); the lookups below read only keys that are not
    // secrets, so reads that output none of the objects skip the work.
    let redacted = |col: Col, text: Option<Cow<'a, str>>| {
        if event.wants(col) { text.map(redact_cow) } else { text }
    };
    let request = redacted(Col::FlatRequestParameters, flat(&record.request_parameters));
    let response = redacted(Col::FlatResponseElements, flat(&record.response_elements));
    let additional = redacted(Col::FlatAdditionalEventData, flat(&record.additional_event_data));
    let service_details = redacted(Col::FlatServiceEventDetails, flat(&record.service_event_details));

    // Outcome: any error fails the call; a ConsoleLogin says its own result.
    let action = record.event_name;
    if event.wants(Col::EventOutcome) {
        let mut outcome = Cow::Borrowed(if failed { "failure" } else { "success" });
        if action.as_deref() == Some("ConsoleLogin")
            && let Some(result) = response.as_deref().and_then(|r| lookup_str(r, &["ConsoleLogin"]))
        {
            outcome = Cow::Owned(result.to_lowercase());
        }
        event.set(Col::EventOutcome, Value::Str(outcome));
    }
    if let Some(action) = action.as_deref() {
        if event.wants(Col::EventCategory) || event.wants(Col::EventType) {
            let (categories, types) = categorize(action);
            if !categories.is_empty() {
                event.set(Col::EventCategory, Value::List(categories.iter().map(|c| Cow::Borrowed(*c)).collect()));
            }
            event.set(Col::EventType, Value::List(types.iter().map(|t| Cow::Borrowed(*t)).collect()));
        }
        if action == "ConsoleLogin"
            && let Some(data) = additional.as_deref()
        {
            console_login(data, event);
        }
    }
    event.set_str(Col::EventAction, action);

    if let Some(address) = record.source_ip_address {
        if (event.wants(Col::SourceIp) || event.wants(Col::RelatedIp))
            && let Some(ip) = single_ip(&address)
        {
            event.set(Col::SourceIp, Value::Str(ip.clone()));
            event.push_unique(Col::RelatedIp, ip);
        }
        event.set_str(Col::SourceAddress, Some(address));
    }

    identity(record.user_identity.unwrap_or_default(), additional.as_deref(), record.recipient_account_id, event);

    if let Some(request) = &request
        && [Col::RelatedUser, Col::UserTargetName, Col::UserChangesName, Col::GroupName].iter().any(|c| event.wants(*c))
    {
        let user = lookup_in(request, &["userName"]);
        let new_user = lookup_in(request, &["newUserName"]);
        if let Some(user) = &user {
            event.push_unique(Col::RelatedUser, user.clone());
        }
        if let Some(new_user) = &new_user {
            event.push_unique(Col::RelatedUser, new_user.clone());
        }
        event.set_str(Col::UserTargetName, user);
        event.set_str(Col::UserChangesName, new_user);
        if event.wants(Col::GroupName) {
            event.set_str(Col::GroupName, lookup_in(request, &["groupName"]));
        }
    }
    if let Some(response) = &response {
        if event.wants(Col::UserTargetId) {
            event.set_str(Col::UserTargetId, lookup_in(response, &["user", "userId"]));
        }
        if event.wants(Col::GroupId) {
            event.set_str(Col::GroupId, lookup_in(response, &["group", "groupId"]));
        }
    }

    if let Some(tls) = record.tls_details {
        if let Some(tls_version) = &tls.tls_version
            && let Some((protocol, _)) = tls_version.split_once('v')
        {
            let protocol = if protocol == "TLS" { Cow::Borrowed("tls") } else { Cow::Owned(protocol.to_lowercase()) };
            event.set_str(Col::TlsVersionProtocol, Some(protocol));
            event.set_str(Col::TlsVersion, sub_cow(tls_version, |v| v.split_once('v').map(|(_, version)| version)));
        }
        event.set_str(Col::TlsCipher, tls.cipher_suite);
        event.set_str(Col::TlsClientServerName, tls.client_provided_host_header);
    }

    if let Some(resources) = &record.resources
        && [Col::ResourcesArn, Col::ResourcesAccountId, Col::ResourcesType].iter().any(|c| event.wants(*c))
        && let Some(resources) = read_resources(resources)
    {
        // Elastic keeps one entry per distinct (ARN, account, type).
        type Entry<'t> = (Option<Cow<'t, str>>, Option<Cow<'t, str>>, Option<Cow<'t, str>>);
        let mut seen: Vec<Entry> = Vec::new();
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
}

/// Who made the call: user.name, user.id, related.user and the aws.cloudtrail.user_identity
/// fields, per identity type.
fn identity<'a>(
    identity: UserIdentity<'a>,
    additional: Option<&str>,
    recipient_account: Option<Cow<'a, str>>,
    event: &mut EcsEvent<'a>,
) {
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
        if event.wants(Col::SessionCreationDate)
            && let Some(millis) = attributes.creation_date.as_deref().and_then(parse_time)
        {
            event.set(Col::SessionCreationDate, Value::Time(millis));
        }
    }
    let kind = identity.kind.as_deref().unwrap_or_default();
    // Role and federated sessions are named after the role (or federating user) that issued
    // them; the session's own name goes to related.user, with its local part if an e-mail.
    if matches!(kind, "AssumedRole" | "FederatedUser") {
        if let Some(principal) = &identity.principal_id
            && let Some(session) = sub_cow(principal, |p| p.split_once(':').map(|(_, session)| session))
            && !session.is_empty()
        {
            if let Some(local) = sub_cow(&session, |s| s.split_once('@').map(|(local, _)| local)) {
                event.set_str(Col::UserEmail, Some(session.clone()));
                event.push_unique(Col::RelatedUser, session);
                event.push_unique(Col::RelatedUser, local);
            } else {
                event.push_unique(Col::RelatedUser, session);
            }
            event.push_unique(Col::RelatedUser, principal.clone());
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

/// [`lookup_str`] in a text that may be borrowed from the record, borrowing from it too.
fn lookup_in<'a>(text: &Cow<'a, str>, path: &[&str]) -> Option<Cow<'a, str>> {
    match text {
        Cow::Borrowed(s) => lookup_str(s, path),
        Cow::Owned(s) => lookup_str(s, path).map(owned),
    }
}

/// A part of a text, borrowed from the record when the text is (no allocation per event).
fn sub_cow<'a>(text: &Cow<'a, str>, part: impl for<'s> Fn(&'s str) -> Option<&'s str>) -> Option<Cow<'a, str>> {
    match text {
        Cow::Borrowed(s) => part(s).map(Cow::Borrowed),
        Cow::Owned(s) => part(s).map(|p| Cow::Owned(p.to_string())),
    }
}

fn read_resources<'a>(raw: &LazyValue<'a>) -> Option<Vec<Resource<'a>>> {
    match raw.as_raw_cow() {
        Cow::Borrowed(text) => resources(text),
        Cow::Owned(text) => Some(resources(&text)?.into_iter().map(Resource::into_owned).collect()),
    }
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
    // The parser takes IPv4 addresses only in their canonical form.
    if ip.is_ipv4() {
        return Some(address.clone());
    }
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
