//! The original request's path, as every server in front of or behind the
//! gate might read it, and the route patterns it is matched against.
//!
//! A path is matched as segments: percent-decoded once, empty segments
//! (`//`, a trailing `/`) and `.` dropped, `..` removing the segment before
//! it, ASCII letters lower-cased, the query and fragment ignored. Where
//! servers disagree on a reading (an encoded `/` that splits a segment or
//! not, `\` as a separator, `;path-parameters` stripped, a second decoding,
//! `%2e%2e` as `..`) the gate computes every reading and, when they pick
//! different routes, denies the request ([`super::Refusal::Ambiguous`]).
//! What no reading can make safe is refused outright ([`PathError`]).

use std::fmt;

/// Why a request's path is refused before any route is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// Longer than the policy's `max_uri_bytes`.
    TooLong,
    /// More segments than the policy's `max_segments`.
    TooManySegments,
    /// Not origin-form (`/...`): absolute-form, `*`, or empty.
    NotOriginForm,
    /// A raw byte that cannot be in a request target (space, control,
    /// non-ASCII).
    InvalidByte,
    /// `%` not followed by two hex digits.
    BadPercentEncoding,
    /// Decodes to something that is not UTF-8 or holds a control character
    /// (`%00`, `%0a`, ...).
    BadDecodedByte,
    /// `..` above the root: servers disagree on what it means.
    AboveRoot,
    /// Decodes to non-ASCII text, which servers may fold (Unicode case,
    /// NFKC) onto an ASCII route; allowed with `[limits] allow_non_ascii`.
    NonAscii,
    /// Decodes (once, or a second time: `%253F`) to `?` or `#` inside a
    /// segment (`/admin%3F/x`): a server or framework that decodes before
    /// splitting off the query reads the path as ending there, as with a
    /// raw `#` ([`PathError::InvalidByte`]).
    EncodedDelimiter,
}

impl PathError {
    /// A short reason, for logs and the 403's message.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TooLong => "the original URI is longer than max_uri_bytes",
            Self::TooManySegments => "the original path has more segments than max_segments",
            Self::NotOriginForm => "the original URI is not a path starting with /",
            Self::InvalidByte => "the original URI holds a byte that is not allowed in a URI",
            Self::BadPercentEncoding => "the original path has a malformed percent-encoding",
            Self::BadDecodedByte => {
                "the original path decodes to a control character or invalid UTF-8"
            }
            Self::AboveRoot => "the original path goes above the root with ..",
            Self::NonAscii => {
                "the original path decodes to non-ASCII text (allow it with [limits] allow_non_ascii)"
            }
            Self::EncodedDelimiter => {
                "the original path holds an encoded ? or # (%3F, %23, or encoded twice), which \
                 servers read as the end of the path or as part of a segment"
            }
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Limits on a request path, from the policy's `[limits]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathLimits {
    /// Longest original URI accepted, in bytes (default 8 KiB).
    pub max_uri_bytes: usize,
    /// Most segments in a path (default 128).
    pub max_segments: usize,
    /// Accept paths that decode to non-ASCII text (default false: servers
    /// that fold Unicode could read `/%C5%BFecret` as `/secret`).
    pub allow_non_ascii: bool,
}

impl Default for PathLimits {
    fn default() -> Self {
        Self {
            max_uri_bytes: 8 * 1024,
            max_segments: 128,
            allow_non_ascii: false,
        }
    }
}

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
pub(super) fn path_part(uri: &str, limits: PathLimits) -> Result<&str, PathError> {
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
/// with [`PathPattern::matches`], which ignores ASCII case). `None` when
/// the path needs [`readings`]. The common case, without copying.
pub fn plain(uri: &str, limits: PathLimits) -> Result<Option<Vec<&str>>, PathError> {
    plain_path(path_part(uri, limits)?, limits)
}

/// [`plain`] of a path already checked by `path_part`.
pub(super) fn plain_path(path: &str, limits: PathLimits) -> Result<Option<Vec<&str>>, PathError> {
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
pub(super) fn unplain_readings(
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

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn has_escape(s: &str) -> bool {
    s.as_bytes()
        .windows(3)
        .any(|w| w[0] == b'%' && hex(w[1]).is_some() && hex(w[2]).is_some())
}

/// Percent-decodes a segment; `%` must start a valid escape.
fn decode(s: &str) -> Result<String, PathError> {
    decode_with(s, true)
}

/// The second decoding: a `%` that starts no escape stays as it is (that
/// is how a server decoding twice reads it).
fn decode_lenient(s: &str) -> Result<String, PathError> {
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

/// One segment of a route's `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Literal(String),
    /// `*`: exactly one segment, whatever it is.
    Any,
}

impl fmt::Display for Seg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(l) => f.write_str(l),
            Self::Any => f.write_str("*"),
        }
    }
}

/// A route's `path`: `/a/b` (exactly), `/a/*/c` (`*` is one segment),
/// `/a/**` (`/a` and everything below it). Literals are compared like
/// request segments: decoded, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    segs: Vec<Seg>,
    /// Ends in `/**`.
    rest: bool,
}

impl PathPattern {
    /// Parses a route's `path`, or says what is wrong with it.
    pub fn parse(s: &str) -> Result<Self, String> {
        if !s.starts_with('/') {
            return Err("a path starts with /".into());
        }
        if s.len() > 1 && s.ends_with('/') {
            return Err(
                "a trailing / is ignored in matching (/a/ is /a); write the path without it, \
                 or /a/** for everything below"
                    .into(),
            );
        }
        let mut segs = Vec::new();
        let mut rest = false;
        let parts: Vec<&str> = if s == "/" {
            Vec::new()
        } else {
            s[1..].split('/').collect()
        };
        for (i, p) in parts.iter().enumerate() {
            match *p {
                "" => return Err("an empty segment (//) never matches: remove it".into()),
                "." | ".." => return Err("dot segments are resolved before matching".into()),
                "**" if i + 1 == parts.len() => rest = true,
                "**" => return Err("** is only allowed as the last segment".into()),
                "*" => segs.push(Seg::Any),
                lit => {
                    if lit.contains('*') {
                        return Err(format!(
                            "{lit:?}: * matches a whole segment; partial wildcards are not supported"
                        ));
                    }
                    if lit.contains(['%', '?', '#', ';', '\\'])
                        || lit.bytes().any(|b| !(0x21..0x7f).contains(&b))
                    {
                        return Err(format!(
                            "{lit:?}: write segments decoded, without %, ?, #, ; or \\, spaces or \
                             non-ASCII"
                        ));
                    }
                    segs.push(Seg::Literal(lit.to_ascii_lowercase()));
                }
            }
        }
        Ok(Self { segs, rest })
    }

    /// Whether request segments ([`plain`] or one of the [`readings`])
    /// match; letters are compared without regard to ASCII case.
    pub fn matches<S: AsRef<str>>(&self, path: &[S]) -> bool {
        if self.rest {
            if path.len() < self.segs.len() {
                return false;
            }
        } else if path.len() != self.segs.len() {
            return false;
        }
        self.segs.iter().zip(path).all(|(s, p)| match s {
            Seg::Any => true,
            Seg::Literal(l) => l.eq_ignore_ascii_case(p.as_ref()),
        })
    }

    /// Ends in a one-segment `*` (`/admin/*`): then the bare prefix
    /// (`/admin`) and deeper paths (`/admin/a/b`) are not matched.
    pub(super) fn ends_in_one_segment(&self) -> bool {
        !self.rest && matches!(self.segs.last(), Some(Seg::Any))
    }

    /// The first segment, when it is a literal.
    pub(super) fn first_literal(&self) -> Option<&str> {
        match self.segs.first() {
            Some(Seg::Literal(l)) => Some(l),
            _ => None,
        }
    }

    /// Segments: the fixed ones (without a final `**`).
    pub(super) fn len(&self) -> usize {
        self.segs.len()
    }

    /// Ends in `/**`.
    pub(super) fn is_rest(&self) -> bool {
        self.rest
    }

    /// A path of the first `n` segments (at most), each `*` written `fill`.
    pub(super) fn example(&self, n: usize, fill: &str) -> Vec<String> {
        self.segs
            .iter()
            .take(n)
            .map(|s| match s {
                Seg::Literal(l) => l.clone(),
                Seg::Any => fill.to_owned(),
            })
            .collect()
    }

    /// Whether the first `n` segments of both are the same (a `*` is the
    /// same only as a `*`).
    pub(super) fn same_start(&self, other: &PathPattern, n: usize) -> bool {
        self.segs.len() >= n && other.segs.len() >= n && self.segs[..n] == other.segs[..n]
    }

    /// The pattern of the first `n` fixed segments, as written (`/` for none).
    pub(super) fn prefix(&self, n: usize) -> String {
        let p: String = self.segs.iter().take(n).map(|s| format!("/{s}")).collect();
        if p.is_empty() { "/".to_owned() } else { p }
    }

    /// Whether every path `other` matches is matched by `self` too.
    pub fn covers(&self, other: &PathPattern) -> bool {
        let seg_covers = |a: &Seg, b: &Seg| match (a, b) {
            (Seg::Any, _) => true,
            (Seg::Literal(x), Seg::Literal(y)) => x == y,
            (Seg::Literal(_), Seg::Any) => false,
        };
        if self.rest {
            other.segs.len() >= self.segs.len()
                && self
                    .segs
                    .iter()
                    .zip(&other.segs)
                    .all(|(a, b)| seg_covers(a, b))
        } else {
            !other.rest
                && other.segs.len() == self.segs.len()
                && self
                    .segs
                    .iter()
                    .zip(&other.segs)
                    .all(|(a, b)| seg_covers(a, b))
        }
    }
}

impl fmt::Display for PathPattern {
    /// As written, letters lower-cased.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segs.is_empty() && !self.rest {
            return f.write_str("/");
        }
        for s in &self.segs {
            write!(f, "/{s}")?;
        }
        if self.rest {
            f.write_str("/**")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(uri: &str) -> Vec<String> {
        let r = readings(uri, PathLimits::default()).unwrap();
        assert_eq!(r.len(), 1, "{uri}: {r:?}");
        r.into_iter().next().unwrap()
    }

    fn segs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ordinary_paths_have_one_reading() {
        assert_eq!(one("/Account//Delete/?x=1#f"), segs(&["account", "delete"]));
        assert_eq!(one("/a/./b/../c"), segs(&["a", "c"]));
        assert_eq!(one("/%61dmin"), segs(&["admin"]));
        assert_eq!(one("/"), Vec::<String>::new());
    }

    #[test]
    fn encoded_slash_never_splits_in_the_base_reading() {
        let r = readings("/files/a%2Fb", PathLimits::default()).unwrap();
        assert_eq!(r[0], segs(&["files", "a/b"]));
        assert!(r.contains(&segs(&["files", "a", "b"])));
    }

    #[test]
    fn tricks_have_all_their_readings() {
        let r = readings("/admin;x/delete", PathLimits::default()).unwrap();
        assert!(r.contains(&segs(&["admin", "delete"])), "{r:?}");
        let r = readings("/public/%2e%2e/admin", PathLimits::default()).unwrap();
        assert!(r.contains(&segs(&["admin"])) && r.contains(&segs(&["public", "..", "admin"])));
        let r = readings("/public/%252e%252e/admin", PathLimits::default()).unwrap();
        assert!(r.contains(&segs(&["admin"])), "{r:?}");
        let r = readings("/public\\..\\admin", PathLimits::default()).unwrap();
        assert!(r.contains(&segs(&["admin"])), "{r:?}");
    }

    #[test]
    fn what_no_reading_makes_safe_is_refused() {
        let l = PathLimits::default();
        assert_eq!(readings("/a/../..", l), Err(PathError::AboveRoot));
        assert_eq!(readings("/a%zz", l), Err(PathError::BadPercentEncoding));
        assert_eq!(readings("/a%00", l), Err(PathError::BadDecodedByte));
        assert_eq!(readings("/a%ff", l), Err(PathError::BadDecodedByte));
        assert_eq!(readings("http://x/a", l), Err(PathError::NotOriginForm));
        assert_eq!(readings("/a b", l), Err(PathError::InvalidByte));
        for uri in [
            "/admin%3F/x",
            "/admin%3f",
            "/a%23b",
            "/a%253Fb",
            "/a/%2523/b",
        ] {
            assert_eq!(readings(uri, l), Err(PathError::EncodedDelimiter), "{uri}");
        }
        assert_eq!(
            readings(&"/a".repeat(200), l),
            Err(PathError::TooManySegments)
        );
        assert_eq!(readings(&"/a".repeat(5000), l), Err(PathError::TooLong));
    }

    #[test]
    fn patterns() {
        let p = PathPattern::parse("/users/*/delete").unwrap();
        assert!(p.matches(&segs(&["users", "7", "delete"])));
        assert!(!p.matches(&segs(&["users", "delete"])));
        let all = PathPattern::parse("/admin/**").unwrap();
        assert!(all.matches(&segs(&["admin"])) && all.matches(&segs(&["admin", "x", "y"])));
        assert!(!all.covers(&p) && all.covers(&PathPattern::parse("/admin/*").unwrap()));
        assert!(PathPattern::parse("/**").unwrap().covers(&all));
        assert!(!p.covers(&PathPattern::parse("/users/**").unwrap()));
        for bad in ["a", "/a/", "/a//b", "/a/**/b", "/a*", "/a%20", "/./a"] {
            assert!(PathPattern::parse(bad).is_err(), "{bad}");
        }
    }
}
