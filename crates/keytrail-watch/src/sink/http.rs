//! What the HTTP sinks share: one client, retries with backoff, and URLs kept free of
//! credentials wherever they are shown.

use std::time::Duration;

use anyhow::Context;
use reqwest::{RequestBuilder, Response, StatusCode};

/// Attempts of one request before the delivery fails (its alerts stay in the outbox).
const ATTEMPTS: u32 = 4;
/// The wait before the first retry; it doubles with each.
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

pub fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("keytrail/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("cannot set up the HTTP client")
}

/// Sends the request `make` builds, again after a backoff while the answer is a network
/// error, 429 or a 5xx; any other answer is returned. `what` names the request in errors.
pub async fn send_with_retries(what: &str, make: impl Fn() -> RequestBuilder) -> anyhow::Result<Response> {
    let mut backoff = FIRST_BACKOFF;
    let mut attempt = 1;
    loop {
        let outcome = make().send().await;
        let retry = match &outcome {
            Ok(response) => response.status() == StatusCode::TOO_MANY_REQUESTS || response.status().is_server_error(),
            Err(_) => true,
        };
        if !retry || attempt == ATTEMPTS {
            return match outcome {
                Ok(response) => Ok(response),
                // reqwest's message names the URL: without its credentials.
                Err(error) => Err(anyhow::anyhow!("{what}: {}", without_credentials(&error.to_string()))),
            };
        }
        tokio::time::sleep(backoff).await;
        backoff *= 2;
        attempt += 1;
    }
}

/// `text` with the user and password of any URL in it (`https://user:pass@host`) left out.
pub fn without_credentials(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(scheme_end) = rest.find("://") {
        let (head, tail) = rest.split_at(scheme_end + 3);
        out.push_str(head);
        let authority_end = tail.find(['/', ' ', '"', ')']).unwrap_or(tail.len());
        match tail[..authority_end].rfind('@') {
            Some(at) => rest = &tail[at + 1..],
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_password_are_left_out() {
        assert_eq!(without_credentials("https://elastic:s3cret@es:9200/i"), "https://es:9200/i");
        assert_eq!(without_credentials("error sending to http://u:p@h/x (x)"), "error sending to http://h/x (x)");
        assert_eq!(without_credentials("http://h:80/a@b"), "http://h:80/a@b");
        assert_eq!(without_credentials("no url"), "no url");
    }
}
