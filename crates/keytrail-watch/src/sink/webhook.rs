//! An HTTP POST of each alert's JSON document to a URL, as chat tools, SOAR platforms and
//! serverless functions take them. Each request carries the alert's id as `Idempotency-Key`
//! and, given a secret (`KEYTRAIL_WEBHOOK_SECRET`), `X-Keytrail-Signature: sha256=HEX`: the
//! HMAC-SHA256 of the body under that secret, by which the receiver knows the sender.

use anyhow::Context;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::http::{client, send_with_retries, without_credentials};
use super::{Outgoing, Position, Sink};

pub struct Webhook {
    url: String,
    client: reqwest::Client,
    secret: Option<Vec<u8>>,
}

impl Webhook {
    pub fn new(url: &str, secret: Option<Vec<u8>>) -> anyhow::Result<Webhook> {
        Ok(Webhook { url: url.to_string(), client: client()?, secret })
    }
}

/// `sha256=` and the hex HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|byte| format!("{byte:02x}")).collect();
    format!("sha256={hex}")
}

#[async_trait::async_trait]
impl Sink for Webhook {
    async fn deliver(&mut self, alerts: &[Outgoing<'_>]) -> anyhow::Result<Option<Position>> {
        let shown = without_credentials(&self.url);
        for alert in alerts {
            let request = || {
                let mut request = self
                    .client
                    .post(&self.url)
                    .header("content-type", "application/json")
                    .header("idempotency-key", alert.id)
                    .body(alert.document.to_string());
                if let Some(secret) = &self.secret {
                    request = request.header("x-keytrail-signature", signature(secret, alert.document.as_bytes()));
                }
                request
            };
            let response = send_with_retries(&format!("POST {shown}"), request).await?;
            let status = response.status();
            if !status.is_success() {
                return Err(anyhow::anyhow!("POST {shown}: {status}")).context(format!("alert {}", alert.id));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
