//! `distinct_values(x)`: each group's distinct non-null values of `x`, as a list; what VALUES
//! and the per-slot part of COUNT_DISTINCT keep, and what a windowed STATS combines its slots'
//! lists with. When `x` is a list (a multi-valued field, a slot's values), its items are the
//! values.
//!
//! DataFusion's `array_agg(DISTINCT …)` has no groups accumulator: every group gets an
//! accumulator of its own with a hash set of `ScalarValue`s, about a kilobyte for a few short
//! strings. A windowed STATS has a group per key and time slot, so that was most of a hunt's
//! memory and much of its time. Here each distinct value is stored once, in Arrow's row format,
//! and a group holds the numbers of its values.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, ListArray};
use datafusion::arrow::buffer::{NullBuffer, OffsetBuffer};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, Expr, GroupsAccumulator, Signature, Volatility,
};

static DISTINCT_VALUES: LazyLock<Arc<AggregateUDF>> = LazyLock::new(|| {
    Arc::new(AggregateUDF::from(DistinctValues { signature: Signature::any(1, Volatility::Immutable) }))
});

/// The aggregate call `distinct_values(value)`.
pub fn distinct_values(value: Expr) -> Expr {
    DISTINCT_VALUES.call(vec![value])
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DistinctValues {
    signature: Signature,
}

impl AggregateUDFImpl for DistinctValues {
    fn name(&self) -> &str {
        "distinct_values"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(Input::of(&arg_types[0]).1.clone(), true))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = DataType::new_list(Input::of(args.input_fields[0].data_type()).1.clone(), true);
        Ok(vec![Arc::new(Field::new(format_state_name(args.name, "values"), list, true))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(OneGroup(GroupValues::new(args.expr_fields[0].data_type())?)))
    }

    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }

    fn create_groups_accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(GroupValues::new(args.expr_fields[0].data_type())?))
    }
}

/// What the aggregate is given: values, or lists whose items are the values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Values,
    Lists,
}

impl Input {
    /// The input's kind and the values' type.
    fn of(data_type: &DataType) -> (Input, &DataType) {
        match data_type {
            DataType::List(item) => (Input::Lists, item.data_type()),
            other => (Input::Values, other),
        }
    }
}

/// The distinct values of every group.
#[derive(Debug)]
struct GroupValues {
    input: Input,
    /// The values' type.
    data_type: DataType,
    converter: RowConverter,
    /// Each distinct value once, in row format; a value's number is its index.
    values: Vec<Arc<[u8]>>,
    numbers: HashMap<Arc<[u8]>, u32>,
    value_bytes: usize,
    /// For each group, the numbers of its values, ascending.
    groups: Vec<Vec<u32>>,
    group_bytes: usize,
}

impl GroupValues {
    /// For an input of `input_type`.
    fn new(input_type: &DataType) -> Result<GroupValues> {
        let (input, data_type) = Input::of(input_type);
        Ok(GroupValues {
            input,
            data_type: data_type.clone(),
            converter: RowConverter::new(vec![SortField::new(data_type.clone())])?,
            values: Vec::new(),
            numbers: HashMap::new(),
            value_bytes: 0,
            groups: Vec::new(),
            group_bytes: 0,
        })
    }

    /// Adds the non-null values of `values` whose `take` is true, each to its group.
    fn add(
        &mut self,
        values: &ArrayRef,
        group_of: impl Fn(usize) -> usize,
        take: impl Fn(usize) -> bool,
    ) -> Result<()> {
        let rows = self.converter.convert_columns(std::slice::from_ref(values))?;
        for index in 0..values.len() {
            if values.is_null(index) || !take(index) {
                continue;
            }
            let bytes = rows.row(index);
            let number = match self.numbers.get(bytes.as_ref()) {
                Some(&number) => number,
                None => {
                    let number = self.values.len() as u32;
                    let stored: Arc<[u8]> = bytes.as_ref().into();
                    self.value_bytes += stored.len();
                    self.values.push(stored.clone());
                    self.numbers.insert(stored, number);
                    number
                }
            };
            let group = &mut self.groups[group_of(index)];
            if let Err(position) = group.binary_search(&number) {
                let capacity = group.capacity();
                group.insert(position, number);
                self.group_bytes += (group.capacity() - capacity) * size_of::<u32>();
            }
        }
        Ok(())
    }

    /// Adds the items of `lists` to the groups of their lists, for the lists `take` keeps (a
    /// null list has no items).
    fn add_lists(
        &mut self,
        lists: &ArrayRef,
        group_of_list: impl Fn(usize) -> usize,
        take: impl Fn(usize) -> bool,
    ) -> Result<()> {
        let lists = lists.as_list::<i32>();
        let offsets = lists.value_offsets();
        let first = offsets[0] as usize;
        let items = lists.values().slice(first, offsets[lists.len()] as usize - first);
        // Item i belongs to the list whose offsets bracket it.
        let mut list_of_item = Vec::with_capacity(items.len());
        for list in 0..lists.len() {
            let length = (offsets[list + 1] - offsets[list]) as usize;
            list_of_item.extend(std::iter::repeat_n(list, length));
        }
        self.add(
            &items,
            |item| group_of_list(list_of_item[item]),
            |item| {
                let list = list_of_item[item];
                lists.is_valid(list) && take(list)
            },
        )
    }

    fn grow(&mut self, total_num_groups: usize) {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, Vec::new);
        }
    }

    /// The emitted groups' values as a list each (null for a group without any).
    fn emit(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let emitted = emit_to.take_needed(&mut self.groups);
        let parser = self.converter.parser();
        let rows = emitted.iter().flatten().map(|&number| parser.parse(&self.values[number as usize]));
        let items = match self.converter.convert_rows(rows)?.pop() {
            Some(items) => items,
            None => datafusion::arrow::array::new_empty_array(&self.data_type),
        };
        self.group_bytes = self.groups.iter().map(|g| g.capacity() * size_of::<u32>()).sum();
        if self.groups.is_empty() {
            // No group is left to use the stored values (all emitted, as when DataFusion
            // spills): they go too, so that the memory reported falls with them.
            self.values = Vec::new();
            self.numbers = HashMap::new();
            self.value_bytes = 0;
        }
        let valid: Vec<bool> = emitted.iter().map(|g| !g.is_empty()).collect();
        self.lists(emitted.iter().map(Vec::len), items, valid)
    }

    /// Lists of `lengths` items each, taken in order from `items`; null where not `valid`.
    fn lists(
        &self,
        lengths: impl Iterator<Item = usize>,
        items: ArrayRef,
        valid: impl Into<NullBuffer>,
    ) -> Result<ArrayRef> {
        let field = Arc::new(Field::new_list_field(self.data_type.clone(), true));
        Ok(Arc::new(ListArray::try_new(field, OffsetBuffer::from_lengths(lengths), items, Some(valid.into()))?))
    }
}

/// Whether row `index` passes the aggregate's FILTER.
fn passes(filter: Option<&BooleanArray>, index: usize) -> bool {
    filter.is_none_or(|f| f.is_valid(index) && f.value(index))
}

impl GroupsAccumulator for GroupValues {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let group_of = |index: usize| group_indices[index];
        let take = |index: usize| passes(opt_filter, index);
        match self.input {
            Input::Values => self.add(&values[0], group_of, take),
            Input::Lists => self.add_lists(&values[0], group_of, take),
        }
    }

    fn merge_batch(&mut self, values: &[ArrayRef], group_indices: &[usize], total_num_groups: usize) -> Result<()> {
        self.grow(total_num_groups);
        self.add_lists(&values[0], |list| group_indices[list], |_| true)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        self.emit(emit_to)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        Ok(vec![self.emit(emit_to)?])
    }

    /// Each row's value as a list of one (a list as itself), for partial aggregation skipped
    /// on many groups.
    fn convert_to_state(&self, values: &[ArrayRef], opt_filter: Option<&BooleanArray>) -> Result<Vec<ArrayRef>> {
        let values = &values[0];
        let kept: BooleanArray = (0..values.len()).map(|i| Some(values.is_valid(i) && passes(opt_filter, i))).collect();
        if self.input == Input::Lists {
            let lists = values.as_list::<i32>();
            let field = Arc::new(Field::new_list_field(self.data_type.clone(), true));
            let (offsets, items) = (lists.offsets().clone(), lists.values().clone());
            return Ok(vec![Arc::new(ListArray::try_new(field, offsets, items, Some(kept.values().clone().into()))?)]);
        }
        let items = datafusion::arrow::compute::filter(values, &kept)?;
        Ok(vec![self.lists(kept.values().iter().map(usize::from), items, kept.values().clone())?])
    }

    fn size(&self) -> usize {
        // Each stored value: its bytes, its Arc's counts, a slot in `values` and in `numbers`.
        let per_value = 2 * size_of::<usize>() + size_of::<Arc<[u8]>>() * 2 + size_of::<u32>() + 8;
        self.value_bytes
            + self.values.capacity() * per_value
            + self.groups.capacity() * size_of::<Vec<u32>>()
            + self.group_bytes
            + self.converter.size()
    }
}

/// The same for an aggregate without groups: one group.
#[derive(Debug)]
struct OneGroup(GroupValues);

impl Accumulator for OneGroup {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.0.update_batch(values, &vec![0; values[0].len()], None, 1)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.0.merge_batch(states, &vec![0; states[0].len()], 1)
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        // Emitting takes the group's values out; they stay for a later call.
        self.0.grow(1);
        let kept = self.0.groups.clone();
        let list = self.0.emit(EmitTo::All)?;
        self.0.groups = kept;
        ScalarValue::try_from_array(&list, 0)
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.evaluate()?])
    }

    fn size(&self) -> usize {
        size_of::<Self>() + self.0.size()
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::StringArray;

    use super::*;

    fn lists(array: &ArrayRef) -> Vec<Option<Vec<String>>> {
        let lists = array.as_list::<i32>();
        (0..lists.len())
            .map(|i| {
                lists.is_valid(i).then(|| {
                    let items = lists.value(i);
                    items.as_string::<i32>().iter().map(|v| v.expect("no null item").to_string()).collect()
                })
            })
            .collect()
    }

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    #[test]
    fn groups_keep_their_distinct_values_across_batches_and_merges() {
        let mut partial = GroupValues::new(&DataType::Utf8).unwrap();
        let values = strings(&[Some("a"), Some("b"), Some("a"), None, Some("c")]);
        let filter = BooleanArray::from(vec![true, true, true, true, false]);
        partial.update_batch(&[values], &[0, 1, 0, 1, 2], Some(&filter), 3).unwrap();
        partial.update_batch(&[strings(&[Some("b"), Some("a")])], &[0, 0], None, 3).unwrap();
        // The first group leaves as a partial state; the other two stay.
        let first = partial.state(EmitTo::First(1)).unwrap();
        assert_eq!(lists(&first[0]), [Some(vec!["a".to_string(), "b".to_string()])]);
        let rest = partial.state(EmitTo::All).unwrap();
        assert_eq!(lists(&rest[0]), [Some(vec!["b".to_string()]), None]);
        // With every group gone, so are the stored values.
        assert_eq!(partial.size(), GroupValues::new(&DataType::Utf8).unwrap().size());

        let mut last = GroupValues::new(&DataType::Utf8).unwrap();
        last.merge_batch(&rest, &[0, 0], 1).unwrap();
        last.merge_batch(&first, &[0], 1).unwrap();
        assert_eq!(lists(&last.evaluate(EmitTo::All).unwrap()), [Some(vec!["b".to_string(), "a".to_string()])]);
    }

    fn string_lists(lists: &[Option<Vec<Option<&str>>>]) -> ArrayRef {
        let mut builder = datafusion::arrow::array::ListBuilder::new(datafusion::arrow::array::StringBuilder::new());
        for list in lists {
            match list {
                Some(items) => {
                    for item in items {
                        builder.values().append_option(*item);
                    }
                    builder.append(true);
                }
                None => builder.append(false),
            }
        }
        Arc::new(builder.finish())
    }

    #[test]
    fn the_items_of_lists_are_the_values() {
        let input =
            string_lists(&[Some(vec![Some("b"), Some("a")]), None, Some(vec![Some("a"), None]), Some(vec![Some("c")])]);
        let mut accumulator = GroupValues::new(input.data_type()).unwrap();
        let filter = BooleanArray::from(vec![true, true, true, false]);
        accumulator.update_batch(std::slice::from_ref(&input), &[0, 0, 1, 1], Some(&filter), 2).unwrap();
        let values = accumulator.evaluate(EmitTo::All).unwrap();
        assert_eq!(lists(&values), [Some(vec!["b".to_string(), "a".to_string()]), Some(vec!["a".to_string()])]);
        // A list's state is itself, unless filtered out.
        let state = accumulator.convert_to_state(&[input], Some(&filter)).unwrap();
        let mut merged = GroupValues::new(&DataType::new_list(DataType::Utf8, true)).unwrap();
        merged.merge_batch(&state, &[0, 0, 0, 0], 1).unwrap();
        assert_eq!(lists(&merged.evaluate(EmitTo::All).unwrap()), [Some(vec!["b".to_string(), "a".to_string()])]);
    }

    #[test]
    fn a_row_becomes_a_state_of_its_own_value() {
        let accumulator = GroupValues::new(&DataType::Utf8).unwrap();
        let filter = BooleanArray::from(vec![true, true, false]);
        let state = accumulator.convert_to_state(&[strings(&[Some("a"), None, Some("c")])], Some(&filter)).unwrap();
        assert_eq!(lists(&state[0]), [Some(vec!["a".to_string()]), None, None]);
    }
}
