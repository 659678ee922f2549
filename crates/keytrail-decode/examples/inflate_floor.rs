//! The benchmark's floor: inflate every file under a folder on all cores and throw the text
//! away. Nothing that reads these files can be faster than this; `scripts/bench.sh` compares
//! keytrail's full read to it.
//!
//! Usage: cargo run --release -p keytrail-decode --example inflate_floor -- DIR

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

fn files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            files(&path, out)?;
        } else if !path.to_string_lossy().contains("CloudTrail-Digest") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).expect("usage: inflate_floor DIR");
    let mut paths = Vec::new();
    files(Path::new(&dir), &mut paths)?;
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let (compressed, inflated) = (AtomicU64::new(0), AtomicU64::new(0));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                // Buffers reused from file to file, as keytrail's reader reuses them.
                let (mut bytes, mut text) = (Vec::new(), Vec::new());
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = paths.get(i) else { break };
                    bytes.clear();
                    File::open(path).and_then(|mut f| f.read_to_end(&mut bytes)).expect("readable file");
                    compressed.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    let (inflated_text, _) = keytrail_decode::decompress(&bytes, &mut text);
                    inflated.fetch_add(inflated_text.len() as u64, Ordering::Relaxed);
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"files\":{},\"seconds\":{seconds:.3},\"compressed_bytes\":{},\"inflated_bytes\":{}}}",
        paths.len(),
        compressed.load(Ordering::Relaxed),
        inflated.load(Ordering::Relaxed)
    );
    Ok(())
}
