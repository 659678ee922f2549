//! Decoding: an object's bytes to the raw JSON text of each record in it.
//!
//! Two layers, each with errors that say whether reading can go on:
//! 1. [`decompress`]: gzip is recognised by its magic bytes, not by the file name. A corrupt
//!    or truncated stream keeps what was inflated before the damage.
//! 2. [`frame`]: the shapes events arrive in: CloudTrail delivery files (`{"Records":[…]}`,
//!    compact or pretty-printed), NDJSON (one event, or one delivery file, a line), JSON
//!    arrays of events, and JSON documents one after another (delivery files concatenated by
//!    `zcat *.json.gz`). A damaged record costs that record; damage that breaks the JSON
//!    structure costs the rest of the object, and the error says so.
//!
//! A stream too large to hold (standard input) is cut by [`Pieces`] into whole NDJSON lines or
//! whole documents, framed piece by piece with their positions numbered as in the stream.
//!
//! What a record holds (a CloudTrail event, an EventBridge envelope, an ECS document) is the
//! normalizer's concern: framing hands over raw JSON text and never parses a record fully.

mod error;
mod frame;
mod stream;

pub use error::{DecodeError, Position};
pub use frame::{Record, documents, frame, frame_as};
pub use stream::{DEFAULT_PIECE_BYTES, Piece, Pieces, Shape};

use std::io::Read;

/// Records above this size are refused: CloudTrail caps an event at 256 KB, so anything far
/// larger is not a CloudTrail event and would only bloat memory.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 4 << 20;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The object's text: `bytes` themselves, or if they are gzip (by magic bytes, any number of
/// members) their inflated text, in `out` (cleared first, its allocation reused: a reader
/// keeps one buffer for every object it reads). On damage, returns what was inflated before
/// it together with the error.
pub fn decompress<'b>(bytes: &'b [u8], out: &'b mut Vec<u8>) -> (&'b [u8], Option<DecodeError>) {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return (bytes, None);
    }
    out.clear();
    // CloudTrail files compress about 10:1; start near that to avoid regrowing.
    out.reserve(bytes.len().saturating_mul(10));
    let mut decoder = flate2::bufread::MultiGzDecoder::new(bytes);
    match decoder.read_to_end(out) {
        Ok(_) => (out, None),
        Err(e) => {
            let kept = out.len();
            let error =
                DecodeError::object(format!("corrupt gzip ({e}); kept the {kept} bytes inflated before the damage"));
            (out, Some(error))
        }
    }
}

/// Checks the text is UTF-8; invalid text is cut at the first bad byte (and reported) so the
/// records before it are still read.
pub fn utf8_prefix(text: &[u8]) -> (&str, Option<DecodeError>) {
    match std::str::from_utf8(text) {
        Ok(s) => (s, None),
        Err(e) => {
            let valid = e.valid_up_to();
            // Safety of the slice: `valid_up_to` is the length of the longest valid prefix.
            let s = std::str::from_utf8(&text[..valid]).unwrap_or_default();
            (s, Some(DecodeError::object(format!("invalid UTF-8 at byte {valid}; the rest of the object is skipped"))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_is_detected_by_content() {
        let mut out = Vec::new();
        let packed = gzip(b"{\"Records\":[]}");
        let (text, err) = decompress(&packed, &mut out);
        assert_eq!(text, b"{\"Records\":[]}");
        assert!(err.is_none());
        let (text, err) = decompress(b"plain", &mut out);
        assert_eq!(text, b"plain");
        assert!(err.is_none());
    }

    #[test]
    fn concatenated_gzip_members_are_all_read() {
        let mut both = gzip(b"one\n");
        both.extend(gzip(b"two\n"));
        assert_eq!(decompress(&both, &mut Vec::new()).0, b"one\ntwo\n");
    }

    #[test]
    fn truncated_gzip_keeps_the_inflated_prefix() {
        let data: Vec<u8> = (0..20000).flat_map(|i| format!("{{\"n\":{i}}}\n").into_bytes()).collect();
        let mut packed = gzip(&data);
        packed.truncate(packed.len() / 2);
        let mut out = b"left over from the previous object".to_vec();
        let (text, err) = decompress(&packed, &mut out);
        let err = err.expect("truncation is reported");
        assert!(!err.can_continue());
        assert!(err.to_string().contains("corrupt gzip"), "{err}");
        assert!(!text.is_empty() && data.starts_with(text));
    }

    #[test]
    fn invalid_utf8_cuts_the_text() {
        let (text, err) = utf8_prefix(b"{\"a\":1}\n\xff\xfe");
        assert_eq!(text, "{\"a\":1}\n");
        assert!(err.unwrap().to_string().contains("byte 8"));
    }
}
