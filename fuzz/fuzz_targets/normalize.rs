//! Any text as one CloudTrail record, envelope or ECS document through `normalize_record`,
//! read three ways: every column, no column (`count(*)`), and a column set picked by the
//! input's hash. It must never panic; every read must keep or refuse the record alike and
//! give the columns it wants the values of the full read; and a secret planted as
//! `"password":"CANARY…"` must not reach any column. Run: `scripts/fuzz.sh 10 normalize`
//! (or `cargo +nightly fuzz run normalize fuzz/corpus/normalize`).
#![no_main]

use std::hash::{DefaultHasher, Hash, Hasher};

use keytrail_ecs::{COLUMNS, Col, ColumnSet, EcsEvent, Enrichment, normalize_into, normalize_record};
use libfuzzer_sys::fuzz_target;

const CANARY: &str = "CANARY";
const PLANTED_SECRET: &str = "\"password\":\"CANARY";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let enrichment = Enrichment::default();
    let full = normalize_record(text, &enrichment);

    let mut none = EcsEvent::with_columns(ColumnSet::default());
    let counted = normalize_into(text, &enrichment, &mut none);
    assert_eq!(counted.is_ok(), full.is_ok(), "a read of no column and a full read disagree");

    let wanted = hashed_column_set(text);
    let mut partial = EcsEvent::with_columns(wanted);
    let partial_read = normalize_into(text, &enrichment, &mut partial);
    assert_eq!(partial_read.is_ok(), full.is_ok(), "a read of {wanted:?} and a full read disagree");

    let Ok(full) = full else { return };
    for &col in Col::ALL.iter().filter(|&&col| wanted.contains(col)) {
        assert_eq!(partial.column(col), full.column(col), "{} differs in a read of {wanted:?}", col.def().name);
    }
    // Only when every CANARY in the text is a planted password value is its presence in the
    // output a leak; elsewhere (a user agent, a name) the canary is just data.
    if text.contains(PLANTED_SECRET) && text.matches(CANARY).count() == text.matches(PLANTED_SECRET).count() {
        for (col, def) in Col::ALL.iter().zip(COLUMNS.iter()) {
            let value = format!("{:?}", full.column(*col));
            assert!(!value.contains(CANARY), "the planted password reached {}: {value}", def.name);
        }
    }
});

/// A column set that varies with the input, so the fuzzer explores partial reads without
/// giving up bytes of the record to choose one.
fn hashed_column_set(text: &str) -> ColumnSet {
    let mut hasher = DefaultHasher::new();
    text.hash(&mut hasher);
    let bits = hasher.finish();
    let mut set = ColumnSet::default();
    for (index, &col) in Col::ALL.iter().enumerate() {
        if bits.rotate_left(index as u32 * 7) & 1 == 1 {
            set.insert(col);
        }
    }
    set
}
