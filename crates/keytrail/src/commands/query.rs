//! `keytrail query SQL PATH...`

use std::process::ExitCode;

use keytrail_ecs::TableSchema;

use crate::args::QueryArgs;
use crate::output;
use crate::progress::Progress;
use crate::setup::Reading;

pub async fn run(args: QueryArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    let reading = Reading::open(&args.read).await?;
    let schema = TableSchema::with_names(keytrail_engine::names_in_query(&args.sql));
    let context = reading.session(schema)?;
    let frame = context.sql(&args.sql).await.map_err(|e| anyhow::anyhow!("{}", hint(e.to_string())))?;
    let progress = Progress::follow(reading.report.clone(), quiet);
    let plan = frame.create_physical_plan().await?;
    let stream = keytrail_engine::execute_counted(plan, context.task_ctx())?;
    let written = output::write_stream(stream, output::resolve(args.format)).await;
    progress.finish();
    written?;
    reading.finish(quiet, args.read.errors.as_deref());
    Ok(ExitCode::SUCCESS)
}

/// DataFusion reads an unquoted `event.action` as column `action` of a table `event`; say
/// what to write instead.
fn hint(message: String) -> String {
    if message.contains("No field named") || message.contains("table") && message.contains("not found") {
        format!(
            "{message}\n  Hint: ECS column names contain dots; quote them: \"event.action\" (`keytrail schema` lists them)"
        )
    } else {
        message
    }
}
