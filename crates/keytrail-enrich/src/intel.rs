//! Lists of known-bad addresses — threat-intelligence feeds, Tor exit nodes — kept in a local
//! store and matched against every event's source IP (GuardDuty's MaliciousIPCaller and
//! TorIPCaller, offline).
//!
//! The store is a folder of `<list>.txt` files, one address or CIDR block a line, written by
//! [`add_list`] from whatever format a feed comes in: plain lines, CSV (the first field that is
//! an address), or Tor's exit list (`ExitAddress 192.0.2.1 2024-05-01 10:00:00`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use crate::error::EnrichError;

/// An address block: the first address (host bits cleared) and the prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Block {
    bits: u128,
    length: u8,
    v6: bool,
}

impl Block {
    /// `192.0.2.1`, `192.0.2.0/24`, `2001:db8::/32`.
    pub fn parse(text: &str) -> Option<Block> {
        let (address, length) = match text.split_once('/') {
            Some((address, length)) => (address, Some(length.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let address: IpAddr = address.trim().parse().ok()?;
        let (bits, width, v6) = widen(address);
        let length = length.unwrap_or(width);
        (length <= width).then(|| Block { bits: mask(bits, length, width), length, v6 })
    }
}

impl std::fmt::Display for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let address = if self.v6 {
            IpAddr::from(std::net::Ipv6Addr::from(self.bits))
        } else {
            IpAddr::from(std::net::Ipv4Addr::from(self.bits as u32))
        };
        write!(f, "{address}/{}", self.length)
    }
}

fn widen(address: IpAddr) -> (u128, u8, bool) {
    match address {
        IpAddr::V4(v4) => (u128::from(u32::from(v4)), 32, false),
        IpAddr::V6(v6) => (u128::from(v6), 128, true),
    }
}

fn mask(bits: u128, length: u8, width: u8) -> u128 {
    let host_bits = u32::from(width - length);
    if host_bits >= 128 { 0 } else { bits >> host_bits << host_bits }
}

/// The blocks in a feed's text, and the lines that held none (1-based line, text).
pub fn parse_feed(text: &str) -> (Vec<Block>, Vec<(usize, String)>) {
    let (mut blocks, mut skipped) = (Vec::new(), Vec::new());
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("//") {
            continue;
        }
        // Tor's list has ExitNode/Published/LastStatus lines around each ExitAddress.
        if let Some(rest) = line.strip_prefix("ExitAddress ") {
            match rest.split_whitespace().next().and_then(Block::parse) {
                Some(block) => blocks.push(block),
                None => skipped.push((index + 1, line.to_string())),
            }
            continue;
        }
        if ["ExitNode ", "Published ", "LastStatus "].iter().any(|p| line.starts_with(p)) {
            continue;
        }
        let found = line.split([',', ';', '\t', ' ']).map(|f| f.trim().trim_matches('"')).find_map(Block::parse);
        match found {
            Some(block) => blocks.push(block),
            None => skipped.push((index + 1, line.to_string())),
        }
    }
    (blocks, skipped)
}

/// Where the lists are kept by default: `intel/` in keytrail's data folder.
pub fn default_intel_dir() -> PathBuf {
    let asn = crate::default_asn_index_path();
    asn.parent().map_or_else(|| PathBuf::from("intel"), |dir| dir.join("intel"))
}

/// Writes a list into the store under `name` (replacing a list of that name); returns its path.
pub fn add_list(dir: &Path, name: &str, blocks: &[Block]) -> Result<PathBuf, EnrichError> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) || name.starts_with('.')
    {
        return Err(EnrichError::InvalidListName(name.to_string()));
    }
    std::fs::create_dir_all(dir).map_err(|error| EnrichError::Io { path: dir.to_owned(), error })?;
    let path = dir.join(format!("{name}.txt"));
    let mut text: Vec<String> = blocks.iter().map(ToString::to_string).collect();
    text.sort();
    text.dedup();
    std::fs::write(&path, text.join("\n") + "\n").map_err(|error| EnrichError::Io { path: path.clone(), error })?;
    Ok(path)
}

/// Every list of a store, ready for lookups.
#[derive(Debug, Default)]
pub struct IntelSet {
    names: Vec<String>,
    /// Per (IP version, prefix length): the block's first address → the lists holding it. A
    /// lookup masks the address once per prefix length present, a handful in practice.
    blocks: HashMap<(bool, u8), HashMap<u128, Vec<u16>>>,
    sizes: Vec<usize>,
}

impl IntelSet {
    /// Loads every `*.txt` list of `dir`; a missing folder is an empty set.
    pub fn load(dir: &Path) -> Result<IntelSet, EnrichError> {
        let mut set = IntelSet::default();
        let Ok(entries) = std::fs::read_dir(dir) else { return Ok(set) };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.retain(|p| p.extension().is_some_and(|e| e == "txt"));
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|error| EnrichError::Io { path: path.clone(), error })?;
            let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            let (blocks, skipped) = parse_feed(&text);
            if let Some((line, _)) = skipped.first() {
                return Err(EnrichError::BadIntelList { path, line: *line });
            }
            set.add(name, &blocks);
        }
        Ok(set)
    }

    fn add(&mut self, name: String, blocks: &[Block]) {
        let id = self.names.len() as u16;
        self.names.push(name);
        self.sizes.push(blocks.len());
        for block in blocks {
            let lists = self.blocks.entry((block.v6, block.length)).or_default().entry(block.bits).or_default();
            if !lists.contains(&id) {
                lists.push(id);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The lists and their sizes (blocks), in name order.
    pub fn lists(&self) -> impl Iterator<Item = (&str, usize)> {
        self.names.iter().map(String::as_str).zip(self.sizes.iter().copied())
    }

    /// The names of the lists that hold `address`, in name order.
    pub fn matches(&self, address: IpAddr) -> Vec<&str> {
        let (bits, width, v6) = widen(address);
        let mut ids: Vec<u16> = Vec::new();
        for (&(block_v6, length), blocks) in &self.blocks {
            if block_v6 == v6
                && let Some(lists) = blocks.get(&mask(bits, length, width))
            {
                ids.extend(lists);
            }
        }
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().map(|id| self.names[usize::from(id)].as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feeds_in_every_format() {
        let tor = "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nPublished 2024-05-01 10:00:00\nLastStatus 2024-05-01 11:00:00\nExitAddress 192.0.2.7 2024-05-01 11:02:03\n";
        let csv = "ip,first_seen,comment\n\"198.51.100.0/24\",2024-05-01,scanner\n2001:db8::1,2024-05-02,\"x, y\"\n";
        let plain = "# a feed\n203.0.113.9\n\nnot an address\n203.0.113.0/33\n";
        assert_eq!(parse_feed(tor).0, [Block::parse("192.0.2.7").unwrap()]);
        let (blocks, skipped) = parse_feed(csv);
        assert_eq!(blocks.len(), 2);
        assert_eq!(skipped, [(1, "ip,first_seen,comment".to_string())], "the header holds no address");
        let (blocks, skipped) = parse_feed(plain);
        assert_eq!(blocks, [Block::parse("203.0.113.9/32").unwrap()]);
        assert_eq!(skipped.iter().map(|s| s.0).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(Block::parse("198.51.100.77/24").unwrap().to_string(), "198.51.100.0/24");
    }

    #[test]
    fn addresses_match_every_list_that_holds_them() {
        let dir = tempfile::tempdir().unwrap();
        let blocks = |text: &str| parse_feed(text).0;
        add_list(dir.path(), "tor", &blocks("ExitAddress 192.0.2.7 x\n")).unwrap();
        add_list(dir.path(), "scanners", &blocks("192.0.2.0/24\n2001:db8::/32\n")).unwrap();
        assert!(add_list(dir.path(), "../x", &[]).is_err());
        let set = IntelSet::load(dir.path()).unwrap();
        assert_eq!(set.matches("192.0.2.7".parse().unwrap()), ["scanners", "tor"]);
        assert_eq!(set.matches("192.0.2.8".parse().unwrap()), ["scanners"]);
        assert_eq!(set.matches("2001:db8:5::1".parse().unwrap()), ["scanners"]);
        assert!(set.matches("192.0.3.1".parse().unwrap()).is_empty());
        assert!(set.matches("::ffff:192.0.2.7".parse().unwrap()).is_empty(), "v4-mapped v6 is not v4 here");
        assert_eq!(set.lists().collect::<Vec<_>>(), [("scanners", 2), ("tor", 1)]);
        assert!(IntelSet::load(&dir.path().join("absent")).unwrap().is_empty());
    }
}
