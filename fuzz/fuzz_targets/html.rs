//! An investigation report whose every free-text field (subject, ARNs, user and session
//! names, user agents, addresses, networks, actions, targets, details…) is chosen by the
//! input, each behind a markup marker, rendered as HTML, Markdown and for the terminal. It
//! must never panic, and the HTML must show every value as text: neither the marker's tag
//! nor its quotes may survive unescaped. Run: `scripts/fuzz.sh 10 html` (or
//! `cargo +nightly fuzz run html fuzz/corpus/html`).
#![no_main]

use std::sync::LazyLock;

use keytrail_investigate::Report;
use keytrail_investigate::render::{html, markdown, terminal};
use libfuzzer_sys::arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// A report with something in every section, from the containment tests.
const TEMPLATE: &str = include_str!("../../crates/keytrail-contain/tests/cases/stolen_key.investigation.json");

/// Put before each input-chosen value: a tag that must never open, and quotes that must
/// never close an attribute.
const MARKER: &str = "<x-fuzz q=\"'>";

/// The template, and the JSON pointers of its free-text values: the strings (and nulls, and
/// empty string lists) that the report still reads when given any text there. Times, counts
/// and enumerations are left as they are.
static FREE_TEXT: LazyLock<(Value, Vec<String>)> = LazyLock::new(|| {
    let mut template: Value = serde_json::from_str(TEMPLATE).expect("the template is JSON");
    let mut candidates = Vec::new();
    collect_candidates(&template, String::new(), &mut candidates);
    let mut pointers = Vec::new();
    for pointer in candidates {
        let mut probe = template.clone();
        let slot = probe.pointer_mut(&pointer).expect("a pointer collected from the template");
        match slot {
            Value::Array(list) => list.push(Value::from("x-fuzz-probe")),
            other => *other = Value::from("x-fuzz-probe"),
        }
        if serde_json::from_value::<Report>(probe).is_ok() {
            let slot = template.pointer_mut(&pointer).expect("a pointer collected from the template");
            if let Value::Array(list) = slot {
                list.push(Value::from(""));
                pointers.push(format!("{pointer}/0"));
            } else {
                pointers.push(pointer);
            }
        }
    }
    assert!(pointers.len() > 50, "only {} free-text fields found in the template", pointers.len());
    (template, pointers)
});

fn collect_candidates(value: &Value, pointer: String, out: &mut Vec<String>) {
    match value {
        Value::String(_) | Value::Null => out.push(pointer),
        Value::Array(list) if list.is_empty() => out.push(pointer),
        Value::Array(list) => {
            for (index, item) in list.iter().enumerate() {
                collect_candidates(item, format!("{pointer}/{index}"), out);
            }
        }
        Value::Object(fields) => {
            for (key, item) in fields {
                let key = key.replace('~', "~0").replace('/', "~1");
                collect_candidates(item, format!("{pointer}/{key}"), out);
            }
        }
        Value::Bool(_) | Value::Number(_) => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let mut input = Unstructured::new(data);
    let (template, pointers) = &*FREE_TEXT;
    let mut report = template.clone();
    if input.arbitrary::<bool>().unwrap_or(false) {
        report["subject"]["kind"] = Value::from("user");
    }
    for pointer in pointers {
        let text: String = input.arbitrary().unwrap_or_default();
        *report.pointer_mut(pointer).expect("a pointer of the template") = Value::from(format!("{MARKER}{text}"));
    }
    let width = input.int_in_range(0..=400).unwrap_or(120);
    let report: Report = serde_json::from_value(report).expect("free-text fields take any text");

    let page = html(&report);
    assert!(!page.contains("<x-fuzz"), "a value's markup survived in the HTML:\n{page}");
    assert!(!page.contains("q=\"'"), "a value's quotes survived in the HTML:\n{page}");
    let _ = markdown(&report);
    let _ = terminal(&report, width);
});
