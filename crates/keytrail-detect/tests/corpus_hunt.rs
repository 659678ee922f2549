//! Every runnable rule of Elastic's AWS set, hunted over the real CloudTrail of the corpus.

mod common;

use std::path::Path;
use std::sync::Arc;

use keytrail_detect::{HuntOptions, hunt};
use keytrail_ecs::Enrichment;
use keytrail_rules::{RuleErrorKind, RuleSet};
use keytrail_testkit::require;

fn elastic_rules(corpus: &Path) -> RuleSet {
    let mut rules = RuleSet::default();
    for folder in ["elastic-aws", "elastic-aws-building-block", "elastic-aws-unmerged"] {
        rules.add_path(&corpus.join("rules").join(folder));
    }
    let schema = rules.table_schema();
    rules.check(schema.arrow());
    rules
}

#[test]
fn every_query_new_terms_and_esql_rule_is_runnable() {
    let Some(corpus) = require::corpus("") else { return };
    let rules = elastic_rules(&corpus);
    let not_runnable: Vec<String> = rules
        .problems
        .iter()
        .filter(|p| {
            p.kind == RuleErrorKind::Invalid || matches!(p.rule_type.as_deref(), Some("query" | "new_terms" | "esql"))
        })
        .map(ToString::to_string)
        .collect();
    assert!(not_runnable.is_empty(), "{}", not_runnable.join("\n"));
    let count = |t: &str| rules.detections.iter().filter(|d| d.rule.rule_type.get_ref() == t).count();
    assert_eq!((count("query"), count("new_terms"), count("esql")), (90, 50, 25));
    // What is left is only the rule types not run yet.
    assert!(
        rules.problems.iter().all(|p| matches!(p.rule_type.as_deref(), Some("eql" | "threshold" | "machine_learning")))
    );
}

#[tokio::test]
async fn the_corpus_hunt_runs_every_rule_without_errors() {
    let Some(corpus) = require::corpus("") else { return };
    let rules = elastic_rules(&corpus);
    let paths: Vec<String> = ["invictus-ir-aws-dataset", "stratus-red-team-detonations"]
        .iter()
        .map(|folder| corpus.join("cloudtrail").join(folder).display().to_string())
        .collect();
    let (store, _) = common::read_for(&paths, &rules, Arc::new(Enrichment::default())).await;
    assert_eq!(store.len() + store.untimed, 3210);

    let outcome = hunt(&store, &rules.detections, &HuntOptions::default()).await;
    let failed: Vec<String> =
        outcome.rules.iter().filter_map(|r| r.error.as_ref().map(|e| format!("{}: {e}", r.origin))).collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let mut fired: Vec<(&str, usize)> =
        outcome.rules.iter().filter(|r| r.alerts > 0).map(|r| (r.name.as_str(), r.alerts)).collect();
    fired.sort();
    eprintln!("{} alerts; rules that fired: {fired:#?}", outcome.alerts.len());
    // Stratus Red Team detonations stop and delete a trail.
    for expected in ["AWS CloudTrail Log Suspended", "AWS CloudTrail Log Deleted"] {
        assert!(fired.iter().any(|(name, _)| *name == expected), "{expected} did not fire");
    }
}
