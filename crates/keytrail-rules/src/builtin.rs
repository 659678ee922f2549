//! The rule pack keytrail runs by default: our TOML files in `builtin/`, embedded in the
//! binary so a responder needs nothing but the executable.

use crate::load::{RuleSource, parse_rule};

macro_rules! builtin_rules {
    ($($stem:literal),* $(,)?) => {
        /// Every built-in rule file: its name (without `.toml`) and its text.
        pub const BUILTIN_RULES: &[(&str, &str)] = &[$(($stem, include_str!(concat!("../builtin/", $stem, ".toml")))),*];
    };
}

builtin_rules!(
    "access_denied_burst",
    "ec2_instance_credentials_used_from_another_account",
    "ec2_instance_credentials_used_outside_aws",
    "github_actions_key_used_outside_cicd",
    "known_bad_address",
    "lambda_credentials_used_outside_function",
    "long_term_key_first_seen_from_as_organization",
    "long_term_key_first_seen_from_ip",
    "new_key_used_from_network_creator_never_used",
    "penetration_testing_user_agent",
    "persistence_from_first_seen_address",
    "quarantine_policy_attached",
    "rare_source_as_organization",
);

/// How the origin of a built-in rule begins: `builtin:<name>`.
pub const BUILTIN_ORIGIN: &str = "builtin:";

/// The built-in rules, parsed.
pub fn builtin_sources() -> Vec<RuleSource> {
    BUILTIN_RULES
        .iter()
        .map(|(stem, text)| {
            parse_rule(&format!("{BUILTIN_ORIGIN}{stem}"), text.to_string()).expect("built-in rules parse (tested)")
        })
        .collect()
}

/// The text of a built-in rule by name.
pub fn builtin_text(stem: &str) -> Option<&'static str> {
    BUILTIN_RULES.iter().find(|(name, _)| *name == stem).map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleSet;

    #[test]
    fn every_file_in_the_folder_is_embedded() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("builtin");
        let mut on_disk: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = BUILTIN_RULES.iter().map(|(stem, _)| *stem).collect();
        assert_eq!(on_disk, embedded);
    }

    #[test]
    fn a_rule_with_a_builtin_id_replaces_the_builtin() {
        let mut rules = RuleSet::default();
        rules.add_builtin();
        let count = rules.detections.len();
        let tuned = builtin_text("github_actions_key_used_outside_cicd")
            .unwrap()
            .replace("\"Google LLC\")", "\"Google LLC\", \"Hetzner Online GmbH\")");
        rules.add_source(&parse_rule("my/github.toml", tuned).unwrap());
        assert_eq!(rules.detections.len(), count);
        let github: Vec<_> =
            rules.detections.iter().filter(|d| d.rule.rule_id == "b8c7d6e5-f4a3-4b2c-9d8e-7f6a5b4c3d2e").collect();
        assert_eq!(github.len(), 1);
        assert_eq!(github[0].origin, "my/github.toml");
    }

    #[test]
    fn every_builtin_rule_compiles_and_plans() {
        let mut rules = RuleSet::default();
        builtin_sources().iter().for_each(|source| rules.add_source(source));
        let schema = rules.table_schema();
        rules.check(schema.arrow());
        assert!(rules.problems.is_empty(), "{:#?}", rules.problems);
        let mut ids: Vec<&str> = rules.detections.iter().map(|d| d.rule.rule_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), BUILTIN_RULES.len(), "rule ids are unique");
        for detection in &rules.detections {
            let rule = &detection.rule;
            assert!(
                !rule.threat.is_empty() && rule.note.is_some() && !rule.false_positives.is_empty(),
                "{}",
                rule.name
            );
        }
    }
}
