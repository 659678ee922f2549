//! GitHub Actions deploying with the long-term key of an IAM user: every job
//! runs on a fresh GitHub-hosted runner (a new Azure address), starts with
//! the configure-aws-credentials action's `GetCallerIdentity`, then pushes
//! an image and rolls an ECS service, or uploads a static site.

use super::{Actor, day_end};
use crate::agents;
use crate::api::{self, Op};
use crate::estate::{Account, GITHUB_USER};
use crate::net;
use crate::principal::IamUser;
use crate::time;
use crate::unit::{Caller, Unit};
use rand::Rng;
use rand::rngs::SmallRng;

pub(crate) struct GithubActions {
    home: usize,
    user: IamUser,
    tz: i32,
    regions: usize,
}

/// One step of a job: the operation and the pause before it.
type Step = (&'static Op, i64);

impl GithubActions {
    pub fn new(rng: &mut SmallRng, account: &Account, home: usize, regions: &[String]) -> Self {
        GithubActions {
            home,
            user: IamUser::new(rng, &account.id, GITHUB_USER),
            tz: account.tz,
            regions: regions.len(),
        }
    }

    /// The calls of one job, in order.
    fn job(plan: &mut SmallRng) -> Vec<Step> {
        // Checkout and build run between credentials and the first push.
        let mut steps = vec![(&api::GET_CALLER_IDENTITY, 0)];
        if plan.random_bool(0.7) {
            steps.push((&api::GET_AUTHORIZATION_TOKEN, plan.random_range(60..400)));
            for _ in 0..plan.random_range(1..=4) {
                steps.push((&api::BATCH_CHECK_LAYER_AVAILABILITY, plan.random_range(0..2)));
                steps.push((&api::INITIATE_LAYER_UPLOAD, plan.random_range(0..2)));
                for _ in 0..plan.random_range(1..=3) {
                    steps.push((&api::UPLOAD_LAYER_PART, plan.random_range(1..6)));
                }
                steps.push((&api::COMPLETE_LAYER_UPLOAD, plan.random_range(0..2)));
            }
            steps.push((&api::PUT_IMAGE, plan.random_range(0..2)));
            steps.push((&api::DESCRIBE_TASK_DEFINITION, plan.random_range(2..10)));
            steps.push((&api::REGISTER_TASK_DEFINITION, plan.random_range(0..2)));
            steps.push((&api::UPDATE_SERVICE, plan.random_range(0..2)));
            for _ in 0..plan.random_range(3..=20) {
                steps.push((&api::DESCRIBE_SERVICES, plan.random_range(14..17)));
            }
        } else {
            steps.push((&api::LIST_OBJECTS, plan.random_range(30..200)));
            for _ in 0..plan.random_range(5..=40) {
                steps.push((&api::PUT_OBJECT, plan.random_range(0..2)));
            }
            steps.push((&api::CREATE_INVALIDATION, plan.random_range(0..3)));
        }
        steps
    }

    fn agent(op: &Op) -> String {
        match op.name {
            "GetCallerIdentity" => agents::GITHUB_CREDENTIALS.into(),
            "BatchCheckLayerAvailability"
            | "InitiateLayerUpload"
            | "UploadLayerPart"
            | "CompleteLayerUpload"
            | "PutImage" => agents::DOCKER.into(),
            _ => agents::GITHUB_RUNNER.agent(op),
        }
    }

    pub fn user(&self) -> &IamUser {
        &self.user
    }
}

impl Actor for GithubActions {
    fn weight(&self, weekend: bool) -> f64 {
        if weekend { 0.5 } else { 5.0 }
    }

    fn emit(&self, unit: &mut Unit, plan: &mut SmallRng, budget: u64) {
        let end = day_end(unit);
        let identity = self.user.identity();
        let mut left = budget;
        while left > 0 {
            let mut t = time::sample(plan, unit.day, |t| if time::office_hours(t, self.tz) { 1.0 } else { 0.05 });
            let ip = net::sample(plan, net::AZURE);
            let region = if plan.random_bool(0.85) { 0 } else { plan.random_range(0..self.regions) };
            let steps = Self::job(plan);
            let mut spent = 0;
            for (op, pause) in steps.into_iter().take(left as usize) {
                t += pause;
                if t >= end {
                    break;
                }
                if unit.owns(self.home, region, op) {
                    let agent = Self::agent(op);
                    let caller = Caller { identity: &identity, ip: &ip, agent: &agent, console: false };
                    unit.call(t, &caller, op);
                }
                spent += 1;
            }
            left -= spent.max(1).min(left);
        }
    }
}
