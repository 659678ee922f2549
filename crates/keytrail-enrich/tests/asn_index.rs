//! The compact ASN index end to end: CSV → index → file → index → lookups, and every way a
//! CSV or an index file can be wrong.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use keytrail_enrich::{Asn, AsnDatabase, AsnIndex, EnrichError, IndexProblem};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn fixture_index() -> AsnIndex {
    AsnIndex::from_csv_dir(&fixture("")).expect("fixture CSVs build")
}

fn ip(text: &str) -> IpAddr {
    text.parse().expect("test IP")
}

fn asn(index: &AsnIndex, text: &str) -> Option<(u32, String)> {
    index.lookup(ip(text)).map(|a| (a.number, a.organization.to_owned()))
}

fn some(number: u32, organization: &str) -> Option<(u32, String)> {
    Some((number, organization.to_owned()))
}

fn from_csv_strs(v4: &str, v6: &str) -> Result<AsnIndex, EnrichError> {
    AsnIndex::from_csv(v4.as_bytes(), v6.as_bytes())
}

/// Lookups that every fixture-built index must answer, whether built or loaded.
fn check_fixture_lookups(index: &AsnIndex) {
    // Range start, end and inside.
    assert_eq!(asn(index, "10.0.0.0"), some(64500, "Example Net"));
    assert_eq!(asn(index, "10.0.0.255"), some(64500, "Example Net"));
    assert_eq!(asn(index, "10.0.0.77"), some(64500, "Example Net"));
    // Quoted names with commas and escaped quotes.
    assert_eq!(asn(index, "10.0.1.0"), some(64501, "Comma, Inc."));
    assert_eq!(asn(index, "10.0.3.255"), some(64502, "Quote \"Q\" Networks, LLC"));
    assert_eq!(asn(index, "10.0.4.128"), some(64500, "Example Net"));
    // Gap between 10.0.4.255 and 10.0.6.0.
    assert_eq!(asn(index, "10.0.5.0"), None);
    assert_eq!(asn(index, "10.0.5.255"), None);
    // Two adjacent rows of the same AS and name, merged into one range.
    assert_eq!(asn(index, "10.0.6.0"), some(64503, "Example Net"));
    assert_eq!(asn(index, "10.0.7.255"), some(64503, "Example Net"));
    assert_eq!(asn(index, "10.0.8.0"), None);
    assert_eq!(asn(index, "192.0.2.9"), some(64510, "Ünïcödé Ñet GmbH"));
    // Before the first and after the last range.
    assert_eq!(asn(index, "0.0.0.0"), None);
    assert_eq!(asn(index, "9.255.255.255"), None);
    assert_eq!(asn(index, "203.0.113.255"), some(64511, "Comma, Inc."));
    assert_eq!(asn(index, "203.0.114.0"), None);
    assert_eq!(asn(index, "255.255.255.255"), None);
    // IPv6.
    assert_eq!(asn(index, "2001:db8::"), some(64520, "Comma, Inc."));
    assert_eq!(asn(index, "2001:db8::1234"), some(64520, "Comma, Inc."));
    assert_eq!(asn(index, "2001:db8:0:ffff:ffff:ffff:ffff:ffff"), some(64520, "Comma, Inc."));
    assert_eq!(asn(index, "2001:db8:1::ffff"), some(64521, "IPv6 Only Org"));
    assert_eq!(asn(index, "2001:db8:1::1:0"), None);
    assert_eq!(asn(index, "2001:db8:2::"), some(64522, "Single Address"));
    assert_eq!(asn(index, "2001:db8:2::1"), None);
    assert_eq!(asn(index, "::"), None);
    assert_eq!(asn(index, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), None);
    assert_eq!(asn(index, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), None);
    // IPv4-mapped IPv6 is looked up as IPv4.
    assert_eq!(asn(index, "::ffff:10.0.1.5"), some(64501, "Comma, Inc."));
    assert_eq!(asn(index, "::ffff:10.0.5.5"), None);
}

#[test]
fn builds_writes_opens_and_looks_up() {
    let built = fixture_index();
    check_fixture_lookups(&built);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/folder/asn.ktasn");
    built.write_to(&path).unwrap();
    let loaded = AsnIndex::open(&path).unwrap();
    check_fixture_lookups(&loaded);
    assert_eq!(loaded, built);
    assert_eq!(loaded.to_bytes(), built.to_bytes());
    // Only the index is left behind: the temporary file was renamed into place.
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["asn.ktasn"]);
    // Overwriting an existing index works too.
    built.write_to(&path).unwrap();
    assert_eq!(AsnIndex::open(&path).unwrap(), built);
}

#[test]
fn counts_merged_ranges_and_deduplicated_organizations() {
    let index = fixture_index();
    // 8 IPv4 rows, two of them merged, plus 3 IPv6 rows.
    assert_eq!(index.ranges(), 7 + 3);
    // "Example Net" (two AS numbers) and "Comma, Inc." (IPv4 and IPv6) are stored once.
    assert_eq!(index.organizations(), 6);
    let bytes = index.to_bytes();
    let needle = b"Comma, Inc.";
    let copies = bytes.windows(needle.len()).filter(|w| w == needle).count();
    assert_eq!(copies, 1);
}

#[test]
fn either_csv_may_be_empty() {
    let v4_only = from_csv_strs("1.2.3.0,1.2.3.255,64500,A\n", "").unwrap();
    assert_eq!(v4_only.ranges(), 1);
    assert_eq!(asn(&v4_only, "1.2.3.4"), some(64500, "A"));
    assert_eq!(asn(&v4_only, "2001:db8::1"), None);

    let v6_only = from_csv_strs("", "2001:db8::,2001:db8::ff,64501,B\n").unwrap();
    assert_eq!(asn(&v6_only, "2001:db8::10"), some(64501, "B"));
    assert_eq!(asn(&v6_only, "1.2.3.4"), None);

    let empty = from_csv_strs("", "").unwrap();
    assert_eq!(empty.ranges(), 0);
    assert_eq!(asn(&empty, "1.2.3.4"), None);
    assert_eq!(asn(&empty, "::1"), None);
    let reloaded = AsnIndex::from_bytes(empty.to_bytes()).unwrap();
    assert_eq!(reloaded.ranges(), 0);
    assert_eq!(asn(&reloaded, "1.2.3.4"), None);
}

#[test]
fn handles_the_ends_of_the_address_space() {
    let index = from_csv_strs(
        "0.0.0.0,0.255.255.255,1,Low\n255.0.0.0,255.255.255.255,2,High\n",
        "::,::ff,3,Low6\nffff::,ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff,4,High6\n",
    )
    .unwrap();
    let index = AsnIndex::from_bytes(index.to_bytes()).unwrap();
    assert_eq!(asn(&index, "0.0.0.0"), some(1, "Low"));
    assert_eq!(asn(&index, "255.255.255.255"), some(2, "High"));
    assert_eq!(asn(&index, "128.0.0.0"), None);
    assert_eq!(asn(&index, "::"), some(3, "Low6"));
    assert_eq!(asn(&index, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), some(4, "High6"));
}

#[test]
fn overlapping_rows_resolve_to_the_most_specific() {
    // As in the real IPv4 file (July 2026): two DoD rows overlap on 215.0.0.0/16.
    let index = from_csv_strs(
        "214.95.0.0,215.0.255.255,749,United States Department of Defense (DoD)\n\
         215.0.0.0,215.1.3.255,721,DoD Network Information Center\n\
         10.0.0.0,10.255.255.255,1,Outer\n\
         10.1.0.0,10.1.255.255,2,Inner\n",
        "",
    )
    .unwrap();
    assert_eq!(asn(&index, "214.255.255.255").unwrap().0, 749);
    assert_eq!(asn(&index, "215.0.0.1").unwrap().0, 721);
    assert_eq!(asn(&index, "215.1.3.255").unwrap().0, 721);
    assert_eq!(asn(&index, "10.0.255.255"), some(1, "Outer"));
    assert_eq!(asn(&index, "10.1.2.3"), some(2, "Inner"));
    assert_eq!(asn(&index, "10.2.0.0"), some(1, "Outer"));
    assert_eq!(index.ranges(), 2 + 3);
}

#[test]
fn rows_need_not_be_sorted_and_header_rows_and_bom_are_skipped() {
    let index = from_csv_strs(
        "\u{feff}ip_range_start,ip_range_end,as_number,as_organization\n\
         9.0.0.0,9.0.0.255,9,Nine\n\
         \n\
         1.0.0.0,1.0.0.255,1,One\n",
        "",
    )
    .unwrap();
    assert_eq!(asn(&index, "1.0.0.1"), some(1, "One"));
    assert_eq!(asn(&index, "9.0.0.1"), some(9, "Nine"));

    let bom = from_csv_strs("\u{feff}1.0.0.0,1.0.0.255,1,One\n", "").unwrap();
    assert_eq!(asn(&bom, "1.0.0.1"), some(1, "One"));
}

#[test]
fn ipv4_mapped_rows_are_stored_as_ipv4() {
    let index = from_csv_strs("", "::ffff:1.0.0.0,::ffff:1.0.0.255,7,Mapped\n").unwrap();
    assert_eq!(asn(&index, "1.0.0.9"), some(7, "Mapped"));
    assert_eq!(asn(&index, "::ffff:1.0.0.9"), some(7, "Mapped"));
}

fn csv_error(v4: &str) -> String {
    from_csv_strs(v4, "").unwrap_err().to_string()
}

#[test]
fn csv_errors_name_the_source_line_and_problem() {
    let ok = "1.0.0.0,1.0.0.255,1,One\n";
    assert_eq!(csv_error(&format!("{ok}x,1.0.1.255,2,Two\n")), "IPv4 ASN CSV line 2: invalid IP 'x'");
    assert_eq!(csv_error(&format!("{ok}{ok}1.0.1.0,1.0.1.999,2,Two\n")), "IPv4 ASN CSV line 3: invalid IP '1.0.1.999'");
    assert_eq!(
        csv_error("1.0.0.0,1.0.0.255,1\n"),
        "IPv4 ASN CSV line 1: expected 4 fields \
         (ip_range_start,ip_range_end,as_number,as_organization), found 3"
    );
    assert_eq!(
        csv_error("1.0.0.0,1.0.0.255,1,One,extra\n"),
        "IPv4 ASN CSV line 1: expected 4 fields \
         (ip_range_start,ip_range_end,as_number,as_organization), found 5"
    );
    assert_eq!(csv_error("1.0.0.0,1.0.0.255,AS13335,One\n"), "IPv4 ASN CSV line 1: invalid AS number 'AS13335'");
    assert_eq!(csv_error("1.0.0.0,1.0.0.255,4294967296,One\n"), "IPv4 ASN CSV line 1: invalid AS number '4294967296'");
    assert_eq!(
        csv_error("1.0.1.0,1.0.0.255,1,One\n"),
        "IPv4 ASN CSV line 1: range start '1.0.1.0' is after range end '1.0.0.255'"
    );
    assert_eq!(
        csv_error("1.0.0.0,::1,1,One\n"),
        "IPv4 ASN CSV line 1: range start '1.0.0.0' and end '::1' are of different IP versions"
    );
    assert!(csv_error("16777216,16777471,13335,One\n").contains("asn-ipv4-num.csv are not supported"));
    // A header row anywhere but the first line is an error like any other bad row.
    assert_eq!(
        csv_error(&format!("{ok}ip_range_start,ip_range_end,as_number,as_organization\n")),
        "IPv4 ASN CSV line 2: invalid IP 'ip_range_start'"
    );
    let v6 = AsnIndex::from_csv("".as_bytes(), "2001:db8::,2001:db8::g,1,One\n".as_bytes()).unwrap_err();
    assert_eq!(v6.to_string(), "IPv6 ASN CSV line 1: invalid IP '2001:db8::g'");
    // Multi-line quoted names do not throw line numbers off.
    assert_eq!(
        csv_error("1.0.0.0,1.0.0.255,1,\"Two\nLines\"\nbad,1.0.1.255,2,Two\n"),
        "IPv4 ASN CSV line 3: invalid IP 'bad'"
    );
}

#[test]
fn csv_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let v4 = dir.path().join("asn-ipv4.csv");
    let v6 = dir.path().join("asn-ipv6.csv");
    std::fs::write(&v4, "1.0.0.0,1.0.0.255,1,One\n").unwrap();
    std::fs::write(&v6, "2001:db8::,2001:db8::ff,1,One\n::1,nope,2,Two\n").unwrap();
    let err = AsnIndex::from_csv_files(&v4, &v6).unwrap_err();
    assert_eq!(err.to_string(), format!("{} line 2: invalid IP 'nope'", v6.display()));

    std::fs::remove_file(&v6).unwrap();
    let err = AsnIndex::from_csv_dir(dir.path()).unwrap_err();
    assert!(matches!(err, EnrichError::Io { ref path, .. } if *path == v6), "{err}");
    assert!(err.to_string().starts_with(&v6.display().to_string()));
}

#[test]
fn organization_names_that_are_not_utf8_are_kept_lossily() {
    let index = AsnIndex::from_csv(&b"1.0.0.0,1.0.0.255,1,Caf\xe9 Net\n"[..], &b""[..]).unwrap();
    assert_eq!(asn(&index, "1.0.0.1"), some(1, "Caf\u{fffd} Net"));
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let bytes = fixture_index().to_bytes();
    for len in 0..bytes.len() {
        let err = AsnIndex::from_bytes(bytes[..len].to_vec()).unwrap_err();
        assert!(
            matches!(err, EnrichError::Index { problem: IndexProblem::Truncated { .. }, .. }),
            "length {len}: {err}"
        );
    }
}

#[test]
fn truncated_file_error_names_the_file_and_sizes() {
    let bytes = fixture_index().to_bytes();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("asn.ktasn");
    std::fs::write(&path, &bytes[..100]).unwrap();
    let err = AsnIndex::open(&path).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: truncated index (expected {} bytes, found 100)", path.display(), bytes.len())
    );
    // The same through AsnDatabase, which recognises the file as an index by its magic.
    let err = AsnDatabase::open(&path).unwrap_err();
    assert!(err.to_string().contains("truncated index"), "{err}");
    std::fs::write(&path, &bytes[..5]).unwrap();
    let err = AsnDatabase::open(&path).unwrap_err();
    assert!(err.to_string().contains("truncated index (expected 64 bytes, found 5)"), "{err}");
}

#[test]
fn every_corrupted_byte_is_an_error_not_a_panic() {
    let bytes = fixture_index().to_bytes();
    for at in 0..bytes.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[at] ^= flip;
            let result = AsnIndex::from_bytes(damaged);
            assert!(result.is_err(), "byte {at} ^ {flip:#x} was accepted");
        }
    }
}

#[test]
fn index_errors_say_what_is_wrong() {
    let bytes = fixture_index().to_bytes();
    let problem = |bytes: Vec<u8>| match AsnIndex::from_bytes(bytes) {
        Err(EnrichError::Index { origin, problem }) => {
            assert_eq!(origin, "ASN index");
            problem
        }
        other => panic!("expected an index error, got {other:?}"),
    };

    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        problem(longer),
        IndexProblem::TrailingBytes { expected: bytes.len() as u64, found: bytes.len() as u64 + 1 }
    );

    let mut newer = bytes.clone();
    newer[8] = 2;
    assert_eq!(problem(newer), IndexProblem::UnsupportedVersion { found: 2, supported: 1 });

    let mut other = bytes.clone();
    other[0] = b'X';
    assert_eq!(problem(other), IndexProblem::NotAnIndex);
    assert_eq!(problem(b"hello, world".to_vec()), IndexProblem::NotAnIndex);

    let mut flipped = bytes.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x20;
    let damaged = problem(flipped);
    assert!(matches!(damaged, IndexProblem::ChecksumMismatch { .. }));
    assert!(damaged.to_string().starts_with("corrupt index: checksum mismatch"));
}

#[test]
fn asn_database_detects_the_index_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("whatever.mmdb"); // the name must not matter
    fixture_index().write_to(&path).unwrap();
    let db = AsnDatabase::open(&path).unwrap();
    assert!(matches!(db, AsnDatabase::Index(_)));
    assert_eq!(db.lookup(ip("10.0.1.1")), Some(Asn { number: 64501, organization: "Comma, Inc." }));
    assert_eq!(db.lookup(ip("10.0.5.1")), None);
}

#[test]
fn asn_database_rejects_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.bin");
    let mut state = 0x1234_5678_9abc_def0u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    for content in [&random[..], b"", b"1.0.0.0,1.0.0.255,1,One\n"] {
        std::fs::write(&path, content).unwrap();
        let err = AsnDatabase::open(&path).unwrap_err();
        assert_eq!(err.to_string(), format!("{}: not a keytrail ASN index or MaxMind database", path.display()));
    }
    let missing = dir.path().join("missing.ktasn");
    let err = AsnDatabase::open(&missing).unwrap_err();
    assert!(matches!(err, EnrichError::Io { .. }));
    assert!(err.to_string().starts_with(&missing.display().to_string()));
}

#[test]
fn write_to_reports_unwritable_locations() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let err = fixture_index().write_to(&blocker.join("asn.ktasn")).unwrap_err();
    assert!(matches!(err, EnrichError::Io { .. }), "{err}");
    assert!(err.to_string().contains(&blocker.display().to_string()), "{err}");
}

/// The real `@ip-location-db/asn` data, in the folder `KEYTRAIL_ASN_CSV_DIR` names
/// (scripts/test.sh fetches it and sets it).
#[test]
fn real_ip_location_db_csv() {
    let Some(dir) = keytrail_testkit::require::env_path(
        "KEYTRAIL_ASN_CSV_DIR",
        "scripts/test.sh sets it to the unpacked @ip-location-db/asn",
    ) else {
        return;
    };
    let built = AsnIndex::from_csv_dir(&dir).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("asn.ktasn");
    built.write_to(&path).unwrap();
    let index = AsnIndex::open(&path).unwrap();
    assert!(index.ranges() > 400_000, "{} ranges", index.ranges());
    assert_eq!(asn(&index, "1.0.0.1"), some(13335, "Cloudflare, Inc."));
    let aws = index.lookup(ip("52.94.76.1")).unwrap();
    assert!(aws.organization.starts_with("Amazon"), "{aws:?}");
    let v6 = index.lookup(ip("2001:4860:4860::8888")).unwrap();
    assert_eq!(v6.number, 15169, "{v6:?}");
    assert_eq!(asn(&index, "10.0.0.1"), None);
    assert_eq!(index.lookup(ip("::ffff:1.0.0.1")).map(|a| a.number), Some(13335));
}
