//! The request's method, and the ways some frameworks let a request
//! choose another one (RFC 9110 §9.1 methods; the `X-HTTP-Method-Override`
//! family and `_method`), which the gate refuses where routes are chosen
//! by method.

use std::borrow::Cow;

/// Method-override headers some frameworks honour: forwarded to the gate
/// by the proxy guides, and refused where routes are chosen by method.
pub const METHOD_OVERRIDE_HEADERS: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];
/// Query parameters some frameworks read as the request's method, refused
/// (like [`METHOD_OVERRIDE_HEADERS`]) where routes are chosen by method:
/// `_method`, honoured in the query string by Symfony and Laravel, Express's
/// `method-override('_method')`, Jersey's `HttpMethodOverrideFilter` (and
/// as `_METHOD` by Slim). A name is compared as those frameworks read it:
/// percent-decoded (once, and a second time), `+` as a space, without
/// regard to case, and as PHP reads names (leading spaces dropped, ` ` and
/// `.` as `_`, `_method[]` as `_method`).
pub const METHOD_OVERRIDE_PARAMS: [&str; 1] = ["_method"];

/// Whether the query of `uri` (after the first `?`) names one of
/// [`METHOD_OVERRIDE_PARAMS`]. Pairs are split on `&` and `;` (both are
/// separators to some servers); a `#` is not an end (it is never sent).
/// The query is read raw, decoded once and decoded twice, then split: a
/// name as any framework reads it (`%5Fmethod`), and a parameter as a
/// server that decodes before splitting reads it (`q=%26_method%3DPUT`).
pub(super) fn query_overrides_method(uri: &str) -> bool {
    let Some((_, query)) = uri.split_once('?') else {
        return false;
    };
    let mut current = Cow::Borrowed(query);
    for _ in 0..3 {
        let names = current
            .split(['&', ';'])
            .map(|pair| pair.split('=').next().unwrap_or(""));
        if names.into_iter().any(is_override_name) {
            return true;
        }
        match decode_query(&current) {
            Some(next) => current = Cow::Owned(next),
            None => break,
        }
    }
    false
}

/// A decoded query name as PHP, Rack and Express compare it.
fn is_override_name(name: &str) -> bool {
    // PHP drops leading spaces, ends the name at NUL, and reads
    // `_method[]` / `_method[x]` as the array `_method`.
    let name = name.trim_start_matches(' ');
    let name = name.split(['[', '\0']).next().unwrap_or("");
    // PHP turns ` ` and `.` in names into `_`.
    let folded: String = name
        .chars()
        .map(|c| match c {
            ' ' | '.' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    METHOD_OVERRIDE_PARAMS.contains(&folded.as_str())
}

/// One form-decoding of a query name (`+` is a space; a `%` that starts no
/// escape stays); `None` when nothing changes.
fn decode_query(s: &str) -> Option<String> {
    if !s.contains(['%', '+']) {
        return None;
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |j: usize| b.get(j).and_then(|&c| (c as char).to_digit(16));
        match b[i] {
            b'%' => {
                if let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) {
                    out.push((h << 4 | l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// An upper-case token of at most 32 letters, `-` or `_`.
pub(super) fn valid_method(m: &str) -> bool {
    !m.is_empty()
        && m.len() <= 32
        && m.bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
}
