//! `--undo LOG`: the changes that put back what a run changed, newest first. Only changes the
//! log says were applied are reversed, each to the state the log recorded before it; what
//! keytrail found already in place is left alone.

use crate::audit::{Before, Outcome, Record};
use crate::plan::{Action, Change};

/// The reverse of the log's applied changes, in reverse order, with their step numbers.
pub fn reverse(records: &[Record]) -> Vec<(u8, Change)> {
    records
        .iter()
        .rev()
        .filter(|r| r.result == Outcome::Applied)
        .filter_map(|r| {
            let action = inverse(&r.change, &r.before)?;
            Some((r.step, Change { action, account: Some(r.account.clone()), covers: None }))
        })
        .collect()
}

/// The action that restores `before` after `action`.
fn inverse(action: &Action, before: &Before) -> Option<Action> {
    match (action, before) {
        (Action::UpdateAccessKey { user, access_key_id, .. }, Before::KeyStatus { status }) => {
            Some(Action::UpdateAccessKey { user: user.clone(), access_key_id: access_key_id.clone(), status: *status })
        }
        (
            Action::PutPolicy { on, policy_name, .. } | Action::DeletePolicy { on, policy_name },
            Before::Policy { document },
        ) => {
            let (on, policy_name) = (on.clone(), policy_name.clone());
            Some(match document {
                Some(document) => Action::PutPolicy { on, policy_name, document: document.clone() },
                None => Action::DeletePolicy { on, policy_name },
            })
        }
        // An applied change always recorded its state before; a log edited by hand may not.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use keytrail_investigate::Time;

    use super::*;
    use crate::plan::{Holder, KeyStatus, Mode};

    fn record(step: u8, result: Outcome, change: Action, before: Before) -> Record {
        Record {
            time: Time(Utc::now().timestamp_millis()),
            mode: Mode::Contain,
            step,
            call: format!("iam:{}", change.operation()),
            target: change.target(),
            account: "123456789012".into(),
            result,
            message: None,
            change,
            before,
        }
    }

    #[test]
    fn applied_changes_are_reversed_newest_first_to_their_previous_state() {
        let key = Action::UpdateAccessKey {
            user: "alice".into(),
            access_key_id: "AKIA1".into(),
            status: KeyStatus::Inactive,
        };
        let deny =
            Action::PutPolicy { on: Holder::User("alice".into()), policy_name: "p".into(), document: "{}".into() };
        let revoke =
            Action::PutPolicy { on: Holder::Role("r".into()), policy_name: "q".into(), document: "{\"new\":1}".into() };
        let log = [
            record(1, Outcome::Applied, key, Before::KeyStatus { status: KeyStatus::Active }),
            record(2, Outcome::Unchanged, deny, Before::Policy { document: Some("{}".into()) }),
            record(3, Outcome::Applied, revoke, Before::Policy { document: Some("{\"old\":1}".into()) }),
        ];
        let actions: Vec<(u8, Action)> = reverse(&log).into_iter().map(|(s, c)| (s, c.action)).collect();
        assert_eq!(
            actions,
            [
                (
                    3,
                    Action::PutPolicy {
                        on: Holder::Role("r".into()),
                        policy_name: "q".into(),
                        document: "{\"old\":1}".into()
                    }
                ),
                (
                    1,
                    Action::UpdateAccessKey {
                        user: "alice".into(),
                        access_key_id: "AKIA1".into(),
                        status: KeyStatus::Active
                    }
                ),
            ]
        );
    }

    #[test]
    fn a_policy_that_was_not_there_is_deleted_and_a_deleted_one_put_back() {
        let put = Action::PutPolicy { on: Holder::User("u".into()), policy_name: "p".into(), document: "{}".into() };
        let delete = Action::DeletePolicy { on: Holder::Role("r".into()), policy_name: "p".into() };
        let log = [
            record(2, Outcome::Applied, put, Before::Policy { document: None }),
            record(6, Outcome::Applied, delete, Before::Policy { document: Some("{\"x\":1}".into()) }),
        ];
        let actions: Vec<Action> = reverse(&log).into_iter().map(|(_, c)| c.action).collect();
        assert_eq!(
            actions,
            [
                Action::PutPolicy {
                    on: Holder::Role("r".into()),
                    policy_name: "p".into(),
                    document: "{\"x\":1}".into()
                },
                Action::DeletePolicy { on: Holder::User("u".into()), policy_name: "p".into() },
            ]
        );
    }
}
