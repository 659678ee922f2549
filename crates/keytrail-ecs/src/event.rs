//! One normalized event: a value per column of the schema.

use std::borrow::Cow;

use crate::cloudtrail::Fields;
use crate::flattened::lookup_str;
use crate::map_string::java_map_string;
use crate::schema::{COLUMN_COUNT, Col, ColumnSet};

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

/// The ECS view of one event, borrowing from the record's text where it can. Only the
/// columns it was made for are filled; the others stay null, and normalization skips the
/// work of computing them.
#[derive(Debug, Clone)]
pub struct EcsEvent<'a> {
    values: Vec<Value<'a>>,
    wanted: ColumnSet,
    fields: Fields,
    /// JSON paths of the record's values that had the wrong type and were left empty.
    wrong_types: Vec<&'static str>,
    /// When the object the records come from was delivered (epoch ms), for `event.ingested`.
    delivered_at: Option<i64>,
}

impl Default for EcsEvent<'_> {
    fn default() -> Self {
        EcsEvent::with_columns(ColumnSet::ALL)
    }
}

impl<'a> EcsEvent<'a> {
    /// An empty event that will hold `wanted` (with what they are computed from).
    pub fn with_columns(wanted: ColumnSet) -> EcsEvent<'a> {
        let wanted = wanted.with_sources();
        let fields = Fields::for_columns(&wanted);
        EcsEvent {
            values: vec![Value::Null; COLUMN_COUNT],
            wanted,
            fields,
            wrong_types: Vec::new(),
            delivered_at: None,
        }
    }

    /// Sets when the object whose records follow was delivered (epoch ms; `None` when unknown).
    pub fn set_delivered_at(&mut self, delivered_at: Option<i64>) {
        self.delivered_at = delivered_at;
    }

    /// `event.ingested`, unless the record carried it (an ECS document may): the delivery
    /// time, else `@timestamp`, as an event read without one was ingested when it happened.
    pub(crate) fn fill_ingested(&mut self) {
        if self.wants(Col::EventIngested) && *self.get(Col::EventIngested) == Value::Null {
            let ingested = self.delivered_at.map_or_else(|| self.get(Col::Timestamp).clone(), Value::Time);
            self.values[Col::EventIngested as usize] = ingested;
        }
    }

    /// Empties the event for the next record, keeping its allocation.
    pub fn clear(&mut self) {
        self.values.iter_mut().for_each(|v| *v = Value::Null);
        self.wrong_types.clear();
    }

    /// The fields of a record its columns are computed from.
    pub(crate) fn fields(&self) -> Fields {
        self.fields
    }

    /// The JSON paths of values of the wrong type in the record, which were left empty (the
    /// event is kept). Only the fields the event's columns are computed from are looked at.
    pub fn wrong_types(&self) -> &[&'static str] {
        &self.wrong_types
    }

    pub(crate) fn set_wrong_types(&mut self, paths: Vec<&'static str>) {
        self.wrong_types = paths;
    }

    /// Whether the column is filled: work for the others is skipped.
    pub fn wants(&self, col: Col) -> bool {
        self.wanted.contains(col)
    }

    pub(crate) fn wants_none(&self) -> bool {
        self.wanted.is_empty()
    }

    pub fn get(&self, col: Col) -> &Value<'a> {
        &self.values[col as usize]
    }

    pub fn set(&mut self, col: Col, value: Value<'a>) {
        if self.wants(col) {
            self.values[col as usize] = value;
        }
    }

    /// Sets a text column; empty text counts as absent, as Elastic drops empty values.
    pub fn set_str(&mut self, col: Col, text: Option<Cow<'a, str>>) {
        if let Some(text) = text.filter(|t| !t.is_empty())
            && self.wants(col)
        {
            self.values[col as usize] = Value::Str(text);
        }
    }

    /// The value of a column, like [`EcsEvent::get`], except that Elastic's text copies of the
    /// free-form objects (`aws.cloudtrail.request_parameters`…) are derived here from the
    /// redacted JSON: only reads that ask for them pay for them.
    pub fn column(&self, col: Col) -> Cow<'_, Value<'a>> {
        let Some(object) = col.text_copy_of() else { return Cow::Borrowed(self.get(col)) };
        let Some(json) = self.str(object) else { return Cow::Owned(Value::Null) };
        let text = java_map_string(json, self.moved_key(col, json));
        Cow::Owned(text.map_or(Value::Null, |t| Value::Str(Cow::Owned(t))))
    }

    /// A key Elastic moves out of the object before copying it: an Identity Center user's
    /// name, which it renames from additionalEventData.UserName to user.name.
    fn moved_key(&self, col: Col, json: &str) -> Option<&'static str> {
        let moved = col == Col::AdditionalEventData
            && self.str(Col::UserIdentityType) == Some("IdentityCenterUser")
            && self.str(Col::UserName).is_some_and(|name| lookup_str(json, &["UserName"]).as_deref() == Some(name));
        moved.then_some("UserName")
    }

    pub fn str(&self, col: Col) -> Option<&str> {
        match self.get(col) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Appends to a list column, skipping empty and repeated values.
    pub fn push_unique(&mut self, col: Col, text: Cow<'a, str>) {
        if text.is_empty() || !self.wants(col) {
            return;
        }
        let slot = &mut self.values[col as usize];
        if !matches!(slot, Value::List(_)) {
            *slot = Value::List(Vec::new());
        }
        if let Value::List(list) = slot
            && !list.contains(&text)
        {
            list.push(text);
        }
    }

    pub fn values(&self) -> &[Value<'a>] {
        &self.values
    }
}
