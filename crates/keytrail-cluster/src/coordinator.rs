//! The coordinator's side: which workers, and a session that plans for them.

use std::sync::Arc;

use datafusion::catalog::TableProvider;
use datafusion::common::{DataFusionError, Result};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_distributed::{
    DesiredTaskCountEvent, DesiredTaskCountEventResponse, DistributedExt, SessionStateBuilderExt, WorkerResolver,
};
use keytrail_engine::{CloudTrailScanExec, MemoryOptions, ReadReport};
use url::Url;

use crate::codec::KeytrailCodec;

/// The workers a command runs on, as given to `--workers`.
#[derive(Debug, Clone)]
pub struct Workers {
    urls: Vec<Url>,
}

impl Workers {
    /// `host:port` or `http://host:port`, separated by commas.
    pub fn parse(list: &str) -> Result<Workers, String> {
        let urls = list
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .map(|w| {
                let url = if w.contains("://") { w.to_string() } else { format!("http://{w}") };
                let parsed = Url::parse(&url).map_err(|e| format!("{w}: not a worker address: {e}"))?;
                if parsed.scheme() != "http" || parsed.host().is_none() || parsed.port().is_none() {
                    return Err(format!("{w}: a worker address is HOST:PORT (or http://HOST:PORT)"));
                }
                Ok(parsed)
            })
            .collect::<Result<Vec<_>, _>>()?;
        if urls.is_empty() {
            return Err("--workers names no worker".into());
        }
        Ok(Workers { urls })
    }
}

impl WorkerResolver for Workers {
    fn get_urls(&self) -> Result<Vec<Url>, DataFusionError> {
        Ok(self.urls.clone())
    }
}

/// A session whose plans run on `workers` ([`keytrail_engine::state_builder`] for the rest):
/// `table` is the `cloudtrail` table, and every read
/// of raw logs is spread over as many tasks as there are workers.
pub fn session_with_workers(
    table: Arc<dyn TableProvider>,
    config: SessionConfig,
    memory: &MemoryOptions,
    report: Arc<ReadReport>,
    workers: &Workers,
) -> Result<SessionContext> {
    let tasks = workers.urls.len();
    let state = keytrail_engine::state_builder(config, memory, report)?
        .with_distributed_worker_resolver(workers.clone())
        .with_distributed_planner()
        .with_distributed_user_codec(KeytrailCodec)
        .with_distributed_work_unit_feed(|scan: &CloudTrailScanExec| Some(scan.feed()))
        .with_distributed_desired_task_count_handler(move |event: DesiredTaskCountEvent| {
            event.plan.downcast_ref::<CloudTrailScanExec>().map(|_| Ok(DesiredTaskCountEventResponse::desired(tasks)))
        });
    keytrail_engine::session_with(table, state)
}

#[cfg(test)]
mod tests {
    use super::Workers;

    #[test]
    fn worker_addresses_are_host_and_port() {
        let workers = Workers::parse("10.0.0.1:50051, http://w2.internal:50051,").unwrap();
        let urls: Vec<String> = workers.urls.iter().map(|u| u.to_string()).collect();
        assert_eq!(urls, ["http://10.0.0.1:50051/", "http://w2.internal:50051/"]);
        for (wrong, said) in [
            ("", "names no worker"),
            ("w1", "HOST:PORT"),
            ("https://w1:50051", "HOST:PORT"),
            ("w1:notaport", "not a worker address"),
        ] {
            let error = Workers::parse(wrong).unwrap_err();
            assert!(error.contains(said), "{wrong}: {error}");
        }
    }
}
