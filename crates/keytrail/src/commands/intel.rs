//! `keytrail intel add FILE`, `keytrail intel list`

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use keytrail_enrich::{IntelSet, add_list, default_intel_dir, parse_feed};

use crate::args::IntelCommand;

pub fn run(command: IntelCommand, quiet: bool) -> anyhow::Result<ExitCode> {
    let dir = default_intel_dir();
    match command {
        IntelCommand::Add { file, name } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let (blocks, skipped) = parse_feed(&text);
            if blocks.is_empty() {
                anyhow::bail!("{}: no IP address or CIDR block found", file.display());
            }
            let name = match name {
                Some(name) => name,
                None => file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
            };
            let path = add_list(&dir, &name, &blocks)?;
            if !quiet {
                eprintln!(
                    "{}: {} addresses and blocks as list '{name}' ({})",
                    file.display(),
                    blocks.len(),
                    path.display()
                );
                for (line, text) in skipped.iter().take(5) {
                    eprintln!("  skipped line {line}: {text}");
                }
                if skipped.len() > 5 {
                    eprintln!("  … {} lines skipped in all", skipped.len());
                }
            }
        }
        IntelCommand::List => {
            let set = IntelSet::load(&dir)?;
            if set.is_empty() {
                eprintln!("no lists in {} (keytrail intel add FILE)", dir.display());
            }
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for (name, size) in set.lists() {
                writeln!(out, "{name}\t{size}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
