//! What counts as a secret, once for every input format, and its redaction from the JSON
//! objects CloudTrail leaves free-form. Every output of keytrail (query results, alerts,
//! reports, plans, error lists) is built from values that passed through here.

use std::borrow::Cow;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

/// The replacement for secret values, so that no output or log ever carries one.
pub const REDACTED: &str = "<redacted>";

/// What a text that cannot be checked key by key becomes.
const REDACTED_OBJECT: &str = "{\"redacted\":true}";

/// Words whose presence in a key's name makes its value a secret: passwords (`password`,
/// `newPassword`, `masterUserPassword`), session and other tokens, secret access keys and
/// `SecretString`/`SecretBinary`, private keys, key material, KMS plaintext.
const SECRET_WORDS: &[&str] =
    &["password", "passwd", "passphrase", "secret", "token", "privatekey", "keymaterial", "plaintext"];

/// Endings of names that identify or describe a secret rather than hold one (`secretId`,
/// `SecretARN`, `SecretVersionId`, `tokenType`, `passwordPolicy`, `minimumPasswordLength`):
/// investigations need them, and Elastic's rules match on some (`GetSecretValue` by `secretId`).
const DESCRIBING_ENDINGS: &[&str] =
    &["id", "ids", "arn", "arns", "name", "names", "type", "types", "policy", "length", "age", "count"];

/// Names that contain a secret word but are settings, not secrets: EC2's instance metadata
/// option `httpTokens` (`required`/`optional`) is how an IMDSv1 downgrade is detected.
const SETTINGS: &[&str] = &["httptokens"];

/// Whether the value of a key with this name is a secret. Case, `_`, `-`, `.` and spaces
/// do not matter: `SecretAccessKey`, `secret_access_key` and `PRIVATE-KEY` all are.
pub fn is_secret_key(key: &str) -> bool {
    let name: String = key.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect();
    SECRET_WORDS.iter().any(|word| name.contains(word))
        && !DESCRIBING_ENDINGS.iter().any(|ending| name.ends_with(ending))
        && !SETTINGS.contains(&name.as_str())
}

/// The JSON text with the value of every secret key, at any depth and inside lists,
/// replaced by [`REDACTED`] (the key stays, so analysts see something was there). `null`
/// and booleans are kept: they hold no secret, and rules test flags such as
/// `passwordResetRequired`. Text with no secret word anywhere is returned as it is,
/// unparsed; otherwise only the secret values change, so keys keep their order and
/// Elastic's text copies (which depend on it) stay right. Text that is not one JSON value
/// cannot be checked key by key and is replaced whole.
pub fn redact(json: &str) -> Cow<'_, str> {
    // Built once: the scan runs on every free-form object that is output. "private" and
    // "material" rather than the joined words: separators may stand between the parts.
    static HINTS: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(["passw", "passphrase", "secret", "token", "private", "material", "plaintext"])
            .expect("fixed patterns")
    });
    if !HINTS.is_match(json) {
        return Cow::Borrowed(json);
    }
    let mut secrets = Vec::new();
    // The iterators below stop at the end of the first value; anything after it (or text
    // that is no JSON at all) must count as unparseable too.
    let valid = sonic_rs::from_str::<serde::de::IgnoredAny>(json).is_ok();
    if !valid || find_secrets(json, json, &mut secrets).is_err() {
        return Cow::Borrowed(REDACTED_OBJECT);
    }
    if secrets.is_empty() {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len());
    let mut copied = 0;
    for secret in secrets {
        out.push_str(&json[copied..secret.start]);
        out.push('"');
        out.push_str(REDACTED);
        out.push('"');
        copied = secret.end;
    }
    out.push_str(&json[copied..]);
    Cow::Owned(out)
}

/// Keys that name the value beside them, and the keys of that value.
const NAMING_KEYS: &[&str] = &["name", "key", "parameterKey", "parameterName", "optionName", "attributeName"];
const VALUE_KEYS: &[&str] = &["value", "values", "parameterValue", "optionValue", "attributeValue"];

/// Adds to `secrets` the byte ranges (in `whole`) of the secret values inside `value`, a
/// slice of `whole`, in text order.
fn find_secrets(whole: &str, value: &str, secrets: &mut Vec<std::ops::Range<usize>>) -> Result<(), sonic_rs::Error> {
    let range = |raw: &str| {
        let start = raw.as_ptr() as usize - whole.as_ptr() as usize;
        start..start + raw.len()
    };
    if value.starts_with('{') {
        let entries = sonic_rs::to_object_iter(value)
            .map(|entry| entry.map(|(key, child)| (key, crate::flattened::reslice(value, child.as_raw_str()))))
            .collect::<Result<Vec<_>, _>>()?;
        // A name/value pair whose name says secret (`{"name": "DB_PASSWORD", "value": …}`, as
        // ECS task definitions, CloudFormation parameters and tags write them) holds a secret
        // in its value.
        let named_secret = entries.iter().any(|(key, raw)| {
            NAMING_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k))
                && sonic_rs::from_str::<String>(raw).is_ok_and(|name| is_secret_key(&name))
        });
        for (key, raw) in entries {
            let named_value = named_secret && VALUE_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k));
            if is_secret_key(&key) || named_value {
                if !matches!(raw, "null" | "true" | "false") {
                    secrets.push(range(raw));
                }
            } else {
                find_secrets(whole, raw, secrets)?;
            }
        }
    } else if value.starts_with('[') {
        for item in sonic_rs::to_array_iter(value) {
            find_secrets(whole, crate::flattened::reslice(value, item?.as_raw_str()), secrets)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_in_any_case_and_spelling() {
        for key in [
            "sessionToken",
            "SecretAccessKey",
            "secret_access_key",
            "password",
            "NewPassword",
            "masterUserPassword",
            "DB_PASSWORD",
            "privateKey",
            "PRIVATE-KEY",
            "keyMaterial",
            "SecretString",
            "SecretBinary",
            "plaintext",
            "clientSecret",
            "webIdentityToken",
            "passphrase",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "secretId",
            "SecretARN",
            "SecretVersionId",
            "tokenType",
            "httpTokens",
            "passwordPolicy",
            "privateIpAddress",
            "accessKeyId",
            "userName",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn secrets_are_redacted_at_any_depth_and_case() {
        let json = r#"{"credentials":{"accessKeyId":"ASIAEXAMPLE","sessionToken":"TOKEN","expiration":"x"},"accessKey":{"SecretAccessKey":"S"},"list":[{"password":"p"}],"key":{"PrivateKey":{"pem":"K"}}}"#;
        let out = redact(json);
        assert!(!out.contains("TOKEN") && !out.contains("\"S\"") && !out.contains("\"p\"") && !out.contains("\"K\""));
        assert!(out.contains("ASIAEXAMPLE"));
        assert_eq!(out.matches(REDACTED).count(), 4);
    }

    #[test]
    fn redaction_changes_only_the_secret_values() {
        let json = r#"{"credentials": {"accessKeyId": "ASIA1", "sessionToken": "T\"x", "expiration": 1}, "b": [null]}"#;
        let want =
            r#"{"credentials": {"accessKeyId": "ASIA1", "sessionToken": "<redacted>", "expiration": 1}, "b": [null]}"#;
        assert_eq!(redact(json), want);
        assert_eq!(redact(r#"{"password":null}"#), r#"{"password":null}"#);
        assert_eq!(redact(r#"{"passwordResetRequired":true}"#), r#"{"passwordResetRequired":true}"#);
        assert_eq!(redact(r#"{"tokenCode":123456}"#), r#"{"tokenCode":"<redacted>"}"#);
        assert_eq!(redact(r#"{"password":"p"} trailing"#), REDACTED_OBJECT);
        assert_eq!(redact("password=p"), REDACTED_OBJECT);
    }

    #[test]
    fn values_named_as_secrets_are_redacted() {
        let json = r#"{"environment":[{"name":"DB_PASSWORD","value":"p1"},{"name":"STAGE","value":"prod"}],"parameters":[{"parameterKey":"AdminPassword","parameterValue":"p2"}]}"#;
        let out = redact(json);
        assert!(!out.contains("p1") && !out.contains("p2") && out.contains("prod"), "{out}");
    }

    #[test]
    fn text_without_secrets_is_not_rewritten() {
        let json = r#"{"roleArn":"arn:aws:iam::1:role/x", "roleSessionName":"s"}"#;
        assert!(matches!(redact(json), Cow::Borrowed(s) if s == json));
        let described = r#"{"secretId":"prod/db","httpTokens":"optional"}"#;
        assert!(matches!(redact(described), Cow::Borrowed(s) if s == described));
    }
}
