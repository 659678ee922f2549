//! AWS Security Hub: each alert imported as a finding (`BatchImportFindings`, in ASFF: see the
//! `asff` module), into the region given (`securityhub:REGION`) under the caller's own
//! product (`product/ACCOUNT/default`), as Security Hub takes findings from an account's own
//! tools. The finding's id is the alert's, so a resend meets the finding it made instead of
//! adding one. The caller's account and partition come from STS `GetCallerIdentity`, on the
//! first delivery.
//!
//! Security Hub answers each finding on its own: one it refused (`FailedFindings`) fails the
//! delivery, and the batch stays in the outbox, as with Elasticsearch's `_bulk`. Under the
//! default product, Security Hub takes findings only of the importing account itself
//! (`AwsAccountId`), so every finding is the caller's, also those about the other accounts of
//! an organization's trail: their account is in the description and resources.

use anyhow::Context;
use keytrail_source::AwsOptions;
use serde_json::{Value, json};

use super::asff::{self, Caller};
use super::aws::{Service, config_in};
use super::http::without_credentials;
use super::{Outgoing, Position, Sink};

/// The most findings `BatchImportFindings` takes at once.
const MAX_BATCH: usize = 100;

pub struct SecurityHub {
    region: String,
    aws: AwsOptions,
    /// Set up on the first delivery, so that a watch starts while AWS is out of reach.
    connection: Option<(Service, Caller)>,
}

impl SecurityHub {
    pub fn new(region: &str, aws: &AwsOptions) -> SecurityHub {
        SecurityHub { region: region.to_string(), aws: aws.clone(), connection: None }
    }
}

/// The caller's account and partition, from STS.
async fn caller(config: &aws_config::SdkConfig) -> anyhow::Result<Caller> {
    let identity = aws_sdk_sts::Client::new(config).get_caller_identity().send().await.map_err(|error| {
        let error = aws_sdk_sts::error::DisplayErrorContext(&error).to_string();
        anyhow::anyhow!("STS GetCallerIdentity: {}", without_credentials(&error))
    })?;
    let account = identity.account().context("STS GetCallerIdentity named no account")?;
    let partition = identity.arn().and_then(|arn| arn.split(':').nth(1)).filter(|partition| !partition.is_empty());
    Ok(Caller { account: account.to_string(), partition: partition.unwrap_or("aws").to_string() })
}

/// The `BatchImportFindings` body for `alerts`.
pub fn import_body(alerts: &[Outgoing<'_>], region: &str, caller: &Caller) -> anyhow::Result<String> {
    let findings = alerts
        .iter()
        .map(|alert| {
            let document: Value = serde_json::from_str(alert.document)
                .with_context(|| format!("alert {}: its document is not JSON", alert.id))?;
            Ok(asff::finding(alert.id, &document, region, caller))
        })
        .collect::<anyhow::Result<Vec<Value>>>()?;
    Ok(json!({ "Findings": findings }).to_string())
}

/// The first finding a `BatchImportFindings` answer says it refused.
pub fn first_failure(answer: &Value) -> Option<String> {
    let failed = answer["FailedFindings"].as_array()?.first()?;
    let text = |name: &str| failed[name].as_str().unwrap_or("?").to_string();
    let message: String = text("ErrorMessage").chars().take(300).collect();
    Some(format!("alert {}: {} {message}", text("Id"), text("ErrorCode")))
}

#[async_trait::async_trait]
impl Sink for SecurityHub {
    async fn deliver(&mut self, alerts: &[Outgoing<'_>]) -> anyhow::Result<Option<Position>> {
        let (service, caller) = match &mut self.connection {
            Some(connection) => connection,
            None => {
                let config = config_in(&self.aws, &self.region).await;
                let service = Service::new(&config, "securityhub", &self.region)?;
                self.connection.insert((service, caller(&config).await?))
            }
        };
        for batch in alerts.chunks(MAX_BATCH) {
            let body = import_body(batch, &self.region, caller)?;
            let answer = service.post("/findings/import", "application/json", body).await?;
            let what = format!("BatchImportFindings at {}", without_credentials(service.endpoint()));
            if !answer.status.is_success() {
                anyhow::bail!("{what}: {}", answer.failure());
            }
            let parsed: Value =
                serde_json::from_str(&answer.body).with_context(|| format!("{what}: an answer that is not JSON"))?;
            if let Some(failure) = first_failure(&parsed) {
                anyhow::bail!("{what}: {failure}");
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_finding_is_named_with_its_error() {
        let answer = json!({"FailedCount": 1, "SuccessCount": 1, "FailedFindings": [
            {"Id": "b", "ErrorCode": "InvalidInput", "ErrorMessage": "Finding does not adhere to ASFF"}
        ]});
        assert_eq!(first_failure(&answer).as_deref(), Some("alert b: InvalidInput Finding does not adhere to ASFF"));
        assert_eq!(first_failure(&json!({"FailedCount": 0, "SuccessCount": 2, "FailedFindings": []})), None);
    }

    #[test]
    fn a_batch_holds_one_finding_per_alert() {
        let caller = Caller { account: "123456789012".into(), partition: "aws".into() };
        let alerts = [Outgoing { id: "a", document: "{}" }, Outgoing { id: "b", document: "{}" }];
        let body: Value = serde_json::from_str(&import_body(&alerts, "eu-west-1", &caller).unwrap()).unwrap();
        let ids: Vec<&str> = body["Findings"].as_array().unwrap().iter().map(|f| f["Id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["a", "b"]);
        let error = import_body(&[Outgoing { id: "c", document: "not json" }], "eu-west-1", &caller).unwrap_err();
        assert!(error.to_string().contains("alert c"), "{error}");
    }
}
