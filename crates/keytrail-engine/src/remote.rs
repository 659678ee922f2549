//! What workers read, added to the coordinator's report once a distributed plan has run.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use datafusion::arrow::array::RecordBatch;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::error::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::MetricValue;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion_distributed::{DistributedExec, DistributedMetricsFormat, rewrite_distributed_plan_with_metrics};
use futures::{StreamExt, TryStreamExt};

use crate::report::{COUNTERS, ReadReport};

/// How long the coordinator waits, once the results are in, for the workers' counts.
const METRICS_WAIT: Duration = Duration::from_secs(10);

/// Runs `plan`; when its results end, what workers read for it is added to the session's
/// report ([`crate::state_builder`]; a plan run in this process has counted into it already).
pub fn execute_counted(plan: Arc<dyn ExecutionPlan>, context: Arc<TaskContext>) -> Result<SendableRecordBatchStream> {
    let report = context.session_config().get_extension::<ReadReport>();
    let stream = datafusion::physical_plan::execute_stream(plan.clone(), context)?;
    let schema = stream.schema();
    let Some(report) = report.filter(|_| plan.downcast_ref::<DistributedExec>().is_some()) else {
        return Ok(stream);
    };
    let counts = futures::stream::once(async move {
        add_worker_counts(plan, &report).await;
        None
    })
    .filter_map(|nothing| async move { nothing });
    Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream.chain(counts))))
}

/// [`execute_counted`], its batches collected.
pub async fn collect_counted(plan: Arc<dyn ExecutionPlan>, context: Arc<TaskContext>) -> Result<Vec<RecordBatch>> {
    execute_counted(plan, context)?.try_collect().await
}

async fn add_worker_counts(plan: Arc<dyn ExecutionPlan>, report: &ReadReport) {
    let rewritten = tokio::time::timeout(
        METRICS_WAIT,
        rewrite_distributed_plan_with_metrics(plan, DistributedMetricsFormat::Aggregated),
    )
    .await;
    let plan = match rewritten {
        Ok(Ok(plan)) => plan,
        Ok(Err(error)) => return tracing::warn!("the workers' read counts are missing: {error}"),
        Err(_) => return tracing::warn!("the workers' read counts did not come in time; the summary lacks them"),
    };
    let mut totals = [0u64; COUNTERS.len()];
    let _ = plan.apply(|node| {
        for metric in node.metrics().iter().flat_map(|set| set.iter()) {
            if let MetricValue::Count { name, count } = metric.value()
                && let Some(index) = COUNTERS.iter().position(|(counter, _)| counter == name)
            {
                totals[index] += count.value() as u64;
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    for ((_, counter), total) in COUNTERS.iter().zip(totals) {
        counter(report).fetch_add(total, Ordering::Relaxed);
    }
}
