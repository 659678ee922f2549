//! `keytrail investigate`: everything one credential, user or address did in CloudTrail, the
//! credentials it created, and what of it looks like an intruder's work.
//!
//! ```text
//!  cloudtrail table ──► events (in memory: the columns below, `__subject` flag), read
//!                          │     filtered: the subject's calls, the calls that issue
//!                          │     credentials, AWS's verdicts
//!                          ├─► issued credentials (AssumeRole…, CreateAccessKey responses)
//!                          │      └─► derived keys: widened from the subject until fixed
//!                          │            └─► their calls added (a second filtered read)
//!                          ▼
//!                       scope = the subject's calls + the derived keys' calls
//!                          │
//!        one SQL query per section: who and when, actions, regions, addresses and
//!        networks, user agents, timeline, persistence, data, reconnaissance, log
//!        tampering, AWS signals
//!                          ▼
//!                       Report (serde: the JSON format)
//!                          └─► render: terminal, Markdown, HTML (inline SVG chart)
//! ```
//!
//! - `evidence` reads the events that can matter, never the whole estate: the fixed ECS
//!   columns the report needs and the few paths inside request and response elements that say
//!   whom a call acted on.
//! - `derive` walks the issued credentials from the subject to a fixed point (role chaining),
//!   then materializes the scope.
//! - `sections` answers each part of the report with DataFusion SQL over the scope; which
//!   calls count as persistence, data access or log tampering, and what each acted on, is the
//!   table in `catalog`.
//! - [`render`] turns the report into text, Markdown or one self-contained HTML file. Secrets
//!   never reach it: the table has redacted session tokens and secret keys while reading.

mod catalog;
mod derive;
mod evidence;
mod query;
pub mod render;
mod report;
mod sections;
mod subject;

use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

pub use evidence::table_schema;
pub use report::*;
pub use subject::Subject;

/// The most frequent calls listed per service.
pub const TOP_ACTIONS: usize = 10;
/// The window reconnaissance bursts are counted in.
pub const BURST_WINDOW: &str = "10 minutes";
/// Discovery calls in one window that make a burst…
pub const BURST_CALLS: usize = 20;
/// …or different discovery calls (a scanner tries many services a few times each).
pub const BURST_ACTIONS: usize = 5;
/// Calls refused for lack of permission in one window that make a burst.
pub const DENIED_BURST_CALLS: usize = 5;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot take the subject from the alert: {0}")]
    Alert(String),
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
}

/// Investigates `subject` over the events of the context's `cloudtrail` table, which must
/// have been opened with [`table_schema`] (or a schema holding its columns).
pub async fn investigate(context: &SessionContext, subject: &Subject) -> Result<Report, Error> {
    let analysis = evidence::read(context, subject).await?;
    let mut derived = derive::derived(&analysis, subject).await?;
    evidence::add_calls_of(context, &analysis, subject, &derived).await?;
    derive::register_scope(&analysis, &mut derived).await?;
    Ok(Report {
        subject: subject.clone(),
        summary: sections::summary(&analysis).await?,
        credentials: sections::credentials(&analysis).await?,
        derived,
        actions: sections::actions(&analysis).await?,
        regions: sections::regions(&analysis).await?,
        source_addresses: sections::source_addresses(&analysis).await?,
        networks: sections::networks(&analysis).await?,
        user_agents: sections::user_agents(&analysis).await?,
        timeline: sections::timeline(&analysis).await?,
        persistence: sections::findings(&analysis, catalog::Section::Persistence).await?,
        data_access: sections::data_access(&analysis).await?,
        reconnaissance: sections::reconnaissance(&analysis).await?,
        log_tampering: sections::findings(&analysis, catalog::Section::Tampering).await?,
        aws_signals: sections::aws_signals(&analysis).await?,
    })
}
