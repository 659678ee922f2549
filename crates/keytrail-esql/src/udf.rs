//! Functions ES|QL has and DataFusion lacks, as scalar UDFs: CIDR_MATCH, FROM_BASE64,
//! TO_BASE64, and the calendar-month difference behind DATE_DIFF's month, quarter and year.

use std::net::IpAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{Datelike, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, BooleanBuilder, Int64Array, Int64Builder, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility};

/// The arguments as arrays of `data_type`, one value per row.
fn arrays(args: &ScalarFunctionArgs, data_type: &DataType) -> Result<Vec<ArrayRef>> {
    args.args.iter().map(|a| Ok(cast(&a.to_array(args.number_rows)?, data_type)?)).collect()
}

fn strings(array: &ArrayRef) -> &StringArray {
    array.as_any().downcast_ref().expect("cast to Utf8")
}

macro_rules! udf {
    ($name:ident, $sql:literal, $ret:expr, $invoke:ident) => {
        #[derive(Debug, PartialEq, Eq, Hash)]
        struct $name {
            signature: Signature,
        }

        impl ScalarUDFImpl for $name {
            fn name(&self) -> &str {
                $sql
            }

            fn signature(&self) -> &Signature {
                &self.signature
            }

            fn return_type(&self, _: &[DataType]) -> Result<DataType> {
                Ok($ret)
            }

            fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
                Ok(ColumnarValue::Array($invoke(&args)?))
            }
        }
    };
}

udf!(CidrMatch, "cidr_match", DataType::Boolean, cidr_match_arrays);
udf!(FromBase64, "from_base64", DataType::Utf8, from_base64_array);
udf!(ToBase64, "to_base64", DataType::Utf8, to_base64_array);
udf!(MonthsBetween, "months_between", DataType::Int64, months_between_arrays);

/// `cidr_match(ip, block, …)`: whether the IP (text) is in any of the CIDR blocks.
pub(crate) fn cidr_match() -> ScalarUDF {
    ScalarUDF::new_from_impl(CidrMatch { signature: Signature::variadic_any(Volatility::Immutable) })
}

/// `from_base64(text)`: the decoded text; null when the input is not base64.
pub(crate) fn from_base64() -> ScalarUDF {
    ScalarUDF::new_from_impl(FromBase64 { signature: Signature::any(1, Volatility::Immutable) })
}

pub(crate) fn to_base64() -> ScalarUDF {
    ScalarUDF::new_from_impl(ToBase64 { signature: Signature::any(1, Volatility::Immutable) })
}

/// `months_between(start, end)`: whole calendar months from start to end (negative when end is
/// earlier), counted as Java's `ChronoUnit.MONTHS.between`, which Elasticsearch uses.
pub(crate) fn months_between() -> ScalarUDF {
    ScalarUDF::new_from_impl(MonthsBetween { signature: Signature::any(2, Volatility::Immutable) })
}

fn in_block(ip: IpAddr, block: &str) -> bool {
    let (address, bits) = block.split_once('/').unwrap_or((block, ""));
    let Ok(network) = address.trim().parse::<IpAddr>() else { return false };
    let max = if network.is_ipv4() { 32 } else { 128 };
    let bits: u32 = if bits.is_empty() { max } else { bits.trim().parse().unwrap_or(u32::MAX) };
    if bits > max {
        return false;
    }
    let as_u128 = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)) << 96,
        IpAddr::V6(v6) => u128::from(v6),
    };
    // An IPv4-mapped IPv6 address matches IPv4 blocks.
    let ip = match ip {
        IpAddr::V6(v6) if network.is_ipv4() => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        _ => ip,
    };
    if ip.is_ipv4() != network.is_ipv4() {
        return false;
    }
    let shift = if network.is_ipv4() { 96 + (32 - bits) } else { 128 - bits };
    let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
    as_u128(ip) & mask == as_u128(network) & mask
}

fn cidr_match_arrays(args: &ScalarFunctionArgs) -> Result<ArrayRef> {
    let arrays = arrays(args, &DataType::Utf8)?;
    let (ips, blocks) = arrays.split_first().expect("the planner passes an IP and blocks");
    let ips = strings(ips);
    let blocks: Vec<&StringArray> = blocks.iter().map(strings).collect();
    let mut out = BooleanBuilder::with_capacity(ips.len());
    for row in 0..ips.len() {
        let ip = (!ips.is_null(row)).then(|| ips.value(row).parse::<IpAddr>().ok()).flatten();
        out.append_option(ip.map(|ip| blocks.iter().any(|b| !b.is_null(row) && in_block(ip, b.value(row)))));
    }
    Ok(Arc::new(out.finish()))
}

fn from_base64_array(args: &ScalarFunctionArgs) -> Result<ArrayRef> {
    let arrays = arrays(args, &DataType::Utf8)?;
    let input = strings(&arrays[0]);
    let mut out = StringBuilder::new();
    for row in 0..input.len() {
        let decoded = (!input.is_null(row)).then(|| STANDARD.decode(input.value(row).trim()).ok()).flatten();
        out.append_option(decoded.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()));
    }
    Ok(Arc::new(out.finish()))
}

fn to_base64_array(args: &ScalarFunctionArgs) -> Result<ArrayRef> {
    let arrays = arrays(args, &DataType::Utf8)?;
    let input = strings(&arrays[0]);
    let mut out = StringBuilder::new();
    for row in 0..input.len() {
        out.append_option((!input.is_null(row)).then(|| STANDARD.encode(input.value(row))));
    }
    Ok(Arc::new(out.finish()))
}

fn months_between_arrays(args: &ScalarFunctionArgs) -> Result<ArrayRef> {
    let arrays = arrays(args, &DataType::Int64)?;
    let millis = |a: &ArrayRef| a.as_any().downcast_ref::<Int64Array>().expect("cast to Int64").clone();
    let (starts, ends) = (millis(&arrays[0]), millis(&arrays[1]));
    let mut out = Int64Builder::with_capacity(starts.len());
    for row in 0..starts.len() {
        let value = (!starts.is_null(row) && !ends.is_null(row))
            .then(|| months_between_millis(starts.value(row), ends.value(row)))
            .flatten();
        out.append_option(value);
    }
    Ok(Arc::new(out.finish()))
}

fn months_between_millis(start: i64, end: i64) -> Option<i64> {
    let start = chrono::DateTime::from_timestamp_millis(start)?.naive_utc();
    let end = chrono::DateTime::from_timestamp_millis(end)?.naive_utc();
    // Java's LocalDateTime.until: the end date moves a day toward the start when its time of
    // day has not yet reached the start's, then whole months between the dates count.
    let mut end_date = end.date();
    let time = |t: chrono::NaiveDateTime| (t.num_seconds_from_midnight(), t.nanosecond());
    if end_date > start.date() && time(end) < time(start) {
        end_date = end_date.pred_opt()?;
    } else if end_date < start.date() && time(end) > time(start) {
        end_date = end_date.succ_opt()?;
    }
    let packed = |d: chrono::NaiveDate| (i64::from(d.year()) * 12 + i64::from(d.month0())) * 32 + i64::from(d.day());
    Some((packed(end_date) - packed(start.date())) / 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_block(ip("10.1.2.3"), "10.0.0.0/8"));
        assert!(!in_block(ip("11.1.2.3"), "10.0.0.0/8"));
        assert!(in_block(ip("192.168.1.1"), "192.168.1.1"));
        assert!(in_block(ip("2001:db8::1"), "2001:db8::/32"));
        assert!(!in_block(ip("2001:db8::1"), "10.0.0.0/8"));
        assert!(in_block(ip("1.2.3.4"), "0.0.0.0/0"));
    }

    #[test]
    fn months_as_java_counts_them() {
        let ms = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis();
        let between = |a, b| months_between_millis(ms(a), ms(b)).unwrap();
        assert_eq!(between("2024-01-31T00:00:00Z", "2024-02-29T00:00:00Z"), 0);
        assert_eq!(between("2024-01-15T10:00:00Z", "2024-02-15T10:00:00Z"), 1);
        assert_eq!(between("2024-01-15T10:00:00Z", "2024-02-15T09:59:59Z"), 0);
        assert_eq!(between("2024-03-15T00:00:00Z", "2024-01-15T00:00:00Z"), -2);
    }
}
