//! `new_terms`: a combination of field values alerts the first time it appears in a run's
//! window when it did not appear in the history window before it.
//!
//! Backfilled without replaying runs: a run at t sees the window (t − lookback, t] and the
//! history (t − history, t − lookback] before it. For one value combination with occurrences
//! o₁ < o₂ < …, occurrence oᵢ (previous one p) is the window's first occurrence with an
//! empty history exactly for the runs t with p ≤ t − history, oᵢ ≤ t < oᵢ + lookback.
//! The alert belongs to the earliest such run on the grid; later runs that see the same
//! occurrence raise the same alert, reported once.
//!
//! Such runs exist only when oᵢ − p ≥ history − lookback + 1 (the *gap*). So what a term
//! needs to be judged is not its occurrences but its *clusters*: the maximal chains of
//! occurrences each less than the gap after the one before. Only a cluster's first
//! occurrence can alert, and only the end of the cluster before it says when. [`FirstSeen`]
//! keeps, per term, each cluster's first occurrence and end, merging them as occurrences
//! arrive in any order: memory follows the terms and the gaps in their use, not the events.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::memory_pool::MemoryReservation;

use crate::per_event::EventRef;

/// The value combinations for `fields` of each row of a batch of matched events: one per
/// element when a field holds a list, none when a field is missing (Elasticsearch skips
/// documents without the field).
pub fn term_keys(batch: &RecordBatch, fields: &[String]) -> Result<Vec<Vec<String>>> {
    let mut per_field = Vec::with_capacity(fields.len());
    for field in fields {
        per_field.push(match batch.column_by_name(field) {
            Some(column) => values_per_row(column.as_ref())?,
            None => vec![Vec::new(); batch.num_rows()],
        });
    }
    Ok((0..batch.num_rows()).map(|row| combinations(per_field.iter().map(|values| values[row].as_slice()))).collect())
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

/// An occurrence of a term, ordered as the rule's events are: by window time, `@timestamp`,
/// CloudTrail's event id (events arrive in no fixed order), then place in the matched events.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Occurrence {
    event: EventRef,
    id: Option<Box<str>>,
}

impl Occurrence {
    fn order(&self) -> (i64, i64, Option<&str>, usize, usize) {
        let e = &self.event;
        (e.window_time, e.time, self.id.as_deref(), e.batch, e.row)
    }
}

impl Ord for Occurrence {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order().cmp(&other.order())
    }
}

impl PartialOrd for Occurrence {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// What memory a term and a cluster take, roughly, for the memory pool.
const TERM_BYTES: usize = 96;
const CLUSTER_BYTES: usize = 128;

/// The terms a new_terms rule has seen, as clusters of occurrences (see the module docs):
/// per term, each cluster's first occurrence and the window time of its last.
pub struct FirstSeen {
    history_ms: i64,
    lookback_ms: i64,
    terms: HashMap<String, BTreeMap<Occurrence, i64>>,
    memory: MemoryReservation,
}

impl FirstSeen {
    /// Occurrences are held within the memory `memory` may grow to.
    pub fn new(history_ms: i64, lookback_ms: i64, memory: MemoryReservation) -> FirstSeen {
        FirstSeen { history_ms, lookback_ms, terms: HashMap::new(), memory }
    }

    /// An occurrence of `term` in `event`, whose CloudTrail event id is `id`. True when it
    /// starts a cluster, for now: the only occurrences that can alert.
    pub fn add(&mut self, term: &str, event: EventRef, id: Option<&str>) -> Result<bool> {
        let gap = self.history_ms - self.lookback_ms + 1;
        let mut grown = 0;
        if !self.terms.contains_key(term) {
            grown += TERM_BYTES + term.len();
            self.terms.insert(term.to_string(), BTreeMap::new());
        }
        let clusters = self.terms.get_mut(term).expect("inserted above");
        let occurrence = Occurrence { event, id: id.map(Box::from) };
        let time = event.window_time;
        let before = clusters.range(..=&occurrence).next_back().map(|(first, &end)| (first == &occurrence, end));
        let joins_before = match before {
            // The same occurrence again (a list repeating a value): nothing new.
            Some((true, _)) => return self.grow(grown).map(|()| false),
            // Within the cluster before: it is unchanged.
            Some((false, end)) if time - end < gap && time <= end => return self.grow(grown).map(|()| false),
            Some((false, end)) => time - end < gap,
            None => false,
        };
        let after = clusters
            .range((Bound::Excluded(&occurrence), Bound::Unbounded))
            .next()
            .filter(|(first, _)| first.event.window_time - time < gap)
            .map(|(first, &end)| (first.clone(), end));
        let end = after.as_ref().map_or(time, |(_, end)| *end);
        if let Some((first, _)) = &after {
            clusters.remove(first);
        }
        if joins_before {
            *clusters.range_mut(..&occurrence).next_back().expect("a cluster before").1 = end;
        } else {
            // A cluster merged away makes room for this one.
            if after.is_none() {
                grown += CLUSTER_BYTES + id.map_or(0, str::len);
            }
            clusters.insert(occurrence, end);
        }
        self.grow(grown).map(|()| !joins_before)
    }

    fn grow(&mut self, bytes: usize) -> Result<()> {
        self.memory.try_grow(bytes).map_err(|error| {
            DataFusionError::ResourcesExhausted(format!(
                "the terms it has seen need more than the memory limit (--memory-limit): {}",
                error.message()
            ))
        })
    }

    /// Each occurrence that some run would alert on, by term then time.
    pub fn new_occurrences(&self) -> Vec<NewOccurrence<'_>> {
        let mut terms: Vec<_> = self.terms.iter().collect();
        terms.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let mut found = Vec::new();
        for (term, clusters) in terms {
            let mut end_before: Option<i64> = None;
            for (first, &end) in clusters {
                let time = first.event.window_time;
                let earliest = end_before.map_or(time, |end_before| time.max(end_before + self.history_ms));
                let latest = time + self.lookback_ms - 1;
                if earliest <= latest {
                    found.push(NewOccurrence {
                        event: first.event,
                        event_id: first.id.as_deref(),
                        term,
                        runs: (earliest, latest),
                    });
                }
                end_before = Some(end);
            }
        }
        found
    }
}

/// An occurrence of a term that some run would alert on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOccurrence<'a> {
    pub event: EventRef,
    /// CloudTrail's id of the event.
    pub event_id: Option<&'a str>,
    pub term: &'a str,
    /// The first and last run time that would alert on it.
    pub runs: (i64, i64),
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, UnboundedMemoryPool};
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    use super::*;

    fn at(time: i64) -> EventRef {
        EventRef { batch: 0, row: time as usize, time, window_time: time }
    }

    fn first_seen(history_ms: i64, lookback_ms: i64) -> FirstSeen {
        let pool: Arc<dyn MemoryPool> = Arc::new(UnboundedMemoryPool::default());
        FirstSeen::new(history_ms, lookback_ms, MemoryConsumer::new("test").register(&pool))
    }

    fn found(history_ms: i64, lookback_ms: i64, times: &[i64]) -> Vec<(i64, i64, i64)> {
        let mut seen = first_seen(history_ms, lookback_ms);
        for &time in times {
            seen.add("k", at(time), None).unwrap();
        }
        seen.new_occurrences().iter().map(|o| (o.event.time, o.runs.0, o.runs.1)).collect()
    }

    #[test]
    fn a_term_is_new_again_after_a_gap_longer_than_the_history() {
        // 5 and 50 follow within the history; 200 comes 150 after 50, more than 100.
        assert_eq!(found(100, 10, &[200, 5, 0, 50]), [(0, 0, 9), (200, 200, 209)]);
        // An occurrence 95 after the previous one can still be new for a run 5 later.
        assert_eq!(found(100, 10, &[95, 0]), [(0, 0, 9), (95, 100, 104)]);
    }

    /// The definition, over every occurrence at once: each is judged against the one before
    /// it of the same term.
    fn by_definition(
        occurrences: &[(String, Occurrence)],
        history_ms: i64,
        lookback_ms: i64,
    ) -> Vec<NewOccurrence<'_>> {
        let mut sorted: Vec<_> = occurrences.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut found = Vec::new();
        let mut previous: Option<(&str, i64)> = None;
        for (term, occurrence) in sorted {
            let time = occurrence.event.window_time;
            let earliest = match previous {
                Some((term_before, time_before)) if term_before == term => time.max(time_before + history_ms),
                _ => time,
            };
            let latest = time + lookback_ms - 1;
            if earliest <= latest {
                found.push(NewOccurrence {
                    event: occurrence.event,
                    event_id: occurrence.id.as_deref(),
                    term,
                    runs: (earliest, latest),
                });
            }
            previous = Some((term, time));
        }
        found
    }

    #[test]
    fn clusters_give_what_the_definition_gives_in_any_order() {
        let mut rng = SmallRng::seed_from_u64(7);
        for case in 0..500 {
            let (history_ms, lookback_ms) = [(100, 10), (30, 10), (10, 10), (5, 10), (50, 1)][case % 5];
            let mut occurrences = Vec::new();
            for row in 0..rng.random_range(1..60) {
                let window_time = rng.random_range(0..400);
                let event = EventRef { batch: row % 3, row, time: window_time - rng.random_range(0..3), window_time };
                let id = rng.random_bool(0.8).then(|| format!("id-{}", rng.random_range(0..5)).into_boxed_str());
                for term in ["a", "b", "c"] {
                    if rng.random_bool(0.5) {
                        occurrences.push((term.to_string(), Occurrence { event, id: id.clone() }));
                    }
                }
            }
            let mut seen = first_seen(history_ms, lookback_ms);
            for (term, occurrence) in &occurrences {
                seen.add(term, occurrence.event, occurrence.id.as_deref()).unwrap();
            }
            assert_eq!(
                seen.new_occurrences(),
                by_definition(&occurrences, history_ms, lookback_ms),
                "case {case}: history {history_ms}, lookback {lookback_ms}"
            );
        }
    }

    #[test]
    fn lists_make_one_term_per_value() {
        let keys =
            combinations([vec!["a".to_string(), "b".to_string()], vec!["x".to_string()]].iter().map(Vec::as_slice));
        assert_eq!(keys, ["a\u{0}x", "b\u{0}x"]);
        assert!(combinations([vec![], vec!["x".to_string()]].iter().map(Vec::as_slice)).is_empty());
    }
}
