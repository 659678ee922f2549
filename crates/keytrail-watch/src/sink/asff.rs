//! An alert as a Security Hub finding, in the AWS Security Finding Format (ASFF, schema
//! 2018-10-08), made from the alert's JSON document alone.
//!
//! Every attribute ASFF requires is set: SchemaVersion, Id (the alert's id, so that a resend
//! updates the finding instead of adding one), ProductArn (the caller's own "default" product,
//! which takes findings from its own account), GeneratorId (the rule's id), AwsAccountId,
//! Types, CreatedAt and UpdatedAt (the run that raised the alert), Severity, Title,
//! Description and Resources (at least one). Within ASFF's limits: Title 256 characters,
//! Description 1024, GeneratorId and Id 512, Types 50, Resources 32.

use serde_json::{Value, json};

/// ASFF's one schema version.
const SCHEMA_VERSION: &str = "2018-10-08";

/// ASFF's limits (AwsSecurityFinding in the Security Hub API reference).
const MAX_TITLE: usize = 256;
const MAX_DESCRIPTION: usize = 1024;
const MAX_ID: usize = 512;
const MAX_RESOURCES: usize = 32;

/// The identity the findings are imported as (STS GetCallerIdentity): its account, whose
/// default product takes them, and its partition (`aws`, `aws-cn`, `aws-us-gov`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub partition: String,
}

/// The finding for the alert `id` whose document is `document`, imported in `region` as
/// `caller`.
pub fn finding(id: &str, document: &Value, region: &str, caller: &Caller) -> Value {
    let rule_id = text(document, "rule.uuid").unwrap_or("keytrail");
    let rule_name = text(document, "rule.name").unwrap_or("keytrail alert");
    // The account of the events, for the resources.
    let account = texts(document, "cloud.account.id")
        .into_iter()
        .find(|account| is_account_id(account))
        .unwrap_or(&caller.account);
    let raised = text(document, "@timestamp").map(str::to_string).unwrap_or_else(now);
    let mut finding = json!({
        "SchemaVersion": SCHEMA_VERSION,
        "Id": cut(id, MAX_ID),
        "ProductArn": format!(
            "arn:{}:securityhub:{region}:{}:product/{}/default",
            caller.partition, caller.account, caller.account
        ),
        "GeneratorId": cut(rule_id, MAX_ID),
        // Security Hub takes findings of a default product only from the importing account
        // itself; the account the events are from is named in the description and resources.
        "AwsAccountId": caller.account,
        "Types": types(document),
        "CreatedAt": raised,
        "UpdatedAt": raised,
        "Severity": { "Label": severity_label(text(document, "rule.severity")) },
        "Title": truncate(rule_name, MAX_TITLE),
        "Description": truncate(&description(id, document, rule_name, rule_id), MAX_DESCRIPTION),
        "Resources": resources(document, account),
    });
    let observed = [("FirstObservedAt", "event.start"), ("LastObservedAt", "event.end")];
    let object = finding.as_object_mut().expect("a finding is an object");
    for (attribute, field) in observed {
        if let Some(time) = text(document, field) {
            object.insert(attribute.into(), time.into());
        }
    }
    if let Some(severity) = text(document, "rule.severity") {
        object["Severity"]["Original"] = severity.into();
    }
    finding
}

/// Security Hub's label for an Elastic rule's severity.
fn severity_label(severity: Option<&str>) -> &'static str {
    match severity.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") => "CRITICAL",
        Some("high") => "HIGH",
        Some("medium") => "MEDIUM",
        Some("low") => "LOW",
        _ => "INFORMATIONAL",
    }
}

/// The finding's types, from the ATT&CK tactics of the rule (`rule.threat`): ASFF's `TTPs`
/// categories are ATT&CK's tactics, and exfiltration and impact are its `Effects`. A rule
/// without a tactic ASFF names is about unusual use of a key: `Unusual Behaviors/User`.
fn types(document: &Value) -> Vec<String> {
    let tactics = document.pointer("/rule/threat").and_then(Value::as_array).into_iter().flatten();
    let mut types: Vec<String> = Vec::new();
    for tactic in tactics.filter_map(|threat| threat.pointer("/tactic/name").and_then(Value::as_str)) {
        let category = match tactic {
            "Initial Access"
            | "Execution"
            | "Persistence"
            | "Privilege Escalation"
            | "Defense Evasion"
            | "Credential Access"
            | "Discovery"
            | "Lateral Movement"
            | "Collection"
            | "Command and Control" => {
                format!("TTPs/{tactic}")
            }
            "Exfiltration" => "Effects/Data Exfiltration".to_string(),
            "Impact" => "Effects".to_string(),
            _ => continue,
        };
        if !types.contains(&category) {
            types.push(category);
        }
    }
    if types.is_empty() {
        types.push("Unusual Behaviors/User".to_string());
    }
    types
}

/// The access keys, IAM users and roles the alert names; else its source addresses; else
/// the account.
fn resources(document: &Value, account: &str) -> Vec<Value> {
    let mut named: Vec<(&str, &str)> = Vec::new();
    for key in texts(document, "aws.cloudtrail.user_identity.access_key_id") {
        named.push(("AwsIamAccessKey", key));
    }
    let arns = ["aws.cloudtrail.user_identity.arn", "aws.cloudtrail.user_identity.session_context.session_issuer.arn"];
    for arn in arns.into_iter().flat_map(|field| texts(document, field)) {
        if let Some(kind) = iam_resource_type(arn) {
            named.push((kind, arn));
        }
    }
    if named.is_empty() {
        named.extend(texts(document, "source.ip").into_iter().map(|address| ("Other", address)));
    }
    if named.is_empty() {
        named.push(("Other", account));
    }
    let mut resources: Vec<Value> = Vec::new();
    for (kind, id) in named {
        let resource = json!({ "Type": kind, "Id": id });
        if !resources.contains(&resource) {
            resources.push(resource);
        }
    }
    resources.truncate(MAX_RESOURCES);
    resources
}

/// The ASFF type of an IAM user's or role's ARN. Other ARNs name no IAM resource: an assumed
/// role session's (`arn:aws:sts::…:assumed-role/ROLE/SESSION`) leaves out the role's path.
fn iam_resource_type(arn: &str) -> Option<&'static str> {
    match arn.splitn(6, ':').collect::<Vec<_>>()[..] {
        ["arn", _, "iam", _, _, name] if name.starts_with("user/") => Some("AwsIamUser"),
        ["arn", _, "iam", _, _, name] if name.starts_with("role/") => Some("AwsIamRole"),
        _ => None,
    }
}

/// What happened, from the fields the alert has: who, from where, doing what, and when.
fn description(id: &str, document: &Value, rule_name: &str, rule_id: &str) -> String {
    let list = |field: &str| texts(document, field).join(", ");
    let mut parts = vec![format!("{rule_name}.")];
    let details = [
        ("Access key", "aws.cloudtrail.user_identity.access_key_id"),
        ("caller", "aws.cloudtrail.user_identity.arn"),
        ("from", "source.ip"),
        ("network", "source.as.organization.name"),
        ("country", "source.geo.country_iso_code"),
        ("call", "event.action"),
        ("service", "event.provider"),
        ("account", "cloud.account.id"),
    ];
    let said: Vec<String> = details
        .into_iter()
        .map(|(label, field)| (label, list(field)))
        .filter(|(_, value)| !value.is_empty())
        .map(|(label, value)| format!("{label} {value}"))
        .collect();
    if !said.is_empty() {
        parts.push(format!("{}.", said.join("; ")));
    }
    if let (Some(start), Some(end)) = (text(document, "event.start"), text(document, "event.end")) {
        parts.push(format!("Events from {start} to {end}."));
    }
    parts.push(format!("keytrail alert {id} of rule {rule_id}."));
    parts.join(" ")
}

/// `text` cut to `max` characters, the last of them an ellipsis when cut.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some(_) => {
            let kept: String = text.chars().take(max - 1).collect();
            format!("{kept}…")
        }
    }
}

/// `text`'s first `max` characters: for identifiers, which an ellipsis would change.
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|byte| byte.is_ascii_digit())
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The non-empty text at `path`.
fn text<'a>(document: &'a Value, path: &str) -> Option<&'a str> {
    keytrail_ecs::dotted_value(document, path).and_then(Value::as_str).filter(|text| !text.trim().is_empty())
}

/// The non-empty texts at `path`: one, or those of a list (an ES|QL rule's `VALUES(…)`).
fn texts<'a>(document: &'a Value, path: &str) -> Vec<&'a str> {
    match keytrail_ecs::dotted_value(document, path) {
        Some(Value::String(text)) if !text.trim().is_empty() => vec![text],
        Some(Value::Array(items)) => {
            items.iter().filter_map(Value::as_str).filter(|text| !text.trim().is_empty()).collect()
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What ASFF requires of every finding: its required top-level attributes, and the label of
    /// its severity (required unless the older normalized score is given).
    const REQUIRED: [&str; 13] = [
        "AwsAccountId",
        "CreatedAt",
        "Description",
        "GeneratorId",
        "Id",
        "ProductArn",
        "Resources",
        "SchemaVersion",
        "Severity",
        "Title",
        "Types",
        "UpdatedAt",
        "Severity.Label",
    ];

    /// The required attributes `finding` lacks or leaves empty.
    fn missing_attributes(finding: &Value) -> Vec<&'static str> {
        REQUIRED
            .into_iter()
            .filter(|path| {
                let value = path.split('.').try_fold(finding, |value, key| value.get(key));
                match value {
                    Some(Value::String(text)) => text.trim().is_empty(),
                    Some(Value::Array(items)) => items.is_empty(),
                    Some(Value::Object(_)) => false,
                    _ => true,
                }
            })
            .collect()
    }

    fn caller() -> Caller {
        Caller { account: "999988887777".into(), partition: "aws".into() }
    }

    /// An alert of the built-in first-seen rule, as `hunt --format ndjson` writes it.
    fn alert() -> Value {
        json!({
            "@timestamp": "2024-05-01T10:05:00.000Z",
            "kibana": {"alert": {"uuid": "5d1c"}},
            "rule": {
                "uuid": "9f8e3c5e-f72e-4e91-93f6-e98a4fae3e4f",
                "name": "AWS IAM Long-Term Access Key First Seen from Source IP",
                "type": "new_terms",
                "severity": "medium",
                "risk_score": 47,
                "threat": [
                    {"framework": "MITRE ATT&CK", "tactic": {"id": "TA0006", "name": "Credential Access", "reference": ""}},
                    {"framework": "MITRE ATT&CK", "tactic": {"id": "TA0001", "name": "Initial Access", "reference": ""}},
                    {"framework": "MITRE ATT&CK", "tactic": {"id": "TA0001", "name": "Initial Access", "reference": ""}}
                ]
            },
            "aws": {"cloudtrail": {"user_identity": {
                "type": "AssumedRole",
                "arn": "arn:aws:sts::111122223333:assumed-role/deploy/alice",
                "access_key_id": "ASIAEXAMPLE",
                "session_context": {"session_issuer": {"type": "Role", "arn": "arn:aws:iam::111122223333:role/ops/deploy"}}
            }}},
            "source": {"ip": "203.0.113.9", "as": {"organization": {"name": "DigitalOcean, LLC"}}},
            "event": {"action": "ListBuckets", "provider": "s3.amazonaws.com",
                      "start": "2024-05-01T10:01:00.000Z", "end": "2024-05-01T10:02:00.000Z"},
            "cloud": {"account": {"id": "111122223333"}}
        })
    }

    #[test]
    fn an_alert_becomes_a_finding_of_its_account_key_and_role() {
        let finding = finding("5d1c", &alert(), "eu-west-1", &caller());
        let description = "AWS IAM Long-Term Access Key First Seen from Source IP. Access key ASIAEXAMPLE; \
            caller arn:aws:sts::111122223333:assumed-role/deploy/alice; from 203.0.113.9; network DigitalOcean, LLC; \
            call ListBuckets; service s3.amazonaws.com; account 111122223333. \
            Events from 2024-05-01T10:01:00.000Z to 2024-05-01T10:02:00.000Z. \
            keytrail alert 5d1c of rule 9f8e3c5e-f72e-4e91-93f6-e98a4fae3e4f.";
        assert_eq!(
            finding,
            json!({
                "SchemaVersion": "2018-10-08",
                "Id": "5d1c",
                "ProductArn": "arn:aws:securityhub:eu-west-1:999988887777:product/999988887777/default",
                "GeneratorId": "9f8e3c5e-f72e-4e91-93f6-e98a4fae3e4f",
                "AwsAccountId": "999988887777",
                "Types": ["TTPs/Credential Access", "TTPs/Initial Access"],
                "CreatedAt": "2024-05-01T10:05:00.000Z",
                "UpdatedAt": "2024-05-01T10:05:00.000Z",
                "FirstObservedAt": "2024-05-01T10:01:00.000Z",
                "LastObservedAt": "2024-05-01T10:02:00.000Z",
                "Severity": {"Label": "MEDIUM", "Original": "medium"},
                "Title": "AWS IAM Long-Term Access Key First Seen from Source IP",
                "Description": description,
                "Resources": [
                    {"Type": "AwsIamAccessKey", "Id": "ASIAEXAMPLE"},
                    {"Type": "AwsIamRole", "Id": "arn:aws:iam::111122223333:role/ops/deploy"}
                ]
            })
        );
        assert_eq!(missing_attributes(&finding), Vec::<&str>::new());
    }

    #[test]
    fn an_iam_user_is_a_resource_and_an_aggregate_names_each_key() {
        let mut document = alert();
        document["aws"]["cloudtrail"]["user_identity"] = json!({
            "type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "access_key_id": ["AKIA1", "AKIA2"]
        });
        let finding = finding("x", &document, "eu-west-1", &caller());
        assert_eq!(
            finding["Resources"],
            json!([
                {"Type": "AwsIamAccessKey", "Id": "AKIA1"},
                {"Type": "AwsIamAccessKey", "Id": "AKIA2"},
                {"Type": "AwsIamUser", "Id": "arn:aws:iam::111122223333:user/alice"}
            ])
        );
    }

    #[test]
    fn without_key_or_principal_the_address_or_else_the_account_is_the_resource() {
        let mut document = alert();
        document.as_object_mut().unwrap().remove("aws");
        let finding = finding("x", &document, "eu-west-1", &caller());
        assert_eq!(finding["Resources"], json!([{"Type": "Other", "Id": "203.0.113.9"}]));

        let bare = json!({"rule": {"name": "r", "severity": "critical"}});
        let finding = super::finding("y", &bare, "eu-west-1", &caller());
        assert_eq!(finding["Resources"], json!([{"Type": "Other", "Id": "999988887777"}]));
        assert_eq!(finding["AwsAccountId"], "999988887777");
        assert_eq!(finding["Severity"]["Label"], "CRITICAL");
        assert_eq!(finding["Types"], json!(["Unusual Behaviors/User"]));
        assert_eq!(missing_attributes(&finding), Vec::<&str>::new());
    }

    #[test]
    fn severities_map_to_security_hub_labels() {
        let labels: Vec<&str> =
            ["low", "medium", "high", "critical", "Critical"].map(|s| severity_label(Some(s))).to_vec();
        assert_eq!(labels, ["LOW", "MEDIUM", "HIGH", "CRITICAL", "CRITICAL"]);
        assert_eq!(severity_label(None), "INFORMATIONAL");
    }

    #[test]
    fn exfiltration_and_impact_are_effects_and_other_tactics_are_left_out() {
        let mut document = alert();
        document["rule"]["threat"] = json!([
            {"tactic": {"name": "Exfiltration"}}, {"tactic": {"name": "Impact"}}, {"tactic": {"name": "Reconnaissance"}}
        ]);
        assert_eq!(types(&document), ["Effects/Data Exfiltration", "Effects"]);
    }

    #[test]
    fn long_texts_are_cut_to_asff_limits() {
        let mut document = alert();
        document["rule"]["name"] = json!("é".repeat(300));
        document["source"]["ip"] = json!(vec!["203.0.113.9"; 200]);
        let finding = finding(&"i".repeat(600), &document, "eu-west-1", &caller());
        let length = |name: &str| finding[name].as_str().unwrap().chars().count();
        assert_eq!((length("Title"), length("Description"), length("Id")), (256, 1024, 512));
        assert!(finding["Title"].as_str().unwrap().ends_with('…'));
    }

    #[test]
    fn an_empty_required_attribute_is_missing() {
        let mut finding = finding("x", &alert(), "eu-west-1", &caller());
        finding["Title"] = json!(" ");
        finding["Resources"] = json!([]);
        finding["Severity"] = json!({});
        finding.as_object_mut().unwrap().remove("UpdatedAt");
        assert_eq!(missing_attributes(&finding), ["Resources", "Title", "UpdatedAt", "Severity.Label"]);
    }

    #[test]
    fn dotted_names_left_by_a_clash_are_read() {
        let document = json!({"source": {"ip.extra": 1}, "cloud.account.id": "111122223333"});
        assert_eq!(text(&document, "cloud.account.id"), Some("111122223333"));
        assert_eq!(keytrail_ecs::dotted_value(&document, "source.ip.extra"), Some(&json!(1)));
    }
}
