//! The audit log: one JSON line per change a run made or found already made, written as it
//! happens (a run cut short still leaves its log), with the state before each change so
//! `--undo` can put it back.

use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use keytrail_investigate::Time;
use serde::{Deserialize, Serialize};

use crate::plan::{Action, KeyStatus, Mode};

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub time: Time,
    pub mode: Mode,
    /// The plan's step.
    pub step: u8,
    /// The API call, as its IAM permission names it: `iam:UpdateAccessKey`.
    pub call: String,
    pub target: String,
    /// The account the call was made in.
    pub account: String,
    pub result: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The change asked for.
    pub change: Action,
    /// What was there before, to undo it.
    pub before: Before,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The change was made.
    Applied,
    /// It was in place already: nothing was called.
    Unchanged,
    /// Not for this account's credentials.
    Skipped,
    Failed,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Applied => "applied",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::Failed => "failed",
        })
    }
}

/// The state a change found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Before {
    KeyStatus {
        status: KeyStatus,
    },
    /// The inline policy of that name, None when there was none.
    Policy {
        document: Option<String>,
    },
    /// Not read (skipped, or reading failed).
    Unknown,
}

/// An audit log being written.
pub struct AuditLog {
    file: File,
    path: PathBuf,
}

impl AuditLog {
    pub fn create(path: &Path) -> std::io::Result<AuditLog> {
        Ok(AuditLog { file: File::create_new(path)?, path: path.to_path_buf() })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&mut self, record: &Record) -> std::io::Result<()> {
        let line = serde_json::to_string(record).map_err(std::io::Error::other)?;
        writeln!(self.file, "{line}")?;
        self.file.flush()
    }
}

/// The default log of a run taking the plan's steps: `keytrail-contain-<key>-<apply|release>-<UTC time>.jsonl`
/// in the current folder.
pub fn default_path(access_key_id: &str, mode: Mode, now: DateTime<Utc>) -> PathBuf {
    let mode = match mode {
        Mode::Contain => "apply",
        Mode::Release => "release",
        Mode::Undo => "undo",
    };
    PathBuf::from(format!("keytrail-contain-{access_key_id}-{mode}-{}.jsonl", stamp(now)))
}

/// The default log of undoing `log`: next to it, `<its name>-undo-<UTC time>.jsonl`.
pub fn undo_path(log: &Path, now: DateTime<Utc>) -> PathBuf {
    let stem = log.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    log.with_file_name(format!("{stem}-undo-{}.jsonl", stamp(now)))
}

/// To the millisecond: two runs in one second get two logs.
fn stamp(now: DateTime<Utc>) -> String {
    now.format("%Y%m%dT%H%M%S%.3fZ").to_string()
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("cannot read the audit log {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}:{line}: not a keytrail contain audit record: {source}")]
    Record { path: String, line: usize, source: serde_json::Error },
}

/// Every record of a log, in the order written.
pub fn read(path: &Path) -> Result<Vec<Record>, ReadError> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|source| ReadError::Io { path: shown.clone(), source })?;
    let mut records = Vec::new();
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| ReadError::Io { path: shown.clone(), source })?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|source| ReadError::Record {
            path: shown.clone(),
            line: index + 1,
            source,
        })?;
        records.push(record);
    }
    Ok(records)
}
