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
    #[serde(borrow, alias = "eventversion")]
    pub event_version: Text<'a>,
    #[serde(borrow, alias = "useridentity")]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow, alias = "eventtime")]
    pub event_time: Text<'a>,
    #[serde(borrow, alias = "eventsource")]
    pub event_source: Text<'a>,
    #[serde(borrow, alias = "eventname")]
    pub event_name: Text<'a>,
    #[serde(borrow, alias = "awsregion")]
    pub aws_region: Text<'a>,
    #[serde(borrow, rename = "sourceIPAddress", alias = "sourceipaddress")]
    pub source_ip_address: Text<'a>,
    #[serde(borrow, alias = "useragent")]
    pub user_agent: Text<'a>,
    #[serde(borrow, alias = "errorcode")]
    pub error_code: Text<'a>,
    #[serde(borrow, alias = "errormessage")]
    pub error_message: Text<'a>,
    #[serde(borrow, alias = "requestparameters")]
    pub request_parameters: Option<LazyValue<'a>>,
    #[serde(borrow, alias = "responseelements")]
    pub response_elements: Option<LazyValue<'a>>,
    #[serde(borrow, alias = "additionaleventdata")]
    pub additional_event_data: Option<LazyValue<'a>>,
    #[serde(borrow, alias = "serviceeventdetails")]
    pub service_event_details: Option<LazyValue<'a>>,
    #[serde(borrow, rename = "requestID", alias = "requestid")]
    pub request_id: Text<'a>,
    #[serde(borrow, rename = "eventID", alias = "eventid")]
    pub event_id: Text<'a>,
    #[serde(default, deserialize_with = "flexible_bool", alias = "readonly")]
    pub read_only: Option<bool>,
    #[serde(borrow, alias = "eventtype")]
    pub event_type: Text<'a>,
    #[serde(default, deserialize_with = "flexible_bool", alias = "managementevent")]
    pub management_event: Option<bool>,
    #[serde(borrow, alias = "recipientaccountid")]
    pub recipient_account_id: Text<'a>,
    #[serde(borrow, alias = "eventcategory")]
    pub event_category: Text<'a>,
    #[serde(borrow, rename = "sharedEventID", alias = "sharedeventid")]
    pub shared_event_id: Text<'a>,
    #[serde(borrow, alias = "vpcendpointid")]
    pub vpc_endpoint_id: Text<'a>,
    #[serde(borrow, alias = "apiversion")]
    pub api_version: Text<'a>,
    #[serde(borrow, alias = "tlsdetails")]
    pub tls_details: Option<TlsDetails<'a>>,
    #[serde(borrow, default, deserialize_with = "flexible_text", alias = "sessioncredentialfromconsole")]
    pub session_credential_from_console: Text<'a>,
    #[serde(borrow, default, deserialize_with = "lenient_resources")]
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
    #[serde(borrow, alias = "principalid")]
    pub principal_id: Text<'a>,
    #[serde(borrow)]
    pub arn: Text<'a>,
    #[serde(borrow, alias = "accountid")]
    pub account_id: Text<'a>,
    #[serde(borrow, alias = "accesskeyid")]
    pub access_key_id: Text<'a>,
    #[serde(borrow, alias = "username")]
    pub user_name: Text<'a>,
    #[serde(borrow, alias = "invokedby")]
    pub invoked_by: Text<'a>,
    #[serde(borrow, alias = "sessioncontext")]
    pub session_context: Option<SessionContext<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionContext<'a> {
    #[serde(borrow)]
    pub attributes: Option<SessionAttributes<'a>>,
    #[serde(borrow, alias = "sessionissuer")]
    pub session_issuer: Option<SessionIssuer<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionAttributes<'a> {
    #[serde(borrow, default, deserialize_with = "flexible_text", alias = "mfaauthenticated")]
    pub mfa_authenticated: Text<'a>,
    #[serde(borrow, alias = "creationdate")]
    pub creation_date: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionIssuer<'a> {
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
    #[serde(borrow, alias = "principalid")]
    pub principal_id: Text<'a>,
    #[serde(borrow)]
    pub arn: Text<'a>,
    #[serde(borrow, alias = "accountid")]
    pub account_id: Text<'a>,
    #[serde(borrow, alias = "username")]
    pub user_name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TlsDetails<'a> {
    #[serde(borrow, alias = "tlsversion")]
    pub tls_version: Text<'a>,
    #[serde(borrow, alias = "ciphersuite")]
    pub cipher_suite: Text<'a>,
    #[serde(borrow, alias = "clientprovidedhostheader")]
    pub client_provided_host_header: Text<'a>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Resource<'a> {
    #[serde(borrow, rename = "ARN", alias = "arn")]
    pub arn: Text<'a>,
    #[serde(borrow, rename = "accountId", alias = "accountid")]
    pub account_id: Text<'a>,
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
}

/// A flag as either a JSON boolean or a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flag<'a> {
    Bool(bool),
    #[serde(borrow)]
    Text(Cow<'a, str>),
}

/// CloudTrail writes these flags as JSON booleans, but some exporters write "true"/"false".
fn flexible_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
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
    Ok(match Option::<Flag>::deserialize(deserializer)? {
        Some(Flag::Bool(b)) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
        Some(Flag::Text(t)) => Some(t),
        None => None,
    })
}

/// `resources` is a list of objects in CloudTrail; some exporters flatten it to a string.
/// Anything but the list is ignored rather than costing the event.
fn lenient_resources<'de: 'a, 'a, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<Resource<'a>>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Resources<'a> {
        #[serde(borrow)]
        List(Vec<Resource<'a>>),
        Other(IgnoredAny),
    }
    Ok(match Option::<Resources>::deserialize(deserializer)? {
        Some(Resources::List(list)) => Some(list),
        _ => None,
    })
}
