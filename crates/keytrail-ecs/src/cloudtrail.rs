//! The raw CloudTrail record, as AWS documents it. Strings borrow from the input where they
//! hold no escapes; free-form objects stay unparsed JSON text.
//!
//! A value of the wrong type (a number where CloudTrail writes text, a list where it writes an
//! object) costs that value, not the event: the field is left empty and named in the record's
//! `wrong_types`, the way Elastic's ingest pipeline keeps a document it could not fully map.
//! So whether a record is an event depends only on `eventName`, `eventTime`, `detail` and
//! `@timestamp`. A read fills only the fields its columns are computed from ([`Fields`]) and
//! skips the others, and still keeps exactly the events a full read keeps.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use sonic_rs::LazyValue;

use crate::schema::{Col, ColumnSet};

type Text<'a> = Option<Cow<'a, str>>;

/// The fields of a [`Record`], and of the objects in it, a read fills: one bit per field (each
/// object has its own range, at the offset it is declared with); the others are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fields(u64);

impl Fields {
    /// The fields the columns are computed from (`columns` with their sources, see
    /// [`ColumnSet::with_sources`]), and those that tell an event from other JSON.
    pub fn for_columns(columns: &ColumnSet) -> Fields {
        Fields(
            [
                Record::fields_for(columns),
                UserIdentity::fields_for(columns),
                SessionContext::fields_for(columns),
                SessionAttributes::fields_for(columns),
                SessionIssuer::fields_for(columns),
                TlsDetails::fields_for(columns),
            ]
            .iter()
            .fold(0, |all, fields| all | fields.0),
        )
    }

    fn contains(self, bit: u32) -> bool {
        self.0 & (1 << bit) != 0
    }
}

/// Where JSON paths of values of the wrong type are collected (allocated only when one is met).
type WrongTypes = Vec<&'static str>;

/// Declares a CloudTrail object: its struct, and how each field is filled from a JSON object.
/// The object's fields take the bits of [`Fields`] from `at` on. A field names its reader (the
/// modules below), the columns computed from it (`always` for those that say whether a record
/// is an event at all), and the keys it is read from: CloudTrail's, then the lowercase
/// spelling some exporters write. A key met twice keeps its last value, as most JSON readers
/// do.
macro_rules! cloudtrail_object {
    ($name:ident at $at:literal, $path:literal {
        $($field:ident: $kind:ident $(<$nested:ident>)?, $needed:tt, $($key:literal)|+;)*
    }) => {
        #[derive(Default)]
        pub(crate) struct $name<'a> {
            $(pub $field: cloudtrail_object!(@type $kind $(<$nested>)?),)*
        }

        impl $name<'_> {
            fn fields_for(columns: &ColumnSet) -> Fields {
                #[allow(non_camel_case_types)]
                enum Field { $($field),* }
                let mut bits = 0;
                $(if cloudtrail_object!(@needed columns, $needed) {
                    bits |= 1 << ($at + Field::$field as u32);
                })*
                Fields(bits)
            }
        }

        impl<'de> Object<'de> for $name<'de> {
            fn fill<A: MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
                fields: Fields,
                wrong: &mut WrongTypes,
            ) -> Result<(), A::Error> {
                #[allow(non_camel_case_types)]
                enum Field { $($field),* }
                match key {
                    $($($key)|+ if fields.contains($at + Field::$field as u32) => {
                        let path = concat!($path, cloudtrail_object!(@first $($key)|+));
                        self.$field = $kind::read$(::<$nested, _>)?(map, path, fields, wrong)?;
                    })*
                    _ => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(())
            }
        }
    };
    (@type text) => { Text<'a> };
    (@type flag) => { Option<bool> };
    (@type flag_text) => { Text<'a> };
    (@type raw) => { Option<LazyValue<'a>> };
    (@type present) => { bool };
    (@type object<$nested:ident>) => { Option<$nested<'a>> };
    (@needed $columns:ident, always) => { true };
    (@needed $columns:ident, [$($col:ident),+]) => { false $(|| $columns.contains(Col::$col))+ };
    (@first $first:literal $(| $rest:literal)*) => { $first };
}

cloudtrail_object!(Record at 0, "" {
    event_version: text, [EventVersion], "eventVersion" | "eventversion";
    user_identity: object<UserIdentity>, [
        RelatedUser, UserName, UserId, UserEmail, UserIdentityType, UserIdentityArn,
        UserIdentityAccessKeyId, UserIdentityInvokedBy, CloudAccountId, SessionIssuerType,
        SessionIssuerPrincipalId, SessionIssuerArn, SessionIssuerAccountId,
        SessionMfaAuthenticated, SessionCreationDate
    ], "userIdentity" | "useridentity";
    event_time: text, always, "eventTime" | "eventtime";
    event_source: text, [EventProvider, CloudServiceName], "eventSource" | "eventsource";
    event_name: text, always, "eventName" | "eventname";
    aws_region: text, [CloudRegion], "awsRegion" | "awsregion";
    source_ip_address: text, [SourceAddress, SourceIp, RelatedIp], "sourceIPAddress" | "sourceipaddress";
    user_agent: text, [UserAgentOriginal], "userAgent" | "useragent";
    error_code: text, [ErrorCode, EventOutcome], "errorCode" | "errorcode";
    error_message: text, [ErrorMessage, EventOutcome], "errorMessage" | "errormessage";
    request_parameters: raw, [FlatRequestParameters, RelatedUser, UserTargetName, UserChangesName, GroupName],
        "requestParameters" | "requestparameters";
    response_elements: raw, [FlatResponseElements, EventOutcome, UserTargetId, GroupId],
        "responseElements" | "responseelements";
    additional_event_data: raw, [
        FlatAdditionalEventData, ConsoleLoginMobileVersion, ConsoleLoginMfaUsed, ConsoleLoginLoginTo,
        UserName, UserEmail, RelatedUser
    ], "additionalEventData" | "additionaleventdata";
    service_event_details: raw, [FlatServiceEventDetails], "serviceEventDetails" | "serviceeventdetails";
    request_id: text, [RequestId], "requestID" | "requestid";
    event_id: text, [EventId], "eventID" | "eventid";
    read_only: flag, [ReadOnly], "readOnly" | "readonly";
    event_type: text, [CloudTrailEventType], "eventType" | "eventtype";
    management_event: flag, [ManagementEvent], "managementEvent" | "managementevent";
    recipient_account_id: text, [RecipientAccountId, CloudAccountId], "recipientAccountId" | "recipientaccountid";
    event_category: text, [CloudTrailEventCategory], "eventCategory" | "eventcategory";
    shared_event_id: text, [SharedEventId], "sharedEventID" | "sharedeventid";
    vpc_endpoint_id: text, [VpcEndpointId], "vpcEndpointId" | "vpcendpointid";
    vpc_endpoint_account_id: text, [VpcEndpointAccountId], "vpcEndpointAccountId" | "vpcendpointaccountid";
    api_version: text, [ApiVersion], "apiVersion" | "apiversion";
    tls_details: object<TlsDetails>, [TlsVersion, TlsVersionProtocol, TlsCipher, TlsClientServerName],
        "tlsDetails" | "tlsdetails";
    session_credential_from_console: flag_text, [SessionCredentialFromConsole],
        "sessionCredentialFromConsole" | "sessioncredentialfromconsole";
    resources: raw, [ResourcesArn, ResourcesAccountId, ResourcesType], "resources";
    // Present on ECS documents exported from Elastic.
    ecs_timestamp: present, always, "@timestamp";
    // The event inside an EventBridge or CloudTrail Lake envelope.
    detail: raw, always, "detail";
});

// The type decides how role sessions and Identity Center users are named; a role session is
// named after its issuer.
cloudtrail_object!(UserIdentity at 30, "userIdentity." {
    kind: text, [UserIdentityType, UserName, UserEmail, RelatedUser], "type";
    principal_id: text, [UserId, UserEmail, RelatedUser], "principalId" | "principalid";
    arn: text, [UserIdentityArn], "arn";
    account_id: text, [CloudAccountId], "accountId" | "accountid";
    access_key_id: text, [UserIdentityAccessKeyId], "accessKeyId" | "accesskeyid";
    user_name: text, [UserName, RelatedUser], "userName" | "username";
    invoked_by: text, [UserIdentityInvokedBy], "invokedBy" | "invokedby";
    session_context: object<SessionContext>, [
        SessionIssuerType, SessionIssuerPrincipalId, SessionIssuerArn, SessionIssuerAccountId,
        SessionMfaAuthenticated, SessionCreationDate, UserName, RelatedUser
    ], "sessionContext" | "sessioncontext";
});

cloudtrail_object!(SessionContext at 38, "userIdentity.sessionContext." {
    attributes: object<SessionAttributes>, [SessionMfaAuthenticated, SessionCreationDate], "attributes";
    session_issuer: object<SessionIssuer>, [
        SessionIssuerType, SessionIssuerPrincipalId, SessionIssuerArn, SessionIssuerAccountId, UserName, RelatedUser
    ], "sessionIssuer" | "sessionissuer";
});

cloudtrail_object!(SessionAttributes at 40, "userIdentity.sessionContext.attributes." {
    mfa_authenticated: flag_text, [SessionMfaAuthenticated], "mfaAuthenticated" | "mfaauthenticated";
    creation_date: text, [SessionCreationDate], "creationDate" | "creationdate";
});

cloudtrail_object!(SessionIssuer at 42, "userIdentity.sessionContext.sessionIssuer." {
    kind: text, [SessionIssuerType], "type";
    principal_id: text, [SessionIssuerPrincipalId], "principalId" | "principalid";
    arn: text, [SessionIssuerArn], "arn";
    account_id: text, [SessionIssuerAccountId], "accountId" | "accountid";
    user_name: text, [UserName, RelatedUser], "userName" | "username";
});

cloudtrail_object!(TlsDetails at 47, "tlsDetails." {
    tls_version: text, [TlsVersion, TlsVersionProtocol], "tlsVersion" | "tlsversion";
    cipher_suite: text, [TlsCipher], "cipherSuite" | "ciphersuite";
    client_provided_host_header: text, [TlsClientServerName], "clientProvidedHostHeader" | "clientprovidedhostheader";
});

/// A record together with the paths of the values it had of the wrong type.
pub(crate) struct ReadRecord<'a> {
    pub record: Record<'a>,
    pub wrong_types: WrongTypes,
}

impl<'a> Record<'a> {
    /// Reads one record: a JSON object, and nothing after it.
    pub fn parse(json: &'a str, fields: Fields) -> sonic_rs::Result<ReadRecord<'a>> {
        let mut de = strings_lossy(json);
        let mut wrong_types = WrongTypes::new();
        let record = RecordSeed { fields, wrong: &mut wrong_types }.deserialize(&mut de)?;
        de.end()?;
        Ok(ReadRecord { record, wrong_types })
    }
}

/// A reader of the text whose strings keep an escaped lone UTF-16 surrogate (`"\ud800"`) as
/// U+FFFD instead of failing: skipping a value accepts one, so reading it must too, or a read
/// that skips a field would keep an event that a read of the field refuses.
fn strings_lossy(text: &str) -> sonic_rs::Deserializer<sonic_rs::Read<'_>> {
    sonic_rs::Deserializer::from_str(text).utf8_lossy()
}

/// A CloudTrail delivery file, `{"Records":[…]}`, in one pass over its text: `each` gets
/// every record as it is read, and returns false to stop. Returns whether the text was read
/// to its end as a delivery file. A second `Records` key stops the read, since which list
/// holds the events is then unclear.
pub(crate) fn parse_delivery<'a>(text: &'a str, fields: Fields, each: &mut dyn FnMut(ReadRecord<'a>) -> bool) -> bool {
    let mut de = strings_lossy(text);
    de.deserialize_map(DeliveryVisitor { fields, each }).is_ok() && de.end().is_ok()
}

struct DeliveryVisitor<'f, 'a> {
    fields: Fields,
    each: &'f mut dyn FnMut(ReadRecord<'a>) -> bool,
}

impl<'a> Visitor<'a> for DeliveryVisitor<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail delivery file")
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        let mut read = false;
        while let Some(key) = map.next_key_seed(BorrowedStr)? {
            if key != "Records" {
                map.next_value::<IgnoredAny>()?;
            } else if read {
                return Err(de::Error::duplicate_field("Records"));
            } else {
                map.next_value_seed(RecordsSeed { fields: self.fields, each: &mut *self.each })?;
                read = true;
            }
        }
        if read { Ok(()) } else { Err(de::Error::missing_field("Records")) }
    }
}

struct RecordsSeed<'f, 'a> {
    fields: Fields,
    each: &'f mut dyn FnMut(ReadRecord<'a>) -> bool,
}

impl<'a> DeserializeSeed<'a> for RecordsSeed<'_, 'a> {
    type Value = ();

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'a> Visitor<'a> for RecordsSeed<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of CloudTrail events")
    }

    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let mut wrong_types = WrongTypes::new();
            let Some(record) = seq.next_element_seed(RecordSeed { fields: self.fields, wrong: &mut wrong_types })?
            else {
                return Ok(());
            };
            if !(self.each)(ReadRecord { record, wrong_types }) {
                return Err(de::Error::custom("stopped"));
            }
        }
    }
}

/// A record: it must be a JSON object (anything else is not an event at all).
struct RecordSeed<'w> {
    fields: Fields,
    wrong: &'w mut WrongTypes,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = Record<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = Record<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a CloudTrail event (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        fill_object(map, self.fields, self.wrong)
    }
}

/// An object filled from the keys of a JSON object.
fn fill_object<'de, T: Object<'de>, A: MapAccess<'de>>(
    mut map: A,
    fields: Fields,
    wrong: &mut WrongTypes,
) -> Result<T, A::Error> {
    let mut object = T::default();
    while let Some(key) = map.next_key_seed(BorrowedStr)? {
        object.fill(&key, &mut map, fields, wrong)?;
    }
    Ok(object)
}

/// An object of the record whose fields are filled from its keys.
trait Object<'de>: Default {
    /// Fills the field `key` names from the map's next value, or skips the value (an unknown
    /// key, or a field not in `fields`).
    fn fill<A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
        fields: Fields,
        wrong: &mut WrongTypes,
    ) -> Result<(), A::Error>;
}

/// A string (a key, a text field of a resource), borrowed from the text unless it holds
/// escapes.
struct BorrowedStr;

impl<'de> DeserializeSeed<'de> for BorrowedStr {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for BorrowedStr {
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

/// A scalar field's value as it is in the JSON, before it is checked against the field's type.
enum Scalar<'a> {
    Text(Cow<'a, str>),
    Bool(bool),
    Null,
    /// A number, list or object.
    Other,
}

struct ScalarSeed;

impl<'de> DeserializeSeed<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        // By type rather than by trying each, which would buffer the value.
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScalarSeed {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Text(Cow::Owned(v)))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map).map(|_| Scalar::Other)
    }
}

/// The readers named in [`cloudtrail_object!`]: each takes the map's next value for a field
/// at `path`, noting the path in `wrong` when the value has the wrong type.
mod text {
    use super::*;

    pub fn read<'de, A: MapAccess<'de>>(
        map: &mut A,
        path: &'static str,
        _: Fields,
        wrong: &mut WrongTypes,
    ) -> Result<Text<'de>, A::Error> {
        Ok(match map.next_value_seed(ScalarSeed)? {
            Scalar::Text(text) => Some(text),
            Scalar::Null => None,
            Scalar::Bool(_) | Scalar::Other => {
                wrong.push(path);
                None
            }
        })
    }
}

/// CloudTrail writes these flags as JSON booleans; some exporters write "true"/"false".
mod flag {
    use super::*;

    pub fn read<'de, A: MapAccess<'de>>(
        map: &mut A,
        path: &'static str,
        _: Fields,
        wrong: &mut WrongTypes,
    ) -> Result<Option<bool>, A::Error> {
        Ok(match map.next_value_seed(ScalarSeed)? {
            Scalar::Bool(b) => Some(b),
            Scalar::Text(t) if t.eq_ignore_ascii_case("true") => Some(true),
            Scalar::Text(t) if t.eq_ignore_ascii_case("false") => Some(false),
            Scalar::Text(_) | Scalar::Null => None,
            Scalar::Other => {
                wrong.push(path);
                None
            }
        })
    }
}

/// Flags CloudTrail writes as the strings "true"/"false" (mfaAuthenticated,
/// sessionCredentialFromConsole), accepted as JSON booleans too.
mod flag_text {
    use super::*;

    pub fn read<'de, A: MapAccess<'de>>(
        map: &mut A,
        path: &'static str,
        _: Fields,
        wrong: &mut WrongTypes,
    ) -> Result<Text<'de>, A::Error> {
        Ok(match map.next_value_seed(ScalarSeed)? {
            Scalar::Bool(b) => Some(Cow::Borrowed(if b { "true" } else { "false" })),
            Scalar::Text(text) => Some(text),
            Scalar::Null => None,
            Scalar::Other => {
                wrong.push(path);
                None
            }
        })
    }
}

/// Free-form JSON, kept as its text; any type is right.
mod raw {
    use super::*;

    pub fn read<'de, A: MapAccess<'de>>(
        map: &mut A,
        _: &'static str,
        _: Fields,
        _: &mut WrongTypes,
    ) -> Result<Option<LazyValue<'de>>, A::Error> {
        map.next_value::<Option<LazyValue<'de>>>()
    }
}

/// Whether the key is there with a value other than null.
mod present {
    use super::*;

    pub fn read<'de, A: MapAccess<'de>>(
        map: &mut A,
        _: &'static str,
        _: Fields,
        _: &mut WrongTypes,
    ) -> Result<bool, A::Error> {
        Ok(map.next_value::<Option<IgnoredAny>>()?.is_some())
    }
}

/// A nested object; null leaves it absent, and anything else but an object is of the wrong
/// type.
mod object {
    use super::*;

    pub fn read<'de, T: Object<'de>, A: MapAccess<'de>>(
        map: &mut A,
        path: &'static str,
        fields: Fields,
        wrong: &mut WrongTypes,
    ) -> Result<Option<T>, A::Error> {
        map.next_value_seed(NestedSeed { path, fields, wrong, object: std::marker::PhantomData })
    }

    struct NestedSeed<'w, T> {
        path: &'static str,
        fields: Fields,
        wrong: &'w mut WrongTypes,
        object: std::marker::PhantomData<T>,
    }

    impl<T> NestedSeed<'_, T> {
        /// Anything but an object or null: noted, and the object left absent.
        fn wrong_type(self) -> Option<T> {
            self.wrong.push(self.path);
            None
        }
    }

    impl<'de, T: Object<'de>> DeserializeSeed<'de> for NestedSeed<'_, T> {
        type Value = Option<T>;

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de, T: Object<'de>> Visitor<'de> for NestedSeed<'_, T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            fill_object(map, self.fields, self.wrong).map(Some)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            IgnoredAny.visit_seq(seq)?;
            Ok(self.wrong_type())
        }

        fn visit_borrowed_str<E: de::Error>(self, _: &'de str) -> Result<Self::Value, E> {
            Ok(self.wrong_type())
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(self.wrong_type())
        }

        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(self.wrong_type())
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(self.wrong_type())
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(self.wrong_type())
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(self.wrong_type())
        }
    }
}

#[derive(Deserialize, Default)]
pub(crate) struct Resource<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_text", rename = "ARN", alias = "arn")]
    pub arn: Text<'a>,
    #[serde(borrow, default, deserialize_with = "borrowed_text", rename = "accountId", alias = "accountid")]
    pub account_id: Text<'a>,
    #[serde(borrow, default, deserialize_with = "borrowed_text", rename = "type")]
    pub kind: Text<'a>,
}

/// Text borrowed from the record when it holds no escapes. (serde borrows only fields whose
/// type is exactly `Cow<str>`: an `Option<Cow<str>>` would be allocated for every value.)
fn borrowed_text<'de: 'a, 'a, D: Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
    struct Borrowed<'a>(Cow<'a, str>);
    impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            BorrowedStr.deserialize(deserializer).map(Borrowed)
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
