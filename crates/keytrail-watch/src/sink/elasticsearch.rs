//! Elasticsearch's or OpenSearch's `_bulk` API, so that Kibana's users see keytrail's alerts
//! beside their own. Each alert is *created* in the index under its id: one sent again (a
//! retry, a restart) is refused as a conflict instead of stored twice, and counts as
//! delivered. An API key (`KEYTRAIL_ELASTICSEARCH_API_KEY`: Elasticsearch's `id:key` in
//! base64, as Kibana shows it) is sent as such; a user and password may be in the URL instead.

use anyhow::Context;
use serde_json::Value;

use super::http::{client, send_with_retries, without_credentials};
use super::{Outgoing, Position, Sink};

pub struct Bulk {
    endpoint: String,
    client: reqwest::Client,
    api_key: Option<String>,
}

impl Bulk {
    pub fn new(url: &str, index: &str, api_key: Option<String>) -> anyhow::Result<Bulk> {
        Ok(Bulk { endpoint: format!("{url}/{index}/_bulk"), client: client()?, api_key })
    }
}

/// The `_bulk` body: a `create` action with the alert's id, then the alert, for each.
pub fn bulk_body(alerts: &[Outgoing<'_>]) -> String {
    let mut body = String::new();
    for alert in alerts {
        body.push_str(&serde_json::json!({ "create": { "_id": alert.id } }).to_string());
        body.push('\n');
        body.push_str(alert.document);
        body.push('\n');
    }
    body
}

/// The first item of a `_bulk` answer that failed for another reason than existing already.
pub fn first_failure(answer: &Value) -> Option<String> {
    if answer["errors"] != Value::Bool(true) {
        return None;
    }
    let items = answer["items"].as_array()?;
    items.iter().find_map(|item| {
        let result = &item["create"];
        let status = result["status"].as_u64().unwrap_or(0);
        // 409: an alert with this id is there already.
        if (200..300).contains(&status) || status == 409 {
            return None;
        }
        let reason = result["error"]["reason"].as_str().unwrap_or("no reason given");
        let reason: String = reason.chars().take(300).collect();
        Some(format!("alert {}: {status} {reason}", result["_id"].as_str().unwrap_or("?")))
    })
}

#[async_trait::async_trait]
impl Sink for Bulk {
    async fn deliver(&mut self, alerts: &[Outgoing<'_>]) -> anyhow::Result<Option<Position>> {
        let shown = without_credentials(&self.endpoint);
        let body = bulk_body(alerts);
        let request = || {
            let request =
                self.client.post(&self.endpoint).header("content-type", "application/x-ndjson").body(body.clone());
            match &self.api_key {
                Some(key) => request.header("authorization", format!("ApiKey {key}")),
                None => request,
            }
        };
        let response = send_with_retries(&format!("POST {shown}"), request).await?;
        let status = response.status();
        if !status.is_success() {
            anyhow::bail!("POST {shown}: {status}");
        }
        let answer: Value =
            response.json().await.with_context(|| format!("POST {shown}: an answer that is not JSON"))?;
        match first_failure(&answer) {
            Some(failure) => anyhow::bail!("POST {shown}: {failure}"),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_alert_is_created_under_its_id() {
        let body = bulk_body(&[Outgoing { id: "a1", document: "{\"x\":1}" }]);
        assert_eq!(body, "{\"create\":{\"_id\":\"a1\"}}\n{\"x\":1}\n");
    }

    #[test]
    fn an_alert_already_there_is_delivered_and_other_failures_are_not() {
        let created = json!({"create": {"_id": "a", "status": 201}});
        let there = json!({"create": {"_id": "b", "status": 409, "error": {"reason": "version conflict"}}});
        assert_eq!(first_failure(&json!({"errors": true, "items": [created, there]})), None);
        let refused = json!({"create": {"_id": "c", "status": 400, "error": {"reason": "mapper_parsing_exception"}}});
        let answer = json!({"errors": true, "items": [created, refused]});
        assert_eq!(first_failure(&answer).as_deref(), Some("alert c: 400 mapper_parsing_exception"));
        assert_eq!(first_failure(&json!({"errors": false, "items": []})), None);
    }
}
