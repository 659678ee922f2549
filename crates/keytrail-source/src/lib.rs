//! Sources: finding and fetching the objects that hold CloudTrail events.
//!
//! An input is a local file or folder, an `s3://bucket/prefix`, or `-` for stdin. The inputs
//! yield a sequence of [`SourceObject`]s, walking folders and prefixes in the layout CloudTrail
//! writes to S3 (`AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/`), skipping digest
//! files and pruning whole days outside the requested [`TimeRange`] before any object is
//! opened. Folders and S3 prefixes are walked while their objects are read (S3 folders listed
//! ahead, in parallel), so memory does not grow with the number of objects and reading starts
//! at once. Fetching returns the object's raw bytes, or for stdin a reader, as a pipe may
//! carry more than memory holds; decompression and parsing are the decoder's job.

mod layout;
mod local;
mod s3;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

pub use layout::{TimeRange, delivery_time_in_name, is_digest_path};
pub use s3::AwsOptions;

/// One object to read: a file, an S3 object or standard input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceObject {
    File(PathBuf),
    /// `last_modified`: when S3 stored it (epoch milliseconds), if the listing said.
    S3 {
        bucket: String,
        key: String,
        size: u64,
        last_modified: Option<i64>,
    },
    Stdin,
}

/// How long after the minute its name gives CloudTrail's write of a log file may end: a later
/// S3 `LastModified` belongs to a copy (an exported or restored bucket), not to the delivery.
const DELIVERY_WRITE_SPAN_MS: i64 = 2 * 60_000;

impl SourceObject {
    /// When CloudTrail delivered the object (epoch milliseconds): the time in a log file's name,
    /// or an S3 object's `LastModified` when it is that same delivery, to the second. `None`
    /// for anything not named like a CloudTrail log file (NDJSON exports, stdin).
    pub fn delivered_at(&self) -> Option<i64> {
        let name = match self {
            SourceObject::File(path) => path.file_name()?.to_str()?,
            SourceObject::S3 { key, .. } => key.rsplit('/').next().unwrap_or(key),
            SourceObject::Stdin => return None,
        };
        let named = delivery_time_in_name(name)?.timestamp_millis();
        match self {
            SourceObject::S3 { last_modified: Some(written), .. }
                if (named..named + DELIVERY_WRITE_SPAN_MS).contains(written) =>
            {
                Some(*written)
            }
            _ => Some(named),
        }
    }
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

/// An object's content, as fetched.
pub enum Body {
    /// The bytes as stored (possibly compressed).
    Bytes(Vec<u8>),
    /// Standard input, to be read as it arrives.
    Stream(Box<dyn std::io::Read + Send>),
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Body::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// A folder (local, or an S3 prefix) met during a walk that could not be listed; the walk
/// goes on after it.
#[derive(Debug, thiserror::Error)]
#[error("{folder}: cannot list this folder: {reason}")]
pub struct Unlisted {
    pub folder: String,
    pub reason: String,
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
    pub aws: AwsOptions,
}

/// One input, resolved as far as can be done without reading it all.
#[derive(Debug)]
enum Input {
    File(PathBuf),
    /// Walked as it is read ([`Sources::objects`]).
    Folder(PathBuf),
    /// An S3 prefix, walked as it is read; `root` is its first level, listed when discovered.
    S3 {
        bucket: String,
        root: s3::Level,
    },
    /// Objects named one by one.
    Listed(Vec<SourceObject>),
    Stdin,
}

/// The inputs, and what is needed to fetch their objects.
#[derive(Clone)]
pub struct Sources {
    inputs: Arc<Vec<Input>>,
    time_range: TimeRange,
    /// Made by discovery for an s3:// input, or by a worker when it is first sent an S3 object.
    s3: Arc<tokio::sync::OnceCell<s3::S3Reader>>,
    /// How S3 was reached, so that a worker of a distributed read reaches it the same way.
    aws: AwsOptions,
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources").field("inputs", &self.inputs.len()).finish()
    }
}

impl Sources {
    /// Resolves the inputs: files and folders must exist, and the first level of each S3 prefix
    /// is listed (so that a wrong bucket or missing credentials fail here). Inputs are read in
    /// the order given; within a folder or prefix, objects come in path order so runs are
    /// reproducible.
    pub async fn discover(inputs: &[String], options: &DiscoverOptions) -> Result<Sources, SourceError> {
        let mut resolved = Vec::new();
        let mut s3_reader = None;
        let mut stdin_seen = false;
        for input in inputs {
            if input == "-" {
                if stdin_seen {
                    return Err(SourceError::StdinTwice);
                }
                stdin_seen = true;
                resolved.push(Input::Stdin);
            } else if let Some(rest) = input.strip_prefix("s3://") {
                let (bucket, prefix) =
                    s3::parse_url(rest).ok_or_else(|| SourceError::BadS3Url { input: input.clone() })?;
                if s3_reader.is_none() {
                    s3_reader = Some(s3::S3Reader::new(&options.aws).await);
                }
                let reader = s3_reader.as_ref().expect("set above");
                let root = reader.list_level(bucket, prefix).await?;
                resolved.push(Input::S3 { bucket: bucket.to_string(), root });
            } else {
                let path = PathBuf::from(input);
                resolved.push(if local::is_folder(&path)? { Input::Folder(path) } else { Input::File(path) });
            }
        }
        Ok(Sources {
            inputs: Arc::new(resolved),
            time_range: options.time_range,
            s3: Arc::new(tokio::sync::OnceCell::new_with(s3_reader)),
            aws: options.aws.clone(),
        })
    }

    /// Sources made of a known list of objects (tests, and callers that did their own discovery).
    pub fn from_objects(objects: Vec<SourceObject>) -> Sources {
        Sources {
            inputs: Arc::new(vec![Input::Listed(objects)]),
            time_range: TimeRange::default(),
            s3: Arc::default(),
            aws: AwsOptions::default(),
        }
    }

    /// No inputs, only the means to fetch objects another process found (local files, or S3
    /// objects reached through `aws`, with this process's credentials): what a worker of a
    /// distributed read needs.
    pub fn for_worker(aws: AwsOptions) -> Sources {
        Sources { inputs: Arc::new(Vec::new()), time_range: TimeRange::default(), s3: Arc::default(), aws }
    }

    /// How these sources reach AWS.
    pub fn aws(&self) -> &AwsOptions {
        &self.aws
    }

    /// Whether standard input is among the inputs.
    pub fn reads_stdin(&self) -> bool {
        self.inputs.iter().any(|input| matches!(input, Input::Stdin))
    }

    /// These objects of the same sources (which can still fetch them from S3), in this order.
    pub fn with_objects(&self, objects: Vec<SourceObject>) -> Sources {
        Sources { inputs: Arc::new(vec![Input::Listed(objects)]), ..self.clone() }
    }

    /// The same sources, walked for the events of `range` only (within the range they were
    /// discovered for).
    pub fn within(&self, range: TimeRange) -> Sources {
        Sources { time_range: self.time_range.intersect(range), ..self.clone() }
    }

    /// The objects, one after the other, folders and prefixes walked as the walk advances. Each
    /// call starts again from the first input.
    pub fn objects(&self) -> Objects {
        Objects {
            inputs: self.inputs.clone(),
            s3: self.s3.get().cloned(),
            time_range: self.time_range,
            next_input: 0,
            current: Current::None,
            ignored: 0,
        }
    }

    /// Whether every object is a local file (no S3 object, no stdin).
    pub fn all_local(&self) -> bool {
        self.inputs.iter().all(|input| match input {
            Input::File(_) | Input::Folder(_) => true,
            Input::Listed(objects) => objects.iter().all(|o| matches!(o, SourceObject::File(_))),
            Input::S3 { .. } | Input::Stdin => false,
        })
    }

    /// Whether any object is in S3.
    pub fn any_remote(&self) -> bool {
        self.inputs.iter().any(|input| match input {
            Input::S3 { .. } => true,
            Input::Listed(objects) => objects.iter().any(|o| matches!(o, SourceObject::S3 { .. })),
            Input::File(_) | Input::Folder(_) | Input::Stdin => false,
        })
    }

    /// The object's content: a file's or S3 object's raw bytes as stored (possibly
    /// compressed), or a reader of standard input.
    pub async fn fetch(&self, object: &SourceObject) -> Result<Body, SourceError> {
        match object {
            SourceObject::File(path) => {
                let path = path.clone();
                let bytes = tokio::fs::read(&path)
                    .await
                    .map_err(|source| SourceError::Io { path: path.display().to_string(), source })?;
                Ok(Body::Bytes(bytes))
            }
            SourceObject::Stdin => Ok(Body::Stream(Box::new(std::io::stdin()))),
            SourceObject::S3 { bucket, key, .. } => {
                let reader = self.s3.get_or_init(|| s3::S3Reader::new(&self.aws)).await;
                reader.get(bucket, key).await.map(Body::Bytes)
            }
        }
    }
}

/// The objects of [`Sources`], in order; see [`Sources::objects`].
pub struct Objects {
    inputs: Arc<Vec<Input>>,
    s3: Option<s3::S3Reader>,
    time_range: TimeRange,
    next_input: usize,
    current: Current,
    /// Files a folder walk passed over so far because their names are not log files
    /// (README, LICENSE…).
    pub ignored: usize,
}

enum Current {
    None,
    Folder(local::FolderWalk),
    S3(s3::S3Walk),
    Listed { input: usize, next: usize },
}

impl Objects {
    /// The next object, or a folder that could not be listed (the walk goes on after it).
    pub async fn next(&mut self) -> Option<Result<SourceObject, Unlisted>> {
        loop {
            match &mut self.current {
                Current::Folder(walk) => {
                    let next = walk.next();
                    self.ignored += std::mem::take(&mut walk.ignored);
                    match next {
                        Some(item) => return Some(item.map(SourceObject::File)),
                        None => self.current = Current::None,
                    }
                }
                Current::S3(walk) => match walk.next().await {
                    Some(item) => return Some(item),
                    None => self.current = Current::None,
                },
                Current::Listed { input, next } => {
                    let Input::Listed(objects) = &self.inputs[*input] else { unreachable!("set from a listed input") };
                    match objects.get(*next) {
                        Some(object) => {
                            *next += 1;
                            return Some(Ok(object.clone()));
                        }
                        None => self.current = Current::None,
                    }
                }
                Current::None => {
                    let index = self.next_input;
                    self.next_input += 1;
                    match self.inputs.get(index)? {
                        Input::File(path) => return Some(Ok(SourceObject::File(path.clone()))),
                        Input::Stdin => return Some(Ok(SourceObject::Stdin)),
                        Input::Folder(root) => {
                            self.current = Current::Folder(local::FolderWalk::new(root.clone(), self.time_range))
                        }
                        Input::S3 { bucket, root } => {
                            let reader = self.s3.clone().expect("S3 inputs are only discovered with a reader");
                            self.current = Current::S3(s3::S3Walk::new(reader, bucket, root, self.time_range))
                        }
                        Input::Listed(_) => self.current = Current::Listed { input: index, next: 0 },
                    }
                }
            }
        }
    }

    /// Every object left, walked to the end: for callers that need the whole list (an ingest
    /// compares it with what its lake holds).
    pub async fn all(mut self) -> Vec<Result<SourceObject, Unlisted>> {
        let mut all = Vec::new();
        while let Some(next) = self.next().await {
            all.push(next);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "111122223333_CloudTrail_us-east-1_20240501T1040Z_LateDelivery0001.json.gz";
    const NAMED_MS: i64 = 1_714_560_000_000;

    fn s3(key: &str, last_modified: Option<i64>) -> SourceObject {
        SourceObject::S3 { bucket: "b".into(), key: key.into(), size: 1, last_modified }
    }

    #[test]
    fn objects_are_delivered_when_their_names_say_to_the_second_s3_knows() {
        let key = format!("AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01/{NAME}");
        assert_eq!(SourceObject::File(PathBuf::from(format!("logs/{NAME}"))).delivered_at(), Some(NAMED_MS));
        assert_eq!(s3(&key, None).delivered_at(), Some(NAMED_MS));
        assert_eq!(s3(&key, Some(NAMED_MS + 17_000)).delivered_at(), Some(NAMED_MS + 17_000));
        // A copy made later (an exported bucket, a test upload) says nothing of the delivery.
        assert_eq!(s3(&key, Some(NAMED_MS + 86_400_000)).delivered_at(), Some(NAMED_MS));
        assert_eq!(s3(&key, Some(NAMED_MS - 1)).delivered_at(), Some(NAMED_MS));
        // Anything else falls back to the event times.
        assert_eq!(s3("exports/events.ndjson", Some(NAMED_MS)).delivered_at(), None);
        assert_eq!(SourceObject::File(PathBuf::from("events.ndjson")).delivered_at(), None);
        assert_eq!(SourceObject::Stdin.delivered_at(), None);
    }
}
