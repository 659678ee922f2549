//! Build, load and lookup timings for the ASN index on the real `@ip-location-db/asn` data.
//!
//! Run with the folder holding `asn-ipv4.csv` and `asn-ipv6.csv`:
//!
//! ```text
//! KEYTRAIL_ASN_CSV_DIR=/path/to/package cargo bench -p keytrail-enrich --bench asn_lookup
//! ```

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use keytrail_enrich::AsnIndex;

const LOOKUPS: usize = 1_000_000;
const BATCH: usize = 50_000;

/// splitmix64: a dependency-free source of addresses spread over the whole space.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn per_lookup(elapsed: Duration, lookups: usize) -> f64 {
    elapsed.as_nanos() as f64 / lookups as f64
}

/// Times the lookups of `ips` in batches: returns the total time, the time of the fastest
/// batch (less disturbed by other processes on a busy machine) and how many were found.
fn time_lookups(index: &AsnIndex, ips: &[IpAddr]) -> (Duration, Duration, usize) {
    let mut total = Duration::ZERO;
    let mut best = Duration::MAX;
    let mut found = 0usize;
    for batch in ips.chunks(BATCH) {
        let start = Instant::now();
        for &ip in batch {
            if black_box(index.lookup(black_box(ip))).is_some() {
                found += 1;
            }
        }
        let elapsed = start.elapsed();
        total += elapsed;
        best = best.min(elapsed);
    }
    (total, best, found)
}

/// The (start, end) of every row of a CSV, read naively: addresses never need CSV quoting.
fn csv_ranges(path: &std::path::Path) -> Result<Vec<(IpAddr, IpAddr)>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path)?;
    let mut ranges = Vec::new();
    for line in text.lines() {
        let mut fields = line.splitn(3, ',');
        if let (Some(start), Some(end)) = (fields.next(), fields.next()) {
            ranges.push((start.parse()?, end.parse()?));
        }
    }
    Ok(ranges)
}

/// `LOOKUPS` addresses, each uniformly inside a uniformly chosen range.
fn sample(ranges: &[(IpAddr, IpAddr)], rng: &mut Rng) -> Vec<IpAddr> {
    let to_int = |ip: IpAddr| match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    };
    (0..LOOKUPS)
        .map(|_| {
            let (start, end) = ranges[(rng.next() % ranges.len() as u64) as usize];
            let (lo, hi) = (to_int(start), to_int(end));
            let r = (u128::from(rng.next()) << 64) | u128::from(rng.next());
            let x = lo + r % (hi - lo).saturating_add(1).max(1);
            match start {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(x as u32)),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(x)),
            }
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = std::env::var_os("KEYTRAIL_ASN_CSV_DIR").map(PathBuf::from) else {
        println!(
            "asn_lookup: skipped. Set KEYTRAIL_ASN_CSV_DIR to the folder with asn-ipv4.csv and \
             asn-ipv6.csv (the package/ folder of the npm package @ip-location-db/asn), e.g.\n  \
             KEYTRAIL_ASN_CSV_DIR=/tmp/asn/package cargo bench -p keytrail-enrich --bench asn_lookup"
        );
        return Ok(());
    };

    let start = Instant::now();
    let index = AsnIndex::from_csv_dir(&dir)?;
    println!(
        "build from CSV: {:>8.1} ms  ({} ranges, {} organizations)",
        start.elapsed().as_secs_f64() * 1e3,
        index.ranges(),
        index.organizations()
    );

    let tmp = tempfile::tempdir()?;
    let path = tmp.path().join("asn.ktasn");
    let start = Instant::now();
    index.write_to(&path)?;
    println!(
        "write:          {:>8.1} ms  ({} bytes)",
        start.elapsed().as_secs_f64() * 1e3,
        std::fs::metadata(&path)?.len()
    );

    // Best of a few runs: the first one also pays for the page cache and allocator warm-up.
    let mut best = Duration::MAX;
    let mut loaded = None;
    for _ in 0..5 {
        let start = Instant::now();
        let opened = AsnIndex::open(&path)?;
        best = best.min(start.elapsed());
        loaded = Some(opened);
    }
    let loaded = loaded.ok_or("no load run")?;
    println!("open (load):    {:>8.2} ms  (best of 5)", best.as_secs_f64() * 1e3);

    let mut rng = Rng(0x6b65_7974_7261_696c);
    let v4_uniform: Vec<IpAddr> = (0..LOOKUPS).map(|_| IpAddr::V4(Ipv4Addr::from(rng.next() as u32))).collect();
    // Addresses in logs are mostly routed ones, and uniformly random IPv6 addresses fall in
    // the same few gaps every time (which would flatter the search), so also draw addresses
    // from inside randomly chosen CSV rows.
    let v4_ranges = csv_ranges(&dir.join("asn-ipv4.csv"))?;
    let v6_ranges = csv_ranges(&dir.join("asn-ipv6.csv"))?;
    let v4_routed = sample(&v4_ranges, &mut rng);
    let v6_routed = sample(&v6_ranges, &mut rng);

    for (what, ips) in [("IPv4 uniform", &v4_uniform), ("IPv4 routed ", &v4_routed), ("IPv6 routed ", &v6_routed)] {
        time_lookups(&loaded, ips); // warm-up
        let (total, best, found) = time_lookups(&loaded, ips);
        println!(
            "lookup {what}: {:>6.1} ns/lookup overall, {:>6.1} in the best batch of {BATCH} \
             ({LOOKUPS} random addresses, {:.1}% found)",
            per_lookup(total, LOOKUPS),
            per_lookup(best, BATCH),
            found as f64 * 100.0 / LOOKUPS as f64
        );
    }
    Ok(())
}
