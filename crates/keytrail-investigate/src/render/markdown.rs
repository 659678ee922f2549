//! The report as Markdown (GitHub's tables), for tickets and case notes.

use std::fmt::Write;

use super::{PARTS, Table, days, firsts_on, overview, printable, sparkline, tables};
use crate::report::Report;

pub fn markdown(report: &Report) -> String {
    let mut out = format!("# keytrail investigation: {}\n\n", escape(&report.subject.describe()));
    for (label, value) in overview(report) {
        let _ = writeln!(out, "- **{label}:** {}", escape(&value));
    }
    if report.is_empty() {
        return out;
    }
    out.push_str(
        "\n## Timeline\n\nCalls per hour, 00 to 23 UTC; the first call from each new address and network.\n\n",
    );
    out.push_str("| day | calls per hour | calls | failed | new |\n|---|---|---:|---:|---|\n");
    let days = days(report);
    let max = days.iter().flat_map(|d| d.1).max().unwrap_or(0);
    for (day, hours, calls, failures) in &days {
        let firsts: Vec<String> = firsts_on(report, *day).iter().map(|f| escape(f)).collect();
        let _ =
            writeln!(out, "| {day} | `{}` | {calls} | {failures} | {} |", sparkline(hours, max), firsts.join("<br>"));
    }
    let tables = tables(report);
    for (index, part) in PARTS.iter().enumerate() {
        let _ = write!(out, "\n## {part}\n");
        for table in tables.iter().filter(|t| t.part == index) {
            write_table(&mut out, table);
        }
    }
    out
}

fn write_table(out: &mut String, table: &Table) {
    let _ = write!(out, "\n### {}\n\n", table.title);
    if table.rows.is_empty() {
        out.push_str("None.\n");
        return;
    }
    let _ = writeln!(out, "| {} |", table.headers.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(table.headers.len()));
    for row in &table.rows {
        let cells: Vec<String> = row.iter().map(|cell| escape(cell)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
    if table.omitted > 0 {
        let _ = writeln!(out, "\n… and {} more (`--format json` has every row).", table.omitted);
    }
}

/// The text with every character Markdown or a table would interpret escaped, so that a
/// value from the logs can neither break the table nor become a link, image or HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in printable(text).chars() {
        if matches!(c, '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' | '!') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_cannot_break_out_of_their_cell() {
        assert_eq!(escape("a|b ![x](y) <img> *c*\nd"), r"a\|b \!\[x\](y) \<img\> \*c\* d");
    }
}
