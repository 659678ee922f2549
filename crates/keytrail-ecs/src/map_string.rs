//! Elastic's string copies of the free-form objects (`aws.cloudtrail.request_parameters`…).
//!
//! Elastic's pipeline keeps, besides the flattened object, its Painless `Map.toString()`: Java
//! syntax, not JSON (`{roleArn=arn:aws:iam::1:role/x, durationSeconds=3600}`), and public
//! detection rules match on that text (`aws.cloudtrail.request_parameters: *logging*enabled=false*`).
//! Matching them needs the same text, so this reproduces what Elasticsearch does on the way:
//! - its JSON processor parses objects into `java.util.HashMap`s, so keys come in hash-bucket
//!   order, not in the order of the record;
//! - a first script drops null and empty values, and the maps and lists left empty, recursively;
//! - numbers print as Java prints `Integer`, `Long` and `Double`.

use sonic_rs::{JsonContainerTrait, JsonValueTrait};

/// The `Map.toString()` Elastic stores for a free-form object given as JSON text, or `None`
/// when Elastic stores nothing (the object is null or empty once empty values are dropped).
/// `omit` is a top-level key the pipeline moves elsewhere before taking the copy.
pub(crate) fn java_map_string(json: &str, omit: Option<&str>) -> Option<String> {
    let value: sonic_rs::Value = sonic_rs::from_str(json).ok()?;
    let mut out = String::with_capacity(json.len());
    write(&value, omit, &mut out).then_some(out)
}

/// Appends the Java text of `value`; returns false, leaving `out` as it was, when Elastic's
/// first pass would have dropped the value.
fn write(value: &sonic_rs::Value, omit: Option<&str>, out: &mut String) -> bool {
    let start = out.len();
    if let Some(object) = value.as_object() {
        // The table's size is set while parsing, before empty values are dropped.
        let capacity = hash_map_capacity(object.len());
        let mut entries: Vec<(usize, &str, &sonic_rs::Value)> =
            object.iter().filter(|(key, _)| Some(*key) != omit).map(|(k, v)| (bucket(k, capacity), k, v)).collect();
        // A stable sort keeps keys of one bucket in insertion order, as HashMap's chains do.
        entries.sort_by_key(|(bucket, _, _)| *bucket);
        out.push('{');
        let mut any = false;
        for (_, key, child) in entries {
            let before = out.len();
            if any {
                out.push_str(", ");
            }
            out.push_str(key);
            out.push('=');
            if write(child, None, out) {
                any = true;
            } else {
                out.truncate(before);
            }
        }
        out.push('}');
        if !any {
            out.truncate(start);
        }
        return any;
    }
    if let Some(array) = value.as_array() {
        out.push('[');
        let mut any = false;
        for child in array.iter() {
            let before = out.len();
            if any {
                out.push_str(", ");
            }
            if write(child, None, out) {
                any = true;
            } else {
                out.truncate(before);
            }
        }
        out.push(']');
        if !any {
            out.truncate(start);
        }
        return any;
    }
    if let Some(text) = value.as_str() {
        out.push_str(text);
        return !text.is_empty();
    }
    if let Some(b) = value.as_bool() {
        out.push_str(if b { "true" } else { "false" });
        return true;
    }
    if let Some(n) = value.as_i64() {
        out.push_str(&n.to_string());
        return true;
    }
    if let Some(n) = value.as_u64() {
        out.push_str(&n.to_string());
        return true;
    }
    if let Some(n) = value.as_f64() {
        out.push_str(&java_double(n));
        return true;
    }
    false // null
}

/// The table size of a `HashMap` holding `entries` keys: 16, doubled whenever the count
/// passes three quarters of it.
fn hash_map_capacity(entries: usize) -> usize {
    let mut capacity = 16;
    while entries > capacity / 4 * 3 {
        capacity *= 2;
    }
    capacity
}

/// The bucket `HashMap` puts a `String` key in: `String.hashCode()` over UTF-16 units, spread
/// by `h ^ (h >>> 16)`, masked by the table size.
fn bucket(key: &str, capacity: usize) -> usize {
    let hash = key.encode_utf16().fold(0u32, |h, unit| h.wrapping_mul(31).wrapping_add(u32::from(unit)));
    ((hash ^ (hash >> 16)) as usize) & (capacity - 1)
}

/// `Double.toString`: plain between 10^-3 and 10^7 (always with a fraction digit), otherwise
/// computerized scientific notation (`1.0E10`, `1.5E-4`); both with the fewest digits that
/// read back to the same double, as Java (since 19) and Rust both choose them.
fn java_double(n: f64) -> String {
    let magnitude = n.abs();
    if magnitude == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let text = n.to_string();
        return if text.contains('.') { text } else { text + ".0" };
    }
    let text = format!("{n:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let fraction = if mantissa.contains('.') { "" } else { ".0" };
    format!("{mantissa}{fraction}E{exponent}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_in_hash_map_order_and_values_in_java_syntax() {
        // Elastic's document for an AssumeRole: `credentials` came first in the record.
        let json =
            r#"{"credentials":{"accessKeyId":"ASIA1","expiration":"Oct 8, 2024"},"assumedRoleUser":{"arn":"a"}}"#;
        assert_eq!(
            java_map_string(json, None).as_deref(),
            Some("{assumedRoleUser={arn=a}, credentials={accessKeyId=ASIA1, expiration=Oct 8, 2024}}")
        );
        let json = r#"{"bucketName":"b","logging":{"enabled":false},"list":[1,"x",2.5,1e21,true]}"#;
        assert_eq!(
            java_map_string(json, None).as_deref(),
            Some("{bucketName=b, logging={enabled=false}, list=[1, x, 2.5, 1.0E21, true]}")
        );
    }

    #[test]
    fn null_and_empty_values_are_dropped_recursively() {
        let json = r#"{"a":null,"b":"","c":{"d":[]},"e":[null,""],"f":"kept"}"#;
        assert_eq!(java_map_string(json, None).as_deref(), Some("{f=kept}"));
        assert_eq!(java_map_string(r#"{"a":{}}"#, None), None);
        assert_eq!(java_map_string("null", None), None);
        assert_eq!(
            java_map_string(r#"{"UserName":"u","LoginTo":"l"}"#, Some("UserName")).as_deref(),
            Some("{LoginTo=l}")
        );
    }

    #[test]
    fn large_maps_use_a_larger_table() {
        assert_eq!(hash_map_capacity(12), 16);
        assert_eq!(hash_map_capacity(13), 32);
        assert_eq!(hash_map_capacity(25), 64);
    }

    #[test]
    fn doubles_print_as_java_prints_them() {
        assert_eq!(java_double(100.0), "100.0");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(0.0001), "1.0E-4");
        assert_eq!(java_double(1.5e7), "1.5E7");
        assert_eq!(java_double(-0.0), "-0.0");
    }
}
