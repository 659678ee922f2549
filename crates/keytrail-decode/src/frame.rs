//! Framing: finding the records in an object's text.

use serde::de::IgnoredAny;

use crate::{DecodeError, Position, Shape};

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
    let mut framer = Framer { max_record_bytes, emit };
    if looks_like_ndjson(body) {
        framer.lines(text, 0);
    } else if is_complete_json(body) {
        framer.value(body, Within::Object);
    } else if holds_several_documents(body) {
        // JSON documents one after another: delivery files concatenated (`zcat *.json.gz`).
        framer.documents(body, 0);
    } else if body.starts_with('[') {
        framer.array(body, Within::Object);
    } else if !body.contains('\n') {
        framer.object(body, Within::Object);
    } else {
        // A multi-line text that is not one JSON value: NDJSON whose first line is damaged.
        framer.lines(text, 0);
    }
}

/// [`frame`] for a whole object; for a [`crate::Piece`] of a stream, its lines or documents
/// framed as in the whole stream, and numbered as there.
pub fn frame_as<'a>(
    shape: Shape,
    text: &'a str,
    max_record_bytes: usize,
    emit: &mut dyn FnMut(Result<Record<'a>, DecodeError>),
) {
    let mut framer = Framer { max_record_bytes, emit };
    match shape {
        Shape::Whole => frame(text, max_record_bytes, framer.emit),
        Shape::Lines { lines_before } => framer.lines(text, lines_before),
        Shape::Documents { documents_before } => framer.documents(text, documents_before),
    }
}

/// The JSON documents of a text that holds them one after another, each with its number
/// (from 1), whitespace between them left out. Text that is not JSON is a document of its
/// own, up to the next whitespace or document.
pub fn documents(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut rest = text;
    let mut number = 0;
    std::iter::from_fn(move || {
        rest = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        if rest.is_empty() {
            return None;
        }
        let end = DocumentEnd::default().find(rest.as_bytes()).unwrap_or(rest.len());
        let (document, after) = rest.split_at(end);
        rest = after;
        number += 1;
        Some((number, document))
    })
}

/// Whether a text that is not one JSON value holds more than one document: its first closes
/// before the end.
fn holds_several_documents(body: &str) -> bool {
    DocumentEnd::default()
        .find(body.as_bytes())
        .is_some_and(|end| !body[end..].trim_matches([' ', '\t', '\r', '\n']).is_empty())
}

/// Where a JSON document ends, found by following its brackets and strings, not by parsing:
/// a scan that can stop and go on as more of a stream arrives.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DocumentEnd {
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// A bare value (a number, a word, garbage) at the top.
    bare: bool,
}

impl DocumentEnd {
    /// The offset just past the end of the document that `bytes` continue (leading whitespace
    /// skipped), if it ends within them; otherwise the scan so far is kept for more bytes.
    pub(crate) fn find(&mut self, bytes: &[u8]) -> Option<usize> {
        let mut i = 0;
        while i < bytes.len() {
            if self.in_string {
                // Strings are most of CloudTrail's text: jump to what can end one.
                if self.escaped {
                    self.escaped = false;
                    i += 1;
                    continue;
                }
                match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                    None => return None,
                    Some(at) => {
                        i += at;
                        if bytes[i] == b'\\' {
                            self.escaped = true;
                        } else {
                            self.in_string = false;
                            if self.depth == 0 {
                                *self = DocumentEnd::default();
                                return Some(i + 1);
                            }
                        }
                        i += 1;
                        continue;
                    }
                }
            }
            let byte = bytes[i];
            let separates = matches!(byte, b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'[' | b'"');
            if self.bare && separates {
                *self = DocumentEnd::default();
                return Some(i);
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' if self.depth > 0 => {
                    self.depth -= 1;
                    if self.depth == 0 {
                        *self = DocumentEnd::default();
                        return Some(i + 1);
                    }
                }
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ if self.depth == 0 => self.bare = true,
                _ => {}
            }
            i += 1;
        }
        None
    }
}

/// What a framed JSON value is part of, for the positions of its records.
#[derive(Debug, Clone, Copy)]
enum Within {
    /// The object itself: records by index.
    Object,
    /// An NDJSON line.
    Line(usize),
    /// One of several JSON documents one after another.
    Document(usize),
}

impl Within {
    /// The position of record `index` of the value's array.
    fn record(self, index: usize) -> Position {
        match self {
            Within::Object => Position::Index(index),
            Within::Line(line) => Position::LineRecord(line, index),
            Within::Document(document) => Position::DocumentRecord(document, index),
        }
    }

    /// The position of the value itself, an event.
    fn event(self) -> Position {
        match self {
            Within::Object => Position::Index(0),
            Within::Line(line) => Position::Line(line),
            Within::Document(document) => Position::Document(document),
        }
    }
}

struct Framer<'e, 'a> {
    max_record_bytes: usize,
    emit: &'e mut dyn FnMut(Result<Record<'a>, DecodeError>),
}

impl<'a> Framer<'_, 'a> {
    /// A JSON value: an array of records, or an object.
    fn value(&mut self, json: &'a str, within: Within) {
        if json.starts_with('[') { self.array(json, within) } else { self.object(json, within) }
    }

    /// One JSON object: a delivery file (its `Records` are the records) or an event.
    fn object(&mut self, json: &'a str, within: Within) {
        match records_array(json) {
            Some(records) => self.array(records, within),
            None => self.record(within.event(), json),
        }
    }

    fn array(&mut self, json: &'a str, within: Within) {
        for (index, item) in sonic_rs::to_array_iter(json).enumerate() {
            match item {
                Ok(value) => {
                    // The raw text borrows from `json`; re-slice it so it lives as long.
                    let raw = value.as_raw_str();
                    let start = offset_in(json, raw);
                    self.record(within.record(index), &json[start..start + raw.len()]);
                }
                Err(e) => {
                    let error = match within {
                        Within::Object => DecodeError::object(format!(
                            "invalid JSON after record {index} ({}); the rest of the object is skipped",
                            short(&e)
                        )),
                        Within::Line(_) | Within::Document(_) => DecodeError::record(
                            within.event(),
                            format!("invalid JSON after record {index} ({}); the rest of it is skipped", short(&e)),
                        ),
                    };
                    (self.emit)(Err(error));
                    return;
                }
            }
        }
    }

    fn lines(&mut self, text: &'a str, lines_before: usize) {
        for (n, line) in text.split('\n').enumerate() {
            let line = line.trim();
            if !line.is_empty() {
                self.value(line, Within::Line(lines_before + n + 1));
            }
        }
    }

    fn documents(&mut self, text: &'a str, documents_before: usize) {
        for (number, document) in documents(text) {
            self.value(document, Within::Document(documents_before + number));
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

pub(crate) fn is_complete_json(text: &str) -> bool {
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
        assert_eq!(
            positions,
            [Position::Line(1), Position::Line(3), Position::LineRecord(4, 0), Position::LineRecord(4, 1)]
        );
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
