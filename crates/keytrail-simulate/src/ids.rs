//! Identifiers as AWS mints them: access key ids, principal ids, request and
//! event ids, instance ids, session tokens. All come from the caller's RNG so
//! the estate stays reproducible from its seed.

use rand::Rng;
use rand::rngs::SmallRng;

/// The alphabet of access key and unique principal ids (base32: `A-Z2-7`);
/// detectors that validate key ids by shape must accept what we generate.
const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const UPPER_ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX: &[u8] = b"0123456789abcdef";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Combines seed material into one well-mixed 64-bit value (splitmix64
/// finaliser over each part), stable across platforms and Rust releases,
/// unlike `std::hash`.
pub(crate) fn mix(parts: &[u64]) -> u64 {
    let mut h: u64 = 0x9E37_79B9_7F4A_7C15;
    for &p in parts {
        h = splitmix(h ^ splitmix(p));
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a string, to feed names (regions) into [`mix`].
pub(crate) fn hash_str(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3))
}

fn from_alphabet(rng: &mut SmallRng, alphabet: &[u8], n: usize, out: &mut String) {
    for _ in 0..n {
        out.push(char::from(alphabet[rng.random_range(0..alphabet.len())]));
    }
}

/// `n` characters of `A-Za-z0-9`, as in the random tail of CloudTrail file names.
pub(crate) fn alnum(rng: &mut SmallRng, n: usize) -> String {
    let mut s = String::with_capacity(n);
    from_alphabet(rng, ALNUM, n, &mut s);
    s
}

/// `n` lowercase hex digits.
pub(crate) fn hex(rng: &mut SmallRng, n: usize) -> String {
    let mut s = String::with_capacity(n);
    from_alphabet(rng, HEX, n, &mut s);
    s
}

/// An access key id: `AKIA` (long-term) or `ASIA` (temporary) and 16 more.
pub(crate) fn access_key_id(rng: &mut SmallRng, prefix: &str) -> String {
    let mut s = String::with_capacity(20);
    s.push_str(prefix);
    from_alphabet(rng, KEY_ALPHABET, 16, &mut s);
    s
}

/// A unique principal id: `AIDA` (user), `AROA` (role) and 17 more.
pub(crate) fn principal_id(rng: &mut SmallRng, prefix: &str) -> String {
    let mut s = String::with_capacity(21);
    s.push_str(prefix);
    from_alphabet(rng, KEY_ALPHABET, 17, &mut s);
    s
}

/// A random (version 4) UUID in its canonical lowercase form.
pub(crate) fn uuid(rng: &mut SmallRng) -> String {
    let b: u128 = rng.random();
    let b = (b & !(0xF << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let h = format!("{b:032x}");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// An S3-style request id: 16 uppercase alphanumerics.
pub(crate) fn s3_request_id(rng: &mut SmallRng) -> String {
    let mut s = String::with_capacity(16);
    from_alphabet(rng, UPPER_ALNUM, 16, &mut s);
    s
}

/// An EC2 instance id in the long (17 hex digit) form.
pub(crate) fn instance_id(rng: &mut SmallRng) -> String {
    format!("i-0{}", hex(rng, 16))
}

/// A twelve-digit account id that does not start with 0.
pub(crate) fn account_id(rng: &mut SmallRng) -> String {
    format!("{}", rng.random_range(100_000_000_000u64..1_000_000_000_000))
}

/// An STS session token: base64 text of the length real ones have, starting
/// with the `IQoJb3JpZ2luX2Vj` prefix that every current token shares.
pub(crate) fn session_token(rng: &mut SmallRng) -> String {
    let mut s = String::with_capacity(560);
    s.push_str("IQoJb3JpZ2luX2Vj");
    from_alphabet(rng, BASE64, 540, &mut s);
    s
}

/// An opaque base64 blob of `n` characters (encoded authorization messages,
/// state tokens).
pub(crate) fn base64(rng: &mut SmallRng, n: usize) -> String {
    let mut s = String::with_capacity(n);
    from_alphabet(rng, BASE64, n, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn uuid_is_version_4() {
        let mut rng = SmallRng::seed_from_u64(7);
        for _ in 0..100 {
            let u = uuid(&mut rng);
            assert_eq!(u.len(), 36);
            assert_eq!(&u[14..15], "4");
            assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
        }
    }

    #[test]
    fn key_ids_have_aws_shape() {
        let mut rng = SmallRng::seed_from_u64(7);
        let k = access_key_id(&mut rng, "AKIA");
        assert_eq!(k.len(), 20);
        assert!(k.bytes().all(|b| KEY_ALPHABET.contains(&b)));
        assert_eq!(principal_id(&mut rng, "AROA").len(), 21);
        assert_eq!(instance_id(&mut rng).len(), 19);
    }

    #[test]
    fn mix_depends_on_every_part() {
        assert_ne!(mix(&[1, 2, 3]), mix(&[1, 2, 4]));
        assert_ne!(mix(&[1, 2]), mix(&[2, 1]));
    }
}
