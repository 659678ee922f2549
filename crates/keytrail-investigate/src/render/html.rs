//! The report as one self-contained HTML file: inline CSS, an inline SVG chart of the calls
//! per hour with the first call from each new address and network marked, and the tables.
//! No script, and a Content-Security-Policy that allows nothing to be fetched, so opening it
//! contacts nobody; every value is escaped.

use std::fmt::Write;

use super::{PARTS, Table, overview, tables};
use crate::report::{FirstKind, Report};

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #1d2327; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 2px solid #d0d7de; padding-bottom: .2em; }
h3 { margin: 1.4em 0 .4em; font-size: 1.05em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1.2em; } dt { font-weight: 600; } dd { margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: .25em .7em; border-bottom: 1px solid #e1e4e8; vertical-align: top; }
th { background: #f3f5f7; position: sticky; top: 0; } tr:nth-child(even) td { background: #fafbfc; }
td { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; white-space: nowrap; }
td.long { white-space: normal; min-width: 24em; max-width: 44em; }
.none, .more { color: #6a737d; font-style: italic; }
.chart { width: 100%; height: auto; max-width: 1100px; }
.chart .bar { fill: #4a78b5; } .chart .failed { fill: #d1495b; } .chart .axis { stroke: #8c959f; }
.chart text { font: 11px system-ui, sans-serif; fill: #57606a; }
.chart .address { stroke: #2a9d8f; stroke-dasharray: 3 3; } .chart .network { stroke: #e76f51; stroke-width: 1.5; }
.chart .network-label { fill: #b5482c; }
.legend span { margin-right: 1.5em; } .swatch { display: inline-block; width: .9em; height: .9em; vertical-align: -.1em; margin-right: .3em; }
"#;

pub fn html(report: &Report) -> String {
    let title = format!("keytrail investigation: {}", report.subject.describe());
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<h1>{}</h1>\n<dl>\n",
        escape(&title),
        escape(&title)
    );
    for (label, value) in overview(report) {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", escape(label), escape(&value));
    }
    out.push_str("</dl>\n");
    if !report.is_empty() {
        out.push_str("<h2>Timeline</h2>\n");
        chart(&mut out, report);
        let tables = tables(report);
        for (index, part) in PARTS.iter().enumerate() {
            let _ = writeln!(out, "<h2>{}</h2>", escape(part));
            for table in tables.iter().filter(|t| t.part == index) {
                write_table(&mut out, table);
            }
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn write_table(out: &mut String, table: &Table) {
    let _ = writeln!(out, "<h3>{}</h3>", escape(table.title));
    if table.rows.is_empty() {
        out.push_str("<p class=\"none\">None.</p>\n");
        return;
    }
    out.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for header in &table.headers {
        let _ = write!(out, "<th>{}</th>", escape(header));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for cell in row {
            // Keys, times and addresses stay on one line; only long text wraps, at its spaces.
            let class = if cell.chars().count() > LONG_CELL { " class=\"long\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
    if table.omitted > 0 {
        let _ = writeln!(out, "<p class=\"more\">… and {} more (--format json has every row).</p>", table.omitted);
    }
}

/// Cells longer than this may wrap.
const LONG_CELL: usize = 48;

const WIDTH: f64 = 1100.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
/// Room above the plot for the network labels.
const TOP: f64 = 40.0;
const BOTTOM: f64 = 28.0;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// Bars of calls per hour (failures in red over them), a day axis, and a vertical marker at
/// the first call from each new address (dashed) and network (solid, labelled).
fn chart(out: &mut String, report: &Report) {
    let hours = &report.timeline.hours;
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else { return };
    let start = first.hour.0;
    let end = last.hour.0 + HOUR;
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let x = |t: i64| LEFT + (t - start) as f64 / (end - start) as f64 * plot_width;
    let max = hours.iter().map(|h| h.calls).max().unwrap_or(1).max(1);
    let y = |calls: u64| calls as f64 / max as f64 * plot_height;
    let bar_width = (plot_width * HOUR as f64 / (end - start) as f64).max(1.0);
    let bottom = TOP + plot_height;

    let _ = writeln!(
        out,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" \
         aria-label=\"Calls per hour\">"
    );
    let _ =
        writeln!(out, "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{bottom}\" x2=\"{}\" y2=\"{bottom}\"/>", WIDTH - RIGHT);
    let _ = writeln!(out, "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{bottom}\"/>");
    let _ = writeln!(out, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text>", LEFT - 6.0, TOP + 4.0);
    let _ = writeln!(out, "<text x=\"{}\" y=\"{bottom}\" text-anchor=\"end\">0</text>", LEFT - 6.0);
    day_ticks(out, start, end, &x, bottom);
    for hour in hours {
        let (left, height, failed) = (x(hour.hour.0), y(hour.calls), y(hour.failures));
        let _ = write!(
            out,
            "<g><title>{}: {} calls, {} failed</title><rect class=\"bar\" x=\"{left:.1}\" y=\"{:.1}\" width=\"{bar_width:.1}\" height=\"{height:.1}\"/>",
            hour.hour,
            hour.calls,
            hour.failures,
            bottom - height
        );
        if hour.failures > 0 {
            let _ = write!(
                out,
                "<rect class=\"failed\" x=\"{left:.1}\" y=\"{:.1}\" width=\"{bar_width:.1}\" height=\"{failed:.1}\"/>",
                bottom - failed
            );
        }
        out.push_str("</g>\n");
    }
    let mut networks = 0;
    for first in &report.timeline.firsts {
        let at = x(first.time.0);
        let (class, what) = match first.kind {
            FirstKind::Address => ("address", "new address"),
            FirstKind::Network => ("network", "new network"),
        };
        let mut tip = format!("{} {what} {}", first.time, first.value);
        if let Some(org) = &first.as_organization {
            let _ = write!(tip, " ({org})");
        }
        let _ = write!(
            out,
            "<g><title>{}</title><line class=\"{class}\" x1=\"{at:.1}\" y1=\"{TOP}\" x2=\"{at:.1}\" y2=\"{bottom}\"/>",
            escape(&tip)
        );
        if first.kind == FirstKind::Network {
            // Two rows of labels, alternating, so that networks first seen close together stay legible.
            let row = TOP - 8.0 - 14.0 * (networks % 2) as f64;
            let anchor = if at > WIDTH * 0.75 { "end" } else { "start" };
            let _ = write!(
                out,
                "<text class=\"network-label\" x=\"{at:.1}\" y=\"{row}\" text-anchor=\"{anchor}\">{}</text>",
                escape(&first.value)
            );
            networks += 1;
        }
        out.push_str("</g>\n");
    }
    out.push_str("</svg>\n<p class=\"legend\"><span><i class=\"swatch\" style=\"background:#4a78b5\"></i>calls per hour (UTC)</span>\
        <span><i class=\"swatch\" style=\"background:#d1495b\"></i>failed</span>\
        <span><i class=\"swatch\" style=\"background:#2a9d8f\"></i>first call from a new address</span>\
        <span><i class=\"swatch\" style=\"background:#e76f51\"></i>first call from a new network</span></p>\n");
}

/// The start and end of the chart, and a tick at midnight of every day (or of every few
/// days, so that at most about twelve share the axis) not too close to either.
fn day_ticks(out: &mut String, start: i64, end: i64, x: &dyn Fn(i64) -> f64, bottom: f64) {
    const ROOM: f64 = 70.0;
    let step = ((end - start) / DAY / 12 + 1) * DAY;
    let midnight = start + (DAY - start.rem_euclid(DAY)) % DAY;
    let mut ticks = vec![(start, "start", "%b %d %H:%M")];
    ticks.extend(
        (midnight..end)
            .step_by(step as usize)
            .filter(|&day| x(day) - x(start) > ROOM && x(end) - x(day) > ROOM)
            .map(|day| (day, "middle", "%b %d")),
    );
    ticks.push((end, "end", "%b %d %H:%M"));
    for (at, anchor, format) in ticks {
        let label = crate::report::Time(at).utc().format(format);
        let at = x(at);
        let _ = writeln!(
            out,
            "<line class=\"axis\" x1=\"{at:.1}\" y1=\"{bottom}\" x2=\"{at:.1}\" y2=\"{}\"/>\
             <text x=\"{at:.1}\" y=\"{}\" text-anchor=\"{anchor}\">{label}</text>",
            bottom + 4.0,
            bottom + 16.0
        );
    }
}

/// Text safe in HTML content and in quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_values_is_text() {
        assert_eq!(
            escape(r#"<script>alert("x")</script>&'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"
        );
    }
}
