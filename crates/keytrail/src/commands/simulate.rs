//! `keytrail simulate OUT`: a realistic estate to try keytrail on.

use std::io::IsTerminal;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use keytrail_simulate::{EstateConfig, write_estate};

use crate::args::SimulateArgs;

pub fn run(args: SimulateArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let mut config = EstateConfig {
        days: args.days,
        events_per_day: args.events_per_day,
        seed: args.seed,
        accounts: args.accounts,
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
    }
    Ok(ExitCode::SUCCESS)
}
