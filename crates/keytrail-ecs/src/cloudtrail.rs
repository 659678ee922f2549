//! The raw CloudTrail record, as AWS documents it. Strings borrow from the input where they
//! hold no escapes; free-form objects stay unparsed JSON text.

use std::borrow::Cow;

use std::fmt;

use serde::de::{self, IgnoredAny, Visitor};
use serde::{Deserialize, Deserializer};
use sonic_rs::LazyValue;

type Text<'a> = Option<Cow<'a, str>>;

/// A CloudTrail delivery file: the events are its `Records`.
#[derive(Deserialize)]
pub(crate) struct Delivery<'a> {
    #[serde(borrow, rename = "Records")]
    pub records: Vec<Record<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record<'a> {
    #[serde(borrow, default, deserialize_with = "text", alias = "eventversion")]
    pub event_version: Text<'a>,
    #[serde(borrow, alias = "useridentity")]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow, default, deserialize_with = "text", alias = "eventtime")]
    pub event_time: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "eventsource")]
    pub event_source: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "eventname")]
    pub event_name: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "awsregion")]
    pub aws_region: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", rename = "sourceIPAddress", alias = "sourceipaddress")]
    pub source_ip_address: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "useragent")]
    pub user_agent: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "errorcode")]
    pub error_code: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "errormessage")]
    pub error_message: Text<'a>,
    #[serde(borrow, alias = "requestparameters")]
    pub request_parameters: Option<LazyValue<'a>>,
    #[serde(borrow, alias = "responseelements")]
    pub response_elements: Option<LazyValue<'a>>,
    #[serde(borrow, alias = "additionaleventdata")]
    pub additional_event_data: Option<LazyValue<'a>>,
    #[serde(borrow, alias = "serviceeventdetails")]
    pub service_event_details: Option<LazyValue<'a>>,
    #[serde(borrow, default, deserialize_with = "text", rename = "requestID", alias = "requestid")]
    pub request_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", rename = "eventID", alias = "eventid")]
    pub event_id: Text<'a>,
    #[serde(default, deserialize_with = "flexible_bool", alias = "readonly")]
    pub read_only: Option<bool>,
    #[serde(borrow, default, deserialize_with = "text", alias = "eventtype")]
    pub event_type: Text<'a>,
    #[serde(default, deserialize_with = "flexible_bool", alias = "managementevent")]
    pub management_event: Option<bool>,
    #[serde(borrow, default, deserialize_with = "text", alias = "recipientaccountid")]
    pub recipient_account_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "eventcategory")]
    pub event_category: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", rename = "sharedEventID", alias = "sharedeventid")]
    pub shared_event_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "vpcendpointid")]
    pub vpc_endpoint_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "vpcendpointaccountid")]
    pub vpc_endpoint_account_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "apiversion")]
    pub api_version: Text<'a>,
    #[serde(borrow, alias = "tlsdetails")]
    pub tls_details: Option<TlsDetails<'a>>,
    #[serde(borrow, default, deserialize_with = "flexible_text", alias = "sessioncredentialfromconsole")]
    pub session_credential_from_console: Text<'a>,
    #[serde(borrow)]
    pub resources: Option<LazyValue<'a>>,
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
    #[serde(borrow, default, deserialize_with = "text", rename = "type")]
    pub kind: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "principalid")]
    pub principal_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub arn: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "accountid")]
    pub account_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "accesskeyid")]
    pub access_key_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "username")]
    pub user_name: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "invokedby")]
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
    #[serde(borrow, default, deserialize_with = "text", alias = "creationdate")]
    pub creation_date: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionIssuer<'a> {
    #[serde(borrow, default, deserialize_with = "text", rename = "type")]
    pub kind: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "principalid")]
    pub principal_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub arn: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "accountid")]
    pub account_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "username")]
    pub user_name: Text<'a>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TlsDetails<'a> {
    #[serde(borrow, default, deserialize_with = "text", alias = "tlsversion")]
    pub tls_version: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "ciphersuite")]
    pub cipher_suite: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", alias = "clientprovidedhostheader")]
    pub client_provided_host_header: Text<'a>,
}

#[derive(Deserialize, Default)]
pub(crate) struct Resource<'a> {
    #[serde(borrow, default, deserialize_with = "text", rename = "ARN", alias = "arn")]
    pub arn: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", rename = "accountId", alias = "accountid")]
    pub account_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "text", rename = "type")]
    pub kind: Text<'a>,
}

/// Text borrowed from the record when it holds no escapes. (serde borrows only fields whose
/// type is exactly `Cow<str>`: an `Option<Cow<str>>` would be allocated for every value.)
fn text<'de: 'a, 'a, D: Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
    struct Borrowed<'a>(Cow<'a, str>);
    impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_str(BorrowedVisitor).map(Borrowed)
        }
    }
    struct BorrowedVisitor;
    impl<'de> Visitor<'de> for BorrowedVisitor {
        type Value = Cow<'de, str>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string")
        }

        fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Cow::Borrowed(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v.to_string()))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Cow::Owned(v))
        }
    }
    Ok(Option::<Borrowed<'a>>::deserialize(deserializer)?.map(|b| b.0))
}

impl Resource<'_> {
    pub fn into_owned(self) -> Resource<'static> {
        let own = |t: Text<'_>| t.map(|t| Cow::Owned(t.into_owned()));
        Resource { arn: own(self.arn), account_id: own(self.account_id), kind: own(self.kind) }
    }
}

/// A flag as either a JSON boolean or a string.
enum Flag<'a> {
    Bool(bool),
    Text(Cow<'a, str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for Flag<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;
        impl<'de> Visitor<'de> for FlagVisitor {
            type Value = Flag<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean or a string")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Flag::Bool(v))
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Flag::Text(Cow::Borrowed(v)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Flag::Text(Cow::Owned(v.to_string())))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Flag::Text(Cow::Owned(v)))
            }
        }
        // Read by type rather than by trying each variant, which would buffer the value.
        deserializer.deserialize_any(FlagVisitor)
    }
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
/// Anything but the list is ignored rather than costing the event. Kept as raw text in the
/// record and only read when a resources column is asked for.
pub(crate) fn resources(raw: &str) -> Option<Vec<Resource<'_>>> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Resources<'a> {
        #[serde(borrow)]
        List(Vec<Resource<'a>>),
        Other(IgnoredAny),
    }
    match sonic_rs::from_str::<Option<Resources>>(raw) {
        Ok(Some(Resources::List(list))) => Some(list),
        _ => None,
    }
}
