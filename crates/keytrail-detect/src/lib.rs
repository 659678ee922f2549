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
//!                                           ▼  candidates: identity, runs that see it, order
//!           one sweep over the run grid: each run raises the first max_signals candidates
//!           it sees whose identity no run raised before; the rest wait for the next run
//! ```
//!
//! A backfill's runs are at `end − k·interval`; each sees `(run − from, run]`. No run is
//! replayed: each candidate alert knows the runs that would raise it (per-event rules: the
//! runs whose window holds the event), and [`schedule::assign_runs`] hands out the runs'
//! `max_signals` as Elastic's executions would (tests/literal_schedule.rs checks it against
//! a replay of every run).

mod alert;
mod baseline;
mod esql;
mod hunt;
mod new_terms;
mod per_event;
mod schedule;
mod store;

pub use alert::Alert;
pub use baseline::{Baseline, History};
pub use hunt::{BASELINE_TAG, HuntOptions, HuntReport, RuleOutcome, hunt};
pub use store::EventStore;
