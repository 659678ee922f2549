//! Where a watch's alerts go. Alerts reach a sink from the state's outbox, after the tick that
//! raised them is committed, and leave the outbox once the sink has them: a sink that fails
//! keeps them for the next tick, and detection goes on. Every sink is given each alert's id,
//! so that a receiver can drop what a retry sends again.

mod asff;
mod aws;
mod elasticsearch;
mod http;
mod ndjson;
mod security_hub;
mod sns;
mod webhook;

use std::path::PathBuf;
use std::str::FromStr;

use keytrail_source::AwsOptions;

pub use ndjson::Rotation;
pub use webhook::signature as webhook_signature;

/// A sink as given on the command line (`--sink`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SinkSpec {
    /// One JSON document per line on standard output.
    Stdout,
    /// One JSON document per line, appended to a file, or to a series of them.
    Ndjson { path: PathBuf, rotation: Rotation },
    /// An HTTP POST of each alert's JSON to a URL.
    Webhook(String),
    /// Elasticsearch's or OpenSearch's `_bulk` API into an index: `URL/INDEX`.
    Elasticsearch { url: String, index: String },
    /// An SNS `Publish` of each alert to a topic: `sns:TOPIC_ARN`.
    Sns(String),
    /// Security Hub `BatchImportFindings` in a region, each alert as a finding:
    /// `securityhub:REGION`.
    SecurityHub(String),
}

/// The forms `--sink` takes.
const FORMS: &str = "stdout, ndjson:PATH, webhook:URL, elasticsearch:URL/INDEX, sns:TOPIC_ARN or securityhub:REGION";

impl FromStr for SinkSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<SinkSpec, String> {
        let unknown = || format!("unknown sink {:?}: {FORMS}", http::without_credentials(text));
        let (kind, target) = match text.split_once(':') {
            _ if text == "stdout" => return Ok(SinkSpec::Stdout),
            Some((kind, target)) if !target.is_empty() => (kind, target),
            _ => return Err(unknown()),
        };
        let url = |target: &str| match target.starts_with("http://") || target.starts_with("https://") {
            true => Ok(target.trim_end_matches('/').to_string()),
            false => Err(format!("{kind}: {:?} is not an http:// or https:// URL", http::without_credentials(target))),
        };
        match kind {
            "ndjson" => Ok(SinkSpec::Ndjson { path: PathBuf::from(target), rotation: Rotation::default() }),
            "webhook" => Ok(SinkSpec::Webhook(url(target)?)),
            "elasticsearch" => {
                let full = url(target)?;
                match full.rsplit_once('/') {
                    Some((url, index)) if !index.is_empty() && url.matches('/').count() >= 2 && !url.ends_with('/') => {
                        Ok(SinkSpec::Elasticsearch { url: url.to_string(), index: index.to_string() })
                    }
                    _ => Err("elasticsearch: name the index after the URL, e.g. http://localhost:9200/keytrail-alerts"
                        .to_string()),
                }
            }
            "sns" => match sns::parse_arn(target) {
                Some(_) => Ok(SinkSpec::Sns(target.to_string())),
                None => Err(format!(
                    "sns: {target:?} is not an SNS topic ARN, e.g. arn:aws:sns:us-east-1:123456789012:keytrail-alerts"
                )),
            },
            "securityhub" if is_region(target) => Ok(SinkSpec::SecurityHub(target.to_string())),
            "securityhub" => Err(format!("securityhub: {target:?} is not an AWS region, e.g. us-east-1")),
            _ => Err(unknown()),
        }
    }
}

/// Whether `text` has the form of an AWS region: `us-east-1`, `us-gov-west-1`, `cn-north-1`.
fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|number| number.bytes().all(|b| b.is_ascii_digit()))
}

impl SinkSpec {
    /// The sink's name in the state and in messages: what its outbox and position are kept
    /// under. Credentials in a URL are left out of it.
    pub fn name(&self) -> String {
        match self {
            SinkSpec::Stdout => "stdout".to_string(),
            SinkSpec::Ndjson { path, .. } => format!("ndjson:{}", path.display()),
            SinkSpec::Webhook(url) => format!("webhook:{}", http::without_credentials(url)),
            SinkSpec::Elasticsearch { url, index } => {
                format!("elasticsearch:{}/{index}", http::without_credentials(url))
            }
            SinkSpec::Sns(arn) => format!("sns:{arn}"),
            SinkSpec::SecurityHub(region) => format!("securityhub:{region}"),
        }
    }

    /// Opens the sink where its last recorded delivery left it (`position`, for files; see
    /// the `ndjson` module), with `secrets`; the AWS sinks reach AWS as `aws` says, from their
    /// first delivery on.
    pub fn open(
        &self,
        position: Option<Position>,
        secrets: &SinkSecrets,
        aws: &AwsOptions,
    ) -> anyhow::Result<Box<dyn Sink>> {
        Ok(match self {
            SinkSpec::Stdout => Box::new(ndjson::Stdout),
            SinkSpec::Ndjson { path, rotation } => Box::new(ndjson::NdjsonFile::open(path, *rotation, position)?),
            SinkSpec::Webhook(url) => Box::new(webhook::Webhook::new(url, secrets.webhook.clone())?),
            SinkSpec::Elasticsearch { url, index } => {
                Box::new(elasticsearch::Bulk::new(url, index, secrets.elasticsearch_api_key.clone())?)
            }
            SinkSpec::Sns(arn) => Box::new(sns::Topic::new(arn, aws)?),
            SinkSpec::SecurityHub(region) => Box::new(security_hub::SecurityHub::new(region, aws)),
        })
    }
}

/// What the sinks authenticate with, kept out of the command line (and so out of `ps` and
/// shell histories): from the environment.
#[derive(Clone, Default)]
pub struct SinkSecrets {
    /// `KEYTRAIL_WEBHOOK_SECRET`: webhook requests are signed with it.
    pub webhook: Option<Vec<u8>>,
    /// `KEYTRAIL_ELASTICSEARCH_API_KEY`: sent to Elasticsearch as `ApiKey …`.
    pub elasticsearch_api_key: Option<String>,
}

impl SinkSecrets {
    pub fn from_environment() -> SinkSecrets {
        let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        SinkSecrets {
            webhook: variable("KEYTRAIL_WEBHOOK_SECRET").map(String::into_bytes),
            elasticsearch_api_key: variable("KEYTRAIL_ELASTICSEARCH_API_KEY"),
        }
    }
}

impl std::fmt::Debug for SinkSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Whether each is set, never what it is.
        f.debug_struct("SinkSecrets")
            .field("webhook", &self.webhook.is_some())
            .field("elasticsearch_api_key", &self.elasticsearch_api_key.is_some())
            .finish()
    }
}

/// An alert on its way to a sink.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub id: &'a str,
    /// Its JSON document, one line.
    pub document: &'a str,
}

/// Where a file sink stands: the file it writes, when it is not the sink's own path (a
/// rotated series), and that file's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub file: Option<PathBuf>,
    pub length: u64,
}

/// A place alerts are delivered to.
#[async_trait::async_trait]
pub trait Sink: Send {
    /// Delivers `alerts` in order; returns where the sink now stands, for sinks whose restart
    /// needs it (files), which the state records with the delivery.
    async fn deliver(&mut self, alerts: &[Outgoing<'_>]) -> anyhow::Result<Option<Position>>;

    /// Where the sink stands now, before any delivery (files: their length).
    fn position(&self) -> Option<Position> {
        None
    }

    /// Called before each delivery at `now` (epoch ms): a sink that moves on to a new file
    /// returns its position there, which is recorded before anything is written to it.
    fn rotate(&mut self, _now: i64) -> anyhow::Result<Option<Position>> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinks_are_named_on_the_command_line() {
        assert_eq!("stdout".parse(), Ok(SinkSpec::Stdout));
        let file = SinkSpec::Ndjson { path: "/tmp/a.ndjson".into(), rotation: Rotation::default() };
        assert_eq!("ndjson:/tmp/a.ndjson".parse(), Ok(file));
        assert_eq!("webhook:https://hooks.example/x/".parse(), Ok(SinkSpec::Webhook("https://hooks.example/x".into())));
        let bulk = "elasticsearch:http://es:9200/keytrail-alerts".parse::<SinkSpec>().unwrap();
        assert_eq!(bulk, SinkSpec::Elasticsearch { url: "http://es:9200".into(), index: "keytrail-alerts".into() });
        let error = "webhook".parse::<SinkSpec>().unwrap_err();
        assert!(error.contains("unknown sink \"webhook\""), "{error}");
        assert!("ndjson:".parse::<SinkSpec>().is_err());
        assert!("webhook:ftp://x".parse::<SinkSpec>().unwrap_err().contains("not an http"));
        assert!("elasticsearch:http://es:9200".parse::<SinkSpec>().unwrap_err().contains("name the index"));
        let topic = "arn:aws:sns:eu-west-1:123456789012:keytrail-alerts.fifo";
        assert_eq!(format!("sns:{topic}").parse(), Ok(SinkSpec::Sns(topic.into())));
        assert!("sns:keytrail-alerts".parse::<SinkSpec>().unwrap_err().contains("not an SNS topic ARN"));
        assert_eq!("securityhub:us-gov-west-1".parse(), Ok(SinkSpec::SecurityHub("us-gov-west-1".into())));
        assert!("securityhub:Europe".parse::<SinkSpec>().unwrap_err().contains("not an AWS region"));
        assert_eq!(SinkSpec::SecurityHub("eu-west-1".into()).name(), "securityhub:eu-west-1");
    }

    #[test]
    fn credentials_in_a_url_stay_out_of_names_and_messages() {
        let spec = "elasticsearch:https://elastic:hunter2@es:9200/alerts".parse::<SinkSpec>().unwrap();
        assert_eq!(spec.name(), "elasticsearch:https://es:9200/alerts");
        let error = "nope:https://u:hunter2@x".parse::<SinkSpec>().unwrap_err();
        assert!(!error.contains("hunter2"), "{error}");
    }
}
