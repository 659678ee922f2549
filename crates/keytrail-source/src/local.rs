//! Local files and folders.
//!
//! A folder is walked lazily, as its files are read: holding a million paths up front would
//! make memory grow with the input, and the listing would delay the first read. The walk
//! keeps one sorted listing per folder level it is in, so its memory is bounded by the depth
//! of the tree times the size of a folder.

use std::ffi::OsString;
use std::fs::FileType;
use std::path::{Path, PathBuf};

use crate::layout::{TimeRange, is_digest_path, is_log_file_name};
use crate::{SourceError, Unlisted};

/// Whether a local input is a file (read whatever its name) or a folder to walk.
pub(crate) fn is_folder(root: &Path) -> Result<bool, SourceError> {
    let metadata = std::fs::metadata(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound { path: root.display().to_string() },
        _ => SourceError::Io { path: root.display().to_string(), source: e },
    })?;
    Ok(metadata.is_dir())
}

/// A recursive walk of one folder, in name order: date folders outside the range are pruned,
/// digests and files whose names are not logs are passed over (and counted).
pub(crate) struct FolderWalk {
    range: TimeRange,
    /// The folders being walked, outermost first, each with the entries still to visit.
    levels: Vec<Level>,
    /// The root, until its listing is read by the first call to `next`.
    root: Option<PathBuf>,
    pub ignored: usize,
}

struct Level {
    dir: PathBuf,
    /// Where the folder really is (symlinks resolved), to see a link that leads back up.
    real: PathBuf,
    entries: std::vec::IntoIter<(OsString, FileType)>,
}

impl FolderWalk {
    pub fn new(root: PathBuf, range: TimeRange) -> FolderWalk {
        FolderWalk { range, levels: Vec::new(), root: Some(root), ignored: 0 }
    }

    fn enter(&mut self, dir: PathBuf, real: PathBuf) -> Result<(), Unlisted> {
        let unlisted =
            |source: std::io::Error| Unlisted { folder: dir.display().to_string(), reason: source.to_string() };
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(unlisted)? {
            let entry = entry.map_err(unlisted)?;
            let file_type = entry.file_type().map_err(unlisted)?;
            entries.push((entry.file_name(), file_type));
        }
        // Names within one folder: byte order, which is what comparing whole paths gave,
        // without walking their components.
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.levels.push(Level { dir, real, entries: entries.into_iter() });
        Ok(())
    }
}

impl Iterator for FolderWalk {
    /// A log file, or a folder that could not be listed (the walk goes on after it).
    type Item = Result<PathBuf, Unlisted>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(root) = self.root.take() {
            let real = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
            if let Err(error) = self.enter(root, real) {
                return Some(Err(error));
            }
        }
        loop {
            let level = self.levels.last_mut()?;
            let Some((name, file_type)) = level.entries.next() else {
                self.levels.pop();
                continue;
            };
            let path = level.dir.join(&name);
            let text = path.to_string_lossy();
            let text = if cfg!(windows) { text.replace('\\', "/").into() } else { text };
            if is_digest_path(&text) || !self.range.may_contain(&text) {
                continue;
            }
            // Follow symlinks to decide, as a user pointing at a folder of links expects.
            let is_dir = file_type.is_dir() || (file_type.is_symlink() && path.is_dir());
            if is_dir {
                let real = if file_type.is_symlink() {
                    let target = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
                    // A link to the folder itself or to one above it would read the same
                    // files again and again, deeper each time.
                    if level.real.starts_with(&target) {
                        tracing::warn!("not following {}: it leads back to {}", path.display(), target.display());
                        continue;
                    }
                    target
                } else {
                    level.real.join(&name)
                };
                if let Err(error) = self.enter(path, real) {
                    return Some(Err(error));
                }
            } else if is_log_file_name(&name.to_string_lossy()) {
                return Some(Ok(path));
            } else {
                self.ignored += 1;
                tracing::debug!("skipping {}: not a log file name", path.display());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(root: &Path, range: TimeRange) -> (Vec<String>, usize) {
        let mut walk = FolderWalk::new(root.to_path_buf(), range);
        let names =
            walk.by_ref().map(|path| path.unwrap().file_name().unwrap().to_string_lossy().into_owned()).collect();
        (names, walk.ignored)
    }

    #[test]
    fn walks_the_s3_layout_in_name_order_skipping_digests_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("AWSLogs/111122223333");
        for rel in [
            "CloudTrail/us-east-1/2023/07/11/111122223333_CloudTrail_us-east-1_20230711T0005Z_b.json.gz",
            "CloudTrail/us-east-1/2023/07/10/111122223333_CloudTrail_us-east-1_20230710T1145Z_a.json.gz",
            "CloudTrail/us-east-1/2023/07/10/111122223333_CloudTrail_us-east-1_20230710T0945Z_a.json.gz",
            "CloudTrail-Digest/us-east-1/2023/07/10/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20230710T120000Z.json.gz",
            "CloudTrail/us-east-1/2023/07/10/README.md",
            "CloudTrail/eu-west-1/2023/07/12/111122223333_CloudTrail_eu-west-1_20230712T0005Z_c.json.gz",
        ] {
            let path = base.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"{}").unwrap();
        }
        let (names, ignored) = walk(dir.path(), TimeRange::default());
        assert_eq!(
            names,
            [
                "111122223333_CloudTrail_eu-west-1_20230712T0005Z_c.json.gz",
                "111122223333_CloudTrail_us-east-1_20230710T0945Z_a.json.gz",
                "111122223333_CloudTrail_us-east-1_20230710T1145Z_a.json.gz",
                "111122223333_CloudTrail_us-east-1_20230711T0005Z_b.json.gz",
            ]
        );
        assert_eq!(ignored, 1);

        let since = chrono::DateTime::parse_from_rfc3339("2023-07-11T00:00:00Z").unwrap().to_utc();
        let until = chrono::DateTime::parse_from_rfc3339("2023-07-11T12:00:00Z").unwrap().to_utc();
        let (names, _) = walk(dir.path(), TimeRange { since: Some(since), until: Some(until) });
        assert_eq!(names, ["111122223333_CloudTrail_us-east-1_20230711T0005Z_b.json.gz"]);
    }

    #[test]
    fn a_folder_that_cannot_be_listed_is_reported_and_the_walk_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        for rel in ["a/1.json", "b/2.json", "c/3.json"] {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"{}").unwrap();
        }
        let mut walk = FolderWalk::new(dir.path().to_path_buf(), TimeRange::default());
        assert!(walk.next().unwrap().unwrap().ends_with("a/1.json"));
        // Gone after the root was listed (as a folder deleted or unmounted mid-read): whatever
        // the user's permissions, listing it now fails.
        let gone = dir.path().join("b");
        std::fs::remove_dir_all(&gone).unwrap();
        let error = walk.next().unwrap().unwrap_err().to_string();
        assert!(error.starts_with(&format!("{}: cannot list this folder: ", gone.display())), "{error}");
        assert!(walk.next().unwrap().unwrap().ends_with("c/3.json"));
        assert!(walk.next().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn links_are_followed_but_not_round_in_circles() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(logs.join("a")).unwrap();
        std::fs::write(logs.join("a/1.json"), b"{}").unwrap();
        std::fs::create_dir_all(dir.path().join("elsewhere")).unwrap();
        std::fs::write(dir.path().join("elsewhere/2.json"), b"{}").unwrap();
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), logs.join("b")).unwrap();
        std::os::unix::fs::symlink(&logs, logs.join("a/up")).unwrap();
        std::os::unix::fs::symlink(logs.join("a"), logs.join("a/itself")).unwrap();
        let (names, _) = walk(&logs, TimeRange::default());
        assert_eq!(names, ["1.json", "2.json"]);
    }

    #[test]
    fn a_missing_path_is_named() {
        let err = is_folder(Path::new("/nonexistent/keytrail")).unwrap_err();
        assert_eq!(err.to_string(), "/nonexistent/keytrail: no such file or folder");
    }
}
