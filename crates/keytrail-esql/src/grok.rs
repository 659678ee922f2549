//! GROK: a regular expression with `%{SYNTAX:name:type}` shortcuts and `(?<name>…)` groups,
//! searched in a string; each named group becomes a column (null when nothing matches).
//!
//! The shortcuts are the common ones of Elasticsearch's grok pattern bank, rewritten for Rust's
//! `regex` crate, which has no look-around or atomic groups: the rewritten patterns drop the
//! look-arounds that only guarded number boundaries. A user pattern that needs look-around is
//! refused with the regex crate's explanation.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, StringArray, StringBuilder, StructArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};
use regex::Regex;

/// The pattern bank: name and regular expression (which may use other entries).
const BANK: &[(&str, &str)] = &[
    ("USERNAME", r"[a-zA-Z0-9._-]+"),
    ("USER", r"%{USERNAME}"),
    ("EMAILLOCALPART", r"[a-zA-Z][a-zA-Z0-9_.+-=:]+"),
    ("EMAILADDRESS", r"%{EMAILLOCALPART}@%{HOSTNAME}"),
    ("INT", r"(?:[+-]?(?:[0-9]+))"),
    ("BASE10NUM", r"(?:[+-]?(?:(?:[0-9]+(?:\.[0-9]+)?)|(?:\.[0-9]+)))"),
    ("NUMBER", r"(?:%{BASE10NUM})"),
    ("BASE16NUM", r"(?:[+-]?(?:0x)?(?:[0-9A-Fa-f]+))"),
    ("POSINT", r"\b(?:[1-9][0-9]*)\b"),
    ("NONNEGINT", r"\b(?:[0-9]+)\b"),
    ("WORD", r"\b\w+\b"),
    ("NOTSPACE", r"\S+"),
    ("SPACE", r"\s*"),
    ("DATA", r".*?"),
    ("GREEDYDATA", r".*"),
    ("QUOTEDSTRING", r#"(?:"(?:\\.|[^\\"]+)+"|""|'(?:\\.|[^\\']+)+'|''|`(?:\\.|[^\\`]+)+`|``)"#),
    ("QS", r"%{QUOTEDSTRING}"),
    ("UUID", r"[A-Fa-f0-9]{8}-(?:[A-Fa-f0-9]{4}-){3}[A-Fa-f0-9]{12}"),
    ("CISCOMAC", r"(?:(?:[A-Fa-f0-9]{4}\.){2}[A-Fa-f0-9]{4})"),
    ("WINDOWSMAC", r"(?:(?:[A-Fa-f0-9]{2}-){5}[A-Fa-f0-9]{2})"),
    ("COMMONMAC", r"(?:(?:[A-Fa-f0-9]{2}:){5}[A-Fa-f0-9]{2})"),
    ("MAC", r"(?:%{CISCOMAC}|%{WINDOWSMAC}|%{COMMONMAC})"),
    (
        "IPV4",
        r"(?:(?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5])[.](?:[0-1]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]))",
    ),
    (
        "IPV6",
        r"(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,7}:|(?:[0-9A-Fa-f]{1,4}:){1,6}:[0-9A-Fa-f]{1,4}|(?:[0-9A-Fa-f]{1,4}:){1,5}(?::[0-9A-Fa-f]{1,4}){1,2}|(?:[0-9A-Fa-f]{1,4}:){1,4}(?::[0-9A-Fa-f]{1,4}){1,3}|(?:[0-9A-Fa-f]{1,4}:){1,3}(?::[0-9A-Fa-f]{1,4}){1,4}|(?:[0-9A-Fa-f]{1,4}:){1,2}(?::[0-9A-Fa-f]{1,4}){1,5}|[0-9A-Fa-f]{1,4}:(?::[0-9A-Fa-f]{1,4}){1,6}|:(?:(?::[0-9A-Fa-f]{1,4}){1,7}|:)|(?:[0-9A-Fa-f]{1,4}:){6}%{IPV4}|::(?:ffff(?::0{1,4})?:)?%{IPV4})(?:%.+)?",
    ),
    ("IP", r"(?:%{IPV6}|%{IPV4})"),
    ("HOSTNAME", r"\b(?:[0-9A-Za-z][0-9A-Za-z-]{0,62})(?:\.(?:[0-9A-Za-z][0-9A-Za-z-]{0,62}))*(?:\.?|\b)"),
    ("IPORHOST", r"(?:%{IP}|%{HOSTNAME})"),
    ("HOSTPORT", r"%{IPORHOST}:%{POSINT}"),
    ("UNIXPATH", r"(?:/(?:[\w_%!$@:.,+~-]+|\\.)*)+"),
    ("URIPROTO", r"[A-Za-z](?:[A-Za-z0-9+\-.]+)+"),
    ("URIHOST", r"%{IPORHOST}(?::%{POSINT})?"),
    ("URIPATH", r"(?:/[A-Za-z0-9$.+!*'(){},~:;=@#%&_\-]*)+"),
    ("URIPARAM", r"\?[A-Za-z0-9$.+!*'|(){},~@#%&/=:;_?\-\[\]<>]*"),
    ("URIPATHPARAM", r"%{URIPATH}(?:%{URIPARAM})?"),
    ("URI", r"%{URIPROTO}://(?:%{USER}(?::[^@]*)?@)?(?:%{URIHOST})?(?:%{URIPATHPARAM})?"),
    (
        "MONTH",
        r"\b(?:[Jj]an(?:uary|uar)?|[Ff]eb(?:ruary|ruar)?|[Mm](?:a|ä)?r(?:ch|z)?|[Aa]pr(?:il)?|[Mm]a(?:y|i)?|[Jj]un(?:e|i)?|[Jj]ul(?:y|i)?|[Aa]ug(?:ust)?|[Ss]ep(?:tember)?|[Oo](?:c|k)?t(?:ober)?|[Nn]ov(?:ember)?|[Dd]e(?:c|z)(?:ember)?)\b",
    ),
    ("MONTHNUM", r"(?:0?[1-9]|1[0-2])"),
    ("MONTHNUM2", r"(?:0[1-9]|1[0-2])"),
    ("MONTHDAY", r"(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])"),
    ("DAY", r"(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)"),
    ("YEAR", r"(?:\d\d){1,2}"),
    ("HOUR", r"(?:2[0123]|[01]?[0-9])"),
    ("MINUTE", r"(?:[0-5][0-9])"),
    ("SECOND", r"(?:(?:[0-5]?[0-9]|60)(?:[:.,][0-9]+)?)"),
    ("TIME", r"%{HOUR}:%{MINUTE}(?::%{SECOND})"),
    ("DATE_US", r"%{MONTHNUM}[/-]%{MONTHDAY}[/-]%{YEAR}"),
    ("DATE_EU", r"%{MONTHDAY}[./-]%{MONTHNUM}[./-]%{YEAR}"),
    ("ISO8601_TIMEZONE", r"(?:Z|[+-]%{HOUR}(?::?%{MINUTE}))"),
    ("ISO8601_SECOND", r"(?:%{SECOND}|60)"),
    ("ISO8601_HOUR", r"(?:2[0123]|[01][0-9])"),
    (
        "TIMESTAMP_ISO8601",
        r"%{YEAR}-%{MONTHNUM}-%{MONTHDAY}[T ]%{ISO8601_HOUR}:?%{MINUTE}(?::?%{SECOND})?%{ISO8601_TIMEZONE}?",
    ),
    ("DATE", r"(?:%{DATE_US}|%{DATE_EU})"),
    ("DATESTAMP", r"%{DATE}[- ]%{TIME}"),
    ("TZ", r"(?:[APMCE][SD]T|UTC)"),
    ("HTTPDATE", r"%{MONTHDAY}/%{MONTH}/%{YEAR}:%{TIME} %{INT}"),
    (
        "LOGLEVEL",
        r"(?:[Aa]lert|ALERT|[Tt]race|TRACE|[Dd]ebug|DEBUG|[Nn]otice|NOTICE|[Ii]nfo|INFO|[Ww]arn?(?:ing)?|WARN?(?:ING)?|[Ee]rr?(?:or)?|ERR?(?:OR)?|[Cc]rit?(?:ical)?|CRIT?(?:ICAL)?|[Ff]atal|FATAL|[Ss]evere|SEVERE|EMERG(?:ENCY)?|[Ee]merg(?:ency)?)",
    ),
];

/// A compiled GROK pattern: the regex with its named groups renamed `g0`, `g1`…, and the
/// column name and type of each.
#[derive(Debug)]
pub(crate) struct GrokPattern {
    source: String,
    regex: Regex,
    columns: Vec<(String, DataType)>,
    /// The capture group index of each column.
    groups: Vec<usize>,
}

impl PartialEq for GrokPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for GrokPattern {}

impl Hash for GrokPattern {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.source.hash(state);
    }
}

impl GrokPattern {
    pub fn parse(pattern: &str) -> std::result::Result<GrokPattern, String> {
        let mut columns = Vec::new();
        let expanded = expand(pattern, &mut columns, 0)?;
        for (i, (name, _)) in columns.iter().enumerate() {
            if columns[..i].iter().any(|(n, _)| n == name) {
                return Err(format!("the name {name} is used twice (multi-valued GROK output is not supported)"));
            }
        }
        if columns.is_empty() {
            return Err("the pattern names no column".into());
        }
        let regex = Regex::new(&expanded).map_err(|e| format!("invalid regular expression: {e}"))?;
        let groups = (0..columns.len())
            .map(|i| regex.capture_names().position(|n| n == Some(&format!("g{i}"))).expect("every column has a group"))
            .collect();
        Ok(GrokPattern { source: pattern.to_string(), regex, columns, groups })
    }

    pub fn columns(&self) -> &[(String, DataType)] {
        &self.columns
    }
}

/// `pattern` with every `%{…}` expanded and every named group renamed, recording the columns.
fn expand(pattern: &str, columns: &mut Vec<(String, DataType)>, depth: usize) -> std::result::Result<String, String> {
    if depth > 20 {
        return Err("grok patterns nest too deep".into());
    }
    let mut out = String::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            // An escape: copied with the character it escapes.
            let len = 1 + rest[1..].chars().next().map_or(0, char::len_utf8);
            out.push_str(&rest[..len]);
            rest = &rest[len..];
        } else if c == '[' {
            let len = class_len(rest);
            out.push_str(&rest[..len]);
            rest = &rest[len..];
        } else if let Some(body) = rest.strip_prefix("%{") {
            let close = body.find('}').ok_or("a %{ is not closed")?;
            let mut parts = body[..close].splitn(3, ':');
            let syntax = parts.next().unwrap_or_default();
            let (_, definition) = BANK
                .iter()
                .find(|(name, _)| *name == syntax)
                .ok_or_else(|| format!("unknown grok pattern {syntax}"))?;
            let inner = expand(definition, &mut Vec::new(), depth + 1)?;
            match parts.next() {
                Some(name) => {
                    let data_type = grok_type(parts.next())?;
                    out.push_str(&format!("(?P<g{}>{inner})", columns.len()));
                    columns.push((name.to_string(), data_type));
                }
                None => out.push_str(&format!("(?:{inner})")),
            }
            rest = &body[close + 1..];
        } else if let Some(name_start) = ["(?<", "(?P<"].iter().find_map(|p| rest.strip_prefix(p)) {
            if name_start.starts_with(['=', '!']) {
                return Err("look-behind assertions are not supported".into());
            }
            let close = name_start.find('>').ok_or("a group name is not closed")?;
            out.push_str(&format!("(?P<g{}>", columns.len()));
            columns.push((name_start[..close].to_string(), DataType::Utf8));
            rest = &name_start[close + 1..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    Ok(out)
}

/// The length of the character class at the start of `text` (`[...]`, escapes and nested
/// classes included), or of the rest when it is not closed (the regex compiler says why).
fn class_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut depth = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' => {
                depth += 1;
                // A `]` right after the opening (or after `^`) is a literal.
                if bytes.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if bytes.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b']' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    text.len()
}

fn grok_type(name: Option<&str>) -> std::result::Result<DataType, String> {
    Ok(match name {
        None => DataType::Utf8,
        Some("int") => DataType::Int32,
        Some("long") => DataType::Int64,
        Some("float" | "double") => DataType::Float64,
        Some("boolean") => DataType::Boolean,
        Some(other) => return Err(format!("unknown grok type {other}")),
    })
}

/// The UDF that searches a string column and returns a struct of the named groups.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct GrokUdf {
    pattern: GrokPattern,
    signature: Signature,
}

impl GrokUdf {
    pub fn new(pattern: GrokPattern) -> GrokUdf {
        GrokUdf { pattern, signature: Signature::any(1, Volatility::Immutable) }
    }

    fn fields(&self) -> Fields {
        self.pattern.columns.iter().map(|(n, t)| Field::new(n, t.clone(), true)).collect()
    }
}

impl ScalarUDFImpl for GrokUdf {
    fn name(&self) -> &str {
        "grok"
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
        let mut builders: Vec<StringBuilder> = self.pattern.columns.iter().map(|_| StringBuilder::new()).collect();
        let mut locations = self.pattern.regex.capture_locations();
        for row in 0..input.len() {
            let text = (!input.is_null(row)).then(|| input.value(row));
            let matched = text.and_then(|t| self.pattern.regex.captures_read(&mut locations, t).map(|_| t));
            for (builder, &group) in builders.iter_mut().zip(&self.pattern.groups) {
                builder.append_option(matched.and_then(|t| locations.get(group).map(|(s, e)| &t[s..e])));
            }
        }
        let mut arrays = Vec::with_capacity(builders.len());
        for (builder, (_, data_type)) in builders.iter_mut().zip(&self.pattern.columns) {
            let strings: ArrayRef = Arc::new(builder.finish());
            // Text that does not read as the asked type becomes null, as in Elasticsearch.
            arrays.push(cast(&strings, data_type)?);
        }
        Ok(ColumnarValue::Array(Arc::new(StructArray::try_new(self.fields(), arrays, None)?)))
    }
}

#[cfg(test)]
mod tests {
    use super::GrokPattern;
    use datafusion::arrow::datatypes::DataType;

    fn grok(pattern: &str, input: &str) -> Option<Vec<Option<String>>> {
        let p = GrokPattern::parse(pattern).unwrap();
        let caps = p.regex.captures(input)?;
        Some((0..p.columns.len()).map(|i| caps.name(&format!("g{i}")).map(|m| m.as_str().to_string())).collect())
    }

    #[test]
    fn named_groups_and_shortcuts() {
        let v = grok(r"instanceId=(?<Esql.instance_id>[^,}\]]+)", "{instanceId=i-0abc, x=1}").unwrap();
        assert_eq!(v, [Some("i-0abc".to_string())]);
        let v = grok("accessKeyId=%{NOTSPACE:key},", "{accessKeyId=ASIAX, b}").unwrap();
        assert_eq!(v, [Some("ASIAX".to_string())]);
        let v = grok("%{IP:ip} %{NUMBER:n:int}", "from 10.0.0.1 42").unwrap();
        assert_eq!(v, [Some("10.0.0.1".to_string()), Some("42".to_string())]);
        assert_eq!(GrokPattern::parse("%{NUMBER:n:int}").unwrap().columns()[0].1, DataType::Int32);
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(GrokPattern::parse("%{NOPE:x}").unwrap_err().contains("unknown grok pattern NOPE"));
        assert!(GrokPattern::parse("(?<a>x)(?<a>y)").unwrap_err().contains("used twice"));
    }
}
