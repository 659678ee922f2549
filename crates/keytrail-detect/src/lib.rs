//! Running detections as Elastic's scheduler would have run them.
//!
//! ```text
//!  cloudtrail table ──► EventStore: one streamed read; each batch indexed by event.action
//!                            │
//!        ┌───────────────────┼─────────────────────────────┐
//!        ▼                   ▼                             ▼
//!   query (KQL):        new_terms (KQL):               esql:
//!   the rows of the     the same matching, then first   the events spilled to an Arrow
//!   rule's actions it   occurrences per value           file; every run of the backfill
//!   matches, kept as    combination, solved for the     in one DataFusion plan over it
//!   they are read       run grid                        (keytrail-esql's windowed plan)
//!        └───────────────────┴──────────────┬──────────────┘
//!                                           ▼  candidates: identity, runs that see it, order
//!           one sweep over the run grid: each run raises the first max_signals candidates
//!           it sees whose identity no run raised before; the rest wait for the next run
//! ```
//!
//! Memory follows what the rules keep (their matches), not the input: the events themselves
//! are never all held at once.
//!
//! A backfill's runs are at `end − k·interval`; each sees `(run − from, run]`. No run is
//! replayed: each candidate alert knows the runs that would raise it (per-event rules: the
//! runs whose window holds the event), and `schedule::assign_runs` hands out the runs'
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
pub use hunt::{BASELINE_TAG, HuntOptions, HuntReport, RuleOutcome, hunt, reach_ms};
pub use store::EventStore;
