//! Events to Arrow record batches, building only the columns a query asked for.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, ListBuilder, RecordBatch, RecordBatchOptions, StringBuilder,
    TimestampMillisecondBuilder,
};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;

use crate::event::{EcsEvent, Value};
use crate::flattened::FlattenedPath;
use crate::schema::{COLUMNS, Col, ColumnSet, Kind};
use crate::table::TableSchema;

enum ColumnBuilder {
    Str(StringBuilder),
    Bool(BooleanBuilder),
    Int(Int64Builder),
    Time(TimestampMillisecondBuilder),
    List(ListBuilder<StringBuilder>),
}

enum Output {
    Column(Col, ColumnBuilder),
    Path(FlattenedPath, StringBuilder),
}

/// Accumulates events into the columns of one projection of a [`TableSchema`].
pub struct BatchBuilder {
    outputs: Vec<Output>,
    schema: SchemaRef,
    rows: usize,
}

impl BatchBuilder {
    /// `projection` lists table columns by index (None: all of them).
    pub fn new(table: &TableSchema, projection: Option<&[usize]>) -> BatchBuilder {
        let all: Vec<usize> = (0..table.arrow().fields().len()).collect();
        let projection = projection.unwrap_or(&all);
        let outputs = projection
            .iter()
            .map(|&i| match table.column(i) {
                Ok(col) => Output::Column(col, ColumnBuilder::new(COLUMNS[col as usize].kind)),
                Err(path) => Output::Path(path.clone(), StringBuilder::new()),
            })
            .collect();
        let schema = Arc::new(table.arrow().project(projection).expect("projection indices come from this schema"));
        BatchBuilder { outputs, schema, rows: 0 }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// The columns its events must fill.
    pub fn columns(&self) -> ColumnSet {
        let mut set = ColumnSet::default();
        for output in &self.outputs {
            match output {
                Output::Column(col, _) => set.insert(*col),
                Output::Path(path, _) => set.insert(path.object),
            }
        }
        set
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn append(&mut self, event: &EcsEvent<'_>) {
        self.rows += 1;
        for output in &mut self.outputs {
            match output {
                Output::Column(col, builder) => builder.append(&event.column(*col)),
                Output::Path(path, builder) => {
                    builder.append_option(event.str(path.object).and_then(|json| path.extract(json)))
                }
            }
        }
    }

    /// The batch of everything appended since the last call.
    pub fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns: Vec<ArrayRef> = self
            .outputs
            .iter_mut()
            .map(|output| match output {
                Output::Column(_, builder) => builder.finish(),
                Output::Path(_, builder) => Arc::new(builder.finish()) as ArrayRef,
            })
            .collect();
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        self.rows = 0;
        RecordBatch::try_new_with_options(self.schema.clone(), columns, &options)
    }
}

impl ColumnBuilder {
    fn new(kind: Kind) -> ColumnBuilder {
        match kind {
            Kind::Str => ColumnBuilder::Str(StringBuilder::new()),
            Kind::Bool => ColumnBuilder::Bool(BooleanBuilder::new()),
            Kind::Int => ColumnBuilder::Int(Int64Builder::new()),
            Kind::Time => ColumnBuilder::Time(TimestampMillisecondBuilder::new().with_timezone("UTC")),
            Kind::StrList => ColumnBuilder::List(ListBuilder::new(StringBuilder::new())),
        }
    }

    fn append(&mut self, value: &Value<'_>) {
        match (self, value) {
            (ColumnBuilder::Str(b), Value::Str(s)) => b.append_value(s),
            (ColumnBuilder::Str(b), _) => b.append_null(),
            (ColumnBuilder::Bool(b), Value::Bool(v)) => b.append_value(*v),
            (ColumnBuilder::Bool(b), _) => b.append_null(),
            (ColumnBuilder::Int(b), Value::Int(v)) => b.append_value(*v),
            (ColumnBuilder::Int(b), _) => b.append_null(),
            (ColumnBuilder::Time(b), Value::Time(v)) => b.append_value(*v),
            (ColumnBuilder::Time(b), _) => b.append_null(),
            (ColumnBuilder::List(b), Value::List(items)) => {
                for item in items {
                    b.values().append_value(item);
                }
                b.append(true);
            }
            (ColumnBuilder::List(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Str(b) => Arc::new(b.finish()),
            ColumnBuilder::Bool(b) => Arc::new(b.finish()),
            ColumnBuilder::Int(b) => Arc::new(b.finish()),
            ColumnBuilder::Time(b) => Arc::new(b.finish()),
            ColumnBuilder::List(b) => Arc::new(b.finish()),
        }
    }
}
