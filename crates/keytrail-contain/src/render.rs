//! The plan as text for a terminal or a ticket: numbered steps, who takes each, the exact
//! commands. (`--format json` is the [`Plan`] serialized.)

use std::fmt::Write;

use crate::plan::{By, Plan};

pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let owner = plan.user.as_deref().map(|u| format!(", user {u}")).unwrap_or_default();
    let account = plan.account.as_deref().map(|a| format!(", account {a}")).unwrap_or_default();
    let _ = writeln!(out, "Containment plan for access key {}{owner}{account}", plan.access_key_id);
    let _ = writeln!(out, "made {}", plan.created);
    for note in &plan.notes {
        let _ = writeln!(out, "note: {note}");
    }
    for step in &plan.steps {
        let by = match step.by {
            By::Apply => "keytrail contain --apply",
            By::Release => "keytrail contain --apply --release",
            By::Hand => "by hand",
        };
        let _ = writeln!(out, "\n{}. {} [{by}]", step.number, step.title);
        let _ = writeln!(out, "   {}", step.why);
        for item in &step.items {
            if let Some(about) = &item.about {
                let _ = writeln!(out, "   # {about}");
            }
            for command in &item.commands {
                let _ = writeln!(out, "   {command}");
            }
        }
    }
    out
}
