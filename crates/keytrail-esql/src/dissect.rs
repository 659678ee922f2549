//! DISSECT: split a string by the delimiters of a pattern such as `%{a} %{b},%{c}`, the way
//! Elasticsearch's dissect library does (the same walk over the input, the same modifiers:
//! `?name` and `%{}` skip, `+name` and `+name/N` append, `->` skips repeated delimiters).
//! Reference keys (`*name`, `&name`) are refused, as in ES|QL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray, StringBuilder, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Modifier {
    None,
    Skip,
    /// Appended to the other keys of the same name, in the order given (or of appearance).
    Append(Option<i32>),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    name: String,
    modifier: Modifier,
    right_padding: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct DissectPattern {
    leading: String,
    /// Each key with the delimiter that follows it (empty after the last key at the end).
    pairs: Vec<(Key, String)>,
    /// The output names, in order of first appearance.
    names: Vec<String>,
    separator: String,
}

impl DissectPattern {
    pub fn parse(pattern: &str, separator: &str) -> std::result::Result<DissectPattern, String> {
        let Some(first) = pattern.find("%{") else { return Err("the pattern has no %{key}".into()) };
        let leading = pattern[..first].to_string();
        let mut pairs = Vec::new();
        let mut rest = &pattern[first..];
        while let Some(body) = rest.strip_prefix("%{") {
            let close = body.find('}').ok_or("a %{ is not closed")?;
            let key = parse_key(&body[..close])?;
            let after = &body[close + 1..];
            // The delimiter runs to the next `%{`, but is at least one character long.
            let end = after.char_indices().skip(1).find(|(i, _)| after[*i..].starts_with("%{")).map(|(i, _)| i);
            let end = end.unwrap_or(after.len());
            pairs.push((key, after[..end].to_string()));
            rest = &after[end..];
        }
        let appended: Vec<String> = pairs
            .iter()
            .filter(|(k, _)| matches!(k.modifier, Modifier::Append(_)))
            .map(|(k, _)| k.name.clone())
            .collect();
        // A plain key sharing its name with an appended one is the first part of the append.
        for (key, _) in &mut pairs {
            if key.modifier == Modifier::None && appended.contains(&key.name) {
                key.modifier = Modifier::Append(None);
            }
        }
        let mut names: Vec<String> = Vec::new();
        for (key, _) in &pairs {
            if key.modifier != Modifier::Skip && !names.contains(&key.name) {
                names.push(key.name.clone());
            }
        }
        if names.is_empty() {
            return Err("the pattern has no key to extract".into());
        }
        Ok(DissectPattern { leading, pairs, names, separator: separator.to_string() })
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The value of each name, or None when the input does not fit the pattern.
    fn apply(&self, input: &str) -> Option<Vec<String>> {
        let bytes = input.as_bytes();
        if bytes.len() <= self.leading.len() || !input.starts_with(&self.leading) {
            return None;
        }
        let mut found: Vec<(&Key, String)> = Vec::with_capacity(self.pairs.len());
        let mut pairs = self.pairs.iter();
        let (mut key, mut delimiter) = pairs.next().map(|(k, d)| (k, d.as_bytes()))?;
        let mut i = self.leading.len();
        let mut value_start = i;
        let at = |i: usize, d: &[u8]| bytes.len() >= i + d.len() && &bytes[i..i + d.len()] == d;
        'walk: while i < bytes.len() {
            if delimiter.is_empty() || !at(i, delimiter) {
                i += 1;
                continue;
            }
            found.push((key, String::from_utf8_lossy(&bytes[value_start..i]).into_owned()));
            i += delimiter.len();
            // Consecutive delimiters: empty values for the next keys, unless `->` skips them.
            while i < bytes.len() && at(i, delimiter) {
                i += delimiter.len();
                if !key.right_padding {
                    let Some((next, _)) = pairs.next() else { break 'walk };
                    key = next;
                    found.push((key, String::new()));
                }
            }
            let Some((next, next_delimiter)) = pairs.next() else { break };
            key = next;
            delimiter = next_delimiter.as_bytes();
            value_start = i;
        }
        if found.len() < self.pairs.len() && delimiter.is_empty() {
            found.push((key, String::from_utf8_lossy(&bytes[value_start..]).into_owned()));
        }
        if found.len() != self.pairs.len() {
            return None;
        }
        let mut values = Vec::with_capacity(self.names.len());
        for name in &self.names {
            let mut parts: Vec<(i32, usize, &str)> = found
                .iter()
                .enumerate()
                .filter(|(_, (k, _))| &k.name == name && k.modifier != Modifier::Skip)
                .map(|(i, (k, v))| match k.modifier {
                    Modifier::Append(Some(order)) => (order, i, v.as_str()),
                    _ => (i32::MIN, i, v.as_str()),
                })
                .collect();
            parts.sort();
            values.push(parts.iter().map(|p| p.2).collect::<Vec<_>>().join(&self.separator));
        }
        Some(values)
    }
}

fn parse_key(text: &str) -> std::result::Result<Key, String> {
    let (body, right_padding) = match text.strip_suffix("->") {
        Some(body) => (body, true),
        None => (text, false),
    };
    // As in Elasticsearch, a modifier character anywhere in the key marks it.
    let modifiers: Vec<(usize, char)> = body.char_indices().filter(|(_, c)| "+*&?/".contains(*c)).collect();
    let Some(&(at, modifier)) = modifiers.first() else {
        let modifier = if body.is_empty() { Modifier::Skip } else { Modifier::None };
        return Ok(Key { name: body.to_string(), modifier, right_padding });
    };
    let name = &body[at + 1..];
    match modifier {
        '?' if modifiers.len() == 1 => Ok(Key { name: name.to_string(), modifier: Modifier::Skip, right_padding }),
        '+' if modifiers.len() == 1 => {
            Ok(Key { name: name.to_string(), modifier: Modifier::Append(None), right_padding })
        }
        '+' if modifiers.len() == 2 && modifiers[1].1 == '/' => {
            let (name, order) = name.rsplit_once('/').expect("a '/' was found");
            let order = order.parse().map_err(|_| format!("invalid append order in %{{{text}}}"))?;
            Ok(Key { name: name.to_string(), modifier: Modifier::Append(Some(order)), right_padding })
        }
        '*' | '&' => Err(format!("reference keys (%{{{text}}}) are not supported by DISSECT")),
        _ => Err(format!("multiple modifiers are not allowed in %{{{text}}}")),
    }
}

/// The UDF that dissects a string column into a struct with one string field per name.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct DissectUdf {
    pattern: DissectPattern,
    signature: Signature,
}

impl DissectUdf {
    pub fn new(pattern: DissectPattern) -> DissectUdf {
        DissectUdf { pattern, signature: Signature::any(1, Volatility::Immutable) }
    }

    fn fields(&self) -> Fields {
        self.pattern.names.iter().map(|n| Field::new(n, DataType::Utf8, true)).collect()
    }
}

impl ScalarUDFImpl for DissectUdf {
    fn name(&self) -> &str {
        "dissect"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(self.fields()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        let input = cast(&input, &DataType::Utf8)?;
        let input = input.as_any().downcast_ref::<StringArray>().expect("cast to Utf8");
        let mut builders: Vec<StringBuilder> = self.pattern.names.iter().map(|_| StringBuilder::new()).collect();
        for row in 0..input.len() {
            let values = if input.is_null(row) { None } else { self.pattern.apply(input.value(row)) };
            for (i, builder) in builders.iter_mut().enumerate() {
                builder.append_option(values.as_ref().map(|v| &v[i]));
            }
        }
        let arrays: Vec<ArrayRef> = builders.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef).collect();
        Ok(ColumnarValue::Array(Arc::new(StructArray::try_new(self.fields(), arrays, None)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::DissectPattern;

    fn dissect(pattern: &str, input: &str) -> Option<Vec<String>> {
        DissectPattern::parse(pattern, "").unwrap().apply(input)
    }

    #[test]
    fn splits_by_delimiters() {
        assert_eq!(dissect("%{a} %{b},%{c}", "foo bar,baz").unwrap(), ["foo", "bar", "baz"]);
        assert_eq!(dissect("%{a} %{b},%{c}", "foo bar baz"), None);
        assert_eq!(dissect("%{a->} %{b}", "foo     bar").unwrap(), ["foo", "bar"]);
        assert_eq!(dissect("%{a},%{b},%{c},%{d}", "foo,,,").unwrap(), ["foo", "", "", ""]);
        assert_eq!(dissect("%{a} %{+a} %{+a}", "foo bar baz").unwrap(), ["foobarbaz"]);
        assert_eq!(dissect("%{a} %{+a/2} %{+a/1}", "foo bar baz").unwrap(), ["foobazbar"]);
        assert_eq!(dissect("%{a} %{?skip} %{} %{c}", "1 2 3 4").unwrap(), ["1", "4"]);
    }

    #[test]
    fn elastic_request_parameters() {
        let pattern = "{%{?k}=%{code}, %{?q}=%{quota}}";
        assert_eq!(dissect(pattern, "{serviceCode=ec2, quotaCode=L-1216C47A}").unwrap(), ["ec2", "L-1216C47A"]);
        // A modifier character anywhere in the key makes it a skip key, as in Elasticsearch.
        let odd = "%{{?bucket.name.key}=%{bucket}, %{?h}=%{host}}";
        assert_eq!(DissectPattern::parse(odd, "").unwrap().names(), ["bucket", "host"]);
    }

    #[test]
    fn reference_keys_are_refused() {
        assert!(DissectPattern::parse("%{*a} %{&a}", "").unwrap_err().contains("reference keys"));
    }
}
