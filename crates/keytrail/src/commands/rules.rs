//! `keytrail rules check PATH...`

use std::collections::BTreeMap;
use std::process::ExitCode;

use keytrail_rules::{RuleErrorKind, RuleSet};

use crate::args::RulesCommand;

pub fn run(command: RulesCommand) -> anyhow::Result<ExitCode> {
    let RulesCommand::Check { paths, all } = command;
    let mut rules = RuleSet::default();
    if paths.is_empty() {
        rules.add_builtin();
    }
    for path in &paths {
        if !path.exists() {
            anyhow::bail!("{} does not exist", path.display());
        }
        rules.add_path(path);
    }
    let schema = rules.table_schema();
    rules.check(schema.arrow());

    // Per rule type: (runnable, invalid, unsupported).
    let mut counts: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for detection in &rules.detections {
        counts.entry(detection.rule.rule_type.get_ref().clone()).or_default()[0] += 1;
    }
    for problem in &rules.problems {
        let slot = if problem.kind == RuleErrorKind::Invalid { 1 } else { 2 };
        counts.entry(problem.rule_type.clone().unwrap_or_else(|| "(unreadable)".into())).or_default()[slot] += 1;
    }
    println!("{:<18} {:>8} {:>8} {:>12}", "type", "runnable", "invalid", "unsupported");
    for (rule_type, [runnable, invalid, unsupported]) in &counts {
        println!("{rule_type:<18} {runnable:>8} {invalid:>8} {unsupported:>12}");
    }
    let total_runnable = rules.detections.len();
    println!("{total_runnable} of {} rules can run", total_runnable + rules.problems.len());
    if all || paths.is_empty() {
        for detection in &rules.detections {
            let rule = &detection.rule;
            println!(
                "ok: {} {:<9} {:<8} {} ({})",
                rule.rule_id,
                rule.rule_type.get_ref(),
                rule.severity,
                rule.name,
                detection.origin
            );
        }
    }
    let mut problems = rules.problems.clone();
    problems.sort_by(|a, b| (a.kind as u8, &a.origin).cmp(&(b.kind as u8, &b.origin)));
    for problem in &problems {
        let label = match problem.kind {
            RuleErrorKind::Invalid => "invalid",
            RuleErrorKind::Unsupported => "unsupported",
        };
        println!("{label}: {problem}");
    }
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
