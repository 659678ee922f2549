//! A progress bar on stderr for long reads: shown only on a terminal, and only once the work
//! has taken more than a moment.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keytrail_engine::ReadReport;

/// How long work runs before a bar appears.
const GRACE: Duration = Duration::from_millis(700);

pub struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
    bar: ProgressBar,
}

impl Progress {
    /// Follows the report's counters until [`Progress::finish`].
    pub fn follow(report: Arc<ReadReport>, quiet: bool) -> Progress {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { task: None, bar };
        }
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} files {msg} [{elapsed_precise}, {eta} left] {wide_bar}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        let shown = bar.clone();
        let task = tokio::spawn(async move {
            tokio::time::sleep(GRACE).await;
            shown.set_draw_target(ProgressDrawTarget::stderr());
            loop {
                // Folders are walked while they are read: until the walk ends, the length is
                // what has been found so far, and the message says so.
                let listing = !report.listing_done.load(Ordering::Relaxed);
                shown.set_length(report.objects_found.load(Ordering::Relaxed));
                shown.set_position(report.objects_read.load(Ordering::Relaxed));
                let mb = report.bytes_read.load(Ordering::Relaxed) as f64 / 1e6;
                let events = report.events.load(Ordering::Relaxed);
                let finding = if listing { ", still finding files" } else { "" };
                shown.set_message(format!("{events} events, {mb:.0} MB{finding}"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        Progress { task: Some(task), bar }
    }

    pub fn finish(self) {
        if let Some(task) = self.task {
            task.abort();
        }
        self.bar.finish_and_clear();
    }
}
