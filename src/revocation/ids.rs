//! What a revocation id may be, and id lists for bulk revocation
//! (`reauth revoke --session-file`): one id a line, validated whole before
//! anything is written. Pure: bytes in, ids or every bad line out.
//!
//! One rule for every id (`sub`, `sid`, logout `jti`) wherever it is written
//! ([`check_id`]) and wherever it is read back (the Redis log and snapshot):
//! 1 to [`MAX_ID_BYTES`] bytes of UTF-8 without a control character. The
//! shared store's records are `\n{id}\t{value}` and its log fields are
//! length-capped, so an id that broke the rule could forge records or jam
//! every reader; it is refused before any write.

use std::io::BufRead;

pub use crate::error::IdError;
pub use crate::jwt::id::{MAX_ID_BYTES, check_id};

/// Limits of an id list. Every limit is a documented default.
#[derive(Debug, Clone, Copy)]
pub struct IdListLimits {
    /// Longest id, in bytes. Defaults to (and can only lower)
    /// [`MAX_ID_BYTES`], 1,024.
    pub max_id_bytes: usize,
    /// Most ids in one list. Defaults to 10,000,000.
    pub max_ids: usize,
    /// Bad lines reported (more are counted). Defaults to 100.
    pub max_reported: usize,
}

impl Default for IdListLimits {
    fn default() -> Self {
        Self {
            max_id_bytes: MAX_ID_BYTES,
            max_ids: 10_000_000,
            max_reported: 100,
        }
    }
}

/// A list that cannot be written: every bad line (up to `max_reported`),
/// with its 1-based number, and how many there were in all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{bad_lines} bad line(s){}", .errors.first().map(|(n, why)| format!(", first at line {n}: {why}")).unwrap_or_default())]
pub struct IdListError {
    /// (line number, reason) for the first bad lines.
    pub errors: Vec<(usize, String)>,
    /// Bad lines in all.
    pub bad_lines: usize,
}

/// Reads one id a line. A line is bad when it is empty, longer than
/// `max_id_bytes` (at most [`MAX_ID_BYTES`]), not UTF-8, or holds a control
/// character ([`check_id`]; a final `\r` of a CRLF file is removed first).
/// The list is bad when it has more than
/// `max_ids` ids or any bad line. Reading never holds more than one line
/// beyond the limits in memory.
pub fn parse_id_list(
    mut input: impl BufRead,
    limits: IdListLimits,
) -> Result<Vec<String>, IdListError> {
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    let mut bad_lines = 0usize;
    let mut line_no = 0usize;
    let mut buf = Vec::new();
    let max_id_bytes = limits.max_id_bytes.min(MAX_ID_BYTES);
    let cap = max_id_bytes.saturating_add(2) as u64;
    loop {
        buf.clear();
        // Read at most `cap` bytes of the line; skip the rest if longer.
        let n = match std::io::Read::take(&mut input, cap).read_until(b'\n', &mut buf) {
            Ok(n) => n,
            Err(e) => {
                bad_lines += 1;
                errors.push((line_no + 1, format!("read error: {e}")));
                break;
            }
        };
        if n == 0 {
            break;
        }
        line_no += 1;
        let verdict = line_verdict(&mut input, &mut buf, n as u64 == cap, max_id_bytes);
        match verdict {
            Ok(id) if bad_lines == 0 => {
                if ids.len() == limits.max_ids {
                    bad_lines += 1;
                    errors.push((line_no, format!("more than {} ids", limits.max_ids)));
                    break;
                }
                ids.push(id);
            }
            Ok(_) => {}
            Err(why) => {
                bad_lines += 1;
                if errors.len() < limits.max_reported {
                    errors.push((line_no, why));
                }
                // Nothing will be written: stop keeping ids.
                ids = Vec::new();
            }
        }
    }
    if bad_lines > 0 {
        return Err(IdListError { errors, bad_lines });
    }
    Ok(ids)
}

/// One line read into `buf` (at most `cap` bytes, `at_cap` when that many
/// were read): the id, or why the line is bad. A line longer than the cap
/// is consumed to its end, 64 KiB at a time, and never kept.
fn line_verdict(
    input: &mut impl BufRead,
    buf: &mut Vec<u8>,
    at_cap: bool,
    max_id_bytes: usize,
) -> Result<String, String> {
    let complete = buf.last() == Some(&b'\n');
    let too_long = !complete && at_cap;
    if too_long {
        let mut sink = Vec::new();
        loop {
            sink.clear();
            match std::io::Read::take(&mut *input, 64 * 1024).read_until(b'\n', &mut sink) {
                Ok(0) => break,
                Ok(_) if sink.last() == Some(&b'\n') => break,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    }
    if complete {
        buf.pop();
    }
    if buf.last() == Some(&b'\r') {
        buf.pop();
    }
    if too_long || buf.len() > max_id_bytes {
        return Err(format!("longer than {max_id_bytes} bytes"));
    }
    if buf.is_empty() {
        return Err("empty line".to_owned());
    }
    let s = std::str::from_utf8(buf).map_err(|_| "not UTF-8".to_owned())?;
    match check_id(s) {
        Err(IdError::ControlCharacter { .. }) => Err("contains a control character".to_owned()),
        Err(e) => Err(e.to_string()),
        Ok(()) => Ok(s.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<String>, IdListError> {
        parse_id_list(s.as_bytes(), IdListLimits::default())
    }

    #[test]
    fn the_id_rule() {
        assert_eq!(check_id("alice"), Ok(()));
        assert_eq!(check_id("ünïcode-✓"), Ok(()));
        assert_eq!(check_id(""), Err(IdError::Empty));
        assert_eq!(check_id(&"x".repeat(MAX_ID_BYTES)), Ok(()));
        assert!(matches!(
            check_id(&"x".repeat(MAX_ID_BYTES + 1)),
            Err(IdError::TooLong { len: 1025, .. })
        ));
        for bad in ["a\rb", "a\nb", "a\tb", "\0", "a\u{7f}", "a\u{85}", "sid\r"] {
            assert!(
                matches!(check_id(bad), Err(IdError::ControlCharacter { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn good_and_bad_lines() {
        assert_eq!(parse("a\nb\r\nc").unwrap(), ["a", "b", "c"]);
        assert_eq!(parse("").unwrap(), Vec::<String>::new());
        assert_eq!(parse(" lead\n").unwrap(), [" lead"]);
        let e = parse("a\n\nb\nx\u{1}y\n").unwrap_err();
        assert_eq!(e.bad_lines, 2);
        assert_eq!(e.errors[0], (2, "empty line".to_owned()));
        assert_eq!(e.errors[1].0, 4);
        let long = format!("ok\n{}\nok2\n", "x".repeat(5000));
        let e = parse(&long).unwrap_err();
        assert_eq!((e.bad_lines, e.errors[0].0), (1, 2));
        let exact = "y".repeat(1024);
        assert_eq!(parse(&exact).unwrap(), std::slice::from_ref(&exact));
        let e = parse_id_list(&b"a\xff\n"[..], IdListLimits::default()).unwrap_err();
        assert_eq!(e.errors[0], (1, "not UTF-8".to_owned()));
        let few = IdListLimits {
            max_ids: 2,
            ..IdListLimits::default()
        };
        assert!(parse_id_list(&b"a\nb\nc\n"[..], few).is_err());
        assert!(parse_id_list(&b"a\nb\n"[..], few).is_ok());
    }
}
