//! Runs every case of `cases/eval.txt` through DataFusion: the file's preamble declares a table
//! (`columns:` then `name: Type` lines, then `rows:` and one JSON object a line), each case is a
//! query and the ids of the rows it must match, or the error it must raise.
//!
//! Each query is evaluated over the whole table in one batch and again in sliced two-row
//! batches (list offsets then start mid-buffer), and the predicate must never be NULL.

mod cases;

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Int64Array, Int64Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::logical_expr::col;
use datafusion::prelude::SessionContext;
use serde_json::Value;

fn data_type(name: &str) -> DataType {
    match name {
        "Utf8" => DataType::Utf8,
        "Boolean" => DataType::Boolean,
        "Int64" => DataType::Int64,
        "Timestamp" => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        "List<Utf8>" => DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
        other => panic!("eval.txt: unknown column type {other}"),
    }
}

fn millis(value: &Value) -> Option<i64> {
    let text = value.as_str()?;
    Some(chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}")).timestamp_millis())
}

fn column(field: &Field, rows: &[serde_json::Map<String, Value>]) -> ArrayRef {
    let values = rows.iter().map(|row| row.get(field.name()).filter(|v| !v.is_null()));
    match field.data_type() {
        DataType::Utf8 => {
            let mut builder = StringBuilder::new();
            values.for_each(|v| builder.append_option(v.map(|v| v.as_str().expect("a string"))));
            Arc::new(builder.finish())
        }
        DataType::Boolean => {
            let mut builder = BooleanBuilder::new();
            values.for_each(|v| builder.append_option(v.map(|v| v.as_bool().expect("a boolean"))));
            Arc::new(builder.finish())
        }
        DataType::Int64 => {
            let mut builder = Int64Builder::new();
            values.for_each(|v| builder.append_option(v.map(|v| v.as_i64().expect("an integer"))));
            Arc::new(builder.finish())
        }
        DataType::Timestamp(..) => {
            let mut builder = TimestampMillisecondBuilder::new().with_timezone("UTC");
            values.for_each(|v| builder.append_option(v.and_then(millis)));
            Arc::new(builder.finish())
        }
        DataType::List(_) => {
            let mut builder = ListBuilder::new(StringBuilder::new());
            for value in values {
                match value {
                    None => builder.append_null(),
                    Some(items) => {
                        for item in items.as_array().expect("an array") {
                            builder.values().append_option(item.as_str());
                        }
                        builder.append(true);
                    }
                }
            }
            Arc::new(builder.finish())
        }
        other => panic!("unsupported column type {other}"),
    }
}

/// The table the preamble declares.
fn table(preamble: &str) -> RecordBatch {
    let (columns, rows) = preamble.split_once("\nrows:\n").expect("eval.txt: a `rows:` line");
    let (_, columns) = columns.split_once("columns:\n").expect("eval.txt: a `columns:` line");
    let fields: Vec<Field> = columns
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (name, kind) = line.split_once(": ").expect("`name: Type`");
            Field::new(name.trim(), data_type(kind.trim()), true)
        })
        .collect();
    let rows: Vec<serde_json::Map<String, Value>> = rows
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let arrays = schema.fields().iter().map(|field| column(field, &rows)).collect();
    RecordBatch::try_new(schema, arrays).unwrap()
}

/// The ids of the rows the expression selects, or those where it is NULL (which it must never be).
async fn matching(schema: SchemaRef, batches: Vec<RecordBatch>, expr: datafusion::logical_expr::Expr) -> String {
    let context = SessionContext::new();
    context.register_table("t", Arc::new(MemTable::try_new(schema, vec![batches]).unwrap())).unwrap();
    let frame = context.table("t").await.unwrap().select(vec![col("id"), expr.alias("matched")]).unwrap();
    let (mut ids, mut nulls) = (Vec::new(), Vec::new());
    for batch in frame.collect().await.unwrap_or_else(|e| panic!("{e}")) {
        let id = batch.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let matched = batch.column(1).as_any().downcast_ref::<BooleanArray>().unwrap();
        for i in 0..batch.num_rows() {
            match matched.is_null(i) {
                true => nulls.push(id.value(i)),
                false if matched.value(i) => ids.push(id.value(i)),
                false => {}
            }
        }
    }
    let list = |mut ids: Vec<i64>| {
        ids.sort_unstable();
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(" ")
    };
    match nulls.is_empty() {
        true => list(ids),
        false => format!("NULL for {}", list(nulls)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eval_cases() {
    let (preamble, _) = cases::load("eval.txt");
    let table = table(&preamble);
    let schema = table.schema();
    let sliced: Vec<RecordBatch> =
        (0..table.num_rows()).step_by(2).map(|at| table.slice(at, 2.min(table.num_rows() - at))).collect();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        cases::run("eval.txt", |case| {
            let query = match keytrail_kql::parse(&case.input) {
                Ok(query) => query,
                Err(error) => return format!("error {error}"),
            };
            let expr = match query.to_expr(&schema) {
                Ok(expr) => expr,
                Err(error) => return format!("error {error}"),
            };
            let whole = runtime.block_on(matching(schema.clone(), vec![table.clone()], expr.clone()));
            let in_slices = runtime.block_on(matching(schema.clone(), sliced.clone(), expr));
            assert_eq!(whole, in_slices, "`{}` differs between one batch and sliced batches", case.title);
            whole
        });
    })
    .await
    .unwrap();
}

#[test]
fn columns_of_other_types_are_errors_unless_a_pattern_selects_them() {
    let schema =
        Schema::new(vec![Field::new("blob", DataType::Binary, true), Field::new("name", DataType::Utf8, true)]);
    let error = keytrail_kql::parse("name:x or blob:x").unwrap().to_expr(&schema).unwrap_err();
    assert_eq!(error.to_string(), "1:11: `blob` is a column of type Binary, which KQL cannot search");
    let expr = keytrail_kql::parse("*:x").unwrap().to_expr(&schema).unwrap();
    assert_eq!(expr.to_string(), "name = Utf8(\"x\") IS TRUE");
}
