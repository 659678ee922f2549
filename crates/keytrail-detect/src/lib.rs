//! Running detections as Elastic's scheduler would have run them.
//!
//! ```text
//!  cloudtrail table ──► EventStore (read once; grouped by event.action, then time)
//!                            │
//!        ┌───────────────────┼─────────────────────────────┐
//!        ▼                   ▼                             ▼
//!   query (KQL):        new_terms (KQL):               esql:
//!   filter the slices   filter, then first occurrences  every run of the backfill
//!   of the rule's       per value combination, solved    in one DataFusion plan
//!   actions             for the run grid                 (keytrail-esql's windowed plan)
//!        └───────────────────┴──────────────┬──────────────┘
//!                                           ▼
//!                 alerts: earliest run that sees them, max_signals per run, deduplicated
//! ```
//!
//! A backfill's runs are at `end − k·interval`; each sees `(run − from, run]`. Per-event
//! rules need no replay: an event's alert belongs to the earliest run at or after it whose
//! window still reaches it.

mod alert;
mod esql;
mod hunt;
mod new_terms;
mod per_event;
mod schedule;
mod store;

pub use alert::Alert;
pub use hunt::{BASELINE_TAG, HuntOptions, HuntReport, RuleOutcome, hunt};
pub use store::EventStore;
