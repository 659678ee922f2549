//! `plan_windowed` must give exactly the union of `plan` over each scheduled run's rows, with
//! NOW() at the run's time: random data, several windows, and queries in the corpus' style.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, RecordBatch, StringBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::functions::expr_fn::coalesce;
use datafusion::logical_expr::{col, ident, lit};
use datafusion::prelude::SessionContext;
use datafusion::scalar::ScalarValue;
use keytrail_esql::{PlanOptions, Window};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const QUERIES: &[&str] = &[
    r#"FROM logs | WHERE event.action LIKE "Get*" | STATS n = COUNT(*), users = VALUES(user.name), d = COUNT_DISTINCT(source.ip), lo = MIN(@timestamp), hi = MAX(bytes), s = SUM(bytes), a = AVG(bytes) BY user.name"#,
    r#"FROM logs | STATS t = COUNT(tags), dt = COUNT_DISTINCT(tags), vt = VALUES(tags), c = COUNT(*) WHERE ok, v = VALUES(source.ip) WHERE NOT ok, m = MIN(tags) BY event.action"#,
    r#"FROM logs | WHERE bytes > 500 | EVAL age = DATE_DIFF("seconds", @timestamp, NOW()) | KEEP user.name, age, bytes"#,
    r#"FROM logs | WHERE @timestamp >= NOW() - 10 minutes | STATS n = COUNT(*) BY user.name"#,
    r#"FROM logs | STATS n = COUNT(*) BY user.name | SORT n DESC, user.name | LIMIT 2"#,
    r#"FROM logs | STATS Esql.last = MAX(@timestamp), Esql.n = COUNT(*), Esql.ips = VALUES(source.ip) BY user.name | WHERE Esql.last >= NOW() - 5 minutes | KEEP user.name, Esql.*"#,
    r#"FROM logs | EVAL w = DATE_TRUNC(10 minutes, @timestamp) | KEEP w, user.name, event.action | STATS d = COUNT_DISTINCT(event.action), n = COUNT(event.action) BY w, user.name | WHERE d > 1"#,
    r#"FROM logs | MV_EXPAND tags | STATS n = COUNT(*), u = COUNT_DISTINCT(user.name) BY tags"#,
    r#"FROM logs | STATS n = COUNT(*), m = MAX(bytes), r = SUM(bytes) / COUNT(*)"#,
    r#"FROM logs | EVAL flag = CASE(ok, 1, 0) | STATS s = SUM(flag), n = COUNT(*) BY user.name | EVAL other = n - s | WHERE s > 0 AND other > 0 | SORT other DESC, user.name"#,
    r#"FROM logs | WHERE user.name == "alice" | SORT @timestamp DESC, event.action | LIMIT 3 | KEEP @timestamp, event.action"#,
    // A WHERE on outputs without lists after a windowed STATS picks the runs whose lists are
    // combined: BY keys with nulls, AVG, and lists of both kinds.
    r#"FROM logs | STATS first = MIN(@timestamp), n = COUNT(*), a = AVG(bytes), ips = VALUES(source.ip), d = COUNT_DISTINCT(event.action) BY user.name, source.ip | WHERE (first >= NOW() - 10 minutes AND user.name IS NULL) OR n > 15 OR a > 700"#,
    r#"FROM logs | STATS n = COUNT(*), actions = VALUES(event.action), t = VALUES(tags) | WHERE n > 60"#,
    // EVALs between the STATS and the WHERE, some conjuncts reading lists (as the rare AS
    // organization rule's); then an EVAL that gives an output's name a value read from a list.
    r#"FROM logs | STATS n = COUNT(*), okn = SUM(CASE(ok, 1, 0)), ips = VALUES(source.ip), d = COUNT_DISTINCT(event.action), last = MAX(@timestamp) BY user.name | EVAL ratio = TO_DOUBLE(okn) / TO_DOUBLE(n), ipn = MV_COUNT(ips) | WHERE n >= 3 AND ratio <= 0.9 AND ipn >= 2 AND last >= NOW() - 10 minutes | KEEP user.name, n, ratio, ipn, ips, d"#,
    r#"FROM logs | STATS n = COUNT(*), ips = VALUES(source.ip), last = MAX(@timestamp) BY user.name, event.action | EVAL n = MV_COUNT(ips), recent = last >= NOW() - 8 minutes | WHERE n <= 2 AND recent"#,
    // WHEREs before the STATS whose NOW() bounds the runs a row reaches (as "the last 7 days"
    // in a rule run hourly over 7 days of deliveries): strict and not, mirrored, with other
    // conjuncts, on a field with nulls, and with no STATS after.
    r#"FROM logs | WHERE @timestamp >= NOW() - 7 minutes AND bytes > 100 | STATS n = COUNT(*), ips = VALUES(source.ip), last = MAX(@timestamp) BY user.name | WHERE last >= NOW() - 3 minutes"#,
    r#"FROM logs | WHERE NOW() - 5 minutes < @timestamp | EVAL x = bytes * 2 | WHERE event.ingested > NOW() - 6 minutes | STATS s = SUM(x), n = COUNT(*) BY event.action"#,
    r#"FROM logs | WHERE event.ingested >= NOW() - 4 minutes AND user.name IS NOT NULL | KEEP user.name, bytes, event.ingested"#,
    // The WHERE reads a list: no pick, every run combined.
    r#"FROM logs | STATS n = COUNT(*), d = COUNT_DISTINCT(event.action) BY user.name | WHERE d > 3 OR n > 40"#,
    // INLINE STATS before the first STATS: rows are copied to their runs before it.
    r#"FROM logs | EVAL first_get = CASE(event.action == "GetObject", user.name, null) | INLINE STATS getter = MAX(first_get), n = COUNT(*) BY source.ip | STATS c = COUNT(*), m = MAX(n) BY getter, user.name"#,
    // INLINE STATS after a windowed STATS, per run.
    r#"FROM logs | STATS calls = COUNT(*), last = MAX(@timestamp) BY user.name, source.ip | INLINE STATS ips = COUNT(*), all_calls = SUM(calls) BY user.name | WHERE last >= NOW() - 10 minutes"#,
];

fn random_table(seed: u64, start: i64, span: i64, rows: usize) -> RecordBatch {
    let mut rng = SmallRng::seed_from_u64(seed);
    let pick = |rng: &mut SmallRng, items: &[&'static str]| items[rng.random_range(0..items.len())];
    let (mut time, mut ingested, mut action, mut user, mut ip, mut bytes, mut ok) = (
        TimestampMillisecondBuilder::new().with_timezone("UTC"),
        TimestampMillisecondBuilder::new().with_timezone("UTC"),
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
        Int64Builder::new(),
        BooleanBuilder::new(),
    );
    let mut tags = ListBuilder::new(StringBuilder::new());
    for _ in 0..rows {
        // Whole seconds, some on slot boundaries, so that the window edges are exercised.
        let at = start + rng.random_range(0..span / 1000) * 1000;
        time.append_value(at);
        // Delivered up to a quarter of an hour later, or with no delivery time.
        ingested.append_option(rng.random_bool(0.9).then(|| at + rng.random_range(0..900) * 1000));
        action.append_value(pick(&mut rng, &["GetObject", "GetBucketAcl", "ListUsers", "PutObject", "AssumeRole"]));
        if rng.random_bool(0.1) {
            user.append_null();
        } else {
            user.append_value(pick(&mut rng, &["alice", "bob", "carol", "dave"]));
        }
        ip.append_option(rng.random_bool(0.8).then(|| pick(&mut rng, &["10.0.0.1", "10.0.0.2", "192.0.2.7", "::1"])));
        bytes.append_option(rng.random_bool(0.9).then(|| rng.random_range(0..1000)));
        ok.append_option(rng.random_bool(0.9).then(|| rng.random_bool(0.5)));
        match rng.random_range(0..4) {
            0 => tags.append(false),
            n => {
                for _ in 0..n {
                    tags.values().append_value(pick(&mut rng, &["a", "b", "c", "d"]));
                }
                tags.append(true);
            }
        }
    }
    let schema = Schema::new(vec![
        Field::new("@timestamp", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
        Field::new("event.ingested", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), true),
        Field::new("event.action", DataType::Utf8, true),
        Field::new("user.name", DataType::Utf8, true),
        Field::new("source.ip", DataType::Utf8, true),
        Field::new("bytes", DataType::Int64, true),
        Field::new("ok", DataType::Boolean, true),
        Field::new("tags", DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(time.finish()),
        Arc::new(ingested.finish()),
        Arc::new(action.finish()),
        Arc::new(user.finish()),
        Arc::new(ip.finish()),
        Arc::new(bytes.finish()),
        Arc::new(ok.finish()),
        Arc::new(tags.finish()),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

async fn rows(ctx: &SessionContext, plan: datafusion::logical_expr::LogicalPlan) -> Vec<String> {
    let batches = ctx.execute_logical_plan(plan).await.unwrap().collect().await.unwrap();
    let mut rows = Vec::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            let cells: Vec<String> =
                batch.columns().iter().map(|c| ScalarValue::try_from_array(c, row).unwrap().to_string()).collect();
            rows.push(cells.join(" | "));
        }
    }
    rows.sort();
    rows
}

fn at(ms: i64) -> datafusion::prelude::Expr {
    lit(ScalarValue::TimestampMillisecond(Some(ms), Some("UTC".into())))
}

#[tokio::test(flavor = "multi_thread")]
async fn windowed_plans_equal_one_plan_per_run() {
    let start = 1_714_550_400_000; // 2024-05-01T08:00:00Z
    let windows = [
        // Overlapping windows (lookback > interval), as most rules have.
        Window { runs_first: start + 20 * 60_000, interval_ms: 5 * 60_000, runs: 14, lookback_ms: 20 * 60_000 },
        // Gaps between windows (lookback < interval), slots of 2 minutes.
        Window { runs_first: start + 6 * 60_000, interval_ms: 10 * 60_000, runs: 8, lookback_ms: 6 * 60_000 },
        // Slots much finer than the interval (like now-61m every 60m): rows are copied to runs.
        Window { runs_first: start + 13 * 60_000, interval_ms: 12 * 60_000, runs: 8, lookback_ms: 13 * 60_000 },
        // One run.
        Window { runs_first: start + 45 * 60_000, interval_ms: 60_000, runs: 1, lookback_ms: 30 * 60_000 },
    ];
    // Runs select rows by @timestamp, or by the delivery time where there is one.
    let times = [col("@timestamp"), coalesce(vec![ident("event.ingested"), col("@timestamp")])];
    let mut compared = 0;
    for ((seed, window), time) in windows.iter().enumerate().flat_map(|w| times.iter().map(move |t| (w, t))) {
        let batch = random_table(seed as u64, start - 10 * 60_000, 110 * 60_000, 1500);
        let ctx = SessionContext::new();
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap();
        ctx.register_table("logs", Arc::new(table)).unwrap();
        let input = ctx.table("logs").await.unwrap();
        for text in QUERIES {
            let query = keytrail_esql::parse(text).unwrap();
            let windowed = query.plan_windowed(input.clone().into_unoptimized_plan(), window, time.clone()).unwrap();
            let got = rows(&ctx, windowed).await;
            let mut expected = Vec::new();
            for k in 0..window.runs {
                let t = window.runs_first + k as i64 * window.interval_ms;
                let ts = time.clone();
                let run_input =
                    input.clone().filter(ts.clone().gt(at(t - window.lookback_ms)).and(ts.lt_eq(at(t)))).unwrap();
                let plan = query.plan(run_input.into_unoptimized_plan(), &PlanOptions::at(at(t))).unwrap();
                let frame = ctx.execute_logical_plan(plan).await.unwrap();
                let mut columns: Vec<_> =
                    frame.schema().columns().into_iter().map(datafusion::prelude::Expr::Column).collect();
                columns.push(at(t).alias("__run_time"));
                expected.extend(rows(&ctx, frame.select(columns).unwrap().into_unoptimized_plan()).await);
            }
            expected.sort();
            assert!(!expected.is_empty() || text.contains("age"), "no rows at all for {text}: a weak comparison");
            assert_eq!(got, expected, "window {window:?} by {time}\nquery {text}");
            compared += 1;
        }
    }
    eprintln!("{compared} windowed plans equal their runs");
}

/// Dropping the rows that fail a query's leading WHEREs before it runs (as a hunt does while
/// reading) changes none of its runs' results.
#[tokio::test(flavor = "multi_thread")]
async fn the_leading_filter_drops_only_rows_no_run_uses() {
    let start = 1_714_550_400_000;
    let window =
        Window { runs_first: start + 20 * 60_000, interval_ms: 5 * 60_000, runs: 14, lookback_ms: 20 * 60_000 };
    let batch = random_table(7, start - 10 * 60_000, 110 * 60_000, 1500);
    let ctx = SessionContext::new();
    ctx.register_table("logs", Arc::new(MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap())).unwrap();
    let input = ctx.table("logs").await.unwrap();
    let all_rows = input.clone().count().await.unwrap();
    let mut filtered = 0;
    for text in QUERIES.iter().copied().chain([
        // A multi-valued field read by a one-value function, and a field the table lacks.
        r#"FROM logs | WHERE TO_LOWER(tags) == "a" OR user.email IS NULL | WHERE bytes > 100 | STATS n = COUNT(*) BY user.name"#,
    ]) {
        let query = keytrail_esql::parse(text).unwrap();
        let Some(predicate) = query.leading_filter(input.clone().into_unoptimized_plan()) else {
            assert!(!text.starts_with("FROM logs | WHERE bytes") && !text.contains(r#"LIKE "Get*""#), "{text}");
            continue;
        };
        let kept = input.clone().filter(predicate).unwrap();
        assert!(kept.clone().count().await.unwrap() < all_rows, "nothing dropped for {text}");
        let time = col("@timestamp");
        let whole = query.plan_windowed(input.clone().into_unoptimized_plan(), &window, time.clone()).unwrap();
        let part = query.plan_windowed(kept.into_unoptimized_plan(), &window, time).unwrap();
        assert_eq!(rows(&ctx, part).await, rows(&ctx, whole).await, "query {text}");
        filtered += 1;
    }
    assert!(filtered >= 4, "only {filtered} queries had a leading filter");
}
