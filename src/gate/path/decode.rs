//! Percent-decoding of one segment, strict (the first decoding) or
//! lenient (a server that decodes twice), and what a decoding may yield.

use super::error::PathError;

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

pub(super) fn has_escape(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && hex(w[1]).is_some() && hex(w[2]).is_some())
}

/// Percent-decodes a segment; `%` must start a valid escape.
pub(super) fn decode(s: &str) -> Result<String, PathError> {
    decode_with(s, true)
}

/// The second decoding: a `%` that starts no escape stays as it is (that
/// is how a server decoding twice reads it).
pub(super) fn decode_lenient(s: &str) -> Result<String, PathError> {
    decode_with(s, false)
}

fn decode_with(s: &str, strict: bool) -> Result<String, PathError> {
    if !s.contains('%') {
        return check_decoded(s.as_bytes().to_vec());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            ) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ if strict => return Err(PathError::BadPercentEncoding),
                _ => {}
            }
        }
        out.push(b[i]);
        i += 1;
    }
    check_decoded(out)
}

/// What a decoding (the first or the second) may yield. RFC 3986 §3.3: a
/// path ends at the first `?` or `#`; decoded inside a segment, either is
/// read as that end by some servers and as data by others, so neither
/// reading is safe (a raw `#` is refused by `path_part`, a raw `?` starts
/// the query, so only a decoded one reaches here).
fn check_decoded(bytes: Vec<u8>) -> Result<String, PathError> {
    let s = String::from_utf8(bytes).map_err(|_| PathError::BadDecodedByte)?;
    if s.chars().any(char::is_control) {
        return Err(PathError::BadDecodedByte);
    }
    if s.contains(['?', '#']) {
        return Err(PathError::EncodedDelimiter);
    }
    Ok(s)
}
