//! Where a finished step-up sends the browser: a path of this app, never
//! anywhere else (an open redirect would turn the issuer's login page into
//! a phishing hop).

use super::error::StepUpError;

/// The longest `return_to` accepted, in bytes (it rides in the pending
/// cookie).
pub const MAX_RETURN_TO_BYTES: usize = 1024;

/// Where a refused request returns after logging in: `uri` (a path and
/// query) when [`check_return_to`] accepts it, else its path alone (the
/// query made it too long or odd), else `/`.
pub fn return_place(uri: &str) -> &str {
    let path = uri.split('?').next().unwrap_or_default();
    check_return_to(uri)
        .or_else(|_| check_return_to(path))
        .unwrap_or("/")
}

/// Checks that `raw` is an origin-relative path of this app: it starts
/// with one `/` (not `//` or `/\`, which browsers read as another host),
/// holds printable ASCII only (no spaces, controls, backslashes or
/// non-ASCII that a browser might rewrite), and is at most
/// [`MAX_RETURN_TO_BYTES`] long; its path has no empty segment (`//`) and
/// no dot segment (`.`, `..`, or their `%2e` forms), so nothing that
/// normalises it later can turn it into `//host`. As a second, independent check the URL
/// parser browsers follow (WHATWG, the `url` crate) must resolve it to the
/// same origin.
pub fn check_return_to(raw: &str) -> Result<&str, StepUpError> {
    if raw.is_empty() {
        return Err(StepUpError::InvalidReturnTo("it is empty"));
    }
    if raw.len() > MAX_RETURN_TO_BYTES {
        return Err(StepUpError::InvalidReturnTo("it is longer than 1024 bytes"));
    }
    let bytes = raw.as_bytes();
    if bytes[0] != b'/' {
        return Err(StepUpError::InvalidReturnTo("it does not start with /"));
    }
    if matches!(bytes.get(1), Some(b'/' | b'\\')) {
        return Err(StepUpError::InvalidReturnTo(
            "it starts with // or /\\, which names another host",
        ));
    }
    if !bytes.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(StepUpError::InvalidReturnTo(
            "it holds a space, a control or a non-ASCII character",
        ));
    }
    if bytes.contains(&b'\\') {
        return Err(StepUpError::InvalidReturnTo("it holds a backslash"));
    }
    let path = raw.split(['?', '#']).next().unwrap_or_default();
    let dots = |seg: &str| {
        let seg = seg.to_ascii_lowercase().replace("%2e", ".");
        seg == "." || seg == ".."
    };
    if path.contains("//") || path.split('/').any(dots) {
        return Err(StepUpError::InvalidReturnTo(
            "its path has an empty or a dot segment",
        ));
    }
    const BASE: &str = "https://app.reauth.invalid/";
    let base = url::Url::parse(BASE).map_err(|_| StepUpError::InvalidReturnTo("internal"))?;
    match base.join(raw) {
        Ok(u) if u.origin() == base.origin() && u.username().is_empty() => Ok(raw),
        _ => Err(StepUpError::InvalidReturnTo(
            "it resolves to another origin",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_of_this_app() {
        for ok in [
            "/",
            "/account/delete",
            "/a?b=c&d=%2F%2Fe",
            "/a#frag",
            "/a?x=//y",
            "/a.b/.c",
        ] {
            assert_eq!(check_return_to(ok).ok(), Some(ok), "{ok}");
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "\\\\evil.example",
            "/a\\b",
            "evil.example",
            "javascript:alert(1)",
            "/a b",
            "/a\tb",
            "/\u{e9}",
            " /a",
            "/a\r\nSet-Cookie: x=y",
            "/..//x",
            "/a//b",
            "/a/../b",
            "/./a",
            "/%2e%2E/a",
            "/.%2e",
            "/a/.",
        ] {
            assert!(check_return_to(bad).is_err(), "{bad:?}");
        }
        assert!(check_return_to(&format!("/{}", "a".repeat(MAX_RETURN_TO_BYTES))).is_err());
    }
}
