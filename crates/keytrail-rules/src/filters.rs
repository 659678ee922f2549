//! `[[rule.filters]]`: Kibana filter pills, stored as Elasticsearch query DSL. They are
//! translated to KQL and joined to the rule's query with `and`, so one compiler handles both.

use serde_json::Value;

/// The filter as KQL, `None` when it is disabled.
pub fn filters_to_kql(filter: &Value) -> Result<Option<String>, String> {
    let meta = filter.get("meta");
    let flag = |name: &str| meta.and_then(|m| m.get(name)).and_then(Value::as_bool).unwrap_or(false);
    if flag("disabled") {
        return Ok(None);
    }
    // The DSL sits under `query`, except in old filters where `exists` is top-level.
    let dsl = filter.get("query").or_else(|| filter.get("exists").map(|_| filter)).ok_or("a filter without a query")?;
    let kql = dsl_to_kql(dsl)?;
    Ok(Some(if flag("negate") { format!("not ({kql})") } else { kql }))
}

fn dsl_to_kql(dsl: &Value) -> Result<String, String> {
    let object = dsl.as_object().ok_or("a filter query is not an object")?;
    let (kind, body) = match object.iter().next() {
        Some(entry) if object.len() == 1 => entry,
        _ => return Err("a filter query must have exactly one clause".into()),
    };
    let field_and_value = || -> Result<(&String, &Value), String> {
        let body = body.as_object().filter(|b| b.len() == 1).ok_or(format!("'{kind}' must name one field"))?;
        let (field, value) = body.iter().next().expect("one entry");
        Ok((field, value.get("query").or_else(|| value.get("value")).unwrap_or(value)))
    };
    match kind.as_str() {
        "match_phrase" | "match" | "term" => {
            let (field, value) = field_and_value()?;
            Ok(format!("{field}:{}", quote(value)?))
        }
        "terms" => {
            let (field, values) = field_and_value()?;
            let values = values.as_array().ok_or("'terms' needs a list")?;
            let quoted: Result<Vec<_>, _> = values.iter().map(quote).collect();
            Ok(format!("{field}:({})", quoted?.join(" or ")))
        }
        "exists" => {
            let field = body.get("field").and_then(Value::as_str).ok_or("'exists' needs a field")?;
            Ok(format!("{field}:*"))
        }
        "bool" => {
            let clauses = |name: &str| -> Result<Vec<String>, String> {
                match body.get(name) {
                    None => Ok(Vec::new()),
                    Some(Value::Array(items)) => items.iter().map(dsl_to_kql).collect(),
                    Some(item) => Ok(vec![dsl_to_kql(item)?]),
                }
            };
            let mut parts: Vec<String> =
                clauses("must")?.into_iter().chain(clauses("filter")?).map(|c| format!("({c})")).collect();
            let should = clauses("should")?;
            if !should.is_empty() {
                parts.push(format!("({})", should.join(" or ")));
            }
            parts.extend(clauses("must_not")?.into_iter().map(|c| format!("not ({c})")));
            if parts.is_empty() {
                return Err("an empty 'bool' filter".into());
            }
            Ok(parts.join(" and "))
        }
        other => Err(format!("filter clause '{other}' is not supported")),
    }
}

fn quote(value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))),
        Value::Bool(_) | Value::Number(_) => Ok(value.to_string()),
        _ => Err(format!("filter value {value} is not a string, number or boolean")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kibana_filters_become_kql() {
        let phrase = json!({"meta": {"negate": false}, "query": {"match_phrase": {"event.outcome": "success"}}});
        assert_eq!(filters_to_kql(&phrase).unwrap().unwrap(), r#"event.outcome:"success""#);
        let negated = json!({"meta": {"negate": true}, "query": {"exists": {"field": "source.ip"}}});
        assert_eq!(filters_to_kql(&negated).unwrap().unwrap(), "not (source.ip:*)");
        let disabled = json!({"meta": {"disabled": true}, "query": {"match_phrase": {"a": "b"}}});
        assert_eq!(filters_to_kql(&disabled).unwrap(), None);
        let either =
            json!({"query": {"bool": {"should": [{"match_phrase": {"a": "x\"y"}}, {"match": {"a": {"query": "z"}}}]}}});
        assert_eq!(filters_to_kql(&either).unwrap().unwrap(), r#"(a:"x\"y" or a:"z")"#);
        let script = json!({"query": {"script": {"source": "1"}}});
        assert!(filters_to_kql(&script).unwrap_err().contains("script"));
    }
}
