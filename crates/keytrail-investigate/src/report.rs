//! The report: plain data, serialized as it is for `--format json`; the other formats are
//! renderings of it ([`crate::render`]). Field names are the JSON names, and the section
//! queries (`sections`) name their columns after them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::subject::Subject;

/// A point in time, epoch milliseconds UTC; written as RFC 3339 (`2024-05-01T12:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(pub i64);

impl Time {
    pub fn utc(self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_millis(self.0).unwrap_or_default()
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.utc().format("%Y-%m-%dT%H:%M:%SZ"))
    }
}

impl Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Reads what [`Time`] writes, and the epoch milliseconds the section queries return.
impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Time, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Millis(i64),
            Text(String),
        }
        match Raw::deserialize(deserializer)? {
            Raw::Millis(millis) => Ok(Time(millis)),
            Raw::Text(text) => chrono::DateTime::parse_from_rfc3339(&text)
                .map(|t| Time(t.timestamp_millis()))
                .map_err(|_| serde::de::Error::custom(format!("'{text}' is not an RFC 3339 time"))),
        }
    }
}

/// Everything the investigated credential, user or address did, and what it led to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub subject: Subject,
    pub summary: Summary,
    /// Every credential seen acting: the subject's own and the derived ones, with their owners.
    pub credentials: Vec<Credential>,
    /// Credentials created with the subject's, recursively (role chaining), in the order issued.
    pub derived: Vec<DerivedCredential>,
    /// The most frequent calls of each service (at most [`crate::TOP_ACTIONS`] a service).
    pub actions: Vec<ActionCount>,
    pub regions: Vec<RegionCount>,
    pub source_addresses: Vec<SourceAddress>,
    /// The autonomous systems the IP addresses belong to.
    pub networks: Vec<Network>,
    pub user_agents: Vec<UserAgent>,
    pub timeline: Timeline,
    pub persistence: Vec<Finding>,
    pub data_access: Vec<DataAccess>,
    pub reconnaissance: Reconnaissance,
    pub log_tampering: Vec<Finding>,
    /// AWS's own verdicts: its quarantine policy attached, calls it refused, exposure notices.
    pub aws_signals: Vec<Finding>,
}

impl Report {
    /// Whether the subject appears in the logs at all.
    pub fn is_empty(&self) -> bool {
        self.summary.calls == 0
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub first_seen: Option<Time>,
    pub last_seen: Option<Time>,
    pub calls: u64,
    pub successes: u64,
    pub failures: u64,
    /// Accounts the calls were made in (the callers' accounts).
    #[serde(default)]
    pub accounts: Vec<String>,
    pub access_keys: u64,
    pub source_addresses: u64,
}

/// Whether a credential is the subject's own or was derived from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    Subject,
    Derived,
}

/// One credential (access key) acting as one identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Credential {
    /// None for calls signed without a key (console password sign-ins, AWS services).
    pub access_key_id: Option<String>,
    pub origin: Origin,
    pub identity_type: Option<String>,
    pub arn: Option<String>,
    pub account: Option<String>,
    /// The IAM user, or for role sessions the role.
    pub user_name: Option<String>,
    pub calls: u64,
    pub failures: u64,
    pub first_seen: Time,
    pub last_seen: Time,
}

/// A credential issued by a call made with the subject's credentials or another derived one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DerivedCredential {
    pub access_key_id: String,
    /// The call that issued it: AssumeRole, GetSessionToken, GetFederationToken,
    /// AssumeRoleWithWebIdentity… for sessions; CreateAccessKey for a long-term key.
    pub issued_by_action: String,
    pub issued_at: Time,
    /// The key that made the issuing call (None for unsigned calls such as AssumeRoleWithWebIdentity).
    pub issued_by: Option<String>,
    pub issued_from: Option<String>,
    /// The session's ARN (assumed-role or federated user), or the user a key was created for.
    pub identity: Option<String>,
    /// The role assumed, for AssumeRole and its kin.
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    /// 1 for credentials issued by the subject's, 2 for those issued by a depth-1 session…
    pub depth: u32,
    pub calls: u64,
    pub first_used: Option<Time>,
    pub last_used: Option<Time>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionCount {
    pub service: Option<String>,
    pub action: Option<String>,
    pub calls: u64,
    pub failures: u64,
    /// All calls to the service, for ranking services.
    pub service_calls: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegionCount {
    pub region: Option<String>,
    pub calls: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceAddress {
    /// An IP, or a name such as `AWS Internal` or `ec2.amazonaws.com` for calls AWS made.
    pub address: Option<String>,
    pub as_number: Option<i64>,
    pub as_organization: Option<String>,
    pub country: Option<String>,
    pub calls: u64,
    pub failures: u64,
    pub first_seen: Time,
    pub last_seen: Time,
    #[serde(default)]
    pub access_keys: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Network {
    pub as_number: Option<i64>,
    /// None when the ASN database does not know the addresses (or none was given).
    pub as_organization: Option<String>,
    #[serde(default)]
    pub countries: Vec<String>,
    pub addresses: u64,
    pub calls: u64,
    pub first_seen: Time,
    pub last_seen: Time,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserAgent {
    pub user_agent: Option<String>,
    pub calls: u64,
    pub addresses: u64,
    pub first_seen: Time,
    pub last_seen: Time,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Timeline {
    /// Calls per hour, for the hours that had any.
    pub hours: Vec<HourCount>,
    /// The first call from each source address and from each network (AS organization).
    pub firsts: Vec<FirstSeen>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HourCount {
    pub hour: Time,
    pub calls: u64,
    pub failures: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstKind {
    Address,
    Network,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FirstSeen {
    pub time: Time,
    pub kind: FirstKind,
    pub value: String,
    /// For an address, its network.
    pub as_organization: Option<String>,
}

/// One call worth naming: a persistence step, log tampering, an AWS signal.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Finding {
    pub time: Time,
    /// The call, without Lambda's API-version suffix (CreateFunction, not CreateFunction20150331).
    pub action: String,
    pub outcome: Option<String>,
    pub error_code: Option<String>,
    /// The account the call acted in.
    pub account: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub source_address: Option<String>,
    /// Who called (ARN).
    pub caller: Option<String>,
    /// What was acted on: the user, role, group, function, instances, key pair, security group, trail.
    pub target: Option<String>,
    /// The rest that matters: the policy attached, the key created, the group joined, the CIDR opened…
    pub detail: Option<String>,
    /// What the detail names, on its own (the key, the policy, the group, the CIDR), for tools
    /// that act on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
}

/// Reads of one data resource (object, secret, parameter, KMS key).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataAccess {
    pub action: String,
    pub resource: Option<String>,
    pub calls: u64,
    pub failures: u64,
    pub first_seen: Time,
    pub last_seen: Time,
    #[serde(default)]
    pub source_addresses: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Reconnaissance {
    /// GetCallerIdentity ("whose key is this?"), by address and key.
    pub identity_checks: Vec<IdentityCheck>,
    /// Windows of [`crate::BURST_WINDOW`] with many List/Describe/Get calls.
    pub enumeration_bursts: Vec<Burst>,
    /// Windows with many calls refused for lack of permission.
    pub denied_bursts: Vec<Burst>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentityCheck {
    pub source_address: Option<String>,
    pub access_key_id: Option<String>,
    pub calls: u64,
    pub first_seen: Time,
    pub last_seen: Time,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Burst {
    pub start: Time,
    pub calls: u64,
    pub failures: u64,
    /// How many different calls.
    pub distinct_actions: u64,
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub source_addresses: Vec<String>,
}
