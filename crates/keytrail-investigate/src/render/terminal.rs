//! The report as plain text for a terminal: sections, tables as aligned columns when they
//! fit the width and as wrapped records when they do not (a value is clipped with `…` only
//! when it alone is wider than the terminal), and the timeline one line a day.

use std::fmt::Write;

use super::{PARTS, Table, days, firsts_on, overview, printable, sparkline, tables};
use crate::report::Report;

/// The least room a value is clipped to, however narrow the terminal.
const MIN_COLUMN: usize = 8;
const GAP: &str = "  ";
const INDENT: &str = "  ";
const RECORD_INDENT: &str = "    ";

/// The report in `width` columns.
pub fn terminal(report: &Report, width: usize) -> String {
    let mut out = String::new();
    let overview = overview(report);
    let label_width = overview.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    for (label, value) in &overview {
        let value = clip(&printable(value), width.saturating_sub(label_width + 2).max(MIN_COLUMN));
        let _ = writeln!(out, "{label:<label_width$}  {value}");
    }
    if report.is_empty() {
        return out;
    }
    heading(&mut out, "Timeline (calls per hour, 00–23 UTC)", width);
    let days = days(report);
    let max = days.iter().flat_map(|d| d.1).max().unwrap_or(0);
    for (day, hours, calls, failures) in &days {
        let _ = writeln!(out, "{day}  {}  {calls:>6} calls  {failures:>5} failed", sparkline(hours, max));
        for first in firsts_on(report, *day) {
            let _ = writeln!(out, "            {}", clip(&printable(&first), width.saturating_sub(12)));
        }
    }
    let tables = tables(report);
    for (index, part) in PARTS.iter().enumerate() {
        heading(&mut out, &part.to_uppercase(), width);
        for table in tables.iter().filter(|t| t.part == index) {
            write_table(&mut out, table, width);
        }
    }
    out
}

fn heading(out: &mut String, title: &str, width: usize) {
    let _ = writeln!(out, "\n{title}\n{}", "═".repeat(title.chars().count().min(width)));
}

fn write_table(out: &mut String, table: &Table, width: usize) {
    let _ = writeln!(out, "\n{}", table.title);
    if table.rows.is_empty() {
        let _ = writeln!(out, "{INDENT}none");
        return;
    }
    let rows: Vec<Vec<String>> =
        table.rows.iter().map(|row| row.iter().map(|cell| printable(cell)).collect()).collect();
    let mut widths: Vec<usize> = table.headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let natural = INDENT.len() + widths.iter().sum::<usize>() + GAP.len() * (widths.len() - 1);
    if natural <= width {
        write_columns(out, &table.headers, &rows, &widths);
    } else {
        write_records(out, &table.headers, &rows, width);
    }
    if table.omitted > 0 {
        let _ = writeln!(out, "{INDENT}… and {} more (--format json has every row)", table.omitted);
    }
}

/// A table that fits: aligned columns under a header.
fn write_columns(out: &mut String, headers: &[&str], rows: &[Vec<String>], widths: &[usize]) {
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let cells: Vec<String> = cells.zip(widths).map(|(cell, &w)| format!("{cell:<w$}")).collect();
        format!("{INDENT}{}", cells.join(GAP).trim_end())
    };
    let _ = writeln!(out, "{}", line(&mut headers.iter().copied()));
    let _ = writeln!(out, "{INDENT}{}", widths.iter().map(|&w| "─".repeat(w)).collect::<Vec<_>>().join(GAP));
    for row in rows {
        let _ = writeln!(out, "{}", line(&mut row.iter().map(String::as_str)));
    }
}

/// A table too wide for the terminal: each row a paragraph, its first value (what the row
/// is about) first, then `name value` pairs, wrapped to the width; empty values left out.
fn write_records(out: &mut String, headers: &[&str], rows: &[Vec<String>], width: usize) {
    let room = width.saturating_sub(RECORD_INDENT.len()).max(MIN_COLUMN);
    for row in rows {
        let mut line = format!("{INDENT}• {}", clip(&row[0], room));
        for (header, value) in headers.iter().zip(row).skip(1).filter(|(_, value)| !value.is_empty()) {
            let item = clip(&format!("{header} {value}"), room);
            if line.chars().count() + GAP.len() + item.chars().count() > width {
                let _ = writeln!(out, "{line}");
                line = format!("{RECORD_INDENT}{item}");
            } else {
                line = format!("{line}{GAP}{item}");
            }
        }
        let _ = writeln!(out, "{line}");
    }
}

/// `text` cut to `width` characters, an ellipsis marking the cut.
pub fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut clipped: String = text.chars().take(width.saturating_sub(1)).collect();
    clipped.push('…');
    clipped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_too_wide_become_wrapped_records() {
        let headers = ["key", "identity", "calls"];
        let rows = vec![vec!["AKIA1".to_string(), "arn:aws:iam::1:user/a".to_string(), "3".to_string()]];
        let mut out = String::new();
        write_records(&mut out, &headers, &rows, 30);
        assert_eq!(out, "  • AKIA1\n    identity arn:aws:iam::1:u…\n    calls 3\n");
        assert_eq!(clip("abcdef", 4), "abc…");
    }
}
