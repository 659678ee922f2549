//! `keytrail asn build|lookup`: the IP-to-AS database.

use std::fs::File;
use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use keytrail_enrich::{AsnIndex, default_asn_index_path};

use crate::args::AsnCommand;
use crate::setup::open_enrichment;

pub fn run(command: AsnCommand, quiet: bool) -> anyhow::Result<ExitCode> {
    match command {
        AsnCommand::Build { from, output } => {
            let started = Instant::now();
            let open = |name: &str| {
                let path = from.join(name);
                File::open(&path).with_context(|| format!("cannot open {}", path.display()))
            };
            let index = AsnIndex::from_csv(open("asn-ipv4.csv")?, open("asn-ipv6.csv")?)?;
            let output = output.unwrap_or_else(default_asn_index_path);
            if let Some(parent) = output.parent() {
                std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
            }
            index.write_to(&output)?;
            if !quiet {
                eprintln!("wrote {} ({} ranges) in {:.1?}", output.display(), index.ranges(), started.elapsed());
            }
            Ok(ExitCode::SUCCESS)
        }
        AsnCommand::Lookup { ips, asn_db } => {
            let (enrichment, ..) = open_enrichment(asn_db.as_deref(), None)?;
            let database = enrichment.asn.context("no ASN database to look up in")?;
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for ip in ips {
                match database.lookup(ip) {
                    Some(asn) => writeln!(out, "{ip}\tAS{}\t{}", asn.number, asn.organization)?,
                    None => writeln!(out, "{ip}\t-\t-")?,
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
