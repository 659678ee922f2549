//! Shared by the hunt's integration tests: the events of some paths, read for a rule set.

use std::sync::Arc;

use keytrail_detect::EventStore;
use keytrail_ecs::{Enrichment, EnrichmentFiles};
use keytrail_engine::{MemoryOptions, ReadOptions, ReadReport, session};
use keytrail_rules::RuleSet;
use keytrail_source::{DiscoverOptions, Sources};

/// Reads `paths` once for `rules` (their table schema), with `enrichment`; the read's report
/// is returned for the caller's checks.
pub async fn read_for(paths: &[String], rules: &RuleSet, enrichment: Arc<Enrichment>) -> (EventStore, Arc<ReadReport>) {
    let sources = Sources::discover(paths, &DiscoverOptions::default()).await.unwrap();
    let report = Arc::new(ReadReport::default());
    let options = ReadOptions::default();
    let files = EnrichmentFiles::default();
    let memory = MemoryOptions::default();
    let context = session(sources, enrichment, files, rules.table_schema(), options, report.clone(), &memory).unwrap();
    (EventStore::read(&context, &rules.detections).await.unwrap(), report)
}
