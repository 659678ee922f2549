//! `keytrail contain (--access-key-id KEY [--user NAME] [--role R]… | --from-investigation FILE)
//! [--apply [--release]] | --undo LOG`

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{ArgGroup, Args, ValueEnum};
use keytrail_contain::apply::{Pending, Todo};
use keytrail_contain::audit::{self, AuditLog, Outcome};
use keytrail_contain::target::{Role, is_session_key};
use keytrail_contain::{Applier, ApplyError, Mode, Plan, Target, render, undo};
use keytrail_investigate::Report;

use crate::args::AwsArgs;
use crate::exit;

#[derive(Args)]
#[command(group(ArgGroup::new("input").required(true).multiple(true).args(["access_key_id", "from_investigation", "undo"])))]
pub struct ContainArgs {
    /// The stolen key (AKIA…). With --from-investigation, the key to contain when the
    /// investigation was of a user or an address.
    #[arg(long, value_name = "KEY")]
    pub access_key_id: Option<String>,
    /// The key's IAM user; without it, --apply asks IAM (iam:GetAccessKeyLastUsed).
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,
    /// A role the key or its sessions assumed, by name or ARN (repeatable); an investigation
    /// names them itself.
    #[arg(long = "role", value_name = "NAME|ARN")]
    pub roles: Vec<String>,
    /// The JSON of `keytrail investigate --format json` for the key: its owner, the roles its
    /// sessions assumed, the persistence it left.
    #[arg(long, value_name = "FILE")]
    pub from_investigation: Option<PathBuf>,
    /// Plan format: text, or json (for jq).
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Take steps 1–3 (deactivate the key, deny the user, revoke the roles' sessions) with the
    /// AWS SDK. Without it, the plan is only printed.
    #[arg(long)]
    pub apply: bool,
    /// With --apply: take step 6 instead, removing keytrail's temporary deny policies.
    #[arg(long, requires = "apply")]
    pub release: bool,
    /// Reverse what the run that wrote this audit log changed.
    #[arg(long, value_name = "LOG", conflicts_with_all = ["access_key_id", "from_investigation", "apply", "roles", "user"])]
    pub undo: Option<PathBuf>,
    /// Do not ask before changing the account.
    #[arg(short, long)]
    pub yes: bool,
    /// Where to write the audit log (JSON lines); default: keytrail-contain-<key>-<mode>-<time>.jsonl here.
    #[arg(long, value_name = "FILE")]
    pub audit_log: Option<PathBuf>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Debug)]
pub enum PlanFormat {
    Text,
    Json,
}

pub async fn run(args: ContainArgs, quiet: bool) -> anyhow::Result<ExitCode> {
    if let Some(log) = &args.undo {
        return undo(&args, log, quiet).await;
    }
    let mut target = target(&args)?;
    let applier = if args.apply { Some(connect(&args).await?) } else { None };
    if let Some(applier) = &applier
        && target.user.is_none()
        && !is_session_key(&target.access_key_id)
    {
        match applier.key_owner(&target.access_key_id).await? {
            Some(user) => target.user = Some(user),
            None => target.notes.push(format!(
                "IAM in account {} does not know {}: its deactivation and deny cannot be applied here",
                applier.account(),
                target.access_key_id
            )),
        }
    }
    let now = chrono::Utc::now();
    let plan = Plan::new(&target, now);
    let text = match args.format {
        PlanFormat::Text => render::text(&plan),
        PlanFormat::Json => serde_json::to_string_pretty(&plan)? + "\n",
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    drop(out);

    let Some(applier) = applier else {
        if !quiet {
            eprintln!("keytrail: dry run, nothing was changed; --apply takes steps 1–3");
        }
        return Ok(ExitCode::SUCCESS);
    };
    let mode = if args.release { Mode::Release } else { Mode::Contain };
    let changes = plan.changes(mode).into_iter().map(|(step, change)| (step, change.clone())).collect();
    let log = args.audit_log.clone().unwrap_or_else(|| audit::default_path(&plan.access_key_id, mode, now));
    apply(&applier, changes, mode, &log, args.yes, quiet).await
}

fn target(args: &ContainArgs) -> anyhow::Result<Target> {
    let mut target = match &args.from_investigation {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the investigation {}", path.display()))?;
            let report: Report = serde_json::from_str(&text).with_context(|| {
                format!("{} is not the JSON of `keytrail investigate --format json`", path.display())
            })?;
            let mut target = Target::from_report(&report, args.access_key_id.as_deref())?;
            for role in &args.roles {
                target.add_role(Role::parse(role));
            }
            target
        }
        None => {
            let key = args.access_key_id.as_deref().expect("clap requires a key or an investigation");
            Target::from_key(key, args.user.as_deref(), &args.roles)
        }
    };
    // What the responder knows beats what the logs suggest.
    if args.user.is_some() {
        target.user = args.user.clone();
    }
    Ok(target)
}

async fn connect(args: &ContainArgs) -> anyhow::Result<Applier> {
    Ok(Applier::connect(&args.aws.options()).await?)
}

async fn undo(args: &ContainArgs, log: &Path, quiet: bool) -> anyhow::Result<ExitCode> {
    let records = audit::read(log)?;
    let changes = undo::reverse(&records);
    if changes.is_empty() {
        if !quiet {
            eprintln!("keytrail: {} records no applied change: nothing to undo", log.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let applier = connect(args).await?;
    let path = args.audit_log.clone().unwrap_or_else(|| audit::undo_path(log, chrono::Utc::now()));
    apply(&applier, changes, Mode::Undo, &path, args.yes, quiet).await
}

/// Reads the state, asks, makes the changes, and says what was done and where it is logged.
async fn apply(
    applier: &Applier,
    changes: Vec<(u8, keytrail_contain::plan::Change)>,
    mode: Mode,
    log: &Path,
    yes: bool,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let pending = applier.survey(changes).await?;
    let calls = pending.iter().filter(|p| p.todo == Todo::Call).count();
    if calls > 0 && !yes {
        for p in &pending {
            eprintln!("  {}", pending_line(p));
        }
        confirm(calls, applier.account())?;
    }
    let mut audit = AuditLog::create(log).with_context(|| format!("cannot create the audit log {}", log.display()))?;
    let result = applier.execute(pending, mode, &mut audit).await;
    let shown = audit.path().display().to_string();
    let summary = match result {
        Ok(summary) => summary,
        Err(denied @ ApplyError::Denied { .. }) => {
            let undo = match &denied {
                ApplyError::Denied { applied, .. } if !applied.is_empty() => {
                    format!("; `keytrail contain --undo {shown}` reverses what was applied")
                }
                _ => String::new(),
            };
            anyhow::bail!("{denied}\n  audit log {shown}{undo}");
        }
        Err(error) => return Err(error.into()),
    };
    if !quiet {
        for record in &summary.records {
            let message = record.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
            eprintln!("step {} {} {}: {}{message}", record.step, record.call, record.target, record.result);
        }
        eprintln!(
            "keytrail: {} applied, {} unchanged, {} skipped, {} failed; audit log {shown}",
            summary.count(Outcome::Applied),
            summary.count(Outcome::Unchanged),
            summary.count(Outcome::Skipped),
            summary.count(Outcome::Failed)
        );
    }
    Ok(if summary.count(Outcome::Failed) > 0 { exit::failed() } else { ExitCode::SUCCESS })
}

fn pending_line(pending: &Pending) -> String {
    let what = match &pending.todo {
        Todo::Call => "to change".to_string(),
        Todo::Nothing(why) => format!("unchanged, {why}"),
        Todo::Skip(why) => format!("skipped, {why}"),
        Todo::Fail(why) => format!("cannot be changed: {why}"),
    };
    let action = &pending.change.action;
    format!("step {} iam:{} {}: {what}", pending.step, action.operation(), action.target())
}

/// Asks on the terminal; refuses without a terminal to ask on.
fn confirm(changes: usize, account: &str) -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("not changing account {account} without confirmation: no terminal to ask on (pass --yes)");
    }
    eprint!("Apply these {changes} changes to account {account}? [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
        Ok(())
    } else {
        anyhow::bail!("not confirmed: nothing was changed")
    }
}
