//! One normalized event: a value per column of the schema.

use std::borrow::Cow;

use crate::schema::{COLUMN_COUNT, Col};

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Value<'a> {
    #[default]
    Null,
    Str(Cow<'a, str>),
    Bool(bool),
    Int(i64),
    /// Milliseconds since the epoch, UTC.
    Time(i64),
    List(Vec<Cow<'a, str>>),
}

/// The ECS view of one event, borrowing from the record's text where it can.
#[derive(Debug, Clone)]
pub struct EcsEvent<'a> {
    values: Vec<Value<'a>>,
}

impl Default for EcsEvent<'_> {
    fn default() -> Self {
        EcsEvent { values: vec![Value::Null; COLUMN_COUNT] }
    }
}

impl<'a> EcsEvent<'a> {
    pub fn get(&self, col: Col) -> &Value<'a> {
        &self.values[col as usize]
    }

    pub fn set(&mut self, col: Col, value: Value<'a>) {
        self.values[col as usize] = value;
    }

    /// Sets a text column; empty text counts as absent, as Elastic drops empty values.
    pub fn set_str(&mut self, col: Col, text: Option<Cow<'a, str>>) {
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            self.values[col as usize] = Value::Str(text);
        }
    }

    pub fn str(&self, col: Col) -> Option<&str> {
        match self.get(col) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Appends to a list column, skipping empty and repeated values.
    pub fn push_unique(&mut self, col: Col, text: Cow<'a, str>) {
        if text.is_empty() {
            return;
        }
        let slot = &mut self.values[col as usize];
        if !matches!(slot, Value::List(_)) {
            *slot = Value::List(Vec::new());
        }
        if let Value::List(list) = slot
            && !list.iter().any(|existing| *existing == text)
        {
            list.push(text);
        }
    }

    pub fn values(&self) -> &[Value<'a>] {
        &self.values
    }
}
