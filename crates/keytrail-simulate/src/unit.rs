//! A unit of work: the events of one account in one region on one day.
//! Units are independent of each other, which is what makes the output the
//! same whatever the number of threads.

use crate::api::{self, Args, Class, Op};
use crate::estate::{Account, Estate};
use crate::ids;
use crate::principal::{Role, Session};
use crate::record::{Record, Resource, TlsDetails, UserIdentity};
use crate::time;
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::json;

/// Share of API calls that fail.
const ERROR_RATE: f64 = 0.03;

/// What CloudTrail writes as source and agent for calls the console's
/// backend makes on a signed-in user's behalf.
pub(crate) const AWS_INTERNAL: &str = "AWS Internal";

pub(crate) struct Unit<'e> {
    pub estate: &'e Estate,
    pub account: usize,
    pub region: usize,
    /// Start (00:00 UTC) of the unit's day.
    pub day: i64,
    /// Draws the details of the events this unit owns. Actors decide what
    /// happens from their own plan RNG instead, so that units agree.
    pub rng: SmallRng,
    pub records: Vec<Record>,
}

/// Who calls, from where, with what.
pub(crate) struct Caller<'a> {
    pub identity: &'a UserIdentity,
    pub ip: &'a str,
    pub agent: &'a str,
    /// The credentials come from a console sign-in.
    pub console: bool,
}

/// An `sts:AssumeRole` call.
pub(crate) struct AssumeRole<'a> {
    pub caller: &'a Caller<'a>,
    pub role: &'a Role,
    pub session_name: &'a str,
    pub session: &'a Session,
    pub duration: i64,
    /// Recorded in two accounts (the caller's and the role's).
    pub cross_account: bool,
}

impl<'e> Unit<'e> {
    pub fn account(&self) -> &'e Account {
        &self.estate.accounts[self.account]
    }

    pub fn region_name(&self) -> &'e str {
        &self.estate.regions[self.region]
    }

    /// Whether `op`, called in `account` through `region`'s endpoint, is
    /// recorded in this unit's log files.
    pub fn owns(&self, account: usize, region: usize, op: &Op) -> bool {
        account == self.account && self.estate.delivery_region(region, op) == Some(self.region)
    }

    /// A record of `op` with the fields every record has; the caller fills
    /// in the rest.
    pub fn envelope(&mut self, t: i64, op: &Op, identity: UserIdentity, ip: &str, agent: &str) -> Record {
        let region = self.region_name();
        Record {
            event_version: op.version(),
            user_identity: identity,
            event_time: t,
            event_source: op.source,
            event_name: op.name,
            aws_region: region.to_string(),
            source_ip_address: ip.to_string(),
            user_agent: agent.to_string(),
            error_code: None,
            error_message: None,
            request_parameters: None,
            response_elements: None,
            additional_event_data: None,
            request_id: Some(op.request_id(&mut self.rng)),
            event_id: ids::uuid(&mut self.rng),
            read_only: op.read_only,
            resources: None,
            event_type: "AwsApiCall",
            management_event: op.class == Class::Management,
            recipient_account_id: self.account().id.clone(),
            service_event_details: None,
            shared_event_id: None,
            vpc_endpoint_id: None,
            vpc_endpoint_account_id: None,
            event_category: match op.class {
                Class::Management => "Management",
                Class::Data => "Data",
            },
            tls_details: tls(op, region, ip, agent, None),
            session_credential_from_console: None,
        }
    }

    /// An API call, with the parameters and response the operation records
    /// and, now and then, an error.
    pub fn call(&mut self, t: i64, caller: &Caller, op: &Op) -> &mut Record {
        let mut rec = self.request(t, caller, op);
        if self.rng.random_bool(ERROR_RATE) {
            let arn = caller.identity.arn.as_deref().unwrap_or_default();
            let account = self.account();
            let (code, message) = api::error(op, &mut self.rng, arn, &account.id);
            rec.fail(code, message);
        }
        self.push(rec)
    }

    /// The record of a successful call, with the parameters and response
    /// the operation records, for the caller to push.
    pub fn request(&mut self, t: i64, caller: &Caller, op: &Op) -> Record {
        let mut rec = self.envelope(t, op, caller.identity.clone(), caller.ip, caller.agent);
        let (account, region) = (self.account(), self.region_name());
        let body = op.body(&mut Args { rng: &mut self.rng, account, region, t });
        if body.host.is_some() {
            rec.tls_details = tls(op, region, caller.ip, caller.agent, body.host);
        }
        rec.request_parameters = body.request;
        rec.response_elements = body.response;
        rec.resources = body.resources;
        rec.additional_event_data = body.additional;
        rec.session_credential_from_console = caller.console.then_some("true");
        rec
    }

    /// `sts:AssumeRole`, with the credentials it hands out.
    pub fn assume_role(&mut self, t: i64, a: &AssumeRole) -> &mut Record {
        let c = a.caller;
        let mut rec = self.envelope(t, &api::ASSUME_ROLE, c.identity.clone(), c.ip, c.agent);
        let (request_id, token) = a.session.issue();
        rec.request_id = Some(request_id);
        rec.request_parameters = Some(json!({
            "roleArn": a.role.arn,
            "roleSessionName": a.session_name,
            "durationSeconds": a.duration,
        }));
        rec.response_elements = Some(json!({
            "credentials": {
                "accessKeyId": a.session.key,
                "sessionToken": token,
                "expiration": time::aws_long(a.session.start + a.duration),
            },
            "assumedRoleUser": {
                "assumedRoleId": format!("{}:{}", a.role.id, a.session_name),
                "arn": a.role.session_arn(a.session_name),
            },
        }));
        rec.resources = Some(vec![Resource {
            account_id: Some(a.role.account_id.clone()),
            kind: "AWS::IAM::Role",
            arn: a.role.arn.clone(),
        }]);
        if a.cross_account {
            rec.shared_event_id = Some(a.session.shared_event_id());
        }
        self.push(rec)
    }

    pub fn push(&mut self, rec: Record) -> &mut Record {
        self.records.push(rec);
        self.records.last_mut().expect("just pushed")
    }
}

/// TLS details of a call from outside AWS's own services: the client's
/// TLS stack is a property of its agent, so one agent always shows the same.
fn tls(op: &Op, region: &str, ip: &str, agent: &str, host: Option<String>) -> Option<TlsDetails> {
    if !ip.starts_with(|c: char| c.is_ascii_digit()) || op.service() == "signin" {
        return None;
    }
    let (tls_version, cipher_suite) = if ids::hash_str(agent).is_multiple_of(5) {
        ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    } else {
        ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
    };
    Some(TlsDetails { tls_version, cipher_suite, client_provided_host_header: host.unwrap_or_else(|| op.host(region)) })
}
