//! Sources: finding and fetching the objects that hold CloudTrail events.
//!
//! An input is a local file or folder, an `s3://bucket/prefix`, or `-` for stdin. Discovery
//! turns the inputs into a flat list of [`SourceObject`]s, walking folders and prefixes in the
//! layout CloudTrail writes to S3 (`AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/`),
//! skipping digest files and pruning whole days outside the requested [`TimeRange`] before any
//! object is opened. Fetching returns the object's raw bytes; decompression and parsing are the
//! decoder's job.

mod layout;
mod local;
mod s3;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

pub use layout::{TimeRange, is_digest_path};
pub use s3::S3Options;

/// One object to read: a file, an S3 object or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceObject {
    File(PathBuf),
    S3 { bucket: String, key: String, size: u64 },
    Stdin,
}

impl fmt::Display for SourceObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceObject::File(path) => write!(f, "{}", path.display()),
            SourceObject::S3 { bucket, key, .. } => write!(f, "s3://{bucket}/{key}"),
            SourceObject::Stdin => f.write_str("<stdin>"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: no such file or folder")]
    NotFound { path: String },
    #[error("standard input can be read only once ('-' given twice)")]
    StdinTwice,
    #[error("{url}: {message}")]
    S3 { url: String, message: String },
    #[error("'{input}' is not a valid s3:// address (expected s3://bucket[/prefix])")]
    BadS3Url { input: String },
}

/// Discovery settings shared by every kind of input.
#[derive(Debug, Clone, Default)]
pub struct DiscoverOptions {
    pub time_range: TimeRange,
    pub s3: S3Options,
}

/// The discovered objects, and what is needed to fetch them.
#[derive(Clone)]
pub struct Sources {
    objects: Arc<Vec<SourceObject>>,
    s3: Option<s3::S3Reader>,
    /// Files a folder walk passed over because their names are not log files (README, LICENSE…).
    pub ignored: usize,
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources").field("objects", &self.objects.len()).finish()
    }
}

impl Sources {
    /// Resolves the inputs into objects. Inputs are read in the order given; within a folder
    /// or prefix, objects are sorted by path so runs are reproducible.
    pub async fn discover(inputs: &[String], options: &DiscoverOptions) -> Result<Sources, SourceError> {
        let mut objects = Vec::new();
        let mut ignored = 0;
        let mut s3_reader = None;
        let mut stdin_seen = false;
        for input in inputs {
            if input == "-" {
                if stdin_seen {
                    return Err(SourceError::StdinTwice);
                }
                stdin_seen = true;
                objects.push(SourceObject::Stdin);
            } else if let Some(rest) = input.strip_prefix("s3://") {
                let (bucket, prefix) =
                    s3::parse_url(rest).ok_or_else(|| SourceError::BadS3Url { input: input.clone() })?;
                if s3_reader.is_none() {
                    s3_reader = Some(s3::S3Reader::new(&options.s3).await);
                }
                let reader = s3_reader.as_ref().expect("set above");
                objects.extend(reader.list(bucket, prefix, &options.time_range).await?);
            } else {
                let walk = local::discover(PathBuf::from(input), &options.time_range)?;
                ignored += walk.ignored;
                objects.extend(walk.files.into_iter().map(SourceObject::File));
            }
        }
        Ok(Sources { objects: Arc::new(objects), s3: s3_reader, ignored })
    }

    /// Sources made of a known list of objects (tests, and callers that did their own discovery).
    pub fn from_objects(objects: Vec<SourceObject>) -> Sources {
        Sources { objects: Arc::new(objects), s3: None, ignored: 0 }
    }

    pub fn objects(&self) -> &[SourceObject] {
        &self.objects
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The object's raw bytes, as stored (possibly compressed).
    pub async fn fetch(&self, index: usize) -> Result<Vec<u8>, SourceError> {
        let object = &self.objects[index];
        match object {
            SourceObject::File(path) => {
                let path = path.clone();
                tokio::fs::read(&path)
                    .await
                    .map_err(|source| SourceError::Io { path: path.display().to_string(), source })
            }
            SourceObject::Stdin => {
                use tokio::io::AsyncReadExt;
                let mut bytes = Vec::new();
                tokio::io::stdin()
                    .read_to_end(&mut bytes)
                    .await
                    .map_err(|source| SourceError::Io { path: "<stdin>".into(), source })?;
                Ok(bytes)
            }
            SourceObject::S3 { bucket, key, .. } => {
                let reader = self.s3.as_ref().expect("S3 objects are only discovered with a reader");
                reader.get(bucket, key).await
            }
        }
    }
}
