//! The compact ASN index: built from `@ip-location-db/asn` CSVs, written to disk once, then
//! loaded in milliseconds and searched with a binary search. See the crate docs for the layout.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::fs;
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::Path;

use crate::error::{EnrichError, IndexProblem};

/// First bytes of every index file. The CR LF tail (as in PNG) makes a text-mode transfer that
/// rewrites line endings show up as "wrong magic" instead of as a confusing length error.
pub const INDEX_MAGIC: [u8; 8] = *b"KTASN\0\r\n";
/// The only index layout this build reads and writes; bumped on any incompatible change.
pub const INDEX_FORMAT_VERSION: u32 = 1;

const HEADER_LEN: usize = 64;
const CHECKSUM_AT: usize = 40;
const ORIGIN_BYTES: &str = "ASN index";
const CSV_FIELDS: &str = "ip_range_start,ip_range_end,as_number,as_organization";

/// The autonomous system an address belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Asn<'a> {
    pub number: u32,
    /// Empty when the source has no name for the AS.
    pub organization: &'a str,
}

/// IP → autonomous system, compiled from the `@ip-location-db/asn` CSVs.
///
/// Exists because the CSVs take about half a second to parse and the MaxMind ASN database needs a
/// licence key; the compiled form loads in milliseconds and needs nothing but the free CSVs.
/// Ranges are stored sorted and non-overlapping, so a lookup is one binary search.
#[derive(Clone, PartialEq, Eq)]
pub struct AsnIndex {
    v4: Table<u32>,
    /// `v4_first[p]` is the first IPv4 range starting at or after `p << 16`, so a lookup only
    /// binary-searches the few ranges of its /16 (about 6 on real data) instead of all 400k:
    /// a 256 KiB table that stays in cache and cuts lookup time about threefold. Rebuilt at load.
    v4_first: Vec<u32>,
    v6: Table<u128>,
    /// Every [`V6_FENCE_STRIDE`]th IPv6 start: a ~100 KiB array that stays in cache, searched
    /// first so the search of `v6.starts` itself touches only a few cache lines.
    v6_fences: Vec<u128>,
    /// `org_offsets[i]..org_offsets[i + 1]` is organization `i` in `org_text`; len = count + 1.
    org_offsets: Vec<u32>,
    org_text: String,
}

/// Ranges of one address family. The binary search reads only `starts`; everything a hit needs
/// next, down to where its organization's name is, sits together in one [`Entry`], so a hit
/// costs one more cache miss (plus the name itself) rather than four. The file keeps plain
/// parallel arrays; the layout in memory is chosen for lookups.
#[derive(Clone, PartialEq, Eq)]
struct Table<T> {
    starts: Vec<T>,
    entries: Vec<Entry<T>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry<T> {
    end: T,
    asn: u32,
    /// Organization id, as in the file.
    org: u32,
    /// `org_text[name_start..name_end]` is the organization's name; filled in by `assemble`.
    name_start: u32,
    name_end: u32,
}

const V6_FENCE_STRIDE: usize = 16;

/// Builds [`AsnIndex::v4_first`]: 65,537 entries, the last one being the range count.
fn v4_first(starts: &[u32]) -> Vec<u32> {
    let mut first = Vec::with_capacity((1 << 16) + 1);
    let mut i = 0usize;
    for prefix in 0..=(1u64 << 16) {
        while starts.get(i).is_some_and(|&s| u64::from(s) < prefix << 16) {
            i += 1;
        }
        // Range counts fit in u32: the constructors reject anything larger.
        first.push(i as u32);
    }
    first
}

impl<T: Addr> Table<T> {
    fn from_segments(segments: &[Segment<T>]) -> Table<T> {
        Table {
            starts: segments.iter().map(|s| s.start).collect(),
            entries: segments
                .iter()
                .map(|s| Entry { end: s.end, asn: s.asn, org: s.org, name_start: 0, name_end: 0 })
                .collect(),
        }
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    /// The range holding `ip`, if any, by a plain binary search (the lookups narrow the
    /// search first; this is their reference in tests).
    #[cfg(test)]
    fn find(&self, ip: T) -> Option<Entry<T>> {
        self.hit(self.starts.partition_point(|&s| s <= ip), ip)
    }

    /// Given how many ranges start at or before `ip`, the range holding it, if any.
    #[inline]
    fn hit(&self, starting_before: usize, ip: T) -> Option<Entry<T>> {
        let entry = *self.entries.get(starting_before.checked_sub(1)?)?;
        (ip <= entry.end).then_some(entry)
    }

    /// Checks what lookups rely on: each range well-formed, sorted, disjoint, and naming an
    /// existing organization.
    fn validate(&self, family: &str, org_count: usize) -> Result<(), IndexProblem> {
        if self.starts.len() != self.entries.len() {
            return Err(IndexProblem::Corrupt(format!("{family} arrays differ in length")));
        }
        let mut previous_end: Option<T> = None;
        for (i, (&start, &Entry { end, org, .. })) in self.starts.iter().zip(&self.entries).enumerate() {
            if start > end {
                return Err(IndexProblem::Corrupt(format!("{family} range #{i} ends before it starts")));
            }
            if previous_end.is_some_and(|p| start <= p) {
                return Err(IndexProblem::Corrupt(format!(
                    "{family} range #{i} overlaps or precedes range #{}",
                    i - 1
                )));
            }
            if org as usize >= org_count {
                return Err(IndexProblem::Corrupt(format!(
                    "{family} range #{i} names organization #{org}, but there are only {org_count}"
                )));
            }
            previous_end = Some(end);
        }
        Ok(())
    }
}

/// What range flattening needs from an address type, so it is written once for IPv4 and IPv6.
trait Addr: Copy + Ord {
    fn succ(self) -> Option<Self>;
    fn pred(self) -> Self;
    /// Number of addresses in `start..=end` minus one; `start <= end`.
    fn width(start: Self, end: Self) -> u128;
}

impl Addr for u32 {
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn pred(self) -> Self {
        self.saturating_sub(1)
    }
    fn width(start: Self, end: Self) -> u128 {
        u128::from(end.saturating_sub(start))
    }
}

impl Addr for u128 {
    fn succ(self) -> Option<Self> {
        self.checked_add(1)
    }
    fn pred(self) -> Self {
        self.saturating_sub(1)
    }
    fn width(start: Self, end: Self) -> u128 {
        end.saturating_sub(start)
    }
}

/// One CSV row (or, after flattening, one output range).
#[derive(Debug, Clone, Copy)]
struct Segment<T> {
    start: T,
    end: T,
    asn: u32,
    org: u32,
    /// Row order across both CSVs: the tie-breaker for equally specific overlapping rows.
    seq: usize,
}

/// Appends a range, merging it into the previous one when adjacent with the same AS and name.
fn push_merged<T: Addr>(out: &mut Vec<Segment<T>>, seg: Segment<T>) {
    if let Some(last) = out.last_mut()
        && last.end.succ() == Some(seg.start)
        && last.asn == seg.asn
        && last.org == seg.org
    {
        last.end = seg.end;
        return;
    }
    out.push(seg);
}

/// Turns possibly overlapping rows into sorted, disjoint ranges.
///
/// The source data is not perfectly clean (the July 2026 IPv4 file has DoD ranges
/// 214.95.0.0–215.0.255.255 and 215.0.0.0–215.1.3.255 overlapping), so rather than reject it
/// the most specific (narrowest) row wins wherever rows overlap, like a longest-prefix match;
/// among equally narrow rows the later one wins. Clean input takes the fast path unchanged.
fn flatten<T: Addr>(mut rows: Vec<Segment<T>>) -> Vec<Segment<T>> {
    rows.sort_unstable_by_key(|r| (r.start, r.seq));
    let mut out = Vec::with_capacity(rows.len());
    if rows.windows(2).all(|w| w[0].end < w[1].start) {
        for row in rows {
            push_merged(&mut out, row);
        }
        return out;
    }

    // Sweep over every point where the set of covering rows can change, keeping the covering
    // rows in a heap ordered narrowest first (stale rows are dropped lazily when on top).
    let mut bounds: Vec<T> = Vec::with_capacity(rows.len() * 2);
    for row in &rows {
        bounds.push(row.start);
        bounds.extend(row.end.succ());
    }
    bounds.sort_unstable();
    bounds.dedup();
    let mut active = BinaryHeap::new();
    let mut next = 0;
    for (i, &at) in bounds.iter().enumerate() {
        while let Some(row) = rows.get(next)
            && row.start <= at
        {
            active.push(Reverse((T::width(row.start, row.end), Reverse(row.seq), next)));
            next += 1;
        }
        while let Some(&Reverse((_, _, top))) = active.peek()
            && rows.get(top).is_none_or(|r| r.end < at)
        {
            active.pop();
        }
        let Some(&Reverse((_, _, top))) = active.peek() else {
            continue;
        };
        let Some(row) = rows.get(top) else { continue };
        let end = bounds.get(i + 1).map_or(row.end, |b| b.pred());
        push_merged(&mut out, Segment { start: at, end, ..*row });
    }
    out
}

/// Collects rows from the CSV sources and interns organization names.
#[derive(Default)]
struct Builder {
    v4: Vec<Segment<u32>>,
    v6: Vec<Segment<u128>>,
    org_ids: HashMap<String, u32>,
    org_names: Vec<String>,
}

impl Builder {
    fn intern(&mut self, name: &str) -> Result<u32, EnrichError> {
        if let Some(&id) = self.org_ids.get(name) {
            return Ok(id);
        }
        let id = u32::try_from(self.org_names.len())
            .map_err(|_| EnrichError::TooLarge("more than 2^32 organization names".into()))?;
        self.org_ids.insert(name.to_owned(), id);
        self.org_names.push(name.to_owned());
        Ok(id)
    }

    /// Reads one CSV source. Rows are routed by their address family, not by which argument
    /// they came in, so a combined or swapped file still builds correctly.
    fn add_csv<R: Read>(&mut self, label: &str, reader: R) -> Result<(), EnrichError> {
        let mut csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(reader);
        let mut record = csv::ByteRecord::new();
        let mut first = true;
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                Err(e) => return Err(csv_read_error(label, &e)),
            }
            let line = record.position().map(|p| p.line());
            let fail = |problem: String| EnrichError::Csv { file: label.to_owned(), line, problem };
            let is_first = std::mem::replace(&mut first, false);
            let [Some(start), Some(end), Some(asn), Some(org), None] = [0, 1, 2, 3, 4].map(|i| record.get(i)) else {
                return Err(fail(format!("expected 4 fields ({CSV_FIELDS}), found {}", record.len())));
            };
            let start = field_text(start, "range start").map_err(&fail)?;
            let start = start.trim_start_matches('\u{feff}').trim();
            if is_first && start.eq_ignore_ascii_case("ip_range_start") {
                continue; // a header row, as some exports add
            }
            let end = field_text(end, "range end").map_err(&fail)?.trim();
            let (start_ip, end_ip) = (parse_ip(start).map_err(&fail)?, parse_ip(end).map_err(&fail)?);
            let asn_text = field_text(asn, "AS number").map_err(&fail)?.trim();
            let asn: u32 = asn_text.parse().map_err(|_| fail(format!("invalid AS number '{asn_text}'")))?;
            let org = self.intern(&String::from_utf8_lossy(org))?;
            let seq = self.v4.len() + self.v6.len();
            // IPv4-mapped IPv6 ranges are stored as IPv4, where lookups of mapped addresses go.
            match (start_ip.to_canonical(), end_ip.to_canonical(), start_ip, end_ip) {
                (IpAddr::V4(s), IpAddr::V4(e), ..) => {
                    let (s, e) = (u32::from(s), u32::from(e));
                    if s > e {
                        return Err(fail(format!("range start '{start}' is after range end '{end}'")));
                    }
                    self.v4.push(Segment { start: s, end: e, asn, org, seq });
                }
                (_, _, IpAddr::V6(s), IpAddr::V6(e)) => {
                    let (s, e) = (u128::from(s), u128::from(e));
                    if s > e {
                        return Err(fail(format!("range start '{start}' is after range end '{end}'")));
                    }
                    self.v6.push(Segment { start: s, end: e, asn, org, seq });
                }
                _ => {
                    return Err(fail(format!("range start '{start}' and end '{end}' are of different IP versions")));
                }
            }
        }
    }

    fn finish(self) -> Result<AsnIndex, EnrichError> {
        let mut v4 = flatten(self.v4);
        let mut v6 = flatten(self.v6);
        for (family, n) in [("IPv4", v4.len()), ("IPv6", v6.len())] {
            if u32::try_from(n).is_err() {
                return Err(EnrichError::TooLarge(format!("{n} {family} ranges")));
            }
        }
        // Renumber organizations in order of first use, dropping names only used by rows
        // that more specific rows completely shadowed.
        let mut new_id = vec![u32::MAX; self.org_names.len()];
        let mut org_offsets = vec![0u32];
        let mut org_text = String::new();
        let mut renumber = |org: &mut u32| -> Result<(), EnrichError> {
            let slot = new_id
                .get_mut(*org as usize)
                .ok_or_else(|| EnrichError::TooLarge("organization id out of range".into()))?;
            if *slot == u32::MAX {
                let name = self.org_names.get(*org as usize).map_or("", String::as_str);
                org_text.push_str(name);
                let end = u32::try_from(org_text.len())
                    .map_err(|_| EnrichError::TooLarge("organization names exceed 4 GiB".into()))?;
                *slot = u32::try_from(org_offsets.len() - 1)
                    .map_err(|_| EnrichError::TooLarge("too many organizations".into()))?;
                org_offsets.push(end);
            }
            *org = *slot;
            Ok(())
        };
        for seg in &mut v4 {
            renumber(&mut seg.org)?;
        }
        for seg in &mut v6 {
            renumber(&mut seg.org)?;
        }
        Ok(AsnIndex::assemble(Table::from_segments(&v4), Table::from_segments(&v6), org_offsets, org_text))
    }
}

fn field_text<'a>(bytes: &'a [u8], what: &str) -> Result<&'a str, String> {
    std::str::from_utf8(bytes).map_err(|_| format!("{what} '{}' is not valid UTF-8", String::from_utf8_lossy(bytes)))
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse().map_err(|_| {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            format!(
                "invalid IP '{text}' (numeric files such as asn-ipv4-num.csv are not supported; \
                 use asn-ipv4.csv and asn-ipv6.csv)"
            )
        } else {
            format!("invalid IP '{text}'")
        }
    })
}

fn csv_read_error(label: &str, e: &csv::Error) -> EnrichError {
    let problem = match e.kind() {
        csv::ErrorKind::Io(io) => format!("read error: {io}"),
        _ => e.to_string(),
    };
    EnrichError::Csv { file: label.to_owned(), line: e.position().map(|p| p.line()), problem }
}

/// Sizes of the file's sections, derived from the header counts. Shared by the writer and the
/// reader so the two cannot disagree.
struct Layout {
    v4: u64,
    v6: u64,
    orgs: u64,
    text: u64,
}

impl Layout {
    fn total(&self) -> u64 {
        HEADER_LEN as u64
            + self.v6 * 32 // starts, ends: u128
            + self.v4 * 16 // starts, ends, asns, orgs: u32
            + self.v6 * 8 // asns, orgs: u32
            + (self.orgs + 1) * 4 // org offsets
            + self.text
    }
}

/// 64-bit checksum over the file with the checksum field left out. Each step is a bijection of
/// the running state, so any single corrupted 8-byte word is always detected; it runs at
/// several GB/s, which keeps verification a small part of the load time.
fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    fn mix(mut h: u64, data: &[u8]) -> u64 {
        let (words, tail) = data.as_chunks::<8>();
        for w in words {
            h = (h ^ u64::from_le_bytes(*w)).wrapping_mul(K).rotate_left(29);
        }
        if !tail.is_empty() {
            let mut last = [0u8; 8];
            for (dst, src) in last.iter_mut().zip(tail) {
                *dst = *src;
            }
            h = (h ^ u64::from_le_bytes(last)).wrapping_mul(K).rotate_left(29);
        }
        h
    }
    let head = bytes.get(..CHECKSUM_AT).unwrap_or(bytes);
    let rest = bytes.get(CHECKSUM_AT + 8..).unwrap_or(&[]);
    let mut h = mix(mix(K, head), rest) ^ bytes.len() as u64;
    // Final avalanche (splitmix64) so the stored value depends on every bit.
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// Whether `bytes` is (or is the truncated start of) an index rather than some other format.
pub(crate) fn looks_like_index(bytes: &[u8]) -> bool {
    !bytes.is_empty() && (bytes.starts_with(&INDEX_MAGIC) || INDEX_MAGIC.starts_with(bytes))
}

fn le_u32(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        b.copy_from_slice(src);
    }
    u32::from_le_bytes(b)
}

fn le_u64(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(src) = bytes.get(at..at + 8) {
        b.copy_from_slice(src);
    }
    u64::from_le_bytes(b)
}

/// Zips the per-range arrays read from a file into the in-memory [`Entry`] layout.
fn entries<T: Copy>(ends: Vec<T>, asns: Vec<u32>, orgs: Vec<u32>) -> Vec<Entry<T>> {
    ends.into_iter()
        .zip(asns)
        .zip(orgs)
        .map(|((end, asn), org)| Entry { end, asn, org, name_start: 0, name_end: 0 })
        .collect()
}

/// Reads the body's sections in order; every `take` is bounds-checked.
struct Sections<'a> {
    rest: &'a [u8],
}

impl<'a> Sections<'a> {
    fn take(&mut self, len: u64) -> Result<&'a [u8], IndexProblem> {
        let len = usize::try_from(len).map_err(|_| IndexProblem::Corrupt("section larger than memory".into()))?;
        if len > self.rest.len() {
            return Err(IndexProblem::Corrupt("section extends past the end".into()));
        }
        let (section, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(section)
    }

    fn u32s(&mut self, count: u64) -> Result<Vec<u32>, IndexProblem> {
        let bytes = self.take(count * 4)?;
        Ok(bytes.as_chunks::<4>().0.iter().map(|c| u32::from_le_bytes(*c)).collect())
    }

    fn u128s(&mut self, count: u64) -> Result<Vec<u128>, IndexProblem> {
        let bytes = self.take(count * 16)?;
        Ok(bytes.as_chunks::<16>().0.iter().map(|c| u128::from_le_bytes(*c)).collect())
    }
}

impl AsnIndex {
    /// Builds an index from the two `@ip-location-db/asn` CSVs (`asn-ipv4.csv`, `asn-ipv6.csv`;
    /// either may be empty). Errors name the sources "IPv4 ASN CSV" / "IPv6 ASN CSV"; use
    /// [`AsnIndex::from_csv_files`] to have them name the files.
    pub fn from_csv<R4: Read, R6: Read>(ipv4: R4, ipv6: R6) -> Result<AsnIndex, EnrichError> {
        let mut builder = Builder::default();
        builder.add_csv("IPv4 ASN CSV", ipv4)?;
        builder.add_csv("IPv6 ASN CSV", ipv6)?;
        builder.finish()
    }

    /// Builds an index from two CSV files; errors name the file and line.
    pub fn from_csv_files(ipv4: &Path, ipv6: &Path) -> Result<AsnIndex, EnrichError> {
        let mut builder = Builder::default();
        for path in [ipv4, ipv6] {
            let file = fs::File::open(path).map_err(|error| EnrichError::Io { path: path.to_owned(), error })?;
            builder.add_csv(&path.display().to_string(), std::io::BufReader::new(file))?;
        }
        builder.finish()
    }

    /// Builds an index from `asn-ipv4.csv` and `asn-ipv6.csv` in `dir`, e.g. the `package/`
    /// folder of the unpacked npm tarball.
    pub fn from_csv_dir(dir: &Path) -> Result<AsnIndex, EnrichError> {
        Self::from_csv_files(&dir.join("asn-ipv4.csv"), &dir.join("asn-ipv6.csv"))
    }

    /// Writes the index to `path` atomically: readers see the old file or the new one, never a
    /// partial write. Creates the parent folder if needed.
    pub fn write_to(&self, path: &Path) -> Result<(), EnrichError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| EnrichError::Io { path, error }
        };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(io(dir))?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(".asn-index-").suffix(".tmp");
        #[cfg(unix)]
        {
            // Readable like any file the user writes (tempfile's default is owner-only).
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(0o644));
        }
        let mut tmp = builder.tempfile_in(dir).map_err(io(dir))?;
        tmp.write_all(&self.to_bytes()).map_err(io(tmp.path()))?;
        tmp.as_file().sync_all().map_err(io(tmp.path()))?;
        tmp.persist(path).map_err(|e| EnrichError::Io { path: path.to_owned(), error: e.error })?;
        Ok(())
    }

    /// Loads an index written by [`AsnIndex::write_to`], verifying it completely.
    pub fn open(path: &Path) -> Result<AsnIndex, EnrichError> {
        let bytes = fs::read(path).map_err(|error| EnrichError::Io { path: path.to_owned(), error })?;
        Self::parse(&bytes).map_err(|problem| EnrichError::Index { origin: path.display().to_string(), problem })
    }

    /// Loads an index from its bytes, verifying it completely (length, checksum, structure),
    /// so that lookups can never read out of bounds or return garbage.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<AsnIndex, EnrichError> {
        Self::parse(&bytes).map_err(|problem| EnrichError::Index { origin: ORIGIN_BYTES.to_owned(), problem })
    }

    /// The file format, as written by [`AsnIndex::write_to`].
    pub fn to_bytes(&self) -> Vec<u8> {
        let (v4, v6) = (self.v4.len() as u64, self.v6.len() as u64);
        let orgs = self.organizations() as u64;
        let text = self.org_text.len() as u64;
        let total = Layout { v4, v6, orgs, text }.total();
        let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        out.extend_from_slice(&INDEX_MAGIC);
        out.extend_from_slice(&INDEX_FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes()); // reserved
        // The constructors guarantee every count fits in u32.
        for count in [v4, v6, orgs, text] {
            out.extend_from_slice(&(count as u32).to_le_bytes());
        }
        out.extend_from_slice(&total.to_le_bytes());
        out.resize(HEADER_LEN, 0); // checksum (filled in below) and reserved bytes
        let (v4s, v6s) = (&self.v4.entries, &self.v6.entries);
        let mut put = |v: &[u8]| out.extend_from_slice(v);
        self.v6.starts.iter().for_each(|v| put(&v.to_le_bytes()));
        v6s.iter().for_each(|e| put(&e.end.to_le_bytes()));
        self.v4.starts.iter().for_each(|v| put(&v.to_le_bytes()));
        v4s.iter().for_each(|e| put(&e.end.to_le_bytes()));
        v4s.iter().for_each(|e| put(&e.asn.to_le_bytes()));
        v4s.iter().for_each(|e| put(&e.org.to_le_bytes()));
        v6s.iter().for_each(|e| put(&e.asn.to_le_bytes()));
        v6s.iter().for_each(|e| put(&e.org.to_le_bytes()));
        self.org_offsets.iter().for_each(|v| put(&v.to_le_bytes()));
        out.extend_from_slice(self.org_text.as_bytes());
        let sum = checksum(&out);
        if let Some(field) = out.get_mut(CHECKSUM_AT..CHECKSUM_AT + 8) {
            field.copy_from_slice(&sum.to_le_bytes());
        }
        out
    }

    fn parse(bytes: &[u8]) -> Result<AsnIndex, IndexProblem> {
        let found = bytes.len() as u64;
        if bytes.len() < HEADER_LEN {
            // An empty file is most likely an interrupted copy, so it counts as truncated.
            return Err(if bytes.is_empty() || looks_like_index(bytes) {
                IndexProblem::Truncated { expected: HEADER_LEN as u64, found }
            } else {
                IndexProblem::NotAnIndex
            });
        }
        if !bytes.starts_with(&INDEX_MAGIC) {
            return Err(IndexProblem::NotAnIndex);
        }
        let version = le_u32(bytes, 8);
        if version != INDEX_FORMAT_VERSION {
            return Err(IndexProblem::UnsupportedVersion { found: version, supported: INDEX_FORMAT_VERSION });
        }
        let layout = Layout {
            v4: u64::from(le_u32(bytes, 16)),
            v6: u64::from(le_u32(bytes, 20)),
            orgs: u64::from(le_u32(bytes, 24)),
            text: u64::from(le_u32(bytes, 28)),
        };
        let expected = layout.total();
        let recorded = le_u64(bytes, 32);
        if recorded != expected {
            return Err(IndexProblem::Corrupt(format!(
                "header counts add up to {expected} bytes but the header records {recorded}"
            )));
        }
        if found < expected {
            return Err(IndexProblem::Truncated { expected, found });
        }
        if found > expected {
            return Err(IndexProblem::TrailingBytes { expected, found });
        }
        let (recorded, computed) = (le_u64(bytes, CHECKSUM_AT), checksum(bytes));
        if recorded != computed {
            return Err(IndexProblem::ChecksumMismatch { recorded, computed });
        }
        let reserved_zero =
            le_u32(bytes, 12) == 0 && bytes.get(CHECKSUM_AT + 8..HEADER_LEN).is_some_and(|r| r.iter().all(|&b| b == 0));
        if !reserved_zero {
            return Err(IndexProblem::Corrupt("reserved header fields are not zero".into()));
        }

        let mut body = Sections { rest: bytes.get(HEADER_LEN..).unwrap_or(&[]) };
        let v6_starts = body.u128s(layout.v6)?;
        let v6_ends = body.u128s(layout.v6)?;
        let v4_starts = body.u32s(layout.v4)?;
        let v4_ends = body.u32s(layout.v4)?;
        let v4 = Table { starts: v4_starts, entries: entries(v4_ends, body.u32s(layout.v4)?, body.u32s(layout.v4)?) };
        let v6 = Table { starts: v6_starts, entries: entries(v6_ends, body.u32s(layout.v6)?, body.u32s(layout.v6)?) };
        let org_offsets = body.u32s(layout.orgs + 1)?;
        let org_text = String::from_utf8(body.take(layout.text)?.to_vec())
            .map_err(|_| IndexProblem::Corrupt("organization names are not valid UTF-8".into()))?;

        let org_count = org_offsets.len() - 1;
        v4.validate("IPv4", org_count)?;
        v6.validate("IPv6", org_count)?;
        if org_offsets.first() != Some(&0)
            || org_offsets.last().map(|&o| o as usize) != Some(org_text.len())
            || org_offsets.windows(2).any(|w| w[0] > w[1])
            || !org_offsets.iter().all(|&o| org_text.is_char_boundary(o as usize))
        {
            return Err(IndexProblem::Corrupt("organization name offsets are out of order or out of bounds".into()));
        }
        Ok(AsnIndex::assemble(v4, v6, org_offsets, org_text))
    }

    /// The AS announcing `ip`, or `None` when no range holds it. IPv4-mapped IPv6 addresses
    /// (`::ffff:a.b.c.d`, as some logs write IPv4 clients) are looked up as IPv4.
    #[inline]
    pub fn lookup(&self, ip: IpAddr) -> Option<Asn<'_>> {
        let (asn, start, end) = match ip.to_canonical() {
            IpAddr::V4(ip) => self.find_v4(u32::from(ip)).map(|e| (e.asn, e.name_start, e.name_end)),
            IpAddr::V6(ip) => self.find_v6(u128::from(ip)).map(|e| (e.asn, e.name_start, e.name_end)),
        }?;
        Some(Asn {
            number: asn,
            // In bounds and on character boundaries: checked when the index was loaded.
            organization: self.org_text.get(start as usize..end as usize).unwrap_or(""),
        })
    }

    /// [`Table::find`] narrowed to the address's /16 by `v4_first`.
    #[inline]
    fn find_v4(&self, ip: u32) -> Option<Entry<u32>> {
        let prefix = (ip >> 16) as usize;
        let lo = *self.v4_first.get(prefix)? as usize;
        let hi = *self.v4_first.get(prefix + 1)? as usize;
        // The holding range is the last one starting at or before `ip`: in this /16, or the
        // one just before it (a range that started in an earlier /16 and may reach into it).
        let in_prefix = self.v4.starts.get(lo..hi)?.partition_point(|&s| s <= ip);
        self.v4.hit(lo + in_prefix, ip)
    }

    /// [`Table::find`] narrowed to one block of `V6_FENCE_STRIDE` ranges by `v6_fences`.
    #[inline]
    fn find_v6(&self, ip: u128) -> Option<Entry<u128>> {
        let block = self.v6_fences.partition_point(|&f| f <= ip).checked_sub(1)?;
        let lo = block * V6_FENCE_STRIDE;
        let hi = (lo + V6_FENCE_STRIDE).min(self.v6.starts.len());
        let in_block = self.v6.starts.get(lo..hi)?.partition_point(|&s| s <= ip);
        self.v6.hit(lo + in_block, ip)
    }

    /// Adds the lookup accelerators, which are derived data and so not stored in the file.
    /// Also resolves each entry's organization id to its name's position in `org_text`.
    fn assemble(mut v4: Table<u32>, mut v6: Table<u128>, org_offsets: Vec<u32>, org_text: String) -> Self {
        let span = |org: u32| {
            let i = org as usize;
            match (org_offsets.get(i), org_offsets.get(i + 1)) {
                (Some(&start), Some(&end)) => (start, end),
                _ => (0, 0),
            }
        };
        for e in &mut v4.entries {
            (e.name_start, e.name_end) = span(e.org);
        }
        for e in &mut v6.entries {
            (e.name_start, e.name_end) = span(e.org);
        }
        AsnIndex {
            v4_first: v4_first(&v4.starts),
            v6_fences: v6.starts.iter().step_by(V6_FENCE_STRIDE).copied().collect(),
            v4,
            v6,
            org_offsets,
            org_text,
        }
    }

    /// Number of stored ranges, IPv4 plus IPv6 (after merging adjacent rows of the same AS
    /// and resolving overlaps, so it can be lower than the CSV row count).
    pub fn ranges(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Number of distinct organization names.
    pub fn organizations(&self) -> usize {
        self.org_offsets.len().saturating_sub(1)
    }
}

impl fmt::Debug for AsnIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsnIndex")
            .field("ipv4_ranges", &self.v4.len())
            .field("ipv6_ranges", &self.v6.len())
            .field("organizations", &self.organizations())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start: u32, end: u32, asn: u32, seq: usize) -> Segment<u32> {
        Segment { start, end, asn, org: asn, seq }
    }

    fn spans(out: &[Segment<u32>]) -> Vec<(u32, u32, u32)> {
        out.iter().map(|s| (s.start, s.end, s.asn)).collect()
    }

    #[test]
    fn flatten_keeps_clean_input_and_merges_adjacent_same_as() {
        let out = flatten(vec![seg(20, 29, 2, 1), seg(0, 9, 1, 0), seg(10, 19, 1, 2)]);
        assert_eq!(spans(&out), [(0, 19, 1), (20, 29, 2)]);
    }

    #[test]
    fn flatten_lets_the_narrowest_overlapping_row_win() {
        // Nested, partially overlapping (like the real DoD rows), and reaching u32::MAX.
        let out = flatten(vec![
            seg(0, 100, 1, 0),
            seg(10, 20, 2, 1),
            seg(90, 150, 3, 2),
            seg(200, u32::MAX, 4, 3),
            seg(250, u32::MAX, 5, 4),
        ]);
        assert_eq!(spans(&out), [(0, 9, 1), (10, 20, 2), (21, 89, 1), (90, 150, 3), (200, 249, 4), (250, u32::MAX, 5)]);
    }

    #[test]
    fn flatten_breaks_ties_for_the_later_row() {
        let out = flatten(vec![seg(0, 9, 1, 0), seg(0, 9, 2, 1)]);
        assert_eq!(spans(&out), [(0, 9, 2)]);
    }

    /// Two IPv4 ranges, one IPv6 range, names "Ab", "Cd", "Éf". Layout: header 0..64, IPv6
    /// starts 64..80 and ends 80..96, IPv4 starts 96..104, ends 104..112, AS numbers 112..120,
    /// org ids 120..128, IPv6 AS numbers 128..132, org ids 132..136, org offsets 136..152,
    /// names 152..159.
    fn small_index_bytes() -> Vec<u8> {
        let index = AsnIndex::from_csv(
            "1.0.0.0,1.0.0.255,1,Ab\n2.0.0.0,2.0.0.255,2,Cd\n".as_bytes(),
            "2001:db8::,2001:db8::ff,3,Éf\n".as_bytes(),
        )
        .unwrap();
        let bytes = index.to_bytes();
        assert_eq!(bytes.len(), 159);
        bytes
    }

    /// Applies `edit` and re-stamps the checksum, as a buggy writer or a forger would, to reach
    /// the structural checks behind the checksum.
    fn corrupt(edit: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut bytes = small_index_bytes();
        edit(&mut bytes);
        let sum = checksum(&bytes);
        bytes[CHECKSUM_AT..CHECKSUM_AT + 8].copy_from_slice(&sum.to_le_bytes());
        match AsnIndex::parse(&bytes) {
            Err(IndexProblem::Corrupt(what)) => what,
            other => panic!("expected a structural error, got {other:?}"),
        }
    }

    fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    #[test]
    fn small_index_round_trips() {
        let index = AsnIndex::parse(&small_index_bytes()).unwrap();
        let lookup = |ip: &str| index.lookup(ip.parse().unwrap()).map(|a| (a.number, a.organization));
        assert_eq!(lookup("1.0.0.1"), Some((1, "Ab")));
        assert_eq!(lookup("2.0.0.255"), Some((2, "Cd")));
        assert_eq!(lookup("2001:db8::1"), Some((3, "Éf")));
    }

    #[test]
    fn structural_damage_behind_a_valid_checksum_is_caught() {
        assert_eq!(corrupt(|b| put_u32(b, 100, 0)), "IPv4 range #1 overlaps or precedes range #0");
        assert_eq!(corrupt(|b| put_u32(b, 96, 0x0100_0100)), "IPv4 range #0 ends before it starts");
        assert_eq!(
            corrupt(|b| b[64..80].copy_from_slice(&u128::MAX.to_le_bytes())),
            "IPv6 range #0 ends before it starts"
        );
        assert_eq!(corrupt(|b| put_u32(b, 124, 99)), "IPv4 range #1 names organization #99, but there are only 3");
        assert_eq!(corrupt(|b| put_u32(b, 132, 3)), "IPv6 range #0 names organization #3, but there are only 3");
        let offsets = "organization name offsets are out of order or out of bounds";
        assert_eq!(corrupt(|b| put_u32(b, 140, 5)), offsets); // 5 > next offset 4
        assert_eq!(corrupt(|b| put_u32(b, 144, 5)), offsets); // inside the 2-byte 'É'
        assert_eq!(corrupt(|b| put_u32(b, 136, 1)), offsets); // first must be 0
        assert_eq!(corrupt(|b| b[152] = 0xff), "organization names are not valid UTF-8");
        assert_eq!(corrupt(|b| b[12] = 1), "reserved header fields are not zero");
        assert_eq!(corrupt(|b| b[63] = 1), "reserved header fields are not zero");
        assert_eq!(corrupt(|b| put_u32(b, 16, 3)), "header counts add up to 175 bytes but the header records 159");
    }

    #[test]
    fn huge_header_counts_are_rejected_before_allocating() {
        let mut bytes = small_index_bytes();
        for at in [16, 20, 24, 28] {
            put_u32(&mut bytes, at, u32::MAX);
        }
        let total = Layout {
            v4: u64::from(u32::MAX),
            v6: u64::from(u32::MAX),
            orgs: u64::from(u32::MAX),
            text: u64::from(u32::MAX),
        }
        .total();
        bytes[32..40].copy_from_slice(&total.to_le_bytes());
        assert_eq!(AsnIndex::parse(&bytes).unwrap_err(), IndexProblem::Truncated { expected: total, found: 159 });
    }

    #[test]
    fn v4_prefix_table_agrees_with_a_plain_binary_search() {
        // Ranges of many sizes: inside one /16, spanning several, touching 0 and u32::MAX.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut csv = String::new();
        let mut at = 0u64;
        while at <= u64::from(u32::MAX) {
            let len = 1 + next() % [1 << 8, 1 << 12, 1 << 16, 1 << 24][(next() % 4) as usize];
            let end = (at + len - 1).min(u64::from(u32::MAX));
            if next() % 3 != 0 {
                let (s, e) = (std::net::Ipv4Addr::from(at as u32), std::net::Ipv4Addr::from(end as u32));
                csv.push_str(&format!("{s},{e},{},Org{}\n", next() % 100, next() % 10));
            }
            at = end + 1 + next() % 3 * (next() % 5000);
        }
        let index = AsnIndex::from_csv(csv.as_bytes(), "".as_bytes()).unwrap();
        assert!(index.v4.len() > 1000, "{}", index.v4.len());
        let mut probes: Vec<u32> = (0..200_000).map(|_| next() as u32).collect();
        for (&s, e) in index.v4.starts.iter().zip(&index.v4.entries) {
            probes.extend([s, e.end, s.wrapping_sub(1), e.end.wrapping_add(1)]);
        }
        probes.extend([0, u32::MAX, 0xffff, 0x1_0000]);
        for ip in probes {
            assert_eq!(index.find_v4(ip), index.v4.find(ip), "{ip:#x}");
        }
    }

    #[test]
    fn v6_fences_agree_with_a_plain_binary_search() {
        // Enough ranges for many blocks plus a partial last one; probe around every edge.
        let mut csv = String::new();
        for i in 0..1_000u128 {
            let start = (0x2001_0db8u128 << 96) + i * 0x1_0000;
            let end = start + 0xff + (i % 7) * 0x100;
            let (s, e) = (std::net::Ipv6Addr::from(start), std::net::Ipv6Addr::from(end));
            csv.push_str(&format!("{s},{e},{},Org{}\n", i % 13, i % 3));
        }
        let index = AsnIndex::from_csv("".as_bytes(), csv.as_bytes()).unwrap();
        assert_eq!(index.v6.starts.len(), 1_000);
        let mut probes = vec![0, u128::MAX];
        for (&s, e) in index.v6.starts.iter().zip(&index.v6.entries) {
            probes.extend([s, s + 1, e.end, s.wrapping_sub(1), e.end.wrapping_add(1)]);
        }
        for ip in probes {
            assert_eq!(index.find_v6(ip), index.v6.find(ip), "{ip:#x}");
        }
    }

    #[test]
    fn checksum_detects_every_single_byte_change() {
        let data: Vec<u8> = (0..200u32).map(|i| (i * 7) as u8).collect();
        let base = checksum(&data);
        for i in (0..data.len()).filter(|i| !(CHECKSUM_AT..CHECKSUM_AT + 8).contains(i)) {
            let mut changed = data.clone();
            changed[i] ^= 0x01;
            assert_ne!(checksum(&changed), base, "byte {i}");
        }
    }
}
