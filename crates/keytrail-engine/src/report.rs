//! What a read skipped, and why: counted per object, listed with the object and record, and
//! optionally written to a file as it happens (`--errors FILE`).

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use datafusion::physical_plan::metrics::{Count, Metric, MetricValue, MetricsSet};
use keytrail_decode::Position;

/// One record (or the rest of an object) that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub object: String,
    pub position: Option<Position>,
    pub message: String,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(p) => write!(f, "{}: {p}: {}", self.object, self.message),
            None => write!(f, "{}: {}", self.object, self.message),
        }
    }
}

/// Errors kept in memory for the summary; the rest are only counted (and written to the
/// errors file, which has them all).
const KEPT_ERRORS: usize = 1000;

/// Shared by every partition of a read.
#[derive(Default)]
pub struct ReadReport {
    /// Objects the walk of the inputs has found so far…
    pub objects_found: AtomicU64,
    /// …and whether it has found them all.
    pub listing_done: AtomicBool,
    /// Files a folder walk passed over because their names are not log files.
    pub objects_ignored: AtomicU64,
    pub objects_read: AtomicU64,
    pub bytes_read: AtomicU64,
    pub events: AtomicU64,
    pub skipped_records: AtomicU64,
    /// Values of the wrong type, left empty in events that were kept.
    pub values_left_empty: AtomicU64,
    pub objects_with_errors: AtomicU64,
    pub objects_lost_partly: AtomicU64,
    errors: Mutex<Vec<ReadError>>,
    /// Objects that could not be fetched at all, by name.
    unfetched: Mutex<Vec<String>>,
    sink: Option<Mutex<Box<dyn Write + Send>>>,
    failed_sink: AtomicBool,
}

impl fmt::Debug for ReadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadReport")
            .field("events", &self.events)
            .field("skipped_records", &self.skipped_records)
            .finish()
    }
}

impl ReadReport {
    /// A report that also writes every error, one line each, to `sink`.
    pub fn with_sink(sink: Box<dyn Write + Send>) -> ReadReport {
        ReadReport { sink: Some(Mutex::new(sink)), ..ReadReport::default() }
    }

    pub(crate) fn record(&self, error: ReadError) {
        if error.position.is_some() {
            self.skipped_records.fetch_add(1, Ordering::Relaxed);
        } else {
            self.objects_lost_partly.fetch_add(1, Ordering::Relaxed);
        }
        self.list(error);
    }

    /// A value of the wrong type, left empty in an event that was kept.
    pub(crate) fn record_value_left_empty(&self, error: ReadError) {
        self.values_left_empty.fetch_add(1, Ordering::Relaxed);
        self.list(error);
    }

    fn list(&self, error: ReadError) {
        if let Some(sink) = &self.sink {
            let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
            if writeln!(sink, "{error}").is_err() && !self.failed_sink.swap(true, Ordering::Relaxed) {
                tracing::warn!("could not write to the errors file; errors are still counted");
            }
        }
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        if errors.len() < KEPT_ERRORS {
            errors.push(error);
        }
    }

    /// An object that could not be fetched (its error is recorded apart).
    pub(crate) fn record_unfetched(&self, object: String) {
        self.unfetched.lock().unwrap_or_else(|e| e.into_inner()).push(object);
    }

    /// The objects that could not be fetched at all, by name: a lake does not count them as
    /// ingested, so the next ingest tries them again.
    pub fn unfetched(&self) -> Vec<String> {
        self.unfetched.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn flush(&self) {
        if let Some(sink) = &self.sink {
            let _ = sink.lock().unwrap_or_else(|e| e.into_inner()).flush();
        }
    }

    /// The first errors met (up to a thousand).
    pub fn errors(&self) -> Vec<ReadError> {
        self.errors.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// `N events read; M records skipped in K files`, plus values left empty and what was
    /// lost beyond records.
    pub fn summary(&self) -> String {
        let events = self.events.load(Ordering::Relaxed);
        let skipped = self.skipped_records.load(Ordering::Relaxed);
        let values = self.values_left_empty.load(Ordering::Relaxed);
        let objects = self.objects_with_errors.load(Ordering::Relaxed);
        let read = self.objects_read.load(Ordering::Relaxed);
        let mut text = format!("{events} events read from {read} {}", plural(read, "file", "files"));
        let mut lost = Vec::new();
        if skipped > 0 || (objects > 0 && values == 0) {
            lost.push(format!("{skipped} {} skipped", plural(skipped, "record", "records")));
        }
        if values > 0 {
            lost.push(format!("{values} {} of the wrong type left empty", plural(values, "value", "values")));
        }
        if !lost.is_empty() {
            text += &format!("; {} in {objects} {}", lost.join(", "), plural(objects, "file", "files"));
        }
        let partly = self.objects_lost_partly.load(Ordering::Relaxed);
        if partly > 0 {
            text += &format!("; {partly} {} could not be read to the end", plural(partly, "file", "files"));
        }
        text
    }

    pub fn had_errors(&self) -> bool {
        self.objects_with_errors.load(Ordering::Relaxed) > 0
    }

    /// The counters, as the metrics of a plan node that read on a worker ([`COUNTERS`]).
    pub(crate) fn as_metrics(&self) -> MetricsSet {
        let mut set = MetricsSet::new();
        for (name, counter) in COUNTERS {
            let count = Count::new();
            count.add(counter(self).load(Ordering::Relaxed) as usize);
            set.push(Arc::new(Metric::new(MetricValue::Count { name: Cow::Borrowed(name), count }, None)));
        }
        set
    }
}

/// Where a counter is in a [`ReadReport`].
pub(crate) type Counter = fn(&ReadReport) -> &AtomicU64;

/// The counters a worker's read reports as metrics, by name, which the coordinator adds to its
/// own report ([`crate::execute_counted`]).
pub(crate) const COUNTERS: [(&str, Counter); 7] = [
    ("keytrail_objects_read", |r| &r.objects_read),
    ("keytrail_bytes_read", |r| &r.bytes_read),
    ("keytrail_events", |r| &r.events),
    ("keytrail_skipped_records", |r| &r.skipped_records),
    ("keytrail_values_left_empty", |r| &r.values_left_empty),
    ("keytrail_objects_with_errors", |r| &r.objects_with_errors),
    ("keytrail_objects_lost_partly", |r| &r.objects_lost_partly),
];

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
