//! An ingest's commit record, and the recovery of an ingest that stopped half-way.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::Lake;

/// One object read into the lake, as it was when read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ObjectRecord {
    /// The absolute path of a file, or `s3://bucket/key`.
    pub object: String,
    pub size: u64,
    /// Milliseconds since the epoch: a file's modification time, an S3 object's LastModified.
    pub modified: Option<i64>,
}

/// What one ingest added.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Commit {
    pub run: String,
    /// When the ingest committed (RFC 3339).
    pub committed_at: String,
    /// The keytrail that wrote it.
    pub keytrail: String,
    /// The IP data the events were enriched with (file, size, modification time), so that a
    /// reader knows how old the networks and places in the lake are.
    pub enrichment: Vec<String>,
    pub events: u64,
    /// Files under `events/`.
    pub files: Vec<String>,
    pub objects: Vec<ObjectRecord>,
}

impl Lake {
    /// The committed ingests, oldest first.
    pub fn commits(&self) -> anyhow::Result<Vec<Commit>> {
        let folder = self.commits_dir();
        let mut paths: Vec<_> = std::fs::read_dir(&folder)
            .with_context(|| format!("cannot read {}", folder.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| {
                let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
                serde_json::from_slice(&text).with_context(|| format!("{}: not a commit record", path.display()))
            })
            .collect()
    }

    /// Every object already in the lake, by name.
    pub fn ingested(&self) -> anyhow::Result<HashMap<String, ObjectRecord>> {
        Ok(self
            .commits()?
            .into_iter()
            .flat_map(|commit| commit.objects)
            .map(|record| (record.object.clone(), record))
            .collect())
    }

    /// Writes the commit record of `commit.run`, then moves its files from staging into
    /// `events/`.
    pub(crate) fn commit(&self, commit: &Commit) -> anyhow::Result<()> {
        let path = self.commits_dir().join(format!("{}.json", commit.run));
        write_atomically(&path, &serde_json::to_vec(commit)?)?;
        self.move_staged(commit)
    }

    fn move_staged(&self, commit: &Commit) -> anyhow::Result<()> {
        let staging = self.staging_dir().join(&commit.run);
        for file in &commit.files {
            let from = staging.join(file);
            let to = self.events_dir().join(file);
            if !from.exists() {
                continue; // moved before an interruption
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::rename(&from, &to)
                .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))?;
        }
        remove_folder(&staging)
    }

    /// Finishes the moves of committed runs whose files are still staged, and deletes the files
    /// of runs that never committed.
    pub(crate) fn recover(&self) -> anyhow::Result<()> {
        let staging = self.staging_dir();
        let Ok(entries) = std::fs::read_dir(&staging) else { return Ok(()) };
        for entry in entries {
            let folder = entry.with_context(|| format!("cannot read {}", staging.display()))?.path();
            let Some(run) = folder.file_name().and_then(|n| n.to_str()).map(str::to_string) else { continue };
            let record = self.commits_dir().join(format!("{run}.json"));
            if record.is_file() {
                let text = std::fs::read(&record).with_context(|| format!("cannot read {}", record.display()))?;
                let commit: Commit = serde_json::from_slice(&text)
                    .with_context(|| format!("{}: not a commit record", record.display()))?;
                tracing::info!("finishing ingest {run}, which stopped after its commit");
                self.move_staged(&commit)?;
            } else {
                tracing::info!("discarding the files of ingest {run}, which stopped before its commit");
                remove_folder(&folder)?;
            }
        }
        Ok(())
    }
}

fn remove_folder(folder: &Path) -> anyhow::Result<()> {
    match std::fs::remove_dir_all(folder) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot remove {}", folder.display()))
        }
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` whole or not at all: to a temporary name, synced, then renamed.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension("partial");
    let mut file =
        std::fs::File::create(&temporary).with_context(|| format!("cannot create {}", temporary.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(run: &str, files: &[&str]) -> Commit {
        Commit {
            run: run.to_string(),
            committed_at: "2024-05-01T00:00:00Z".to_string(),
            keytrail: "test".to_string(),
            enrichment: Vec::new(),
            events: 1,
            files: files.iter().map(|f| f.to_string()).collect(),
            objects: vec![ObjectRecord { object: format!("/logs/{run}.json.gz"), size: 10, modified: None }],
        }
    }

    fn stage(lake: &Lake, run: &str, file: &str) {
        let path = lake.staging_dir().join(run).join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, run).unwrap();
    }

    #[test]
    fn a_committed_ingest_is_finished_and_an_uncommitted_one_undone() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create(dir.path()).unwrap();
        let (done, half) =
            ("date=2024-05-01/account=111122223333/a.parquet", "date=2024-05-02/account=111122223333/b.parquet");
        // Stopped after its commit, one of its two files already moved.
        stage(&lake, "committed", done);
        stage(&lake, "committed", half);
        let record = commit("committed", &[done, half]);
        write_atomically(&lake.commits_dir().join("committed.json"), &serde_json::to_vec(&record).unwrap()).unwrap();
        std::fs::create_dir_all(lake.events_dir().join(done).parent().unwrap()).unwrap();
        std::fs::rename(lake.staging_dir().join("committed").join(done), lake.events_dir().join(done)).unwrap();
        // Stopped before its commit.
        stage(&lake, "uncommitted", "date=2024-05-03/account=111122223333/c.parquet");

        let lake = Lake::create(dir.path()).unwrap();
        for file in [done, half] {
            assert_eq!(std::fs::read_to_string(lake.events_dir().join(file)).unwrap(), "committed");
        }
        assert!(!lake.events_dir().join("date=2024-05-03").exists());
        assert_eq!(std::fs::read_dir(lake.staging_dir()).unwrap().count(), 0);
        assert_eq!(lake.ingested().unwrap().len(), 1);
    }

    #[test]
    fn a_folder_with_other_files_is_not_made_a_lake() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let error = Lake::create(dir.path()).unwrap_err().to_string();
        assert!(error.contains("holds other files and is not a keytrail lake"), "{error}");
    }
}
