//! keytrail on a cluster, through datafusion-distributed.
//!
//! ```text
//!  coordinator (query, hunt, investigate)          workers (keytrail worker --listen ADDR)
//!  ─────────────────────────────────────           ─────────────────────────────────────
//!  plans as in one process, then splits the        run plan fragments: fetch the objects
//!  plan into stages at shuffles; walks the    ──►  they are sent, decode, normalize, enrich,
//!  sources and streams each object's name          filter, aggregate partially; stream
//!  to a worker partition (a work unit)        ◄──  Arrow batches back over Arrow Flight,
//!  runs the last stage and the rules               and their read counts as metrics
//! ```
//!
//! keytrail stays the coordinator, with its own session, tables and planners; the only plan
//! node of ours that travels is the scan ([`keytrail_engine::CloudTrailScanExec`]), encoded
//! by [`KeytrailCodec`]. A lake's scan is DataFusion's own Parquet scan, which travels as it
//! is. Every worker must see the inputs at the same paths (a shared file system, or the same
//! S3 bucket) and the enrichment data at the paths the coordinator uses.

mod codec;
mod coordinator;
mod worker;

pub use codec::KeytrailCodec;
pub use coordinator::{Workers, session_with_workers};
pub use worker::serve;
