//! Where CloudTrail puts things in its S3 bucket, and the hourly digest
//! files it writes next to the logs.

use crate::estate::Account;
use crate::ids;
use crate::time;
use rand::rngs::SmallRng;
use serde_json::{Value, json};

/// The key of a log file delivered at `delivered`: CloudTrail names the file, and its day
/// folder, by its delivery time, after every event it holds.
pub(crate) fn log_key(account: &str, region: &str, delivered: i64, suffix: &str) -> String {
    format!(
        "AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{suffix}.json.gz",
        time::date_path(delivered),
        time::file_stamp(delivered),
    )
}

/// The key of the digest file for the hour ending at `end`.
pub(crate) fn digest_key(account: &str, region: &str, trail: &str, end: i64) -> String {
    format!(
        "AWSLogs/{account}/CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{trail}_{region}_{}.json.gz",
        time::date_path(end),
        time::digest_stamp(end),
    )
}

/// A delivered log file, as its digest lists it.
pub(crate) struct LogFile {
    pub key: String,
    pub oldest: i64,
    pub newest: i64,
}

/// The digest of the hour `[end - 1h, end)`. Hashes and signatures are
/// random hex of the right length: the files are for readers, which must
/// skip digests, not for validating the chain.
pub(crate) fn digest(rng: &mut SmallRng, account: &Account, region: &str, end: i64, files: &[LogFile]) -> Value {
    let start = end - time::HOUR;
    let previous = digest_key(&account.id, region, &account.trail, start);
    let log_files: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({
                "s3Bucket": account.trail_bucket,
                "s3Object": f.key,
                "hashValue": ids::hex(rng, 64),
                "hashAlgorithm": "SHA-256",
                "newestEventTime": time::iso(f.newest),
                "oldestEventTime": time::iso(f.oldest),
            })
        })
        .collect();
    json!({
        "awsAccountId": account.id,
        "digestStartTime": time::iso(start),
        "digestEndTime": time::iso(end),
        "digestS3Bucket": account.trail_bucket,
        "digestS3Object": digest_key(&account.id, region, &account.trail, end),
        "digestPublicKeyFingerprint": account.digest_fingerprint,
        "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": files.last().map(|f| time::iso(f.newest)),
        "oldestEventTime": files.first().map(|f| time::iso(f.oldest)),
        "previousDigestS3Bucket": account.trail_bucket,
        "previousDigestS3Object": previous,
        "previousDigestHashValue": ids::hex(rng, 64),
        "previousDigestHashAlgorithm": "SHA-256",
        "previousDigestSignature": ids::hex(rng, 512),
        "logFiles": log_files,
    })
}
