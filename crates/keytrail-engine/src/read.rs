//! One object, from bytes to rows: decompress, frame, normalize, enrich, append.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

use keytrail_decode::{DecodeError, Position, Shape, decompress, documents, frame_as, utf8_prefix};
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

/// What one read is given: an object's bytes, or a piece of a streamed object's text.
pub(crate) struct Text<'a> {
    pub object: &'a SourceObject,
    /// Raw bytes for [`Shape::Whole`]; for a piece of a stream, its inflated text.
    pub bytes: &'a [u8],
    pub shape: Shape,
    /// Whether the object has had errors already, in another piece: it is counted once.
    pub errors_seen: &'a AtomicBool,
}

impl<'a> Text<'a> {
    /// An object read whole.
    pub fn whole(object: &'a SourceObject, bytes: &'a [u8], errors_seen: &'a AtomicBool) -> Text<'a> {
        Text { object, bytes, shape: Shape::Whole, errors_seen }
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

    /// Appends the events of the text to `builder`, reporting what it skips. In strict mode
    /// the first error is returned instead. The object's name is only formatted when there is
    /// an error, and only parsed for its delivery time when the read wants `event.ingested`.
    pub fn read(
        &mut self,
        text: Text<'_>,
        builder: &mut BatchBuilder,
        enrichment: &Enrichment,
        options: &ReadOptions,
        report: &ReadReport,
    ) -> Result<(), ReadError> {
        let Text { object, bytes, shape, errors_seen } = text;
        report.bytes_read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let mut errors = ObjectErrors::new(object, options, report);

        let text = match shape {
            Shape::Whole => {
                let (text, damage) = decompress(bytes, &mut self.text);
                if let Some(damage) = damage {
                    errors.add(damage);
                }
                text
            }
            Shape::Lines { .. } | Shape::Documents { .. } => bytes,
        };
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
        let mut append = |event: &EcsEvent<'_>| {
            // With a time window, an event with no readable time is outside it.
            if bounded && !matches!(event.get(Col::Timestamp), Value::Time(millis) if in_range(*millis, &range)) {
                return;
            }
            builder.append(event);
            events += 1;
        };
        // A delivery file no larger than one record may be is parsed in one pass; anything
        // else, and the records from a bad one on, are framed record by record. Of several
        // documents one after another, each is a delivery file of its own.
        let (whole, several) = match shape {
            Shape::Documents { documents_before } => {
                let numbered = move |(number, document)| {
                    (document, Shape::Documents { documents_before: documents_before + number - 1 })
                };
                (None, Some(documents(text).map(numbered)))
            }
            Shape::Whole | Shape::Lines { .. } => (Some((text, shape)), None),
        };
        for (text, shape) in whole.into_iter().chain(several.into_iter().flatten()) {
            let one_pass = match shape {
                Shape::Whole | Shape::Documents { .. } => {
                    text.len() <= options.max_record_bytes && errors.first.is_none()
                }
                Shape::Lines { .. } => false,
            };
            // Where the one pass reads, its records sit: the first document's.
            let document = match shape {
                Shape::Documents { documents_before } => documents_before + 1,
                _ => 1,
            };
            let mut index = 0;
            let read = if one_pass {
                normalize_delivery(text, enrichment, &mut event, &mut |event| {
                    let position = match shape {
                        Shape::Documents { .. } => Position::DocumentRecord(document, index),
                        _ => Position::Index(index),
                    };
                    errors.wrong_types(position, event);
                    index += 1;
                    append(event);
                })
            } else {
                DeliveryRead::Stopped { emitted: 0 }
            };
            let DeliveryRead::Stopped { emitted } = read else { continue };
            frame_as(shape, text, options.max_record_bytes, &mut |record| {
                if errors.first.is_some() {
                    return;
                }
                let record = match record {
                    Ok(record) => record,
                    Err(error) => return errors.add(error),
                };
                let read_in_one_pass = match record.position {
                    Position::Index(i) => i < emitted,
                    Position::DocumentRecord(d, i) => d == document && i < emitted,
                    _ => false,
                };
                if read_in_one_pass {
                    return;
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
        errors.finish(errors_seen)
    }
}

/// What went wrong cutting a streamed object into pieces (a line over the record limit, a
/// failed read): reported like an error within the object, or in strict mode returned.
pub(crate) fn stream_damage(
    object: &SourceObject,
    damage: DecodeError,
    errors_seen: &AtomicBool,
    options: &ReadOptions,
    report: &ReadReport,
) -> Result<(), ReadError> {
    let mut errors = ObjectErrors::new(object, options, report);
    errors.add(damage);
    errors.finish(errors_seen)
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

impl<'r> ObjectErrors<'r> {
    fn new(name: &'r dyn fmt::Display, options: &ReadOptions, report: &'r ReadReport) -> ObjectErrors<'r> {
        ObjectErrors { name, strict: options.strict, report, first: None, any: false }
    }

    /// Counts the object as one with errors, once however many reads of it had some; in
    /// strict mode, the error that stops the read.
    fn finish(self, errors_seen: &AtomicBool) -> Result<(), ReadError> {
        if self.any && !errors_seen.swap(true, Ordering::Relaxed) {
            self.report.objects_with_errors.fetch_add(1, Ordering::Relaxed);
        }
        self.first.map_or(Ok(()), Err)
    }

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
