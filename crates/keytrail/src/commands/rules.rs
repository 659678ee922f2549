//! `keytrail rules check PATH...`

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use keytrail_rules::{RuleErrorKind, RuleSet};

use crate::args::RulesCommand;
use crate::exit;

pub fn run(command: RulesCommand) -> anyhow::Result<ExitCode> {
    match command {
        RulesCommand::Check { paths, all } => check(paths, all),
        RulesCommand::Show { rule, rules, toml } => show(&rule, &rules, toml),
    }
}

fn check(paths: Vec<PathBuf>, all: bool) -> anyhow::Result<ExitCode> {
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

    // Written, not printed: a closed pipe (`| head`) is an error main takes quietly, not a panic.
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Per rule type: (runnable, invalid, unsupported).
    let mut counts: BTreeMap<String, [usize; 3]> = BTreeMap::new();
    for detection in &rules.detections {
        counts.entry(detection.rule.rule_type.get_ref().clone()).or_default()[0] += 1;
    }
    for problem in &rules.problems {
        let slot = if problem.kind == RuleErrorKind::Invalid { 1 } else { 2 };
        counts.entry(problem.rule_type.clone().unwrap_or_else(|| "(unreadable)".into())).or_default()[slot] += 1;
    }
    writeln!(out, "{:<18} {:>8} {:>8} {:>12}", "type", "runnable", "invalid", "unsupported")?;
    for (rule_type, [runnable, invalid, unsupported]) in &counts {
        writeln!(out, "{rule_type:<18} {runnable:>8} {invalid:>8} {unsupported:>12}")?;
    }
    let total_runnable = rules.detections.len();
    writeln!(out, "{total_runnable} of {} rules can run", total_runnable + rules.problems.len())?;
    if all || paths.is_empty() {
        for detection in &rules.detections {
            let rule = &detection.rule;
            writeln!(
                out,
                "ok: {} {:<9} {:<8} {} ({})",
                rule.rule_id,
                rule.rule_type.get_ref(),
                rule.severity,
                rule.name,
                detection.origin
            )?;
        }
    }
    let mut problems = rules.problems.clone();
    problems.sort_by(|a, b| (a.kind as u8, &a.origin).cmp(&(b.kind as u8, &b.origin)));
    for problem in &problems {
        let label = match problem.kind {
            RuleErrorKind::Invalid => "invalid",
            RuleErrorKind::Unsupported => "unsupported",
        };
        writeln!(out, "{label}: {problem}")?;
    }
    Ok(exit::flagged(!problems.is_empty()))
}

/// ruff's `ruff rule`: everything a responder needs to know about one rule, as text.
fn show(wanted: &str, paths: &[PathBuf], toml: bool) -> anyhow::Result<ExitCode> {
    let mut sources = keytrail_rules::builtin_sources();
    for path in paths {
        let (found, errors) = keytrail_rules::load_path(path);
        for source in found {
            let (origin, id) = (&source.origin, &source.file.rule.rule_id);
            sources.retain(|s| !keytrail_rules::replaces(origin, id, &s.origin, &s.file.rule.rule_id));
            sources.push(source);
        }
        errors.iter().for_each(|e| eprintln!("keytrail: skipping rule: {e}"));
    }
    let lowered = wanted.to_lowercase();
    let matches: Vec<_> = sources
        .iter()
        .filter(|s| s.file.rule.rule_id == wanted || s.file.rule.name.to_lowercase().contains(&lowered))
        .collect();
    let source = match matches.as_slice() {
        [one] => *one,
        [] => anyhow::bail!("no rule has the id or a name containing '{wanted}' (`keytrail rules check` lists them)"),
        many => anyhow::bail!(
            "'{wanted}' matches {} rules: {}",
            many.len(),
            many.iter().map(|s| s.file.rule.name.as_str()).collect::<Vec<_>>().join("; ")
        ),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if toml {
        write!(out, "{}", source.text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rule = &source.file.rule;
    writeln!(out, "{}\n", rule.name)?;
    writeln!(
        out,
        "id: {}   type: {}   severity: {} (risk {})",
        rule.rule_id,
        rule.rule_type.get_ref(),
        rule.severity,
        rule.risk_score
    )?;
    let interval = rule.interval.as_ref().map_or(keytrail_rules::DEFAULT_INTERVAL, |s| s.get_ref().as_str());
    let from = rule.from.as_ref().map_or(keytrail_rules::DEFAULT_FROM, |s| s.get_ref().as_str());
    writeln!(out, "runs every {interval} over {from}   ({})", source.origin)?;
    for threat in &rule.threat {
        let techniques: Vec<String> = threat.technique.iter().map(|t| format!("{} {}", t.id, t.name)).collect();
        writeln!(out, "ATT&CK: {} {} — {}", threat.tactic.id, threat.tactic.name, techniques.join(", "))?;
    }
    writeln!(out, "\n{}", rule.description.trim())?;
    if !rule.false_positives.is_empty() {
        writeln!(out, "\nFalse positives:")?;
        for false_positive in &rule.false_positives {
            writeln!(out, "- {}", false_positive.trim())?;
        }
    }
    if let Some(note) = &rule.note {
        writeln!(out, "\n{}", note.trim())?;
    }
    if let Some(query) = &rule.query {
        writeln!(out, "\nQuery ({}):\n{}", rule.language.as_deref().unwrap_or("kuery"), query.get_ref().trim())?;
    }
    Ok(ExitCode::SUCCESS)
}
