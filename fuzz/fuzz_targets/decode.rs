//! Any bytes through the whole read path: decompression, framing, normalization. It must
//! never panic. Run: `cargo +nightly fuzz run decode` (seed corpus: any CloudTrail files).
#![no_main]

use keytrail_ecs::{Enrichment, normalize_record};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut inflated = Vec::new();
    let (text, _) = keytrail_decode::decompress(data, &mut inflated);
    let (text, _) = keytrail_decode::utf8_prefix(text);
    let enrichment = Enrichment::default();
    keytrail_decode::frame(text, 1 << 20, &mut |record| {
        if let Ok(record) = record {
            let _ = normalize_record(record.json, &enrichment);
        }
    });
});
