//! Framing: finding the records in an object's text.

use serde::de::IgnoredAny;

use crate::{DecodeError, Position};

/// One record's raw JSON text and where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub position: Position,
    pub json: &'a str,
}

/// Calls `emit` with every record of the object, or with an error for what could not be
/// framed. Records larger than `max_record_bytes` are reported, not emitted.
pub fn frame<'a>(text: &'a str, max_record_bytes: usize, emit: &mut dyn FnMut(Result<Record<'a>, DecodeError>)) {
    let body = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    if body.is_empty() {
        return;
    }
    let mut framer = Framer { max_record_bytes, emit, next_index: 0 };
    if body.starts_with('[') {
        framer.array(body);
    } else if looks_like_ndjson(body) {
        framer.lines(text);
    } else if is_complete_json(body) || !body.contains('\n') {
        framer.object(body, None);
    } else {
        // A multi-line text that is not one JSON value: NDJSON whose first line is damaged.
        framer.lines(text);
    }
}

struct Framer<'e, 'a> {
    max_record_bytes: usize,
    emit: &'e mut dyn FnMut(Result<Record<'a>, DecodeError>),
    next_index: usize,
}

impl<'a> Framer<'_, 'a> {
    /// One top-level JSON object: a delivery file (its `Records` are the records) or an event.
    /// `line` is set in NDJSON, where positions are reported by line.
    fn object(&mut self, json: &'a str, line: Option<usize>) {
        if let Some(records) = records_array(json) {
            self.array(records);
        } else {
            let position = line.map_or_else(|| self.take_index(), Position::Line);
            self.record(position, json);
        }
    }

    fn array(&mut self, json: &'a str) {
        for item in sonic_rs::to_array_iter(json) {
            match item {
                Ok(value) => {
                    // The raw text borrows from `json`; re-slice it so it lives as long.
                    let raw = value.as_raw_str();
                    let start = offset_in(json, raw);
                    let position = self.take_index();
                    self.record(position, &json[start..start + raw.len()]);
                }
                Err(e) => {
                    (self.emit)(Err(DecodeError::object(format!(
                        "invalid JSON after record {} ({}); the rest of the object is skipped",
                        self.next_index,
                        short(&e)
                    ))));
                    return;
                }
            }
        }
    }

    fn lines(&mut self, text: &'a str) {
        for (n, line) in text.split('\n').enumerate() {
            let line = line.trim();
            if !line.is_empty() {
                self.object(line, Some(n + 1));
            }
        }
    }

    fn record(&mut self, position: Position, json: &'a str) {
        if json.len() > self.max_record_bytes {
            (self.emit)(Err(DecodeError::record(
                position,
                format!("record of {} bytes is over the {}-byte limit; skipped", json.len(), self.max_record_bytes),
            )));
        } else {
            (self.emit)(Ok(Record { position, json }));
        }
    }

    fn take_index(&mut self) -> Position {
        self.next_index += 1;
        Position::Index(self.next_index - 1)
    }
}

/// The text of the `Records` array when `json` is a delivery file. CloudTrail writes the key
/// first; a file where it is not first is still found, at the cost of one scan.
fn records_array(json: &str) -> Option<&str> {
    let rest = json.strip_prefix('{')?.trim_start();
    if let Some(after_key) = rest.strip_prefix("\"Records\"") {
        let after_colon = after_key.trim_start().strip_prefix(':')?.trim_start();
        return after_colon.starts_with('[').then_some(after_colon);
    }
    if !json.contains("\"Records\"") {
        return None;
    }
    let value = sonic_rs::get_from_str(json, ["Records"]).ok()?;
    let raw = value.as_raw_str();
    raw.starts_with('[').then(|| &json[offset_in(json, raw)..])
}

fn offset_in(outer: &str, inner: &str) -> usize {
    inner.as_ptr() as usize - outer.as_ptr() as usize
}

/// NDJSON when the first line is a whole JSON value and more follows it.
fn looks_like_ndjson(body: &str) -> bool {
    match body.split_once('\n') {
        Some((first, rest)) => !rest.trim().is_empty() && is_complete_json(first.trim()),
        None => false,
    }
}

fn is_complete_json(text: &str) -> bool {
    sonic_rs::from_str::<IgnoredAny>(text).is_ok()
}

/// sonic-rs errors quote the input around the failure; keep only the description, so that
/// no record content (which may hold secrets) reaches messages.
pub(crate) fn short(e: &sonic_rs::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.split(" at line ").next().unwrap_or(first).trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(text: &str) -> (Vec<(Position, String)>, Vec<String>) {
        let (mut records, mut errors) = (Vec::new(), Vec::new());
        frame(text, 1000, &mut |r| match r {
            Ok(r) => records.push((r.position, r.json.to_string())),
            Err(e) => errors.push(e.to_string()),
        });
        (records, errors)
    }

    #[test]
    fn delivery_files_compact_and_pretty() {
        let (records, errors) = collect(r#"{"Records":[{"a":1},{"b":2}]}"#);
        assert_eq!(records, [(Position::Index(0), r#"{"a":1}"#.into()), (Position::Index(1), r#"{"b":2}"#.into())]);
        assert!(errors.is_empty());
        let (records, _) = collect("{\n  \"Records\": [\n    {\"a\": 1},\n    {\"b\": 2}\n  ]\n}\n");
        assert_eq!(records.len(), 2);
        let (records, _) = collect(r#"{"other":true,"Records":[{"a":1}]}"#);
        assert_eq!(records, [(Position::Index(0), r#"{"a":1}"#.into())]);
    }

    #[test]
    fn ndjson_of_events_and_of_delivery_files() {
        let (records, errors) = collect("{\"a\":1}\n\n{\"b\":2}\r\n{\"Records\":[{\"c\":3},{\"d\":4}]}\n");
        let positions: Vec<Position> = records.iter().map(|r| r.0).collect();
        assert_eq!(positions, [Position::Line(1), Position::Line(3), Position::Index(0), Position::Index(1)]);
        assert!(errors.is_empty());
    }

    #[test]
    fn a_damaged_line_costs_only_itself() {
        let (records, errors) = collect("{\"a\":1}\n{\"b\":\n{\"c\":3}\n");
        assert_eq!(records.len(), 3, "the damaged line is handed on and refused by the parser");
        assert!(errors.is_empty());
        let (records, _) = collect("{\"b\":\n{\"a\":1}\n{\"c\":3}\n");
        assert_eq!(records.len(), 3, "a damaged first line still leaves NDJSON");
    }

    #[test]
    fn json_arrays_and_single_events() {
        let (records, _) = collect(r#"[{"a":1}, {"b":2}]"#);
        assert_eq!(records.len(), 2);
        let (records, _) = collect("{\n \"eventName\": \"X\"\n}");
        assert_eq!(records, [(Position::Index(0), "{\n \"eventName\": \"X\"\n}".into())]);
    }

    #[test]
    fn truncated_delivery_file_keeps_complete_records() {
        let (records, errors) = collect(r#"{"Records":[{"a":1},{"b":2},{"c":"#);
        assert_eq!(records.len(), 2);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("invalid JSON after record 2"), "{}", errors[0]);
    }

    #[test]
    fn oversized_records_are_reported() {
        let big = format!(r#"{{"Records":[{{"a":"{}"}},{{"b":1}}]}}"#, "x".repeat(2000));
        let (records, errors) = collect(&big);
        assert_eq!(records.len(), 1);
        assert!(errors[0].starts_with("record 0: record of 2008 bytes"), "{}", errors[0]);
    }

    #[test]
    fn empty_and_whitespace_objects_have_no_records() {
        assert_eq!(collect(""), (vec![], vec![]));
        assert_eq!(collect(" \n\t"), (vec![], vec![]));
    }
}
