//! The check of a record's string escapes, made before it is parsed.
//!
//! sonic-rs skips a value it is not asked for without decoding its strings, and a skipped
//! `\u` followed by anything but four hex digits may end its string somewhere else than a
//! decoding read does. A record with such an escape in a field one read skips and another
//! decodes would be an event to `count(*)` and invalid JSON to `select *`. Checking every
//! escape of the text first gives the record one verdict, whatever the columns: invalid JSON.
//! The scan stops only at backslashes (memchr), so clean text costs one pass at memory speed.

/// The first escape that JSON does not allow, as the reason the record is refused. The text
/// around it is not quoted: it may hold a secret.
pub(crate) fn check(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(found) = memchr::memchr(b'\\', &bytes[from..]) {
        let at = from + found;
        let length = match bytes.get(at + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
            Some(b'u') if bytes.get(at + 2..at + 6).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)) => 6,
            // The end of the text after a backslash is a truncation, which the parser names.
            None => return Ok(()),
            Some(_) => return Err(format!("invalid JSON: invalid escape at {}", position(text, at))),
        };
        from = at + length;
    }
    Ok(())
}

/// Line and column (1-based, in bytes) of a byte offset, as the parser's errors give them.
fn position(text: &str, at: usize) -> String {
    let before = &text.as_bytes()[..at];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let column = at - memchr::memrchr(b'\n', before).map_or(0, |newline| newline + 1) + 1;
    format!("line {line} column {column}")
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn allowed_escapes_pass_and_others_are_named_by_position() {
        for fine in [r#"{"a":"\"\\\/\b\f\n\r\t\u00e9\uD800"}"#, r#"{"a":"\\u"}"#, r#"{"a":"no escape"}"#, "\\"] {
            assert_eq!(check(fine), Ok(()), "{fine}");
        }
        for (bad, at) in [
            (r#"{"a":"x\ub6o"}"#, "line 1 column 8"),
            (r#"{"a":"\x"}"#, "line 1 column 7"),
            ("{\n \"k\\u12\":1}", "line 2 column 4"),
            (r#"{"a":"\u12"#, "line 1 column 7"),
        ] {
            assert_eq!(check(bad), Err(format!("invalid JSON: invalid escape at {at}")), "{bad}");
        }
    }
}
