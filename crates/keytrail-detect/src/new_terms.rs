//! `new_terms`: a combination of field values alerts the first time it appears in a run's
//! window when it did not appear in the history window before it.
//!
//! Backfilled without replaying runs: a run at t sees the window (t − lookback, t] and the
//! history (t − history, t − lookback] before it. For one value combination with occurrences
//! o₁ < o₂ < …, occurrence oᵢ (previous one p) is the window's first occurrence with an
//! empty history exactly for the runs t with p ≤ t − history, oᵢ ≤ t < oᵢ + lookback.
//! The alert belongs to the earliest such run on the grid; later runs that see the same
//! occurrence raise the same alert, reported once.

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::Result;

use crate::per_event::EventRef;

/// A matched event's value combinations for `fields`: one per element when a field holds a
/// list, none when a field is missing (Elasticsearch skips documents without the field).
pub fn term_keys(batches: &[RecordBatch], fields: &[String]) -> Result<Vec<Vec<Vec<String>>>> {
    batches
        .iter()
        .map(|batch| {
            let mut per_field = Vec::with_capacity(fields.len());
            for field in fields {
                per_field.push(match batch.column_by_name(field) {
                    Some(column) => values_per_row(column.as_ref())?,
                    None => vec![Vec::new(); batch.num_rows()],
                });
            }
            Ok((0..batch.num_rows())
                .map(|row| combinations(per_field.iter().map(|values| values[row].as_slice())))
                .collect())
        })
        .collect()
}

fn values_per_row(column: &dyn Array) -> Result<Vec<Vec<String>>> {
    if let DataType::List(_) = column.data_type() {
        let list = column.as_list::<i32>();
        return (0..list.len())
            .map(|row| {
                if list.is_valid(row) {
                    strings(list.value(row).as_ref()).map(|v| v.into_iter().flatten().collect())
                } else {
                    Ok(Vec::new())
                }
            })
            .collect();
    }
    Ok(strings(column)?.into_iter().map(|value| value.into_iter().collect()).collect())
}

fn strings(column: &dyn Array) -> Result<Vec<Option<String>>> {
    let text = cast(column, &DataType::Utf8)?;
    Ok(text.as_string::<i32>().iter().map(|value| value.map(str::to_string)).collect())
}

/// Every combination of one value per field, joined with a separator no value contains.
fn combinations<'v>(fields: impl Iterator<Item = &'v [String]>) -> Vec<String> {
    let mut keys = vec![String::new()];
    for (index, values) in fields.enumerate() {
        keys = keys
            .iter()
            .flat_map(|key| {
                values.iter().map(move |value| if index == 0 { value.clone() } else { format!("{key}\u{0}{value}") })
            })
            .collect();
    }
    keys
}

/// For each matched event and value combination: the range of run times that would alert
/// on it, `(event, key, earliest, latest)`. Runs and history windows select events by their
/// window time, as Elastic's searches do by the rule's timestamp field.
pub fn new_occurrences(
    events: &[EventRef],
    keys: &[Vec<Vec<String>>],
    history_ms: i64,
    lookback_ms: i64,
) -> Vec<(EventRef, String, i64, i64)> {
    let mut occurrences: Vec<(&str, EventRef)> = events
        .iter()
        .flat_map(|event| keys[event.batch][event.row].iter().map(move |key| (key.as_str(), *event)))
        .collect();
    occurrences.sort_by(|a, b| a.0.cmp(b.0).then(a.1.window_time.cmp(&b.1.window_time)));
    let mut found = Vec::new();
    let mut previous: Option<(&str, i64)> = None;
    for (key, event) in occurrences {
        let earliest = match previous {
            Some((previous_key, previous_time)) if previous_key == key => {
                event.window_time.max(previous_time + history_ms)
            }
            _ => event.window_time,
        };
        let latest = event.window_time + lookback_ms - 1;
        if earliest <= latest {
            found.push((event, key.to_string(), earliest, latest));
        }
        previous = Some((key, event.window_time));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(time: i64) -> EventRef {
        EventRef { batch: 0, row: time as usize, time, window_time: time }
    }

    #[test]
    fn a_term_is_new_again_after_a_gap_longer_than_the_history() {
        let events: Vec<_> = [0, 5, 50, 200].into_iter().map(at).collect();
        let keys = vec![(0..=200).map(|_| vec!["k".to_string()]).collect()];
        let found = new_occurrences(&events, &keys, 100, 10);
        let times: Vec<_> = found.iter().map(|(e, _, low, high)| (e.time, *low, *high)).collect();
        // 5 and 50 follow within the history; 200 comes 150 after 50, more than 100.
        assert_eq!(times, [(0, 0, 9), (200, 200, 209)]);
        // An occurrence 95 after the previous one can still be new for a run 5 later.
        let found = new_occurrences(&[at(0), at(95)], &keys, 100, 10);
        let times: Vec<_> = found.iter().map(|(e, _, low, high)| (e.time, *low, *high)).collect();
        assert_eq!(times, [(0, 0, 9), (95, 100, 104)]);
    }

    #[test]
    fn lists_make_one_term_per_value() {
        let keys =
            combinations([vec!["a".to_string(), "b".to_string()], vec!["x".to_string()]].iter().map(Vec::as_slice));
        assert_eq!(keys, ["a\u{0}x", "b\u{0}x"]);
        assert!(combinations([vec![], vec!["x".to_string()]].iter().map(Vec::as_slice)).is_empty());
    }
}
