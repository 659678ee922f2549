//! The table a query sees: the fixed ECS columns, plus one column for each path inside the
//! flattened objects that the query names.

use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};

use crate::flattened::FlattenedPath;
use crate::schema::{COLUMN_COUNT, Col, Kind, SCHEMA, field};

#[derive(Debug, Clone)]
pub struct TableSchema {
    paths: Vec<FlattenedPath>,
    arrow: SchemaRef,
}

impl Default for TableSchema {
    fn default() -> Self {
        TableSchema { paths: Vec::new(), arrow: SCHEMA.clone() }
    }
}

impl TableSchema {
    /// The fixed columns plus a column for each name that reads inside a flattened object;
    /// other names are ignored (they are either fixed columns or the query's own error).
    pub fn with_names<'n>(names: impl IntoIterator<Item = &'n str>) -> TableSchema {
        let mut paths: Vec<FlattenedPath> = names.into_iter().filter_map(FlattenedPath::parse).collect();
        paths.sort_by(|a, b| a.name.cmp(&b.name));
        paths.dedup();
        let mut fields: Vec<_> = SCHEMA.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.extend(paths.iter().map(|p| {
            field(&p.name, Kind::Str, "A path inside a flattened object: strings as they are, numbers and booleans as text, several matches as a JSON array.")
        }));
        TableSchema { paths, arrow: Arc::new(Schema::new(fields)) }
    }

    pub fn arrow(&self) -> &SchemaRef {
        &self.arrow
    }

    /// What a column of this table is: a fixed column, or a path.
    pub fn column(&self, index: usize) -> Result<Col, &FlattenedPath> {
        if index < COLUMN_COUNT { Ok(Col::ALL[index]) } else { Err(&self.paths[index - COLUMN_COUNT]) }
    }

    pub fn paths(&self) -> &[FlattenedPath] {
        &self.paths
    }
}
