//! Streaming: an object read as it arrives (standard input) instead of held whole.
//!
//! A pipe can carry more than memory holds (`zcat *.json.gz | keytrail …`), so its text is
//! cut into [`Piece`]s, each framed on its own with its positions numbered as in the whole
//! stream: NDJSON (a first line that is a whole JSON value, and more after it) at line ends;
//! anything else at the ends of JSON documents (delivery files one after another, as `zcat`
//! writes them; a single pretty-printed file is one document, held whole). gzip is recognised
//! by its magic bytes and inflated as it streams.

use std::io::{self, Read};

use crate::frame::{DocumentEnd, is_complete_json};
use crate::{DecodeError, GZIP_MAGIC, Position};

/// How much text a piece holds at least (but for the last): enough lines to fill a good part
/// of a batch, few enough that the pieces in flight cost little memory.
pub const DEFAULT_PIECE_BYTES: usize = 1 << 20;

/// How many bytes one read asks for.
const READ_BYTES: usize = 64 << 10;

/// A part of a streamed object's (inflated) text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: Vec<u8>,
    pub shape: Shape,
}

/// How a text is framed ([`crate::frame_as`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A whole object, framed as any object is ([`crate::frame`]).
    Whole,
    /// Whole NDJSON lines, the first of them line `lines_before + 1` of the object.
    Lines { lines_before: usize },
    /// Whole JSON documents, the first of them document `documents_before + 1` of the object.
    Documents { documents_before: usize },
}

/// The pieces of a stream, or the errors met cutting it: a line over the record limit (skipped
/// without being held; the pieces go on after it), or a read that failed (the last item).
pub struct Pieces {
    source: Box<dyn Read + Send>,
    gzip: bool,
    piece_bytes: usize,
    /// How many bytes one read asks for: [`READ_BYTES`], or less for small pieces.
    read_bytes: usize,
    max_record_bytes: usize,
    /// Read but not yet handed on: the start of a line or document, or the text before the
    /// shape is known.
    pending: Vec<u8>,
    shape: Option<Shape>,
    /// Lines handed on or skipped so far.
    lines_before: usize,
    /// Documents handed on so far.
    documents_before: usize,
    /// For documents: the scan of `pending` so far, how far it reached, and the end of the
    /// last whole document in it with their count.
    document_end: DocumentEnd,
    scanned: usize,
    documents_end: usize,
    documents: usize,
    /// Bytes read from `source` so far (inflated bytes for gzip).
    read: u64,
    /// The failure that ends the stream, given after the text read before it.
    failure: Option<DecodeError>,
    ended: bool,
}

impl Pieces {
    /// `piece_bytes`: see [`DEFAULT_PIECE_BYTES`]. Records over `max_record_bytes` are
    /// reported, not handed on.
    pub fn new(source: impl Read + Send + 'static, piece_bytes: usize, max_record_bytes: usize) -> Pieces {
        let mut source: Box<dyn Read + Send> = Box::new(source);
        let mut magic = Vec::with_capacity(GZIP_MAGIC.len());
        let peeked = (&mut source).take(GZIP_MAGIC.len() as u64).read_to_end(&mut magic);
        let gzip = peeked.is_ok() && magic == GZIP_MAGIC;
        let source: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(io::Cursor::new(magic).chain(source))))
        } else {
            Box::new(io::Cursor::new(magic).chain(source))
        };
        let failure = peeked.err().map(|e| DecodeError::object(format!("read failed: {e}")));
        Pieces {
            source,
            gzip,
            piece_bytes: piece_bytes.max(1),
            read_bytes: READ_BYTES.min(piece_bytes.max(1)),
            max_record_bytes,
            pending: Vec::new(),
            shape: None,
            lines_before: 0,
            documents_before: 0,
            document_end: DocumentEnd::default(),
            scanned: 0,
            documents_end: 0,
            documents: 0,
            read: 0,
            ended: failure.is_some(),
            failure,
        }
    }

    /// Reads up to `read_bytes` more into `pending`; false at the end of the stream or on a
    /// failure (kept for after the text).
    fn read_more(&mut self) -> bool {
        if self.ended {
            return false;
        }
        match (&mut self.source).take(self.read_bytes as u64).read_to_end(&mut self.pending) {
            Ok(0) => self.ended = true,
            Ok(n) => self.read += n as u64,
            Err(e) => {
                self.ended = true;
                let read = self.read;
                self.failure = Some(DecodeError::object(if self.gzip {
                    format!("corrupt gzip ({e}); kept the {read} bytes inflated before the damage")
                } else {
                    format!("read failed after {read} bytes ({e})")
                }));
            }
        }
        !self.ended
    }

    /// Reads until the shape can be told ([`shape_of`]), scanning the first document once.
    fn find_shape(&mut self) -> Shape {
        let mut first_end = None;
        loop {
            if first_end.is_none() {
                match self.document_end.find(&self.pending[self.scanned..]) {
                    Some(end) => {
                        self.scanned += end;
                        first_end = Some(self.scanned);
                    }
                    None => self.scanned = self.pending.len(),
                }
            }
            if let Some(shape) = shape_of(&self.pending, first_end, self.ended) {
                (self.document_end, self.scanned) = (DocumentEnd::default(), 0);
                return shape;
            }
            self.read_more();
        }
    }

    fn next_lines(&mut self) -> Option<Result<Piece, DecodeError>> {
        while self.pending.len() < self.piece_bytes && self.read_more() {}
        loop {
            match memchr::memrchr(b'\n', &self.pending) {
                Some(newline) => return Some(Ok(self.cut(newline + 1))),
                None if self.pending.is_empty() && self.ended => return self.failure.take().map(Err),
                None if self.ended => return Some(Ok(self.cut(self.pending.len()))),
                // One line longer than a piece: read on to its end, unless it is past the
                // record limit, where it is skipped without being held any longer.
                None if self.pending.len() > self.max_record_bytes => return Some(Err(self.skip_line())),
                None => {
                    self.read_more();
                }
            }
        }
    }

    fn next_documents(&mut self) -> Option<Result<Piece, DecodeError>> {
        loop {
            while self.documents_end < self.piece_bytes {
                let Some(end) = self.document_end.find(&self.pending[self.scanned..]) else {
                    self.scanned = self.pending.len();
                    break;
                };
                self.scanned += end;
                self.documents_end = self.scanned;
                self.documents += 1;
            }
            if self.documents_end >= self.piece_bytes {
                break;
            }
            if !self.read_more() {
                if !self.pending[self.documents_end..].trim_ascii().is_empty() {
                    // What follows the last whole document is one more, cut short: framing
                    // says so.
                    self.documents_end = self.pending.len();
                    self.documents += 1;
                }
                if self.documents_end == 0 {
                    return self.failure.take().map(Err);
                }
                break;
            }
        }
        let rest = self.pending.split_off(self.documents_end);
        let text = std::mem::replace(&mut self.pending, rest);
        let shape = Shape::Documents { documents_before: self.documents_before };
        self.documents_before += std::mem::take(&mut self.documents);
        self.scanned -= self.documents_end;
        self.documents_end = 0;
        Some(Ok(Piece { text, shape }))
    }

    /// The first `length` bytes of `pending`, whole lines, as a piece.
    fn cut(&mut self, length: usize) -> Piece {
        let rest = self.pending.split_off(length);
        let text = std::mem::replace(&mut self.pending, rest);
        let shape = Shape::Lines { lines_before: self.lines_before };
        self.lines_before += memchr::memchr_iter(b'\n', &text).count();
        Piece { text, shape }
    }

    /// Drops the line in `pending` and the rest of it still unread.
    fn skip_line(&mut self) -> DecodeError {
        let line = self.lines_before + 1;
        let mut length = self.pending.len();
        self.pending.clear();
        loop {
            if let Some(end) = memchr::memchr(b'\n', &self.pending) {
                length += end;
                self.pending.drain(..=end);
                break;
            }
            length += self.pending.len();
            self.pending.clear();
            if !self.read_more() {
                break;
            }
        }
        self.lines_before += 1;
        DecodeError::record(
            Position::Line(line),
            format!("record of {length} bytes is over the {}-byte limit; skipped", self.max_record_bytes),
        )
    }
}

/// The shape of a stream from its start (`first_end`: where its first document ends, if it
/// has), or `None` while more is needed. NDJSON when its first line is one whole document and
/// another line follows; documents one after another when the first ends with more after it
/// on the same line, or when it spans lines. A first line that is not a whole document is a
/// pretty-printed document, or NDJSON whose first line is damaged: the next line tells.
fn shape_of(text: &[u8], first_end: Option<usize>, ended: bool) -> Option<Shape> {
    let lines = Shape::Lines { lines_before: 0 };
    let documents = Shape::Documents { documents_before: 0 };
    let start = text.len() - text.trim_ascii_start().len();
    let first_line_end = memchr::memchr(b'\n', &text[start..]).map(|n| start + n);
    if let Some(end) = first_end
        && !text[end..first_line_end.unwrap_or(text.len()).max(end)].trim_ascii().is_empty()
    {
        return Some(documents);
    }
    let Some(line_end) = first_line_end else { return ended.then_some(documents) };
    let mut rest = &text[line_end + 1..];
    let second = loop {
        match memchr::memchr(b'\n', rest) {
            Some(n) if rest[..n].trim_ascii().is_empty() => rest = &rest[n + 1..],
            Some(n) => break Some(&rest[..n]),
            None if ended => break (!rest.trim_ascii().is_empty()).then_some(rest),
            None => return None,
        }
    };
    let Some(second) = second else { return Some(documents) };
    if first_end.is_some_and(|end| end <= line_end) {
        return Some(lines);
    }
    let second_is_whole = std::str::from_utf8(second.trim_ascii()).is_ok_and(is_complete_json);
    Some(if second_is_whole { lines } else { documents })
}

impl Iterator for Pieces {
    type Item = Result<Piece, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let shape = match self.shape {
            Some(shape) => shape,
            None => {
                let shape = self.find_shape();
                *self.shape.insert(shape)
            }
        };
        match shape {
            Shape::Lines { .. } => self.next_lines(),
            // A stream is never `Whole` ([`shape_of`]): anything not NDJSON is documents.
            Shape::Documents { .. } | Shape::Whole => self.next_documents(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::frame_as;

    /// A pipe that hands over one byte per read, as a slow writer's may.
    struct Trickle(io::Cursor<Vec<u8>>);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn ndjson(lines: usize) -> Vec<u8> {
        (0..lines).flat_map(|i| format!("{{\"eventName\":\"Call{i}\"}}\n").into_bytes()).collect()
    }

    /// The records of the pieces, framed one by one, with their positions; and the errors.
    fn framed(pieces: Pieces) -> (Vec<(Position, String)>, Vec<String>) {
        let (mut records, mut errors) = (Vec::new(), Vec::new());
        for piece in pieces {
            let piece = match piece {
                Ok(piece) => piece,
                Err(e) => {
                    errors.push(e.to_string());
                    continue;
                }
            };
            let text = std::str::from_utf8(&piece.text).unwrap();
            let mut emit = |r: Result<crate::Record<'_>, DecodeError>| match r {
                Ok(r) => records.push((r.position, r.json.to_string())),
                Err(e) => errors.push(e.to_string()),
            };
            frame_as(piece.shape, text, 1000, &mut emit);
        }
        (records, errors)
    }

    /// The text framed whole, as a file is.
    fn whole(text: &[u8]) -> (Vec<(Position, String)>, Vec<String>) {
        let (mut records, mut errors) = (Vec::new(), Vec::new());
        crate::frame(std::str::from_utf8(text).unwrap(), 1000, &mut |r| match r {
            Ok(r) => records.push((r.position, r.json.to_string())),
            Err(e) => errors.push(e.to_string()),
        });
        (records, errors)
    }

    #[test]
    fn ndjson_is_cut_into_whole_lines_numbered_as_in_the_stream() {
        let text = ndjson(500);
        let pieces: Vec<Piece> = Pieces::new(io::Cursor::new(text.clone()), 1000, 1000).map(Result::unwrap).collect();
        assert!(pieces.len() > 10, "{} pieces", pieces.len());
        assert!(pieces.iter().all(|p| p.text.ends_with(b"\n")));
        assert!(pieces[..pieces.len() - 1].iter().all(|p| p.text.len() > 900), "cut near the piece size");
        assert_eq!(concat(&pieces), text);
        let (records, errors) = framed(Pieces::new(Trickle(io::Cursor::new(text.clone())), 1000, 1000));
        assert!(errors.is_empty());
        assert_eq!(records.len(), 500);
        assert_eq!(records[321], (Position::Line(322), "{\"eventName\":\"Call321\"}".into()));
        assert_eq!((records.clone(), errors), whole(&text), "as if the stream were framed whole");
        // A damaged first line still leaves NDJSON: the next line is a whole document.
        let damaged = b"{\"b\":\n{\"a\":1}\n{\"c\":3}\n".to_vec();
        let pieces: Vec<Piece> = Pieces::new(Trickle(io::Cursor::new(damaged)), 4, 1000).map(Result::unwrap).collect();
        assert!(pieces.iter().all(|p| matches!(p.shape, Shape::Lines { .. })), "{pieces:?}");
    }

    #[test]
    fn gzip_is_inflated_as_it_streams() {
        let text = ndjson(300);
        let mut packed = gzip(&text[..text.len() / 2]);
        packed.extend(gzip(&text[text.len() / 2..]));
        let pieces: Vec<Piece> = Pieces::new(Trickle(io::Cursor::new(packed)), 512, 1000).map(Result::unwrap).collect();
        assert!(pieces.len() > 5);
        assert_eq!(concat(&pieces), text);
    }

    #[test]
    fn truncated_gzip_keeps_the_lines_before_the_damage_and_says_so() {
        let text = ndjson(20_000);
        let mut packed = gzip(&text);
        packed.truncate(packed.len() / 2);
        let (records, errors) = framed(Pieces::new(io::Cursor::new(packed), 4096, 1000));
        assert!(records.len() > 1000 && records.len() < 20_000, "{}", records.len());
        assert!(errors.last().unwrap().starts_with("corrupt gzip"), "{errors:?}");
        assert!(errors.len() <= 2, "the damaged line at most, and the damage: {errors:?}");
    }

    #[test]
    fn a_line_over_the_record_limit_is_skipped_and_reading_goes_on() {
        let mut text = ndjson(3);
        text.extend(format!("{{\"a\":\"{}\"}}\n", "x".repeat(5000)).into_bytes());
        text.extend(ndjson(2));
        let (records, errors) = framed(Pieces::new(Trickle(io::Cursor::new(text)), 100, 1000));
        assert_eq!(errors, ["line 4: record of 5008 bytes is over the 1000-byte limit; skipped"]);
        let positions: Vec<Position> = records.iter().map(|r| r.0).collect();
        assert_eq!(positions, [1, 2, 3, 5, 6].map(Position::Line));
    }

    #[test]
    fn one_json_document_is_one_piece() {
        let delivery = b"{\n  \"Records\": [\n    {\"a\": 1},\n    {\"b\": 2}\n  ]\n}\n".to_vec();
        let pieces: Vec<Piece> =
            Pieces::new(Trickle(io::Cursor::new(delivery.clone())), 4, 1000).map(Result::unwrap).collect();
        let text = delivery[..delivery.len() - 1].to_vec();
        assert_eq!(pieces, [Piece { text, shape: Shape::Documents { documents_before: 0 } }]);
        let (records, errors) = framed(Pieces::new(io::Cursor::new(gzip(&delivery)), 4, 1000));
        assert_eq!(
            records,
            [
                (Position::DocumentRecord(1, 0), "{\"a\": 1}".into()),
                (Position::DocumentRecord(1, 1), "{\"b\": 2}".into())
            ]
        );
        assert!(errors.is_empty());
        assert_eq!(whole(&delivery).0.len(), 2);
        assert_eq!(Pieces::new(io::Cursor::new(Vec::new()), 4, 1000).count(), 0);
        assert_eq!(Pieces::new(io::Cursor::new(b" \n ".to_vec()), 4, 1000).count(), 0);
    }

    #[test]
    fn delivery_files_one_after_another_are_cut_between_them() {
        // As `zcat *.json.gz` writes them: no newline between files.
        let files: Vec<String> =
            (0..40).map(|f| format!("{{\"Records\":[{{\"n\":\"{f}-0\"}},{{\"n\":\"{f}-1 }}]\\\"\"}}]}}")).collect();
        let text = files.concat();
        let pieces: Vec<Piece> =
            Pieces::new(Trickle(io::Cursor::new(text.clone().into_bytes())), 100, 1000).map(Result::unwrap).collect();
        assert!(pieces.len() > 5, "{} pieces", pieces.len());
        assert_eq!(concat(&pieces), text.as_bytes());
        let (records, errors) = framed(Pieces::new(io::Cursor::new(text.clone().into_bytes()), 100, 1000));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(records.len(), 80);
        assert_eq!(records[77], (Position::DocumentRecord(39, 1), "{\"n\":\"38-1 }]\\\"\"}".into()));
        assert_eq!((records, errors), whole(text.as_bytes()), "a file holding the same is framed alike");
    }

    #[test]
    fn a_document_cut_short_at_the_end_is_reported() {
        let text = b"{\"Records\":[{\"a\":1}]}{\"Records\":[{\"b\":2},{\"c\":".to_vec();
        let (records, errors) = framed(Pieces::new(io::Cursor::new(text.clone()), 4, 1000));
        let positions: Vec<Position> = records.iter().map(|r| r.0).collect();
        assert_eq!(positions, [Position::DocumentRecord(1, 0), Position::DocumentRecord(2, 0)]);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("document 2: invalid JSON after record 1"), "{errors:?}");
        assert_eq!(whole(&text), (records, errors));
    }

    fn concat(pieces: &[Piece]) -> Vec<u8> {
        pieces.iter().flat_map(|p| p.text.iter().copied()).collect()
    }
}
