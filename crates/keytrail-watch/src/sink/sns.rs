//! SNS: each alert's JSON document published to a topic (`Publish`), for its email, chat,
//! Lambda or SQS subscribers. The subject names the rule; the message attributes carry the
//! alert's id (`kibana.alert.uuid`), by which a subscriber drops what a retry sends again, and
//! the rule's severity, by which a subscription's filter policy can choose. A FIFO topic
//! (`….fifo`) drops a resend itself: the alert's id is the message's deduplication id, and
//! each rule's alerts are a message group, in the order they were raised.
//!
//! The topic's ARN gives the region its requests are signed for and sent to.

use anyhow::Context;
use keytrail_source::AwsOptions;
use serde_json::Value;

use super::aws::{Service, config_in};
use super::http::without_credentials;
use super::{Outgoing, Position, Sink};

/// SNS's API version, which each request names.
const VERSION: &str = "2010-03-31";
/// SNS takes subjects shorter than 100 characters.
const MAX_SUBJECT: usize = 99;
/// The longest message group id SNS takes.
const MAX_GROUP_ID: usize = 128;

pub struct Topic {
    arn: String,
    region: String,
    fifo: bool,
    aws: AwsOptions,
    /// Set up on the first delivery, so that a watch starts while AWS is out of reach.
    service: Option<Service>,
}

/// The region and name of an SNS topic's ARN (`arn:PARTITION:sns:REGION:ACCOUNT:NAME`).
pub fn parse_arn(arn: &str) -> Option<(&str, &str)> {
    match arn.splitn(6, ':').collect::<Vec<_>>()[..] {
        ["arn", partition, "sns", region, account, name]
            if [partition, region, account, name].iter().all(|part| !part.is_empty()) =>
        {
            Some((region, name))
        }
        _ => None,
    }
}

impl Topic {
    pub fn new(arn: &str, aws: &AwsOptions) -> anyhow::Result<Topic> {
        let (region, name) = parse_arn(arn).with_context(|| format!("{arn:?} is not an SNS topic ARN"))?;
        Ok(Topic {
            arn: arn.to_string(),
            region: region.to_string(),
            fifo: name.ends_with(".fifo"),
            aws: aws.clone(),
            service: None,
        })
    }
}

/// The form of the `Publish` request of `alert` to the topic `arn`.
pub fn publish_form(arn: &str, fifo: bool, alert: &Outgoing<'_>) -> String {
    let document: Value = serde_json::from_str(alert.document).unwrap_or(Value::Null);
    let rule = |field: &str| document["rule"][field].as_str().filter(|text| !text.is_empty());
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("Action", "Publish")
        .append_pair("Version", VERSION)
        .append_pair("TopicArn", arn)
        .append_pair("Message", alert.document)
        .append_pair("Subject", &subject(rule("severity"), rule("name")));
    let attributes = [("kibana.alert.uuid", Some(alert.id)), ("rule.severity", rule("severity"))];
    for (number, (name, value)) in attributes.into_iter().filter_map(|(name, value)| Some((name, value?))).enumerate() {
        let entry = format!("MessageAttributes.entry.{}", number + 1);
        form.append_pair(&format!("{entry}.Name"), name)
            .append_pair(&format!("{entry}.Value.DataType"), "String")
            .append_pair(&format!("{entry}.Value.StringValue"), value);
    }
    if fifo {
        // Group ids are printable ASCII without spaces; rule ids (UUIDs, `builtin:…`) are, but
        // a custom rule's need not be.
        let group = rule("uuid").unwrap_or("keytrail").chars().map(|c| if c.is_ascii_graphic() { c } else { '_' });
        let group: String = group.take(MAX_GROUP_ID).collect();
        form.append_pair("MessageGroupId", &group).append_pair("MessageDeduplicationId", alert.id);
    }
    form.finish()
}

/// `keytrail high: RULE NAME`, in the printable ASCII SNS takes (other characters become
/// `?`), shorter than 100 characters.
pub fn subject(severity: Option<&str>, rule_name: Option<&str>) -> String {
    let text = match severity {
        Some(severity) => format!("keytrail {severity}: {}", rule_name.unwrap_or("alert")),
        None => format!("keytrail: {}", rule_name.unwrap_or("alert")),
    };
    let printable = text.chars().map(|c| if c == ' ' || c.is_ascii_graphic() { c } else { '?' });
    let subject: String = printable.take(MAX_SUBJECT).collect();
    subject.trim_end().to_string()
}

#[async_trait::async_trait]
impl Sink for Topic {
    async fn deliver(&mut self, alerts: &[Outgoing<'_>]) -> anyhow::Result<Option<Position>> {
        let service = match &mut self.service {
            Some(service) => service,
            None => self.service.insert(Service::new(&config_in(&self.aws, &self.region).await, "sns", &self.region)?),
        };
        for alert in alerts {
            let form = publish_form(&self.arn, self.fifo, alert);
            let answer = service.post("/", "application/x-www-form-urlencoded; charset=utf-8", form).await?;
            if !answer.status.is_success() {
                let endpoint = without_credentials(service.endpoint());
                anyhow::bail!("Publish to {} at {endpoint}: alert {}: {}", self.arn, alert.id, answer.failure());
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form_pairs(form: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(form.as_bytes()).into_owned().collect()
    }

    fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
        pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    #[test]
    fn topic_arns_give_region_and_name() {
        assert_eq!(parse_arn("arn:aws:sns:eu-west-1:123456789012:alerts"), Some(("eu-west-1", "alerts")));
        assert_eq!(parse_arn("arn:aws-cn:sns:cn-north-1:123456789012:a.fifo"), Some(("cn-north-1", "a.fifo")));
        assert_eq!(parse_arn("arn:aws:sqs:eu-west-1:123456789012:alerts"), None);
        assert_eq!(parse_arn("arn:aws:sns:eu-west-1:123456789012"), None);
        assert_eq!(parse_arn("arn:aws:sns::123456789012:alerts"), None);
    }

    #[test]
    fn a_publish_carries_the_document_its_id_and_for_fifo_topics_its_group_and_deduplication_ids() {
        let document = r#"{"rule":{"uuid":"r-1","name":"Key used from a new network","severity":"high"}}"#;
        let alert = Outgoing { id: "a1", document };
        let pairs = form_pairs(&publish_form("arn:aws:sns:us-east-1:123456789012:t", false, &alert));
        assert_eq!(pair(&pairs, "Action"), Some("Publish"));
        assert_eq!(pair(&pairs, "Message"), Some(document));
        assert_eq!(pair(&pairs, "Subject"), Some("keytrail high: Key used from a new network"));
        assert_eq!(pair(&pairs, "MessageAttributes.entry.1.Name"), Some("kibana.alert.uuid"));
        assert_eq!(pair(&pairs, "MessageAttributes.entry.1.Value.StringValue"), Some("a1"));
        assert_eq!(pair(&pairs, "MessageAttributes.entry.2.Name"), Some("rule.severity"));
        assert_eq!(pair(&pairs, "MessageAttributes.entry.2.Value.StringValue"), Some("high"));
        assert_eq!(pair(&pairs, "MessageGroupId"), None);
        assert_eq!(pair(&pairs, "MessageDeduplicationId"), None);

        let pairs = form_pairs(&publish_form("arn:aws:sns:us-east-1:123456789012:t.fifo", true, &alert));
        assert_eq!(pair(&pairs, "MessageGroupId"), Some("r-1"));
        assert_eq!(pair(&pairs, "MessageDeduplicationId"), Some("a1"));
    }

    #[test]
    fn subjects_are_short_printable_ascii() {
        assert_eq!(subject(None, None), "keytrail: alert");
        assert_eq!(subject(Some("low"), Some("Clé\nutilisée")), "keytrail low: Cl??utilis?e");
        let long = subject(Some("medium"), Some(&"x".repeat(300)));
        assert_eq!(long.len(), 99);
        assert!(long.starts_with("keytrail medium: xxx"));
    }
}
