//! A stable stand-in for the fuzzer (fuzz/, nightly only): the corpus's records, damaged in
//! thousands of seeded ways, go through framing and normalization without a panic, and a read
//! of no column (`count(*)`) keeps exactly the records a full read keeps.

use keytrail_ecs::{ColumnSet, EcsEvent, Enrichment, normalize_into, normalize_record};

/// A small deterministic generator, so failures reproduce.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

#[test]
fn damaged_records_never_panic() {
    let Some(dir) = keytrail_testkit::require::corpus("cloudtrail/stratus-red-team-detonations") else { return };
    let mut samples: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .filter_map(|e| std::fs::read(e.ok()?.path()).ok())
        .filter(|bytes| bytes.starts_with(b"[") || bytes.starts_with(b"{"))
        .take(8)
        .collect();
    samples.sort();
    assert!(!samples.is_empty(), "no JSON files in {}", dir.display());
    let mut rng = Lcg(7);
    let enrichment = Enrichment::default();
    let noise: &[u8] = b"{}[]\",:0123456789tfn\\\x00\xff ";
    let mut records = 0usize;
    for round in 0..3000 {
        let mut bytes = samples[round % samples.len()].clone();
        for _ in 0..1 + rng.next() % 8 {
            let at = rng.next() % bytes.len();
            match rng.next() % 3 {
                0 => bytes[at] = noise[rng.next() % noise.len()],
                1 => bytes.truncate(at.max(1)),
                _ => bytes.insert(at, noise[rng.next() % noise.len()]),
            }
        }
        let (text, _) = keytrail_decode::utf8_prefix(&bytes);
        keytrail_decode::frame(text, 1 << 20, &mut |record| {
            if let Ok(record) = record {
                records += 1;
                let full = normalize_record(record.json, &enrichment).is_ok();
                let mut none = EcsEvent::with_columns(ColumnSet::default());
                let counted = normalize_into(record.json, &enrichment, &mut none).is_ok();
                assert_eq!(counted, full, "round {round}: a read of no column and a full read disagree");
            }
        });
    }
    assert!(records > 1000, "the damage should leave many records to normalize: {records}");
}
