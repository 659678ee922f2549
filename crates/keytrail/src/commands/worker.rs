//! `keytrail worker --listen ADDR`

use std::process::ExitCode;

use keytrail_engine::MemoryOptions;

use crate::args::WorkerArgs;

pub async fn run(args: WorkerArgs) -> anyhow::Result<ExitCode> {
    let memory = MemoryOptions {
        limit: args.memory_limit.unwrap_or_else(keytrail_engine::default_limit),
        temp_dir: args.temp_dir,
    };
    keytrail_cluster::serve(args.listen, &memory).await?;
    Ok(ExitCode::SUCCESS)
}
