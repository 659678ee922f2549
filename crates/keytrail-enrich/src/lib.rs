//! Enrichment of source IPs with their autonomous system and location.
//!
//! A stolen key used from a VPS provider or a residential ISP instead of the owner's usual
//! networks is one of the clearest signals in CloudTrail, so every event's source IP is mapped
//! to an AS (number + organization) and, when a MaxMind City/Country database is given, to a
//! country and city.
//!
//! AS data comes from one of two places, told apart by content ([`AsnDatabase::open`]):
//! - a compact index compiled once from the free `@ip-location-db/asn` CSVs ([`AsnIndex`]);
//! - a MaxMind GeoLite2-ASN `.mmdb`.
//!
//! # ASN index file format (version 1)
//!
//! All integers little-endian. A 64-byte header:
//!
//! | offset | size | field |
//! |-------:|-----:|-------|
//! | 0  | 8 | magic `KTASN\0\r\n` |
//! | 8  | 4 | format version (1) |
//! | 12 | 4 | reserved, 0 |
//! | 16 | 4 | IPv4 range count `n4` |
//! | 20 | 4 | IPv6 range count `n6` |
//! | 24 | 4 | organization count `no` |
//! | 28 | 4 | organization text length in bytes `nt` |
//! | 32 | 8 | total file length |
//! | 40 | 8 | checksum of the whole file except these 8 bytes |
//! | 48 | 16 | reserved, 0 |
//!
//! then the sections, each an array packed without padding (the u128 arrays come first so that
//! every array is naturally aligned): IPv6 starts and ends (`n6` × u128 each); IPv4 starts,
//! ends, AS numbers, organization ids (`n4` × u32 each); IPv6 AS numbers and organization ids
//! (`n6` × u32 each); organization offsets (`no + 1` × u32); organization names (`nt` bytes of
//! UTF-8, name `i` spanning `offsets[i]..offsets[i + 1]`). Ranges are inclusive, sorted and
//! disjoint, so a lookup is a single binary search. Organization names are deduplicated.
//!
//! Loading checks the length, the checksum and the structure (order, bounds, UTF-8), so a
//! truncated or damaged file is an error at open time and lookups never fail afterwards.

mod error;
mod index;
mod intel;
mod mmdb;

use std::ffi::OsString;
use std::path::PathBuf;

pub use error::{EnrichError, IndexProblem};
pub use index::{Asn, AsnIndex, INDEX_FORMAT_VERSION, INDEX_MAGIC};
pub use intel::{Block, IntelSet, add_list, default_intel_dir, parse_feed};
pub use mmdb::{AsnDatabase, Geo, GeoDatabase};

/// File name of the compiled ASN index inside the data folder.
pub const ASN_INDEX_FILE_NAME: &str = "asn.ktasn";

/// Where `keytrail` keeps its compiled ASN index by default: `$KEYTRAIL_DATA_DIR` if set, else
/// `$XDG_DATA_HOME/keytrail`, else `$HOME/.local/share/keytrail`; file name `asn.ktasn`.
///
/// Following the XDG base directory spec, an empty or relative `XDG_DATA_HOME` is ignored.
/// Without any home folder it falls back to `.keytrail/` in the current folder.
pub fn default_asn_index_path() -> PathBuf {
    asn_index_path_from(std::env::var_os("KEYTRAIL_DATA_DIR"), std::env::var_os("XDG_DATA_HOME"), std::env::home_dir())
}

/// [`default_asn_index_path`] without the environment, so the rules can be tested.
fn asn_index_path_from(
    keytrail_data_dir: Option<OsString>,
    xdg_data_home: Option<OsString>,
    home: Option<PathBuf>,
) -> PathBuf {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    let dir = if let Some(dir) = set(keytrail_data_dir) {
        dir
    } else if let Some(xdg) = set(xdg_data_home).filter(|p| p.is_absolute()) {
        xdg.join("keytrail")
    } else if let Some(home) = home.filter(|h| !h.as_os_str().is_empty()) {
        home.join(".local/share/keytrail")
    } else {
        PathBuf::from(".keytrail")
    };
    dir.join(ASN_INDEX_FILE_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn default_path_prefers_keytrail_data_dir_then_xdg_then_home() {
        let home = || Some(PathBuf::from("/home/u"));
        assert_eq!(asn_index_path_from(os("/data/kt"), os("/xdg"), home()), PathBuf::from("/data/kt/asn.ktasn"));
        assert_eq!(asn_index_path_from(None, os("/xdg"), home()), PathBuf::from("/xdg/keytrail/asn.ktasn"));
        assert_eq!(asn_index_path_from(None, None, home()), PathBuf::from("/home/u/.local/share/keytrail/asn.ktasn"));
    }

    #[test]
    fn default_path_ignores_empty_and_relative_values() {
        let home = || Some(PathBuf::from("/home/u"));
        let expected = PathBuf::from("/home/u/.local/share/keytrail/asn.ktasn");
        assert_eq!(asn_index_path_from(os(""), os(""), home()), expected);
        assert_eq!(asn_index_path_from(None, os("rel/xdg"), home()), expected);
        assert_eq!(asn_index_path_from(None, None, None), PathBuf::from(".keytrail/asn.ktasn"));
    }

    #[test]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<AsnIndex>();
        check::<AsnDatabase>();
        check::<GeoDatabase>();
        check::<EnrichError>();
        check::<Asn<'static>>();
        check::<Geo<'static>>();
    }
}
