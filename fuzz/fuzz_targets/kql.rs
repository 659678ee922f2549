//! Any text as a KQL query: parsed, its fields and pinned values listed, compiled to a
//! predicate over the `cloudtrail` table (with the flattened columns it names), and planned
//! and optimized as a filter, as `keytrail hunt` does with a rule's query. It must never
//! panic. Run: `scripts/fuzz.sh 10 kql` (or `cargo +nightly fuzz run kql fuzz/corpus/kql`).
#![no_main]

use std::sync::LazyLock;

use datafusion::execution::SessionState;
use datafusion::logical_expr::LogicalPlanBuilder;
use datafusion::prelude::SessionContext;
use libfuzzer_sys::fuzz_target;

static STATE: LazyLock<SessionState> = LazyLock::new(|| SessionContext::new().state());

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(query) = keytrail_kql::parse(text) else { return };
    let _ = query.to_string();
    let fields = query.fields();
    for field in &fields {
        let _ = query.required_values(field);
    }
    let table = keytrail_ecs::TableSchema::with_names(fields.iter().copied());
    let Ok(predicate) = query.to_expr(table.arrow()) else { return };
    let scan = keytrail_rules::empty_scan(table.arrow()).expect("an empty scan of the table plans");
    let Ok(plan) = LogicalPlanBuilder::from(scan).filter(predicate).and_then(|b| b.build()) else { return };
    let _ = STATE.optimize(&plan);
});
