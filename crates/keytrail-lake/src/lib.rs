//! The Parquet lake: CloudTrail events read, normalized and enriched once, then queried,
//! hunted and investigated again and again without reading the raw logs.
//!
//! ```text
//!  LAKE/
//!    _keytrail/lake.json               what this folder is, and the columns its files hold
//!    _keytrail/commits/RUN.json        one ingest: the objects it read, the files it wrote
//!    _keytrail/staging/RUN/…           files of an ingest not yet moved into events/
//!    events/date=YYYY-MM-DD/account=ACCOUNT/part-….parquet
//! ```
//!
//! The files hold the `cloudtrail` table's fixed columns, enrichment included, sorted by
//! `@timestamp`; the paths inside the flattened objects are read from their JSON text when a
//! query names them, as on raw logs. Readers prune by the date folders and by the files' row
//! group statistics ([`LakeTable`]).
//!
//! An ingest is incremental and safe to stop at any moment: its files are written under
//! `staging/`, then its commit record (which names the objects it read, by key, size and
//! modification time) is written whole under a temporary name and renamed, and only then
//! are the files moved into `events/`. The commit is the point of no return: a later ingest
//! finishes the moves of a committed run and deletes the files of an uncommitted one, so an
//! object is never counted in without its events, nor its events kept twice.

mod commits;
mod ingest;
mod table;
mod writer;

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

pub use commits::{Commit, ObjectRecord};
pub use ingest::{NewObjects, identify};
pub use table::{LakeTable, functions, session, session_config};
pub use writer::{PartitionWriters, Partitioning, row_group_budget};

/// The lake's description, `_keytrail/lake.json`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct Marker {
    /// The layout's version.
    keytrail_lake: u32,
    /// The columns of the files, in order: a keytrail with other columns refuses the lake
    /// rather than misreading it.
    columns: Vec<String>,
}

const LAYOUT_VERSION: u32 = 1;

fn current_marker() -> Marker {
    Marker {
        keytrail_lake: LAYOUT_VERSION,
        columns: keytrail_ecs::SCHEMA.fields().iter().map(|f| f.name().clone()).collect(),
    }
}

/// A lake folder.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
}

impl Lake {
    /// Whether `path` is a lake's folder (it holds `_keytrail/lake.json`).
    pub fn is_lake(path: &Path) -> bool {
        marker_path(path).is_file()
    }

    /// The lake at `root`, which must be one written by a keytrail with the same columns.
    pub fn open(root: &Path) -> anyhow::Result<Lake> {
        let path = marker_path(root);
        let text =
            std::fs::read_to_string(&path).with_context(|| format!("{} is not a keytrail lake", root.display()))?;
        let marker: Marker =
            serde_json::from_str(&text).with_context(|| format!("{}: not a lake description", path.display()))?;
        if marker != current_marker() {
            anyhow::bail!(
                "{}: the lake was written by a keytrail whose table has other columns (layout {}, {} columns); ingest the logs again into a new lake",
                root.display(),
                marker.keytrail_lake,
                marker.columns.len()
            );
        }
        Ok(Lake { root: root.to_path_buf() })
    }

    /// The lake at `root`, made if the folder does not exist or is empty. An ingest's
    /// unfinished work is finished or undone first (see the crate's documentation).
    pub fn create(root: &Path) -> anyhow::Result<Lake> {
        if !Lake::is_lake(root) {
            let empty = match std::fs::read_dir(root) {
                Ok(mut entries) => entries.next().is_none(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
                Err(e) => return Err(e).with_context(|| format!("cannot read {}", root.display())),
            };
            if !empty {
                anyhow::bail!(
                    "{} holds other files and is not a keytrail lake; give an empty or new folder",
                    root.display()
                );
            }
            let lake = Lake { root: root.to_path_buf() };
            for folder in [lake.commits_dir(), lake.staging_dir(), lake.events_dir()] {
                std::fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
            }
            commits::write_atomically(&marker_path(root), &serde_json::to_vec_pretty(&current_marker())?)?;
        }
        let lake = Lake::open(root)?;
        lake.recover()?;
        Ok(lake)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the Parquet files are, in their partition folders.
    pub fn events_dir(&self) -> PathBuf {
        self.root.join("events")
    }

    fn commits_dir(&self) -> PathBuf {
        self.root.join("_keytrail").join("commits")
    }

    fn staging_dir(&self) -> PathBuf {
        self.root.join("_keytrail").join("staging")
    }
}

fn marker_path(root: &Path) -> PathBuf {
    root.join("_keytrail").join("lake.json")
}
