//! How much memory DataFusion's operators may hold, and where they spill past it.
//!
//! Sorts, aggregations and joins take their memory from one pool; those that can spill write
//! to temporary files when it runs short, the others fail with an error that names the
//! largest consumers and the limit. keytrail's own state (a hunt's matched events) takes its
//! memory from the same pool, so one limit bounds the whole command.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::error::Result;
use datafusion::execution::memory_pool::{FairSpillPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};

/// Used when the machine's memory cannot be read.
const FALLBACK_LIMIT: usize = 4 << 30;

#[derive(Debug, Clone)]
pub struct MemoryOptions {
    /// Bytes the pool hands out.
    pub limit: usize,
    /// Where spill files go; the system's temporary folder when `None`.
    pub temp_dir: Option<PathBuf>,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions { limit: default_limit(), temp_dir: None }
    }
}

/// Half of the machine's memory: the rest is for the read's buffers, the allocator's slack
/// and whatever else runs beside.
pub fn default_limit() -> usize {
    machine_memory().map_or(FALLBACK_LIMIT, |total| total / 2)
}

/// `MemTotal` of /proc/meminfo, on Linux.
fn machine_memory() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl MemoryOptions {
    /// A DataFusion runtime with this limit and temporary folder.
    pub fn runtime(&self) -> Result<Arc<RuntimeEnv>> {
        // Fair shares, because several spilling operators run at once; the five largest
        // consumers are named when the pool runs out.
        let top = NonZeroUsize::new(5).expect("5 is not zero");
        let pool = TrackConsumersPool::new(FairSpillPool::new(self.limit), top);
        let mut builder = RuntimeEnvBuilder::new().with_memory_pool(Arc::new(pool));
        if let Some(folder) = &self.temp_dir {
            builder = builder.with_temp_file_path(folder);
        }
        builder.build_arc()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::execution::memory_pool::MemoryConsumer;

    use super::*;

    #[test]
    fn the_pool_refuses_past_the_limit_and_names_the_consumer() {
        let runtime = MemoryOptions { limit: 1 << 20, temp_dir: None }.runtime().unwrap();
        let reservation = MemoryConsumer::new("matched events").register(&runtime.memory_pool);
        reservation.try_grow(1 << 19).unwrap();
        let error = reservation.try_grow(1 << 20).unwrap_err().to_string();
        assert!(error.contains("matched events"), "{error}");
    }

    #[test]
    fn the_default_is_half_the_machine() {
        if let Some(total) = machine_memory() {
            assert_eq!(default_limit(), total / 2);
        }
    }
}
