//! Any text as a detection rule file: parsed as TOML into a rule, compiled (schedule, KQL or
//! ES|QL query, new_terms fields) and checked against the `cloudtrail` table with the columns
//! it reads, as `keytrail rules check` does; an ES|QL rule is also planned for a backfill on
//! its own schedule, and its leading WHEREs turned into a filter for the read, as `keytrail
//! hunt --rules` does. It must never panic. Run:
//! `scripts/fuzz.sh 10 rules` (or `cargo +nightly fuzz run rules fuzz/corpus/rules`).
#![no_main]

use keytrail_esql::Window;
use keytrail_rules::Logic;
use libfuzzer_sys::fuzz_target;

/// 2024-05-01T12:00:00Z.
const NOW_MS: i64 = 1_714_564_800_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(source) = keytrail_rules::parse_rule("fuzz.toml", text.to_string()) else { return };
    let Ok(detection) = keytrail_rules::compile(&source) else { return };
    let fields = detection.fields();
    let table = keytrail_ecs::TableSchema::with_names(fields.iter().map(String::as_str));
    if detection.check(table.arrow()).is_err() {
        return;
    }
    if let Logic::Esql(query) = &detection.logic {
        let schedule = detection.schedule;
        let window =
            Window { runs_first: NOW_MS, interval_ms: schedule.interval_ms, runs: 12, lookback_ms: schedule.lookback_ms };
        let input = keytrail_rules::empty_scan(table.arrow()).expect("an empty scan of the table plans");
        let _ = query.leading_filter(input.clone());
        let time = datafusion::prelude::ident(schedule.timestamp_field.def().name);
        let _ = query.plan_windowed(input, &window, time);
    }
});
