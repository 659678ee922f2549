//! `s3://bucket/prefix` inputs, through the AWS SDK and its standard credential chain.

use std::sync::Arc;

use aws_sdk_s3::Client;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

use crate::layout::{TimeRange, is_digest_path, is_log_file_name};
use crate::{SourceError, SourceObject, Unlisted};

/// How to reach AWS (S3 here; IAM and STS for containment); every field unset means the SDK's
/// defaults (environment, shared config).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// An AWS-compatible endpoint (MinIO, moto, LocalStack); for S3 it implies path-style
    /// addressing.
    pub endpoint_url: Option<String>,
}

impl AwsOptions {
    /// The SDK's shared configuration: the standard credential chain, with these overrides.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(endpoint) = &self.endpoint_url {
            loader = loader.endpoint_url(endpoint);
        }
        loader.load().await
    }
}

/// How many list requests of one walk run at once.
const CONCURRENT_LISTINGS: usize = 32;

/// An object as a listing shows it.
#[derive(Debug, Clone)]
struct Listed {
    key: String,
    size: u64,
    last_modified: Option<i64>,
}

/// One level of a prefix: the sub-folders and the objects directly in it, each in key order
/// (as S3 lists them).
#[derive(Debug, Clone, Default)]
pub(crate) struct Level {
    folders: Vec<String>,
    files: Vec<Listed>,
}

#[derive(Clone)]
pub(crate) struct S3Reader {
    client: Client,
}

pub(crate) fn parse_url(rest: &str) -> Option<(&str, &str)> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then_some((bucket, prefix))
}

impl S3Reader {
    pub(crate) async fn new(options: &AwsOptions) -> S3Reader {
        let shared = options.sdk_config().await;
        let config =
            aws_sdk_s3::config::Builder::from(&shared).force_path_style(options.endpoint_url.is_some()).build();
        S3Reader { client: Client::from_conf(config) }
    }

    /// One level under `prefix` (delimiter `/`), every page of it.
    pub(crate) async fn list_level(&self, bucket: &str, prefix: &str) -> Result<Level, SourceError> {
        let mut pages =
            self.client.list_objects_v2().bucket(bucket).prefix(prefix).delimiter("/").into_paginator().send();
        let mut level = Level::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| SourceError::S3 {
                url: format!("s3://{bucket}/{prefix}"),
                message: format!("listing failed: {}", aws_sdk_s3::error::DisplayErrorContext(&e)),
            })?;
            level.folders.extend(page.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_string)));
            level.files.extend(page.contents().iter().filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    last_modified: o.last_modified().and_then(|t| t.to_millis().ok()),
                })
            }));
        }
        Ok(level)
    }

    pub(crate) async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, SourceError> {
        let fail = |message: String| SourceError::S3 { url: format!("s3://{bucket}/{key}"), message };
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| fail(format!("fetch failed: {}", aws_sdk_s3::error::DisplayErrorContext(&e))))?;
        let body = object.body.collect().await.map_err(|e| fail(format!("reading the body failed: {e}")))?;
        Ok(body.into_bytes().to_vec())
    }
}

/// A walk of one prefix in key order, yielding objects while the folders after them are still
/// being listed: a bucket of years of logs is never listed whole before the first read, nor
/// held. Sibling folders are listed ahead, in parallel, as soon as their parent's listing is
/// read; memory holds the listings along the current path and of the siblings ahead of it.
pub(crate) struct S3Walk {
    reader: S3Reader,
    bucket: Arc<str>,
    range: TimeRange,
    /// What is still to visit, the next last: objects, and folders whose listing is under way.
    ahead: Vec<Ahead>,
    listings: Arc<Semaphore>,
}

enum Ahead {
    Object(Listed),
    Folder { prefix: String, listing: JoinHandle<Result<Level, SourceError>> },
}

impl S3Walk {
    /// The walk from `root`, the listing of the prefix (made when the input was discovered, so
    /// that a wrong bucket or missing credentials fail at once).
    pub(crate) fn new(reader: S3Reader, bucket: &str, root: &Level, range: TimeRange) -> S3Walk {
        let listings = Arc::new(Semaphore::new(CONCURRENT_LISTINGS));
        let mut walk = S3Walk { reader, bucket: bucket.into(), range, ahead: Vec::new(), listings };
        walk.enter(root.clone());
        walk
    }

    /// Puts the level's objects and folders ahead, in key order, and starts listing the folders.
    /// A folder's keys all sort after the objects that sort before the folder's prefix, so
    /// visiting each folder where its prefix sorts gives the keys of the whole walk in order.
    fn enter(&mut self, level: Level) {
        let range = self.range;
        let files = level.files.into_iter().filter(|listed| {
            let key = &listed.key;
            let name = key.rsplit('/').next().unwrap_or(key);
            !is_digest_path(key) && is_log_file_name(name) && range.may_contain(key)
        });
        let folders = level.folders.into_iter().filter(|f| !is_digest_path(f) && range.may_contain(f));
        let mut entries: Vec<Entry> = files.map(Entry::Object).chain(folders.map(Entry::Folder)).collect();
        entries.sort_unstable_by(|a, b| a.key().cmp(b.key()));
        // Listings start in walk order, so the semaphore (first come, first served) runs the
        // nearest first.
        let ahead: Vec<Ahead> = entries
            .into_iter()
            .map(|entry| match entry {
                Entry::Object(listed) => Ahead::Object(listed),
                Entry::Folder(prefix) => Ahead::Folder { listing: self.list(prefix.clone()), prefix },
            })
            .collect();
        self.ahead.extend(ahead.into_iter().rev());
    }

    fn list(&self, prefix: String) -> JoinHandle<Result<Level, SourceError>> {
        let (reader, bucket, listings) = (self.reader.clone(), self.bucket.clone(), self.listings.clone());
        tokio::spawn(async move {
            let _permit = listings.acquire_owned().await.expect("the semaphore is never closed");
            reader.list_level(&bucket, &prefix).await
        })
    }

    /// The next object, or a folder whose listing failed (the walk goes on after it).
    pub(crate) async fn next(&mut self) -> Option<Result<SourceObject, Unlisted>> {
        loop {
            match self.ahead.pop()? {
                Ahead::Object(Listed { key, size, last_modified }) => {
                    return Some(Ok(SourceObject::S3 { bucket: self.bucket.to_string(), key, size, last_modified }));
                }
                Ahead::Folder { prefix, listing } => {
                    let unlisted =
                        |reason: String| Unlisted { folder: format!("s3://{}/{prefix}", self.bucket), reason };
                    match listing.await {
                        Ok(Ok(level)) => self.enter(level),
                        Ok(Err(SourceError::S3 { message, .. })) => return Some(Err(unlisted(message))),
                        Ok(Err(error)) => return Some(Err(unlisted(error.to_string()))),
                        Err(failed) => return Some(Err(unlisted(format!("the listing stopped: {failed}")))),
                    }
                }
            }
        }
    }
}

impl Drop for S3Walk {
    /// A walk left early (a LIMIT, a failed query) stops the listings it started.
    fn drop(&mut self) {
        for ahead in &self.ahead {
            if let Ahead::Folder { listing, .. } = ahead {
                listing.abort();
            }
        }
    }
}

/// An entry of a level, kept if the walk's range may hold it.
enum Entry {
    Object(Listed),
    Folder(String),
}

impl Entry {
    /// Where the entry sorts: an object by its key, a folder by its prefix.
    fn key(&self) -> &str {
        match self {
            Entry::Object(listed) => &listed.key,
            Entry::Folder(prefix) => prefix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_url;

    #[test]
    fn s3_urls_split_into_bucket_and_prefix() {
        assert_eq!(parse_url("bucket/AWSLogs/1/"), Some(("bucket", "AWSLogs/1/")));
        assert_eq!(parse_url("bucket"), Some(("bucket", "")));
        assert_eq!(parse_url("/x"), None);
    }
}
