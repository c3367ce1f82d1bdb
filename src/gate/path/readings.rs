//! The readings of a path: the plain one, and every way servers are
//! known to differ in reading one that holds `%`, `\\` or `;`.

use super::decode::{decode, decode_lenient, has_escape};
use super::error::{PathError, PathLimits};

/// The ways servers are known to differ in reading a path. Each is applied
/// only when the path has what it acts on, so an ordinary path has one
/// reading.
#[derive(Clone, Copy)]
enum Variant {
    /// `%2F` (or `%5C`) separates segments (the reading of servers that
    /// decode before routing; the base reading keeps it inside its segment).
    EncodedSlashSplits = 1,
    /// `\` separates segments (Windows servers, some frameworks).
    BackslashSplits = 2,
    /// `;params` at the end of a segment are dropped (Servlet containers:
    /// `/admin;x/` is `/admin/`).
    ParamsStripped = 4,
    /// The path is percent-decoded a second time (`%252F` is `/`).
    DecodedTwice = 8,
    /// An encoded dot segment (`%2e%2e`) is a literal name, not `..`.
    EncodedDotsLiteral = 16,
}

/// The path part of an origin-form URI, checked for what every reading
/// refuses.
pub(crate) fn path_part(uri: &str, limits: PathLimits) -> Result<&str, PathError> {
    if uri.len() > limits.max_uri_bytes {
        return Err(PathError::TooLong);
    }
    let path = uri.split('?').next().unwrap_or("");
    if !path.starts_with('/') {
        return Err(PathError::NotOriginForm);
    }
    // `#` is never part of a request-target (RFC 9112 §3.2); a proxy that
    // forwards it raw leaves servers to disagree on what follows it.
    if path
        .bytes()
        .any(|b| !(0x21..0x7f).contains(&b) || b == b'#')
    {
        return Err(PathError::InvalidByte);
    }
    Ok(path)
}

/// The one reading of a path that servers cannot read differently (no
/// `%`, `\` or `;`), as borrowed segments, not lower-cased (compare them
/// with [`PathPattern::matches`](super::PathPattern::matches), which ignores ASCII case). `None` when
/// the path needs [`readings`]. The common case, without copying.
pub fn plain(uri: &str, limits: PathLimits) -> Result<Option<Vec<&str>>, PathError> {
    plain_path(path_part(uri, limits)?, limits)
}

/// [`plain`] of a path already checked by `path_part`.
pub(crate) fn plain_path(path: &str, limits: PathLimits) -> Result<Option<Vec<&str>>, PathError> {
    if path.contains(['%', '\\', ';']) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(8);
    for (i, seg) in path.split('/').enumerate() {
        if i > limits.max_segments {
            return Err(PathError::TooManySegments);
        }
        match seg {
            "" | "." => {}
            ".." => {
                if out.pop().is_none() {
                    return Err(PathError::AboveRoot);
                }
            }
            s => out.push(s),
        }
    }
    Ok(Some(out))
}

/// Every reading of an original URI (path plus optional query), each as
/// normalised segments. Usually one; at most 32.
pub fn readings(uri: &str, limits: PathLimits) -> Result<Vec<Vec<String>>, PathError> {
    if let Some(segments) = plain(uri, limits)? {
        return Ok(vec![
            segments.iter().map(|s| s.to_ascii_lowercase()).collect(),
        ]);
    }
    unplain_readings(path_part(uri, limits)?, limits)
}

/// [`readings`] of a checked path that [`plain`] turned down (it holds `%`,
/// `\` or `;`).
pub(crate) fn unplain_readings(
    path: &str,
    limits: PathLimits,
) -> Result<Vec<Vec<String>>, PathError> {
    let raw: Vec<&str> = path.split('/').collect();
    if raw.len() > limits.max_segments + 1 {
        return Err(PathError::TooManySegments);
    }
    // Decoding once is every server's reading; check it before anything.
    let decoded: Vec<String> = raw.iter().map(|s| decode(s)).collect::<Result<_, _>>()?;
    if !limits.allow_non_ascii && !decoded.iter().all(|s| s.is_ascii()) {
        return Err(PathError::NonAscii);
    }
    let mut joined = decoded.concat();
    // What a second decoding yields counts too (`..%252F` is `../` to a
    // server that decodes twice).
    if has_escape(&joined) {
        for s in &decoded {
            joined.push('/');
            joined.push_str(&decode_lenient(s)?);
        }
    }
    let mut present = 0u8;
    let twice_splits = has_escape(&decoded.concat())
        && decoded
            .iter()
            .any(|s| decode_lenient(s).is_ok_and(|t| t.contains(['/', '\\'])));
    if decoded.iter().any(|s| s.contains(['/', '\\'])) || twice_splits {
        present |= Variant::EncodedSlashSplits as u8;
    }
    if joined.contains('\\') {
        present |= Variant::BackslashSplits as u8;
    }
    if joined.contains(';') {
        present |= Variant::ParamsStripped as u8;
    }
    if has_escape(&joined) {
        present |= Variant::DecodedTwice as u8;
    }
    if raw.iter().any(|s| is_encoded_dots(s)) {
        present |= Variant::EncodedDotsLiteral as u8;
    }
    let mut out: Vec<Vec<String>> = Vec::new();
    // Every subset of the variants that apply (at most 2^5 readings).
    for combo in 0u8..32 {
        if combo & !present != 0 {
            continue;
        }
        let reading = read(&raw, combo, limits)?;
        if !out.contains(&reading) {
            out.push(reading);
        }
    }
    Ok(out)
}

fn on(combo: u8, v: Variant) -> bool {
    combo & v as u8 != 0
}

/// One reading: `raw` segments under the variants in `combo`.
fn read(raw: &[&str], combo: u8, limits: PathLimits) -> Result<Vec<String>, PathError> {
    let mut out: Vec<String> = Vec::new();
    for seg in raw {
        let mut s = decode(seg)?;
        if on(combo, Variant::DecodedTwice) {
            s = decode_lenient(&s)?;
        }
        let literal_dots = on(combo, Variant::EncodedDotsLiteral) && is_encoded_dots(seg);
        let mut parts: Vec<String> = vec![s];
        if on(combo, Variant::EncodedSlashSplits) {
            parts = parts
                .iter()
                .flat_map(|p| p.split(['/', '\\']).map(str::to_owned).collect::<Vec<_>>())
                .collect();
        }
        if on(combo, Variant::BackslashSplits) {
            parts = parts
                .iter()
                .flat_map(|p| p.split('\\').map(str::to_owned).collect::<Vec<_>>())
                .collect();
        }
        for mut p in parts {
            if on(combo, Variant::ParamsStripped)
                && let Some(i) = p.find(';')
            {
                p.truncate(i);
            }
            match p.as_str() {
                "" => {}
                "." if !literal_dots => {}
                ".." if !literal_dots => {
                    if out.pop().is_none() {
                        return Err(PathError::AboveRoot);
                    }
                }
                _ => out.push(p.to_ascii_lowercase()),
            }
        }
        if out.len() > limits.max_segments {
            return Err(PathError::TooManySegments);
        }
    }
    Ok(out)
}

fn is_encoded_dots(raw: &str) -> bool {
    raw.contains('%') && matches!(decode(raw).as_deref(), Ok(".") | Ok(".."))
}
