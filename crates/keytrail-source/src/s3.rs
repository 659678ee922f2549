//! `s3://bucket/prefix` inputs, through the AWS SDK and its standard credential chain.

use std::collections::VecDeque;

use aws_sdk_s3::Client;
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::layout::{TimeRange, is_digest_path, is_log_file_name};
use crate::{SourceError, SourceObject};

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

/// How many list or get requests run at once.
const CONCURRENT_REQUESTS: usize = 32;

/// An object as a listing shows it.
struct Listed {
    key: String,
    size: u64,
    last_modified: Option<i64>,
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

    /// Walks the prefix one level at a time (delimiter `/`), so date folders outside the range
    /// are never listed and sibling folders are listed in parallel.
    pub(crate) async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        range: &TimeRange,
    ) -> Result<Vec<SourceObject>, SourceError> {
        let mut objects = Vec::new();
        let mut pending: VecDeque<String> = VecDeque::from([prefix.to_string()]);
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < CONCURRENT_REQUESTS
                && let Some(prefix) = pending.pop_front()
            {
                running.push(self.list_level(bucket, prefix));
            }
            let Some(level) = running.next().await else { break };
            let (folders, files) = level?;
            pending.extend(folders.into_iter().filter(|f| !is_digest_path(f) && range.may_contain(f)));
            objects.extend(
                files
                    .into_iter()
                    .filter(|listed| {
                        let key = &listed.key;
                        let name = key.rsplit('/').next().unwrap_or(key);
                        !is_digest_path(key) && is_log_file_name(name) && range.may_contain(key)
                    })
                    .map(|Listed { key, size, last_modified }| SourceObject::S3 {
                        bucket: bucket.to_string(),
                        key,
                        size,
                        last_modified,
                    }),
            );
        }
        objects.sort_by_cached_key(|object| object.to_string());
        Ok(objects)
    }

    /// One level under `prefix`: its sub-folders and the objects directly in it.
    async fn list_level(&self, bucket: &str, prefix: String) -> Result<(Vec<String>, Vec<Listed>), SourceError> {
        let mut pages =
            self.client.list_objects_v2().bucket(bucket).prefix(&prefix).delimiter("/").into_paginator().send();
        let (mut folders, mut files) = (Vec::new(), Vec::new());
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| SourceError::S3 {
                url: format!("s3://{bucket}/{prefix}"),
                message: format!("listing failed: {}", aws_sdk_s3::error::DisplayErrorContext(&e)),
            })?;
            folders.extend(page.common_prefixes().iter().filter_map(|p| p.prefix().map(str::to_string)));
            files.extend(page.contents().iter().filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    last_modified: o.last_modified().and_then(|t| t.to_millis().ok()),
                })
            }));
        }
        Ok((folders, files))
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
