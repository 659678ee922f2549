//! AWS services working in the account on their own: CloudTrail checking
//! its bucket's ACL, AWS Config assuming its service-linked role and
//! describing resources, KMS rotating keys. Their source address is the
//! service's name, never an IP.

use super::{Actor, service_assume_role};
use crate::api::{self, Op};
use crate::estate::Account;
use crate::principal::{Role, Session, service_identity};
use crate::record::Resource;
use crate::time::DAY;
use crate::unit::{Caller, Unit};
use rand::Rng;
use rand::rngs::SmallRng;
use serde_json::json;

pub(crate) struct Services {
    home: usize,
    regions: usize,
    config_role: Role,
}

const CONFIG: &str = "config.amazonaws.com";
const CLOUDTRAIL: &str = "cloudtrail.amazonaws.com";
const KMS: &str = "kms.amazonaws.com";

static CONFIG_OPS: &[(&Op, u32)] = &[
    (&api::DESCRIBE_INSTANCES, 4),
    (&api::DESCRIBE_SECURITY_GROUPS, 4),
    (&api::DESCRIBE_VPCS, 2),
    (&api::DESCRIBE_SUBNETS, 2),
    (&api::DESCRIBE_VOLUMES, 2),
    (&api::GET_BUCKET_ACL, 2),
    (&api::GET_BUCKET_POLICY, 2),
    (&api::GET_BUCKET_VERSIONING, 2),
    (&api::GET_BUCKET_ENCRYPTION, 2),
    (&api::GET_ROLE, 2),
    (&api::LIST_ATTACHED_ROLE_POLICIES, 2),
    (&api::GET_ROLE_POLICY, 1),
    (&api::DESCRIBE_TABLE, 1),
    (&api::GET_QUEUE_ATTRIBUTES, 1),
    (&api::DESCRIBE_KEY, 1),
];

impl Services {
    pub fn new(rng: &mut SmallRng, account: &Account, home: usize, regions: &[String]) -> Self {
        Services {
            home,
            regions: regions.len(),
            config_role: Role::new(
                rng,
                &account.id,
                "aws-service-role/config.amazonaws.com/",
                "AWSServiceRoleForConfig",
            ),
        }
    }

    /// A service event (`AwsServiceEvent`): KMS rotating a key.
    fn rotate_key(unit: &mut Unit, t: i64, key: &str) {
        let account = unit.account();
        let mut identity = service_identity(KMS);
        identity.account_id = Some(account.id.clone());
        let mut rec = unit.envelope(t, &api::ROTATE_KEY, identity, KMS, KMS);
        let arn = format!("arn:aws:kms:{}:{}:key/{key}", unit.region_name(), account.id);
        rec.event_type = "AwsServiceEvent";
        rec.service_event_details = Some(json!({"keyId": key}));
        rec.resources = Some(vec![Resource { account_id: Some(account.id.clone()), kind: "AWS::KMS::Key", arn }]);
        unit.push(rec);
    }

    /// CloudTrail making sure it may still write to the trail's bucket.
    fn check_bucket(unit: &mut Unit, t: i64) {
        let account = unit.account();
        let bucket = &account.trail_bucket;
        let mut rec = unit.envelope(t, &api::GET_BUCKET_ACL, service_identity(CLOUDTRAIL), CLOUDTRAIL, CLOUDTRAIL);
        rec.request_parameters = Some(json!({
            "bucketName": bucket, "Host": format!("{bucket}.s3.amazonaws.com"), "acl": "",
        }));
        rec.resources = Some(vec![Resource {
            account_id: Some(account.id.clone()),
            kind: "AWS::S3::Bucket",
            arn: format!("arn:aws:s3:::{bucket}"),
        }]);
        unit.push(rec);
    }
}

impl Actor for Services {
    fn weight(&self, _weekend: bool) -> f64 {
        6.0
    }

    fn emit(&self, unit: &mut Unit, plan: &mut SmallRng, budget: u64) {
        let mut left = budget;
        for key in &unit.account().kms_keys {
            if left > 0 && plan.random_bool(0.05) {
                let t = unit.day + plan.random_range(0..DAY);
                if unit.owns(self.home, 0, &api::ROTATE_KEY) {
                    Self::rotate_key(unit, t, key);
                }
                left -= 1;
            }
        }
        while left > 0 {
            let t = unit.day + plan.random_range(0..DAY - 600);
            if plan.random_bool(0.3) {
                // The trail's bucket lives in the primary region.
                if unit.owns(self.home, 0, &api::GET_BUCKET_ACL) {
                    Self::check_bucket(unit, t);
                }
                left -= 1;
                continue;
            }
            // A configuration snapshot of one region.
            let region = plan.random_range(0..self.regions);
            let session = Session::new(plan, t, false);
            let session_name = "AWSConfig-Describe";
            if unit.owns(self.home, region, &api::ASSUME_ROLE) {
                service_assume_role(unit, CONFIG, &self.config_role, session_name, &session, 3600);
            }
            let mut identity = self.config_role.identity(session_name, &session, None);
            identity.invoked_by = Some(CONFIG);
            let n = left.min(plan.random_range(4..=25));
            let mut t = t;
            for _ in 1..n {
                t += plan.random_range(0..3);
                let op = *api::pick(plan, CONFIG_OPS);
                if unit.owns(self.home, region, op) {
                    let caller = Caller { identity: &identity, ip: CONFIG, agent: CONFIG, console: false };
                    unit.call(t, &caller, op);
                }
            }
            left -= n;
        }
    }
}
