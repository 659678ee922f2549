mod asn;
pub(crate) mod contain;
mod convert;
mod hunt;
mod ingest;
mod intel;
pub(crate) mod investigate;
mod query;
mod rules;
mod schema;
mod simulate;
mod watch;
mod worker;

use std::process::ExitCode;

use crate::args::{Cli, Command};

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let quiet = cli.global.quiet;
    match cli.command {
        Command::Query(args) => query::run(args, quiet).await,
        Command::Schema(args) => schema::run(args).await,
        Command::Convert(args) => convert::run(args, quiet).await,
        Command::Simulate(args) => simulate::run(args, quiet),
        Command::Watch(args) => watch::run(args, quiet).await,
        Command::Hunt(args) => hunt::run(args, quiet).await,
        Command::Ingest(args) => ingest::run(args, quiet).await,
        Command::Investigate(args) => investigate::run(args, quiet).await,
        Command::Contain(args) => contain::run(args, quiet).await,
        Command::Rules(command) => rules::run(command),
        Command::Intel(command) => intel::run(command, quiet),
        Command::Asn(command) => asn::run(command, quiet),
        Command::Worker(args) => worker::run(args).await,
    }
}
