//! Local files and folders.

use std::path::PathBuf;

use crate::SourceError;
use crate::layout::{TimeRange, is_digest_path, is_log_file_name};

pub(crate) struct Walk {
    pub files: Vec<PathBuf>,
    pub ignored: usize,
}

/// A file is taken as given; a folder is walked recursively, in name order, pruning date
/// folders outside the range and skipping digests and files that are not logs.
pub(crate) fn discover(root: PathBuf, range: &TimeRange) -> Result<Walk, SourceError> {
    let io_error =
        |path: &PathBuf, source: std::io::Error| SourceError::Io { path: path.display().to_string(), source };
    let metadata = std::fs::metadata(&root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SourceError::NotFound { path: root.display().to_string() },
        _ => io_error(&root, e),
    })?;
    let mut walk = Walk { files: Vec::new(), ignored: 0 };
    if !metadata.is_dir() {
        walk.files.push(root);
        return Ok(walk);
    }
    let mut pending = vec![root];
    while let Some(dir) = pending.pop() {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| io_error(&dir, e))? {
            let entry = entry.map_err(|e| io_error(&dir, e))?;
            let file_type = entry.file_type().map_err(|e| io_error(&entry.path(), e))?;
            entries.push((entry.path(), file_type));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        // Folders are pushed in reverse so that popping visits them in name order.
        let mut subdirs = Vec::new();
        for (path, file_type) in entries {
            let text = path.to_string_lossy().replace('\\', "/");
            if is_digest_path(&text) || !range.may_contain(&text) {
                continue;
            }
            // Follow symlinks to decide, as a user pointing at a folder of links expects.
            let is_dir = file_type.is_dir() || (file_type.is_symlink() && path.is_dir());
            if is_dir {
                subdirs.push(path);
            } else if path.file_name().is_some_and(|n| is_log_file_name(&n.to_string_lossy())) {
                walk.files.push(path);
            } else {
                walk.ignored += 1;
                tracing::debug!("skipping {}: not a log file name", path.display());
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    Ok(walk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_the_s3_layout_skipping_digests_and_other_files() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("AWSLogs/111122223333");
        for rel in [
            "CloudTrail/us-east-1/2023/07/10/111122223333_CloudTrail_us-east-1_20230710T1145Z_a.json.gz",
            "CloudTrail/us-east-1/2023/07/11/111122223333_CloudTrail_us-east-1_20230711T0005Z_b.json.gz",
            "CloudTrail-Digest/us-east-1/2023/07/10/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20230710T120000Z.json.gz",
            "CloudTrail/us-east-1/2023/07/10/README.md",
        ] {
            let path = base.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"{}").unwrap();
        }
        let walk = discover(dir.path().to_path_buf(), &TimeRange::default()).unwrap();
        let names: Vec<String> =
            walk.files.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(
            names,
            [
                "111122223333_CloudTrail_us-east-1_20230710T1145Z_a.json.gz",
                "111122223333_CloudTrail_us-east-1_20230711T0005Z_b.json.gz"
            ]
        );
        assert_eq!(walk.ignored, 1);

        let since = chrono::DateTime::parse_from_rfc3339("2023-07-11T00:00:00Z").unwrap().to_utc();
        let walk = discover(dir.path().to_path_buf(), &TimeRange { since: Some(since), until: None }).unwrap();
        assert_eq!(walk.files.len(), 1);
    }

    #[test]
    fn a_missing_path_is_named() {
        let err = discover(PathBuf::from("/nonexistent/keytrail"), &TimeRange::default()).err().unwrap();
        assert_eq!(err.to_string(), "/nonexistent/keytrail: no such file or folder");
    }
}
