//! One object, from bytes to rows: decompress, frame, normalize, enrich, append.

use std::fmt;
use std::sync::atomic::Ordering;

use keytrail_decode::{DecodeError, Position, decompress, frame, utf8_prefix};
use keytrail_ecs::{
    BatchBuilder, Col, ColumnSet, DeliveryRead, EcsEvent, Enrichment, Value, normalize_delivery, normalize_into,
};
use keytrail_source::{SourceObject, TimeRange};

use crate::report::{ReadError, ReadReport};

/// How records are read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Events outside the range are dropped (and the objects that can only hold such events
    /// are never fetched).
    pub time_range: TimeRange,
    pub max_record_bytes: usize,
    /// Stop at the first error instead of skipping and counting.
    pub strict: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            time_range: TimeRange::default(),
            max_record_bytes: keytrail_decode::DEFAULT_MAX_RECORD_BYTES,
            strict: false,
        }
    }
}

/// What a partition keeps from one object to the next, so that reading an object allocates
/// little: the buffer for inflated text, and the columns its events need.
pub(crate) struct ObjectReader {
    text: Vec<u8>,
    columns: ColumnSet,
}

impl ObjectReader {
    pub fn new(builder: &BatchBuilder, options: &ReadOptions) -> ObjectReader {
        let mut columns = builder.columns();
        if !options.time_range.is_unbounded() {
            columns.insert(Col::Timestamp);
        }
        ObjectReader { text: Vec::new(), columns }
    }

    /// Appends the object's events to `builder`, reporting what it skips. In strict mode the
    /// first error is returned instead. The object's name is only formatted when there is an
    /// error, and only parsed for its delivery time when the read wants `event.ingested`.
    pub fn read(
        &mut self,
        object: &SourceObject,
        bytes: &[u8],
        builder: &mut BatchBuilder,
        enrichment: &Enrichment,
        options: &ReadOptions,
        report: &ReadReport,
    ) -> Result<(), ReadError> {
        report.bytes_read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let mut errors = ObjectErrors { name: object, strict: options.strict, report, first: None, any: false };

        let (text, damage) = decompress(bytes, &mut self.text);
        if let Some(damage) = damage {
            errors.add(damage);
        }
        let (text, damage) = utf8_prefix(text);
        if let Some(damage) = damage {
            errors.add(damage);
        }
        let range = options.time_range;
        let bounded = !range.is_unbounded();
        let mut events = 0u64;
        let mut event = EcsEvent::with_columns(self.columns);
        if event.wants(Col::EventIngested) {
            event.set_delivered_at(object.delivered_at());
        }
        let mut index = 0;
        let mut append = |event: &EcsEvent<'_>| {
            // With a time window, an event with no readable time is outside it.
            if bounded && !matches!(event.get(Col::Timestamp), Value::Time(millis) if in_range(*millis, &range)) {
                return;
            }
            builder.append(event);
            events += 1;
        };
        // A delivery file no larger than one record may be is parsed in one pass; anything
        // else, and the records from a bad one on, are framed record by record.
        let read = if text.len() <= options.max_record_bytes && errors.first.is_none() {
            normalize_delivery(text, enrichment, &mut event, &mut |event| {
                errors.wrong_types(Position::Index(index), event);
                index += 1;
                append(event);
            })
        } else {
            DeliveryRead::Stopped { emitted: 0 }
        };
        if let DeliveryRead::Stopped { emitted } = read {
            frame(text, options.max_record_bytes, &mut |record| {
                if errors.first.is_some() {
                    return;
                }
                let record = match record {
                    Ok(record) => record,
                    Err(error) => return errors.add(error),
                };
                if matches!(record.position, Position::Index(i) if i < emitted) {
                    return; // read in the one pass
                }
                match normalize_into(record.json, enrichment, &mut event) {
                    Ok(()) => {
                        errors.wrong_types(record.position, &event);
                        append(&event);
                    }
                    Err(message) => errors.add(DecodeError::record(record.position, message)),
                }
            });
        }
        report.events.fetch_add(events, Ordering::Relaxed);
        if errors.any {
            report.objects_with_errors.fetch_add(1, Ordering::Relaxed);
        }
        errors.first.map_or(Ok(()), Err)
    }
}

/// The errors of one object: reported as they come, or in strict mode the first one kept to
/// stop the read.
struct ObjectErrors<'r> {
    name: &'r dyn fmt::Display,
    strict: bool,
    report: &'r ReadReport,
    first: Option<ReadError>,
    any: bool,
}

impl ObjectErrors<'_> {
    fn add(&mut self, error: DecodeError) {
        let error = ReadError { object: self.name.to_string(), position: error.position, message: error.message };
        self.keep(error, ReadReport::record);
    }

    /// The values of the wrong type in the record at `position`, left empty in its event.
    fn wrong_types(&mut self, position: Position, event: &EcsEvent<'_>) {
        for path in event.wrong_types() {
            let message = format!("{path} has a value of the wrong type; left empty, the event is kept");
            let error = ReadError { object: self.name.to_string(), position: Some(position), message };
            self.keep(error, ReadReport::record_value_left_empty);
        }
    }

    /// Counts the error with `count`, or in strict mode keeps the first to stop the read.
    fn keep(&mut self, error: ReadError, count: fn(&ReadReport, ReadError)) {
        self.any = true;
        if self.strict {
            self.first.get_or_insert(error);
        } else {
            count(self.report, error);
        }
    }
}

fn in_range(millis: i64, range: &TimeRange) -> bool {
    keytrail_ecs::millis_to_utc(millis).is_some_and(|t| range.contains(t))
}
