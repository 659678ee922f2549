//! The raw CloudTrail record, as AWS documents it. Strings borrow from the input where they
//! hold no escapes; free-form objects stay unparsed JSON text.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use sonic_rs::LazyValue;

type Text<'a> = Option<Cow<'a, str>>;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record<'a> {
    #[serde(borrow)]
    pub event_version: Text<'a>,
    #[serde(borrow)]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow)]
    pub event_time: Text<'a>,
    #[serde(borrow)]
    pub event_source: Text<'a>,
    #[serde(borrow)]
    pub event_name: Text<'a>,
    #[serde(borrow)]
    pub aws_region: Text<'a>,
    #[serde(borrow, rename = "sourceIPAddress")]
    pub source_ip_address: Text<'a>,
    #[serde(borrow)]
    pub user_agent: Text<'a>,
    #[serde(borrow)]
    pub error_code: Text<'a>,
    #[serde(borrow)]
    pub error_message: Text<'a>,
    #[serde(borrow)]
    pub request_parameters: Option<LazyValue<'a>>,
    #[serde(borrow)]
    pub response_elements: Option<LazyValue<'a>>,
    #[serde(borrow)]
    pub additional_event_data: Option<LazyValue<'a>>,
    #[serde(borrow)]
    pub service_event_details: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "requestID")]
    pub request_id: Text<'a>,
    #[serde(borrow, rename = "eventID")]
    pub event_id: Text<'a>,
    #[serde(default, deserialize_with = "flexible_bool")]
    pub read_only: Option<bool>,
    #[serde(borrow)]
    pub event_type: Text<'a>,
    #[serde(default, deserialize_with = "flexible_bool")]
    pub management_event: Option<bool>,
    #[serde(borrow)]
    pub recipient_account_id: Text<'a>,
    #[serde(borrow)]
    pub event_category: Text<'a>,
    #[serde(borrow, rename = "sharedEventID")]
    pub shared_event_id: Text<'a>,
    #[serde(borrow)]
    pub vpc_endpoint_id: Text<'a>,
    #[serde(borrow)]
    pub api_version: Text<'a>,
    #[serde(borrow)]
    pub tls_details: Option<TlsDetails<'a>>,
    #[serde(borrow, default, deserialize_with = "flexible_text")]
    pub session_credential_from_console: Text<'a>,
    #[serde(borrow)]
    pub resources: Option<Vec<Resource<'a>>>,
    /// Present on ECS documents exported from Elastic.
    #[serde(rename = "@timestamp")]
    pub ecs_timestamp: Option<IgnoredAny>,
    /// The event inside an EventBridge or CloudTrail Lake envelope.
    #[serde(borrow)]
    pub detail: Option<LazyValue<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserIdentity<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub principal_id: Text<'a>,
    #[serde(borrow)]
    pub arn: Text<'a>,
    #[serde(borrow)]
    pub account_id: Text<'a>,
    #[serde(borrow)]
    pub access_key_id: Text<'a>,
    #[serde(borrow)]
    pub user_name: Text<'a>,
    #[serde(borrow)]
    pub invoked_by: Text<'a>,
    #[serde(borrow)]
    pub session_context: Option<SessionContext<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionContext<'a> {
    #[serde(borrow)]
    pub attributes: Option<SessionAttributes<'a>>,
    #[serde(borrow)]
    pub session_issuer: Option<SessionIssuer<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionAttributes<'a> {
    #[serde(borrow, default, deserialize_with = "flexible_text")]
    pub mfa_authenticated: Text<'a>,
    #[serde(borrow)]
    pub creation_date: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionIssuer<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
    #[serde(borrow)]
    pub principal_id: Text<'a>,
    #[serde(borrow)]
    pub arn: Text<'a>,
    #[serde(borrow)]
    pub account_id: Text<'a>,
    #[serde(borrow)]
    pub user_name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TlsDetails<'a> {
    #[serde(borrow)]
    pub tls_version: Text<'a>,
    #[serde(borrow)]
    pub cipher_suite: Text<'a>,
    #[serde(borrow)]
    pub client_provided_host_header: Text<'a>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Resource<'a> {
    #[serde(borrow, rename = "ARN")]
    pub arn: Text<'a>,
    #[serde(borrow, rename = "accountId")]
    pub account_id: Text<'a>,
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
}

/// CloudTrail writes these flags as JSON booleans, but some exporters write "true"/"false".
fn flexible_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag<'a> {
        Bool(bool),
        #[serde(borrow)]
        Text(Cow<'a, str>),
    }
    Ok(match Option::<Flag>::deserialize(deserializer)? {
        Some(Flag::Bool(b)) => Some(b),
        Some(Flag::Text(t)) if t.eq_ignore_ascii_case("true") => Some(true),
        Some(Flag::Text(t)) if t.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    })
}

/// Flags CloudTrail writes as the strings "true"/"false" (mfaAuthenticated,
/// sessionCredentialFromConsole), accepted as JSON booleans too.
fn flexible_text<'de: 'a, 'a, D: Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag<'a> {
        Bool(bool),
        #[serde(borrow)]
        Text(Cow<'a, str>),
    }
    Ok(match Option::<Flag>::deserialize(deserializer)? {
        Some(Flag::Bool(b)) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
        Some(Flag::Text(t)) => Some(t),
        None => None,
    })
}
