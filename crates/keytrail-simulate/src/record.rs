//! The CloudTrail record, field for field and in the order CloudTrail writes
//! them. Optional fields are left out when absent, as CloudTrail does;
//! `requestParameters` and `responseElements` are always present (`null`
//! when empty).

use serde::Serialize;
use serde_json::Value;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Record {
    pub event_version: &'static str,
    pub user_identity: UserIdentity,
    #[serde(serialize_with = "crate::time::ser_iso")]
    pub event_time: i64,
    pub event_source: &'static str,
    pub event_name: &'static str,
    pub aws_region: String,
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    pub user_agent: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    pub request_parameters: Option<Value>,
    pub response_elements: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_event_data: Option<Value>,
    /// Absent from console sign-in events.
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(rename = "eventID")]
    pub event_id: String,
    pub read_only: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Vec<Resource>>,
    pub event_type: &'static str,
    pub management_event: bool,
    pub recipient_account_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_event_details: Option<Value>,
    #[serde(rename = "sharedEventID", skip_serializing_if = "Option::is_none")]
    pub shared_event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_id: Option<String>,
    /// The account owning that endpoint: the VPC the call came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_account_id: Option<String>,
    pub event_category: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_details: Option<TlsDetails>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_credential_from_console: Option<&'static str>,
}

impl Record {
    /// Turns the record into that of a failed call: an error and no response.
    pub fn fail(&mut self, code: &'static str, message: String) {
        self.error_code = Some(code);
        self.error_message = Some(message);
        self.response_elements = None;
    }
}

/// Who made the call. Which fields are set depends on `type`.
#[derive(Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UserIdentity {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_context: Option<SessionContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<&'static str>,
}

/// Present for temporary credentials. For an IAM user's console session the
/// issuer is an empty object; for a role session it names the role.
#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionContext {
    pub session_issuer: SessionIssuer,
    pub web_id_federation_data: Empty,
    pub attributes: Attributes,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ec2_role_delivery: Option<&'static str>,
}

#[derive(Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SessionIssuer {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
}

/// Serializes as `{}`, as CloudTrail writes `webIdFederationData` for
/// sessions that are not web-identity federated.
#[derive(Clone, Serialize)]
pub(crate) struct Empty {}

#[derive(Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Attributes {
    pub creation_date: String,
    pub mfa_authenticated: &'static str,
}

/// An entry of `resources`. S3 object entries carry no account id.
#[derive(Serialize)]
pub(crate) struct Resource {
    #[serde(rename = "accountId", skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(rename = "ARN")]
    pub arn: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TlsDetails {
    pub tls_version: &'static str,
    pub cipher_suite: &'static str,
    pub client_provided_host_header: String,
}
