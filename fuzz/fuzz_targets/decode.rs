//! Any bytes through the whole read path: decompression, framing, normalization, whole and as
//! a stream cut into pieces (stdin). It must never panic. Run: `cargo +nightly fuzz run decode`
//! (seed corpus: any CloudTrail files).
#![no_main]

use keytrail_decode::{Pieces, Record};
use keytrail_ecs::{Enrichment, normalize_record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let enrichment = Enrichment::default();
    let mut normalize = |record: Result<Record<'_>, keytrail_decode::DecodeError>| {
        if let Ok(record) = record {
            let _ = normalize_record(record.json, &enrichment);
        }
    };
    let mut inflated = Vec::new();
    let (text, _) = keytrail_decode::decompress(data, &mut inflated);
    let (text, _) = keytrail_decode::utf8_prefix(text);
    keytrail_decode::frame(text, 1 << 20, &mut normalize);
    // Small pieces, so that cuts fall inside lines, documents and strings of the input.
    for piece in Pieces::new(std::io::Cursor::new(data.to_vec()), 64, 1 << 20).flatten() {
        let (text, _) = keytrail_decode::utf8_prefix(&piece.text);
        keytrail_decode::frame_as(piece.shape, text, 1 << 20, &mut normalize);
    }
});
