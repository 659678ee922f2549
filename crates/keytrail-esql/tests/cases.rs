//! Runs every case file in `tests/cases/`: typed input rows, ES|QL queries, and the table (or
//! error) each must give, through a DataFusion `SessionContext` over a `MemTable`.
//!
//! A case file is a list of sections, each starting with a line `== kind [options]`:
//!
//! ```text
//! == schema                       one `name: type` per line (string, long, integer, double,
//! @timestamp: timestamp           boolean, timestamp, list); replaces the table
//! tags: list
//! == rows                         NDJSON, one row per line; missing keys are null
//! {"@timestamp": "2024-05-01T10:00:00Z", "tags": ["a"]}
//! == now 2024-05-01T12:00:00Z     what NOW() is from here on
//! == query [ordered] [partition_by=col,…]
//! FROM logs | …                   the query, then its expected output:
//! -- result                       a header line (`name | name`), then one line per row;
//! a | b                           rows compare as a multiset unless `ordered`
//! -- error                        or: the error, `line:column: message`
//! ```
//!
//! Values print as: null, text as is, numbers, true/false, times as `2024-05-01T10:00:00.000Z`,
//! lists as `[a, b]`. Lines starting with `#` are comments, and blank lines between sections are
//! ignored.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionContext, lit};
use datafusion::scalar::ScalarValue;
use keytrail_esql::PlanOptions;
use serde_json::Value;

fn parse_time(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("bad time {text}: {e}")).timestamp_millis()
}

fn data_type(name: &str) -> DataType {
    match name {
        "string" => DataType::Utf8,
        "long" => DataType::Int64,
        "integer" => DataType::Int32,
        "double" => DataType::Float64,
        "boolean" => DataType::Boolean,
        "timestamp" => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        "list" => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        other => panic!("unknown type {other}"),
    }
}

fn build_batch(schema: &SchemaRef, rows: &[Value]) -> RecordBatch {
    let columns: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|field| {
            let values = rows.iter().map(|r| r.get(field.name()).filter(|v| !v.is_null()));
            let array: ArrayRef = match field.data_type() {
                DataType::Utf8 => {
                    let mut b = StringBuilder::new();
                    values.for_each(|v| b.append_option(v.map(|v| v.as_str().expect("a string"))));
                    Arc::new(b.finish())
                }
                DataType::Int64 => {
                    let mut b = Int64Builder::new();
                    values.for_each(|v| b.append_option(v.map(|v| v.as_i64().expect("a long"))));
                    Arc::new(b.finish())
                }
                DataType::Int32 => {
                    let mut b = Int32Builder::new();
                    values.for_each(|v| b.append_option(v.map(|v| v.as_i64().expect("an integer") as i32)));
                    Arc::new(b.finish())
                }
                DataType::Float64 => {
                    let mut b = Float64Builder::new();
                    values.for_each(|v| b.append_option(v.map(|v| v.as_f64().expect("a double"))));
                    Arc::new(b.finish())
                }
                DataType::Boolean => {
                    let mut b = BooleanBuilder::new();
                    values.for_each(|v| b.append_option(v.map(|v| v.as_bool().expect("a boolean"))));
                    Arc::new(b.finish())
                }
                DataType::Timestamp(..) => {
                    let mut b = TimestampMillisecondBuilder::new().with_timezone("UTC");
                    values.for_each(|v| b.append_option(v.map(|v| parse_time(v.as_str().expect("a time")))));
                    Arc::new(b.finish())
                }
                DataType::List(_) => {
                    let mut b = ListBuilder::new(StringBuilder::new());
                    for v in values {
                        match v {
                            Some(Value::Array(items)) => {
                                for item in items {
                                    b.values().append_option(item.as_str());
                                }
                                b.append(true);
                            }
                            Some(other) => panic!("a list, not {other}"),
                            None => b.append(false),
                        }
                    }
                    Arc::new(b.finish())
                }
                other => unreachable!("{other}"),
            };
            array
        })
        .collect();
    RecordBatch::try_new(schema.clone(), columns).expect("a valid batch")
}

fn render(value: &ScalarValue) -> String {
    match value {
        v if v.is_null() => "null".into(),
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => s.clone(),
        ScalarValue::Float64(Some(v)) => format!("{v:?}"),
        ScalarValue::TimestampMillisecond(Some(ms), _) => {
            chrono::DateTime::from_timestamp_millis(*ms).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
        }
        ScalarValue::List(list) => {
            let values = list.value(0);
            let items: Vec<String> = (0..values.len())
                .map(|i| render(&ScalarValue::try_from_array(&values, i).expect("an element")))
                .collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

fn render_batches(batches: &[RecordBatch], schema: &Schema) -> Vec<String> {
    let mut lines = vec![schema.fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>().join(" | ")];
    for batch in batches {
        for row in 0..batch.num_rows() {
            let cells: Vec<String> = batch
                .columns()
                .iter()
                .map(|c| render(&ScalarValue::try_from_array(c, row).expect("a value")))
                .collect();
            lines.push(cells.join(" | "));
        }
    }
    lines
}

struct Case {
    line: usize,
    query: String,
    ordered: bool,
    partition_by: Vec<String>,
    expected: Vec<String>,
    error: bool,
}

async fn run(case: &Case, ctx: &SessionContext, now: i64) -> Result<(), String> {
    let mut options = PlanOptions::at(lit(ScalarValue::TimestampMillisecond(Some(now), Some("UTC".into()))));
    options.partition_by = case.partition_by.clone();
    let outcome = async {
        let query = keytrail_esql::parse(&case.query).map_err(|e| e.to_string())?;
        let input = ctx.table("logs").await.unwrap().into_unoptimized_plan();
        let plan = query.plan(input, &options).map_err(|e| e.to_string())?;
        let frame = ctx.execute_logical_plan(plan).await.map_err(|e| format!("execution: {e}"))?;
        let schema = frame.schema().as_arrow().clone();
        let batches = frame.collect().await.map_err(|e| format!("execution: {e}"))?;
        Ok::<_, String>(render_batches(&batches, &schema))
    }
    .await;
    match (outcome, case.error) {
        (Err(message), true) if message == case.expected.join("\n") => Ok(()),
        (Err(message), _) => Err(format!("error: {message}")),
        (Ok(lines), true) => Err(format!("expected an error, got:\n{}", lines.join("\n"))),
        (Ok(mut lines), false) => {
            let mut expected = case.expected.clone();
            if !case.ordered {
                lines[1..].sort();
                expected[1..].sort();
            }
            if lines == expected { Ok(()) } else { Err(format!("got:\n{}", lines.join("\n"))) }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn case_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let (mut passed, mut failures) = (0, Vec::new());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let ctx = SessionContext::new();
        let mut schema: SchemaRef = Arc::new(Schema::empty());
        let mut now = parse_time("2024-05-01T12:00:00Z");
        let mut i = 0;
        while i < lines.len() {
            let line = lines[i];
            i += 1;
            let Some(header) = line.strip_prefix("== ") else {
                assert!(line.trim().is_empty() || line.starts_with('#'), "{}:{i}: stray line {line}", file.display());
                continue;
            };
            let body_start = i;
            while i < lines.len() && !lines[i].starts_with("== ") {
                i += 1;
            }
            let body = &lines[body_start..i];
            let mut words = header.split_whitespace();
            match words.next() {
                Some("schema") => {
                    let fields: Vec<Field> = body
                        .iter()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| {
                            let (name, ty) = l.rsplit_once(':').expect("name: type");
                            Field::new(name.trim(), data_type(ty.trim()), true)
                        })
                        .collect();
                    schema = Arc::new(Schema::new(fields));
                }
                Some("rows") => {
                    let rows: Vec<Value> = body
                        .iter()
                        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                        .map(|l| serde_json::from_str(l).unwrap())
                        .collect();
                    let batch = build_batch(&schema, &rows);
                    let table = MemTable::try_new(schema.clone(), vec![vec![batch]]).unwrap();
                    ctx.deregister_table("logs").unwrap();
                    ctx.register_table("logs", Arc::new(table)).unwrap();
                }
                Some("now") => now = parse_time(words.next().expect("a time")),
                Some("query") => {
                    let mut case = Case {
                        line: body_start,
                        query: String::new(),
                        ordered: false,
                        partition_by: Vec::new(),
                        expected: Vec::new(),
                        error: false,
                    };
                    for option in words {
                        match option.split_once('=') {
                            None if option == "ordered" => case.ordered = true,
                            Some(("partition_by", cols)) => {
                                case.partition_by = cols.split(',').map(String::from).collect()
                            }
                            _ => panic!("{}:{body_start}: unknown option {option}", file.display()),
                        }
                    }
                    let split = body.iter().position(|l| *l == "-- result" || *l == "-- error").unwrap_or_else(|| {
                        panic!("{}:{body_start}: a query needs `-- result` or `-- error`", file.display())
                    });
                    case.query = body[..split].join("\n");
                    case.error = body[split] == "-- error";
                    let mut expected: Vec<String> =
                        body[split + 1..].iter().filter(|l| !l.starts_with('#')).map(|l| l.to_string()).collect();
                    while expected.last().is_some_and(|l| l.trim().is_empty()) {
                        expected.pop();
                    }
                    case.expected = expected;
                    match run(&case, &ctx, now).await {
                        Ok(()) => passed += 1,
                        Err(message) => failures.push(format!(
                            "{}:{}: {}\nexpected:\n{}\n{message}\n",
                            file.display(),
                            case.line,
                            case.query,
                            case.expected.join("\n")
                        )),
                    }
                }
                other => panic!("{}:{body_start}: unknown section {other:?}", file.display()),
            }
        }
    }
    eprintln!("{passed} cases passed, {} failed", failures.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
