//! Alerts as JSON lines: on standard output, or appended to a file.
//!
//! A file is exactly-once across crashes: the state records the file's length with each
//! delivery, and a file found longer than that when the watch starts holds an append the
//! watch did not live to record. It is cut back, and those alerts, still in the outbox, are
//! written again, once.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{Outgoing, Sink};

pub struct Stdout;

#[async_trait::async_trait]
impl Sink for Stdout {
    async fn deliver(&mut self, alerts: &[Outgoing<'_>]) -> anyhow::Result<Option<u64>> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        for alert in alerts {
            writeln!(out, "{}", alert.document)?;
        }
        out.flush()?;
        Ok(None)
    }
}

pub struct NdjsonFile {
    path: PathBuf,
    file: File,
    position: u64,
}

impl NdjsonFile {
    /// Opens `path` for appending, cut back to `position` (its length at the last recorded
    /// delivery) when it is longer.
    pub fn open(path: &Path, position: Option<u64>) -> anyhow::Result<NdjsonFile> {
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("cannot open the sink file {}", path.display()))?;
        let length = file.metadata()?.len();
        if let Some(position) = position.filter(|&p| p < length) {
            file.set_len(position).with_context(|| format!("cannot cut {} back", path.display()))?;
        }
        let position = file.seek(SeekFrom::End(0))?;
        Ok(NdjsonFile { path: path.to_path_buf(), file, position })
    }
}

#[async_trait::async_trait]
impl Sink for NdjsonFile {
    async fn deliver(&mut self, alerts: &[Outgoing<'_>]) -> anyhow::Result<Option<u64>> {
        let mut text = String::new();
        for alert in alerts {
            text.push_str(alert.document);
            text.push('\n');
        }
        let written = self.file.write_all(text.as_bytes()).and_then(|()| self.file.sync_data());
        written.with_context(|| format!("cannot write alerts to {}", self.path.display()))?;
        self.position += text.len() as u64;
        Ok(Some(self.position))
    }

    fn position(&self) -> Option<u64> {
        Some(self.position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(document: &str) -> Outgoing<'_> {
        Outgoing { id: "id", document }
    }

    #[tokio::test]
    async fn a_file_is_cut_back_to_its_last_recorded_delivery() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("alerts.ndjson");
        let mut sink = NdjsonFile::open(&path, None).unwrap();
        let recorded = sink.deliver(&[alert("{\"a\":1}")]).await.unwrap();
        // A delivery the watch was killed before recording.
        sink.deliver(&[alert("{\"b\":2}")]).await.unwrap();
        drop(sink);
        let mut sink = NdjsonFile::open(&path, recorded).unwrap();
        assert_eq!(sink.position(), recorded);
        sink.deliver(&[alert("{\"b\":2}")]).await.unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
    }
}
