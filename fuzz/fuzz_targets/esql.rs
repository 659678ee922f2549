//! Any text as an ES|QL query: parsed, its source fields listed, planned over the
//! `cloudtrail` table (with the flattened columns it names) for one run and windowed for a
//! backfill (runs selecting events by delivery time, else `@timestamp`), each plan optimized
//! and turned into a physical plan, and its leading WHEREs turned into a filter for the read,
//! as `keytrail hunt` does with an ES|QL rule. It must never panic. Run: `scripts/fuzz.sh 10 esql` (or
//! `cargo +nightly fuzz run esql fuzz/corpus/esql`).
#![no_main]

use std::sync::LazyLock;

use datafusion::execution::SessionState;
use datafusion::functions::expr_fn::coalesce;
use datafusion::prelude::{ident, lit};
use datafusion::scalar::ScalarValue;
use keytrail_esql::{PlanOptions, Window};
use libfuzzer_sys::fuzz_target;

/// 2024-05-01T12:00:00Z.
const NOW_MS: i64 = 1_714_564_800_000;

static STATE: LazyLock<SessionState> = LazyLock::new(|| keytrail_esql::session_context().state());

/// Physical planning is async in DataFusion; one small runtime serves every input.
static RUNTIME: LazyLock<tokio::runtime::Runtime> =
    LazyLock::new(|| tokio::runtime::Builder::new_current_thread().build().expect("a tokio runtime"));

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(query) = keytrail_esql::parse(text) else { return };
    let _ = query.index_patterns();
    let fields = query.fields();
    let table = keytrail_ecs::TableSchema::with_names(fields.iter().map(String::as_str));
    let input = keytrail_rules::empty_scan(table.arrow()).expect("an empty scan of the table plans");
    let now = lit(ScalarValue::TimestampMillisecond(Some(NOW_MS), Some("UTC".into())));
    let window = Window { runs_first: NOW_MS, interval_ms: 300_000, runs: 12, lookback_ms: 360_000 };
    let _ = query.leading_filter(input.clone());
    let time = coalesce(vec![ident("event.ingested"), ident("@timestamp")]);
    let plans = [query.plan(input.clone(), &PlanOptions::at(now)), query.plan_windowed(input, &window, time)];
    for plan in plans.into_iter().flatten() {
        let Ok(optimized) = STATE.optimize(&plan) else { continue };
        let _ = RUNTIME.block_on(STATE.create_physical_plan(&optimized));
    }
});
