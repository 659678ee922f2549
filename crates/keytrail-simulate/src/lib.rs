//! Deterministic generator of realistic AWS CloudTrail logs, for tests and
//! benchmarks of keytrail.
//!
//! An *estate* of accounts is populated with *actors* (engineers, console
//! users, CI pipelines, Terraform, Lambda functions, EC2 instances, AWS
//! services, root) that each behave as their real counterparts do: their
//! identities, keys, source addresses, user agents, working hours and the
//! calls they make. [`write_estate`] writes what they do, day by day, as
//! CloudTrail delivers it to S3: gzip'd JSON log files per account, region
//! and five minutes, plus hourly digest files.
//!
//! Attacks with stolen credentials, and benign look-alikes of them, can be
//! woven in (see [`attack_names`]): their events land in the same files as
//! everyone else's, and `ground-truth.json`, next to `AWSLogs/`, says which
//! they are and which detection rules must, or must not, alert on them.
//!
//! Output depends on the configuration only: work is split into units of
//! (account, region, day), each seeded from the seed and its identity, so
//! the bytes are the same whatever the number of threads.

mod actors;
mod agents;
mod api;
mod attacks;
mod estate;
mod ids;
mod layout;
mod net;
mod principal;
mod record;
mod time;
mod unit;

use chrono::{DateTime, TimeZone, Utc};
use estate::Estate;
use flate2::{Compress, Compression, Crc, FlushCompress, Status};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// What to generate.
#[derive(Clone, Debug)]
pub struct EstateConfig {
    /// The first day (its date is used: days run 00:00 to 24:00 UTC).
    pub start: DateTime<Utc>,
    pub days: u32,
    /// Events per day across the whole estate (met within a fraction of a
    /// percent; root sign-ins come on top).
    pub events_per_day: u64,
    pub seed: u64,
    pub accounts: u32,
    /// The regions the estate works in. Events of global services (IAM,
    /// console sign-in, CloudFront) are delivered in us-east-1 as
    /// CloudTrail does, so only if it is among them.
    pub regions: Vec<String>,
    /// The attacks and look-alikes to weave in, by name (see
    /// [`attack_names`]), in the last three days.
    pub attacks: Vec<String>,
}

impl Default for EstateConfig {
    fn default() -> Self {
        EstateConfig {
            start: Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().expect("valid date"),
            days: 1,
            events_per_day: 30_000,
            seed: 1,
            accounts: 3,
            regions: ["us-east-1", "us-west-2", "eu-west-1"].map(String::from).to_vec(),
            attacks: Vec::new(),
        }
    }
}

/// The names of the attacks and look-alikes [`EstateConfig::attacks`] can
/// weave in.
pub fn attack_names() -> Vec<&'static str> {
    attacks::names().collect()
}

/// Where [`write_estate`] puts the ground truth of the attacks, under its
/// output folder and outside `AWSLogs/`, so readers of the logs skip it.
pub const GROUND_TRUTH: &str = "ground-truth.json";

/// Where [`write_estate`] puts the Tor exit list of the estate's time, in
/// Tor's exit-list format, for `keytrail intel add`: the addresses of the
/// attacks that hide behind Tor are on it, no benign actor's is.
pub const TOR_EXIT_LIST: &str = "intel/tor-exits.txt";

/// What [`write_estate`] wrote. Files and bytes count log and digest files
/// alike (everything under `AWSLogs`); events count the records in log
/// files, of which `injected` are the attacks' and look-alikes'.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EstateSummary {
    pub files: u64,
    pub events: u64,
    pub injected: u64,
    pub bytes_compressed: u64,
    pub bytes_uncompressed: u64,
}

impl EstateSummary {
    fn add(&mut self, other: &EstateSummary) {
        self.files += other.files;
        self.events += other.events;
        self.injected += other.injected;
        self.bytes_compressed += other.bytes_compressed;
        self.bytes_uncompressed += other.bytes_uncompressed;
    }
}

/// CloudTrail delivers a log file about every five minutes.
const SLOT: i64 = 300;

/// How many minutes after its five minutes end a log file is delivered: typically 5 to 15.
/// Readers that select events by delivery time (`event.ingested`) see this lag.
const DELIVERY_DELAY_MINUTES: std::ops::RangeInclusive<i64> = 5..=15;

/// gzip level: 6 is what CloudTrail's files look like; generation time is
/// dominated by building records, not by compressing them.
const LEVEL: u32 = 6;

/// A gzip member header: deflate, no name, no time (so output is
/// reproducible), unknown OS — what flate2's encoder writes.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// Seed domains of file name suffixes and of Tor relay fingerprints.
const FILE_NAMES: u64 = 4;
const TOR_FINGERPRINTS: u64 = 7;

/// Writes the estate under `out` and returns what it wrote. `progress` is
/// called with the number of files written so far, from any thread. With
/// attacks, `out/ground-truth.json` describes them; without, a ground truth
/// left there by an earlier run is removed, as it would describe nothing.
pub fn write_estate(out: &Path, config: &EstateConfig, progress: &(dyn Fn(u64) + Sync)) -> io::Result<EstateSummary> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    write_estate_with(out, config, progress, threads)
}

/// [`write_estate`] with a given number of worker threads.
fn write_estate_with(
    out: &Path,
    config: &EstateConfig,
    progress: &(dyn Fn(u64) + Sync),
    threads: usize,
) -> io::Result<EstateSummary> {
    if let Some(name) = config.attacks.iter().find(|n| !attacks::names().any(|known| known == n.as_str())) {
        let known = attack_names().join(", ");
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("unknown attack {name} (known: {known})")));
    }
    if config.accounts == 0 || config.regions.is_empty() {
        return Ok(EstateSummary::default());
    }
    let estate = Estate::new(config);
    write_ground_truth(out, &estate)?;
    write_tor_exits(out, &estate, estate.day_start(config.days))?;
    let mut units = Vec::new();
    for account in 0..estate.accounts.len() {
        for region in 0..estate.regions.len() {
            for day in 0..config.days {
                units.push((account, region, day));
            }
        }
    }
    let next = AtomicUsize::new(0);
    let files = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let on_file = || progress(files.fetch_add(1, Ordering::Relaxed) + 1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut writer = Writer::new(out, &estate, &on_file);
                    while !failed.load(Ordering::Relaxed) {
                        let Some(&(account, region, day)) = units.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break;
                        };
                        if let Err(e) = writer.unit(account, region, day) {
                            failed.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                    Ok(writer.summary)
                })
            })
            .collect();
        let mut total = EstateSummary::default();
        let mut error = None;
        for worker in workers {
            match worker.join().expect("worker panicked") {
                Ok(s) => total.add(&s),
                Err(e) => error = error.or(Some(e)),
            }
        }
        error.map_or(Ok(total), Err)
    })
}

/// Writes `ground-truth.json` if the estate has attacks, else removes a
/// stale one.
fn write_ground_truth(out: &Path, estate: &Estate) -> io::Result<()> {
    let path = out.join(GROUND_TRUTH);
    if estate.attacks.is_empty() {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
    }
    #[derive(serde::Serialize)]
    struct GroundTruth {
        attacks: Vec<attacks::Truth>,
    }
    let truth = GroundTruth { attacks: estate.attacks.iter().map(|a| a.truth(estate)).collect() };
    std::fs::create_dir_all(out)?;
    let mut json = serde_json::to_vec_pretty(&truth)?;
    json.push(b'\n');
    std::fs::write(path, json)
}

/// Writes the estate's Tor exit list as the Tor Project publishes it, each
/// relay last seen in the estate's final hour (`end`).
fn write_tor_exits(out: &Path, estate: &Estate, end: i64) -> io::Result<()> {
    let path = out.join(TOR_EXIT_LIST);
    std::fs::create_dir_all(path.parent().expect("the list is in a folder"))?;
    let stamp = |t: i64| DateTime::from_timestamp(t, 0).expect("a time of the estate").format("%Y-%m-%d %H:%M:%S");
    let mut rng = SmallRng::seed_from_u64(ids::mix(&[estate.seed, TOR_FINGERPRINTS]));
    let mut text = String::new();
    for (i, ip) in estate.tor_exits.iter().enumerate() {
        let seen = end - time::HOUR + (i as i64 * 47) % time::HOUR;
        text += &format!(
            "ExitNode {}\nPublished {}\nLastStatus {}\nExitAddress {ip} {}\n",
            ids::hex(&mut rng, 40).to_ascii_uppercase(),
            stamp(seen - 6 * time::HOUR),
            stamp(seen),
            stamp(seen),
        );
    }
    std::fs::write(path, text)
}

/// One worker's writing state: buffers and compressor reused from file to
/// file (a fresh compressor per file costs more than compressing a small
/// file).
struct Writer<'a> {
    out: &'a Path,
    estate: &'a Estate,
    on_file: &'a (dyn Fn() + Sync),
    json: Vec<u8>,
    gz: Vec<u8>,
    deflate: Compress,
    summary: EstateSummary,
}

impl<'a> Writer<'a> {
    fn new(out: &'a Path, estate: &'a Estate, on_file: &'a (dyn Fn() + Sync)) -> Self {
        Writer {
            out,
            estate,
            on_file,
            json: Vec::with_capacity(1 << 20),
            gz: Vec::with_capacity(1 << 18),
            deflate: Compress::new(Compression::new(LEVEL), false),
            summary: EstateSummary::default(),
        }
    }

    /// Generates and writes one unit: a log file per five minutes that has
    /// events, and a digest per hour.
    fn unit(&mut self, account: usize, region: usize, day: u32) -> io::Result<()> {
        let estate = self.estate;
        let (records, injected) = estate.unit(account, region, day);
        self.summary.injected += injected;
        let acct = &estate.accounts[account];
        let region_name = &estate.regions[region];
        let start = estate.day_start(day);
        let mut rng = SmallRng::seed_from_u64(ids::mix(&[
            estate.seed,
            FILE_NAMES,
            account as u64,
            ids::hash_str(region_name),
            start as u64,
        ]));
        let mut hours: Vec<Vec<layout::LogFile>> = (0..24).map(|_| Vec::new()).collect();
        let mut made_dir = None;
        for chunk in records.chunk_by(|a, b| (a.event_time - start) / SLOT == (b.event_time - start) / SLOT) {
            let (oldest, newest) = (chunk[0].event_time, chunk[chunk.len() - 1].event_time);
            let slot = start + (oldest - start) / SLOT * SLOT;
            let delivered = slot + SLOT + rng.random_range(DELIVERY_DELAY_MINUTES) * 60;
            let key = layout::log_key(&acct.id, region_name, delivered, &ids::alnum(&mut rng, 16));
            let path = self.out.join(&key);
            // The day's last files are delivered into the next day's folder.
            let dir = path.parent().expect("keys have folders");
            if made_dir.as_deref() != Some(dir) {
                std::fs::create_dir_all(dir)?;
                made_dir = Some(dir.to_path_buf());
            }
            self.json.clear();
            self.json.extend_from_slice(b"{\"Records\":[");
            for (i, rec) in chunk.iter().enumerate() {
                if i > 0 {
                    self.json.push(b',');
                }
                serde_json::to_writer(&mut self.json, rec)?;
            }
            self.json.extend_from_slice(b"]}");
            self.write(&path)?;
            self.summary.events += chunk.len() as u64;
            hours[((slot - start) / time::HOUR) as usize].push(layout::LogFile { key, oldest, newest });
        }
        for (hour, files) in hours.iter().enumerate() {
            let end = start + (hour as i64 + 1) * time::HOUR;
            let digest = layout::digest(&mut rng, acct, region_name, end, files);
            let path = self.out.join(layout::digest_key(&acct.id, region_name, &acct.trail, end));
            if hour == 0 || hour == 23 {
                std::fs::create_dir_all(path.parent().expect("keys have folders"))?;
            }
            self.json.clear();
            serde_json::to_writer(&mut self.json, &digest)?;
            self.write(&path)?;
        }
        Ok(())
    }

    /// Compresses the JSON buffer into `path` as a gzip file.
    fn write(&mut self, path: &Path) -> io::Result<()> {
        self.gz.clear();
        self.gz.extend_from_slice(&GZIP_HEADER);
        self.deflate.reset();
        loop {
            self.gz.reserve(self.json.len() / 4 + 64);
            let done = self.deflate.total_in() as usize;
            let status = self
                .deflate
                .compress_vec(&self.json[done..], &mut self.gz, FlushCompress::Finish)
                .map_err(io::Error::other)?;
            if status == Status::StreamEnd {
                break;
            }
        }
        let mut crc = Crc::new();
        crc.update(&self.json);
        self.gz.extend_from_slice(&crc.sum().to_le_bytes());
        self.gz.extend_from_slice(&(self.json.len() as u32).to_le_bytes());
        std::fs::write(path, &self.gz)?;
        self.summary.files += 1;
        self.summary.bytes_uncompressed += self.json.len() as u64;
        self.summary.bytes_compressed += self.gz.len() as u64;
        (self.on_file)();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    out.push((path.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&path).unwrap()));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn output_does_not_depend_on_the_number_of_threads() {
        let config = EstateConfig { days: 2, events_per_day: 2_000, ..EstateConfig::default() };
        let (one, three) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let a = write_estate_with(one.path(), &config, &|_| {}, 1).unwrap();
        let b = write_estate_with(three.path(), &config, &|_| {}, 3).unwrap();
        assert_eq!(a, b);
        assert!(files(one.path()) == files(three.path()));
    }
}
