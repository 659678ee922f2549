//! `keytrail simulate OUT`: a realistic estate to try keytrail on, with
//! attacks woven in and their ground truth.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::bail;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keytrail_simulate::{EstateConfig, GROUND_TRUTH, TOR_EXIT_LIST, attack_names, write_estate};

use crate::args::SimulateArgs;

pub fn run(args: SimulateArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let mut config = EstateConfig {
        days: args.days,
        events_per_day: args.events_per_day,
        seed: args.seed,
        accounts: args.accounts,
        attacks: attacks(&args.attack)?,
        ..EstateConfig::default()
    };
    if let Some(start) = args.start {
        config.start = start;
    }
    let bar = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {pos} files written [{elapsed_precise}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let summary = write_estate(&args.output, &config, &|files| bar.set_position(files))?;
    bar.finish_and_clear();
    if !quiet {
        eprintln!(
            "wrote {} events in {} files ({:.1} MB compressed) under {}",
            summary.events,
            summary.files,
            summary.bytes_compressed as f64 / 1e6,
            args.output.display()
        );
        if !config.attacks.is_empty() {
            eprintln!(
                "{} of them from {} attacks and look-alikes: see {}",
                summary.injected,
                config.attacks.len(),
                args.output.join(GROUND_TRUTH).display()
            );
        }
        let list = args.output.join(TOR_EXIT_LIST);
        eprintln!("Tor exits of the estate's time: keytrail intel add {} --name tor-exits", list.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The attacks `--attack` names: `all`, `none`, or names (each once).
fn attacks(requested: &[String]) -> anyhow::Result<Vec<String>> {
    let known = attack_names();
    let mut out: Vec<String> = Vec::new();
    for name in requested.iter().map(|n| n.trim()) {
        match name {
            "all" => out.extend(known.iter().map(|n| n.to_string())),
            "none" => {}
            _ if known.contains(&name) => out.push(name.to_string()),
            _ => bail!("unknown attack {name}; known: all, none, {}", known.join(", ")),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}
