//! Runs every case of `cases/parse.txt`: a query, then after `---` the tree in Kibana's function
//! notation (or the error), the fields it names and what it requires of `event.action`.
//!
//! `KQL_BLESS=1 cargo test --workspace --test parse` rewrites the expectations from the current
//! output, to be reviewed in the diff.

mod cases;

use keytrail_kql::parse;

fn outcome(query: &str) -> String {
    match parse(query) {
        Err(error) => format!("error {error}"),
        Ok(parsed) => {
            let mut lines = vec![parsed.to_string(), format!("fields: {}", parsed.fields().join(", "))];
            if let Some(values) = parsed.required_values("event.action") {
                lines.push(format!("event.action in {values:?}"));
            }
            lines.join("\n")
        }
    }
}

#[test]
fn parse_cases() {
    cases::run("parse.txt", |case| outcome(&case.input));
}
