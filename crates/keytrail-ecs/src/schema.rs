//! The `cloudtrail` table: one column per ECS field, in one list that is the single source of
//! the schema, its documentation (`keytrail schema`) and the normalizer's slots.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The kinds of values a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    Bool,
    Int,
    /// Milliseconds since the epoch, UTC.
    Time,
    StrList,
}

impl Kind {
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Str => DataType::Utf8,
            Kind::Bool => DataType::Boolean,
            Kind::Int => DataType::Int64,
            Kind::Time => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            Kind::StrList => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        }
    }
}

pub struct ColumnDef {
    pub name: &'static str,
    pub kind: Kind,
    pub description: &'static str,
}

macro_rules! columns {
    ($($variant:ident => $name:literal, $kind:ident, $description:literal;)*) => {
        /// A column of the table, by position.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[repr(usize)]
        pub enum Col { $($variant),* }

        impl Col {
            /// Every column, in schema order.
            pub const ALL: &[Col] = &[$(Col::$variant),*];
        }

        pub static COLUMNS: &[ColumnDef] = &[
            $(ColumnDef { name: $name, kind: Kind::$kind, description: $description }),*
        ];
    };
}

columns! {
    Timestamp => "@timestamp", Time, "When the call happened (eventTime).";
    EventIngested => "event.ingested", Time, "When the event was delivered: its log file's S3 LastModified, else the time in the file's name; @timestamp for files not named like CloudTrail's (NDJSON) and stdin.";
    EventAction => "event.action", Str, "The API call, as CloudTrail names it (eventName).";
    EventProvider => "event.provider", Str, "The service that received the call (eventSource), e.g. sts.amazonaws.com.";
    EventId => "event.id", Str, "CloudTrail's unique id of the event (eventID).";
    EventOutcome => "event.outcome", Str, "success, or failure when the call returned an error; for ConsoleLogin, its result.";
    EventKind => "event.kind", Str, "Always 'event'.";
    EventCategory => "event.category", StrList, "ECS categories, set for IAM, authentication and storage calls as Elastic sets them.";
    EventType => "event.type", StrList, "ECS types: info by default; change, creation, deletion… for the calls Elastic categorizes.";
    EventDataset => "event.dataset", Str, "Always 'aws.cloudtrail'.";
    DataStreamDataset => "data_stream.dataset", Str, "Always 'aws.cloudtrail', as in Elastic's data stream.";
    CloudProvider => "cloud.provider", Str, "Always 'aws'.";
    CloudAccountId => "cloud.account.id", Str, "The caller's account (userIdentity.accountId), else the recipient account.";
    CloudRegion => "cloud.region", Str, "The region the call was made to (awsRegion).";
    CloudServiceName => "cloud.service.name", Str, "The service's short name, from event.provider (sts, iam, s3…).";
    SourceAddress => "source.address", Str, "The caller's address as logged (sourceIPAddress): an IP, or a service name such as ec2.amazonaws.com.";
    SourceIp => "source.ip", Str, "source.address when it is exactly one valid IPv4 or IPv6 address.";
    SourceAsNumber => "source.as.number", Int, "The autonomous system announcing source.ip (needs an ASN database).";
    SourceAsOrganizationName => "source.as.organization.name", Str, "The organization owning that autonomous system, e.g. 'Amazon.com, Inc.'.";
    SourceGeoCountryIsoCode => "source.geo.country_iso_code", Str, "Country of source.ip, ISO 3166 code (needs --geo-db).";
    SourceGeoCountryName => "source.geo.country_name", Str, "Country of source.ip, in English (needs --geo-db).";
    SourceGeoCityName => "source.geo.city_name", Str, "City of source.ip, in English (needs a City --geo-db).";
    ThreatFeedName => "threat.feed.name", StrList, "The known-bad address lists (keytrail intel add) that hold source.ip.";
    UserAgentOriginal => "user_agent.original", Str, "The caller's user agent (userAgent).";
    UserName => "user.name", Str, "Who called: the IAM user name, or for role sessions the role's name (sessionIssuer.userName).";
    UserId => "user.id", Str, "The caller's principal id (userIdentity.principalId), e.g. AIDA… or AROA…:session.";
    UserEmail => "user.email", Str, "The caller's e-mail, when the session or Identity Center user name is one.";
    UserTargetName => "user.target.name", Str, "The user acted on (requestParameters.userName).";
    UserTargetId => "user.target.id", Str, "The id of the user acted on (responseElements.user.userId).";
    UserChangesName => "user.changes.name", Str, "A user's new name (requestParameters.newUserName).";
    GroupName => "group.name", Str, "The group acted on (requestParameters.groupName).";
    GroupId => "group.id", Str, "The id of the group acted on (responseElements.group.groupId).";
    RelatedUser => "related.user", StrList, "Every user name the event mentions: caller, session name, users acted on.";
    RelatedIp => "related.ip", StrList, "Every IP the event mentions (source.ip).";
    UserIdentityType => "aws.cloudtrail.user_identity.type", Str, "IAMUser, AssumedRole, FederatedUser, Root, AWSService, IdentityCenterUser, SAMLUser, WebIdentityUser…";
    UserIdentityArn => "aws.cloudtrail.user_identity.arn", Str, "The caller's ARN.";
    UserIdentityAccessKeyId => "aws.cloudtrail.user_identity.access_key_id", Str, "The access key that signed the call: AKIA… long-term, ASIA… temporary.";
    UserIdentityInvokedBy => "aws.cloudtrail.user_identity.invoked_by", Str, "The AWS service that made the call on the caller's behalf.";
    SessionMfaAuthenticated => "aws.cloudtrail.user_identity.session_context.mfa_authenticated", Str, "'true' when the session was created with MFA.";
    SessionCreationDate => "aws.cloudtrail.user_identity.session_context.creation_date", Time, "When the session's credentials were issued.";
    SessionIssuerType => "aws.cloudtrail.user_identity.session_context.session_issuer.type", Str, "What issued the session: Role, IAMUser, Root.";
    SessionIssuerArn => "aws.cloudtrail.user_identity.session_context.session_issuer.arn", Str, "The ARN of the role or user that issued the session.";
    SessionIssuerPrincipalId => "aws.cloudtrail.user_identity.session_context.session_issuer.principal_id", Str, "The issuer's principal id (AROA… for roles).";
    SessionIssuerAccountId => "aws.cloudtrail.user_identity.session_context.session_issuer.account_id", Str, "The account owning the issuer.";
    EventVersion => "aws.cloudtrail.event_version", Str, "CloudTrail's record format version.";
    ErrorCode => "aws.cloudtrail.error_code", Str, "The error the call returned, e.g. AccessDenied.";
    ErrorMessage => "aws.cloudtrail.error_message", Str, "The error's message.";
    CloudTrailEventType => "aws.cloudtrail.event_type", Str, "AwsApiCall, AwsConsoleSignIn, AwsServiceEvent, AwsConsoleAction…";
    CloudTrailEventCategory => "aws.cloudtrail.event_category", Str, "Management, Data or Insight.";
    ReadOnly => "aws.cloudtrail.read_only", Bool, "Whether the call only reads.";
    ManagementEvent => "aws.cloudtrail.management_event", Bool, "Whether the event is a management event.";
    RecipientAccountId => "aws.cloudtrail.recipient_account_id", Str, "The account that received the event.";
    RequestId => "aws.cloudtrail.request_id", Str, "The service's request id (requestID).";
    SharedEventId => "aws.cloudtrail.shared_event_id", Str, "Links the copies of one cross-account event (sharedEventID).";
    VpcEndpointId => "aws.cloudtrail.vpc_endpoint_id", Str, "The VPC endpoint the call came through.";
    VpcEndpointAccountId => "aws.cloudtrail.vpc_endpoint_account_id", Str, "The account owning that VPC endpoint: the network the call came from.";
    ApiVersion => "aws.cloudtrail.api_version", Str, "The API version called.";
    SessionCredentialFromConsole => "aws.cloudtrail.session_credential_from_console", Str, "'true' when the credentials came from a console session.";
    ResourcesArn => "aws.cloudtrail.resources.arn", StrList, "ARNs of the resources the call touched.";
    ResourcesAccountId => "aws.cloudtrail.resources.account_id", StrList, "Accounts owning those resources.";
    ResourcesType => "aws.cloudtrail.resources.type", StrList, "Types of those resources, e.g. AWS::IAM::Role.";
    ConsoleLoginMobileVersion => "aws.cloudtrail.console_login.additional_eventdata.mobile_version", Bool, "ConsoleLogin: whether it came from the mobile console.";
    ConsoleLoginLoginTo => "aws.cloudtrail.console_login.additional_eventdata.login_to", Str, "ConsoleLogin: the console URL signed in to.";
    ConsoleLoginMfaUsed => "aws.cloudtrail.console_login.additional_eventdata.mfa_used", Bool, "ConsoleLogin: whether MFA was used.";
    TlsVersion => "tls.version", Str, "TLS version of the call, e.g. 1.3.";
    TlsVersionProtocol => "tls.version_protocol", Str, "TLS protocol, 'tls'.";
    TlsCipher => "tls.cipher", Str, "TLS cipher suite.";
    TlsClientServerName => "tls.client.server_name", Str, "The host name the client asked for (clientProvidedHostHeader).";
    RequestParameters => "aws.cloudtrail.request_parameters", Str, "requestParameters as Elastic stores its text copy: Java map syntax ({userName=bob, durationSeconds=3600}), keys in Elastic's order, null and empty values dropped, secrets redacted.";
    ResponseElements => "aws.cloudtrail.response_elements", Str, "responseElements as Elastic's text copy (see aws.cloudtrail.request_parameters).";
    AdditionalEventData => "aws.cloudtrail.additional_eventdata", Str, "additionalEventData as Elastic's text copy (see aws.cloudtrail.request_parameters).";
    ServiceEventDetails => "aws.cloudtrail.service_event_details", Str, "serviceEventDetails as Elastic's text copy (see aws.cloudtrail.request_parameters).";
    FlatRequestParameters => "aws.cloudtrail.flattened.request_parameters", Str, "The call's requestParameters as JSON, secrets (passwords, tokens, secret and private keys) redacted. Any path inside reads as a column: \"aws.cloudtrail.flattened.request_parameters.<path>\".";
    FlatResponseElements => "aws.cloudtrail.flattened.response_elements", Str, "responseElements as JSON, secrets redacted. Paths read as for request_parameters.";
    FlatAdditionalEventData => "aws.cloudtrail.flattened.additional_eventdata", Str, "additionalEventData as JSON, secrets redacted. Paths read as for request_parameters.";
    FlatServiceEventDetails => "aws.cloudtrail.flattened.service_event_details", Str, "serviceEventDetails as JSON, secrets redacted. Paths read as for request_parameters.";
}

pub const COLUMN_COUNT: usize = Col::FlatServiceEventDetails as usize + 1;

impl Col {
    pub fn def(self) -> &'static ColumnDef {
        &COLUMNS[self as usize]
    }

    /// For Elastic's text copy of a free-form object, the column with the object as JSON.
    pub fn text_copy_of(self) -> Option<Col> {
        match self {
            Col::RequestParameters => Some(Col::FlatRequestParameters),
            Col::ResponseElements => Some(Col::FlatResponseElements),
            Col::AdditionalEventData => Some(Col::FlatAdditionalEventData),
            Col::ServiceEventDetails => Some(Col::FlatServiceEventDetails),
            _ => None,
        }
    }
}

/// A set of columns: those a read needs, so that normalization skips the work of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ColumnSet(u128);

const _: () = assert!(COLUMN_COUNT <= 128, "ColumnSet holds at most 128 columns");

impl ColumnSet {
    pub const ALL: ColumnSet = ColumnSet(u128::MAX >> (128 - COLUMN_COUNT));

    pub fn contains(self, col: Col) -> bool {
        self.0 & (1 << col as usize) != 0
    }

    pub fn insert(&mut self, col: Col) {
        self.0 |= 1 << col as usize;
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The set with the columns its columns are computed from: normalization fills those
    /// only when they are in the set too.
    pub fn with_sources(mut self) -> ColumnSet {
        for &col in Col::ALL {
            if !self.contains(col) {
                continue;
            }
            if let Some(object) = col.text_copy_of() {
                self.insert(object);
            }
            match col {
                // The Identity Center user name Elastic moves out of additionalEventData.
                Col::AdditionalEventData => {
                    self.insert(Col::UserIdentityType);
                    self.insert(Col::UserName);
                }
                Col::SourceAsNumber
                | Col::SourceAsOrganizationName
                | Col::SourceGeoCountryIsoCode
                | Col::SourceGeoCountryName
                | Col::SourceGeoCityName
                | Col::ThreatFeedName => self.insert(Col::SourceIp),
                // Without a delivery time, an event was ingested when it happened.
                Col::EventIngested => self.insert(Col::Timestamp),
                _ => {}
            }
        }
        self
    }
}

/// The fixed columns, with each description in the field's metadata.
pub static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(COLUMNS.iter().map(|c| field(c.name, c.kind, c.description)).collect::<Vec<_>>()))
});

pub(crate) fn field(name: &str, kind: Kind, description: &str) -> Field {
    Field::new(name, kind.data_type(), true)
        .with_metadata([("description".to_string(), description.to_string())].into_iter().collect())
}

pub fn column_index(name: &str) -> Option<usize> {
    COLUMNS.iter().position(|c| c.name == name)
}

/// The column at a position of [`COLUMNS`].
pub(crate) fn col_at(index: usize) -> Col {
    Col::ALL[index]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_names_are_unique_and_match_their_slots() {
        assert_eq!(COLUMNS.len(), COLUMN_COUNT);
        let mut names: Vec<&str> = COLUMNS.iter().map(|c| c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), COLUMN_COUNT);
        assert_eq!(Col::SourceIp.def().name, "source.ip");
        assert_eq!(column_index("event.action"), Some(Col::EventAction as usize));
    }

    #[test]
    fn column_sets_bring_what_their_columns_are_computed_from() {
        assert!(Col::ALL.iter().all(|c| ColumnSet::ALL.contains(*c)));
        let mut set = ColumnSet::default();
        assert!(set.is_empty());
        set.insert(Col::AdditionalEventData);
        set.insert(Col::SourceAsNumber);
        let set = set.with_sources();
        for col in [Col::FlatAdditionalEventData, Col::UserIdentityType, Col::UserName, Col::SourceIp] {
            assert!(set.contains(col), "{col:?}");
        }
        assert!(!set.contains(Col::EventAction));
    }
}
