//! What the AWS sinks (SNS, Security Hub) share: requests to one service in one region, signed
//! with Signature Version 4 and sent with the HTTP sinks' client and retries.
//!
//! The requests are made here rather than through `aws-sdk-sns` and `aws-sdk-securityhub`.
//! Added to the workspace's AWS crates, those two took 243 s of CPU to compile in the dev
//! profile (aws-sdk-securityhub 248 s and aws-sdk-sns 73 s of wall time, side by side, on
//! this project's 2-core machine with another build running; 2026-12-08): two to four
//! minutes more on a cold CI build that has about 40, for two sinks that make one kind of
//! request each. The AWS settings are those of the rest of keytrail, through `aws-config`:
//! the standard credential chain, `--profile`, and `--endpoint-url` (moto, LocalStack) in
//! place of the service's regional endpoint.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use keytrail_source::AwsOptions;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::http::{client, send_with_retries, without_credentials};

/// Credentials that expire sooner than this are fetched anew before a request.
const EXPIRY_MARGIN: Duration = Duration::from_secs(300);

/// One AWS service in one region, as a sink calls it.
pub struct Service {
    /// The service's signing name, which is also its endpoint's first label: `sns`,
    /// `securityhub`.
    name: &'static str,
    region: String,
    /// Without a trailing `/`.
    endpoint: String,
    provider: SharedCredentialsProvider,
    /// The last credentials the provider gave, kept until they near their expiry.
    credentials: Option<Credentials>,
    client: reqwest::Client,
}

/// An answer from a service: its status and body.
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub body: String,
}

impl Answer {
    /// What a refused request's answer says: the status, and the service's error code and
    /// message, from an XML (SNS, STS) or JSON (Security Hub) error document.
    pub fn failure(&self) -> String {
        let body = &self.body;
        let json: Option<serde_json::Value> = serde_json::from_str(body).ok();
        let field = |names: &[&str]| {
            let from_json = json.as_ref().and_then(|json| names.iter().find_map(|name| json[name].as_str()));
            let from_xml = || names.iter().find_map(|name| xml_text(body, name));
            from_json.or_else(from_xml).unwrap_or("").trim().to_string()
        };
        let code = field(&["Code", "code", "__type"]);
        let message: String = field(&["Message", "message"]).chars().take(300).collect();
        match (code.is_empty(), message.is_empty()) {
            (true, true) => self.status.to_string(),
            (false, true) => format!("{} {code}", self.status),
            (true, false) => format!("{} {message}", self.status),
            (false, false) => format!("{} {code}: {message}", self.status),
        }
    }
}

/// The text of the first `<tag>` element of `xml`.
fn xml_text<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let length = xml[start..].find(&format!("</{tag}>"))?;
    Some(&xml[start..start + length])
}

impl Service {
    /// The service `name` in `region`, reached as `config` says (its credentials and any
    /// endpoint given in place of the regional one).
    pub fn new(config: &SdkConfig, name: &'static str, region: &str) -> anyhow::Result<Service> {
        let provider = config.credentials_provider().context("no AWS credentials are configured")?;
        let endpoint = match config.endpoint_url() {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => regional_endpoint(name, region),
        };
        Ok(Service { name, region: region.to_string(), endpoint, provider, credentials: None, client: client()? })
    }

    /// The service's endpoint, for messages.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// POSTs `body` (of `content_type`) to `path` of the endpoint, signed, and returns the
    /// answer, whatever its status; network errors, 429 and 5xx are retried as the HTTP sinks'
    /// requests are.
    pub async fn post(&mut self, path: &str, content_type: &str, body: String) -> anyhow::Result<Answer> {
        let url = format!("{}{path}", self.endpoint);
        let credentials = self.credentials().await?;
        let headers =
            signed_headers(&credentials, self.name, &self.region, &url, content_type, &body, SystemTime::now())?;
        let request = || self.client.post(&url).headers(headers.clone()).body(body.clone());
        let shown = format!("{} POST {}", self.name, without_credentials(&url));
        let response = send_with_retries(&shown, request).await?;
        let status = response.status();
        let body = response.text().await.with_context(|| format!("{shown}: the answer was cut off"))?;
        Ok(Answer { status, body })
    }

    /// Credentials from the provider, fetched again when those kept near their expiry.
    async fn credentials(&mut self) -> anyhow::Result<Credentials> {
        let fresh = |credentials: &Credentials| {
            credentials.expiry().is_none_or(|expiry| expiry > SystemTime::now() + EXPIRY_MARGIN)
        };
        match &self.credentials {
            Some(credentials) if fresh(credentials) => Ok(credentials.clone()),
            _ => {
                let credentials = self.provider.provide_credentials().await.map_err(|error| {
                    anyhow::anyhow!("cannot get AWS credentials: {}", aws_sdk_sts::error::DisplayErrorContext(&error))
                })?;
                self.credentials = Some(credentials.clone());
                Ok(credentials)
            }
        }
    }
}

/// The AWS settings of `options` in `region`, whatever region they name.
pub async fn config_in(options: &AwsOptions, region: &str) -> SdkConfig {
    AwsOptions { region: Some(region.to_string()), ..options.clone() }.sdk_config().await
}

/// `https://NAME.REGION.amazonaws.com` (`.com.cn` in the China regions).
pub fn regional_endpoint(name: &str, region: &str) -> String {
    let domain = if region.starts_with("cn-") { "amazonaws.com.cn" } else { "amazonaws.com" };
    format!("https://{name}.{region}.{domain}")
}

/// The headers of a POST of `body` to `url` signed at `time` for the service `name` in
/// `region`: the content type, `x-amz-date`, `authorization`, and for temporary credentials
/// `x-amz-security-token`. The last two are marked sensitive, so that no debug output shows
/// them.
pub fn signed_headers(
    credentials: &Credentials,
    name: &str,
    region: &str,
    url: &str,
    content_type: &str,
    body: &str,
    time: SystemTime,
) -> anyhow::Result<HeaderMap> {
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(name)
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .context("cannot set up request signing")?
        .into();
    let unsigned = [("content-type", content_type)];
    let request = SignableRequest::new("POST", url, unsigned.into_iter(), SignableBody::Bytes(body.as_bytes()))
        .with_context(|| format!("cannot sign a request to {url}"))?;
    let (instructions, _) =
        sign(request, &params).with_context(|| format!("cannot sign a request to {url}"))?.into_parts();
    let mut headers = HeaderMap::new();
    headers.insert(reqwest::header::CONTENT_TYPE, HeaderValue::from_str(content_type)?);
    for header in instructions.into_parts().0 {
        let mut value = HeaderValue::from_str(header.value()).context("a signing header is not valid in HTTP")?;
        // aws-sigv4 marks the session token only; the signature is kept out of debug output too.
        value.set_sensitive(header.sensitive() || header.name() == "authorization");
        headers.insert(HeaderName::from_static(header.name()), value);
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
        headers[name].to_str().unwrap()
    }

    /// The signatures botocore's `SigV4Auth` (the AWS CLI's signer) gives the same requests.
    #[test]
    fn requests_are_signed_as_botocore_signs_them() {
        let time = UNIX_EPOCH + Duration::from_secs(1_767_323_045); // 2026-01-02T03:04:05Z
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        let long_term = Credentials::new("AKIDEXAMPLE", secret, None, None, "test");
        let url = "https://securityhub.us-east-1.amazonaws.com/findings/import";
        let headers =
            signed_headers(&long_term, "securityhub", "us-east-1", url, "application/json", r#"{"Findings":[]}"#, time)
                .unwrap();
        assert_eq!(header(&headers, "content-type"), "application/json");
        assert_eq!(header(&headers, "x-amz-date"), "20260102T030405Z");
        assert_eq!(
            header(&headers, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/securityhub/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=aa36ff8babac070be3a3d5a53ad5a3b9cecfa7afebeffbb4c8f674d0c0fbf7a3"
        );
        assert!(headers["authorization"].is_sensitive());

        let session = Credentials::new("AKIDEXAMPLE", secret, Some("SESSIONTOKEN".into()), None, "test");
        let form = "application/x-www-form-urlencoded; charset=utf-8";
        let body = "Action=Publish&Version=2010-03-31";
        let headers = signed_headers(&session, "sns", "us-east-1", "http://127.0.0.1:5000/", form, body, time).unwrap();
        assert_eq!(header(&headers, "x-amz-security-token"), "SESSIONTOKEN");
        assert!(headers["x-amz-security-token"].is_sensitive());
        assert_eq!(
            header(&headers, "authorization"),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260102/us-east-1/sns/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, \
             Signature=cf05e243726fec4695566918732161424f832550d68f06d3d0b1019d8e43ba72"
        );
    }

    #[test]
    fn regional_endpoints_follow_the_partition() {
        assert_eq!(regional_endpoint("sns", "eu-west-1"), "https://sns.eu-west-1.amazonaws.com");
        assert_eq!(regional_endpoint("securityhub", "cn-north-1"), "https://securityhub.cn-north-1.amazonaws.com.cn");
    }

    #[test]
    fn failures_say_the_services_code_and_message() {
        let answer = |status: u16, body: &str| Answer {
            status: reqwest::StatusCode::from_u16(status).unwrap(),
            body: body.to_string(),
        };
        let sns = "<ErrorResponse><Error><Type>Sender</Type><Code>NotFound</Code>\
                   <Message>Topic does not exist</Message></Error></ErrorResponse>";
        assert_eq!(answer(404, sns).failure(), "404 Not Found NotFound: Topic does not exist");
        let security_hub = r#"{"Code":"InvalidAccessException","Message":"Account is not subscribed"}"#;
        assert_eq!(
            answer(401, security_hub).failure(),
            "401 Unauthorized InvalidAccessException: Account is not subscribed"
        );
        assert_eq!(answer(403, "").failure(), "403 Forbidden");
    }
}
