//! The `htu` comparison form (RFC 9449 §4.3 step 9): an `http`/`https` URL
//! without query and fragment, with RFC 3986 §6.2.2 syntax-based and
//! §6.2.3 scheme-based normalisation, so a proof and the request it rides
//! on are compared the same way on both sides.

use url::Url;

use crate::jwt::token::truncate;
use crate::verify::dpop::error::DpopError;

/// `url` in the form `htu` values are compared in:
/// - RFC 3986 §6.2.2.1: scheme and host in lower case (IDNs as A-labels,
///   IP addresses in their canonical text), percent-encodings with upper
///   case hex digits;
/// - RFC 3986 §6.2.2.2: percent-encoded unreserved characters decoded;
/// - RFC 3986 §6.2.2.3: dot segments removed (`%2E` spellings included);
/// - RFC 3986 §6.2.3: the scheme's default port removed, an empty path as `/`;
/// - RFC 9449 §4.3 step 9: no query, no fragment.
///
/// Refused: schemes other than `http` and `https`, user information (RFC
/// 9110 §4.2.4), and white space, control characters or `\` anywhere (a
/// URL parser would quietly drop or rewrite them).
pub(crate) fn normalize_htu(url: &str) -> Result<String, DpopError> {
    if url.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'\\') {
        return Err(DpopError::invalid(
            "htu contains white space, a control character or a backslash",
        ));
    }
    let parsed = Url::parse(url)
        .map_err(|e| DpopError::invalid(format!("htu {:?} is not a URL: {e}", truncate(url))))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(DpopError::invalid(format!(
            "htu {:?} is not an http or https URL",
            truncate(url)
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(DpopError::invalid("htu must not carry user information"));
    }
    let Some(host) = parsed.host_str() else {
        return Err(DpopError::invalid("htu has no host"));
    };
    // `Url` already lower-cased the scheme and host, dropped the default
    // port, removed dot segments and made an empty path `/`.
    let mut out = String::with_capacity(url.len());
    out.push_str(parsed.scheme());
    out.push_str("://");
    out.push_str(host);
    if let Some(port) = parsed.port() {
        out.push(':');
        out.push_str(&port.to_string());
    }
    normalize_percent_encoding(parsed.path(), &mut out);
    Ok(out)
}

/// RFC 3986 §6.2.2.1 and §6.2.2.2 over a path `Url` has already encoded:
/// `%xx` of an unreserved character becomes the character, every other
/// `%xx` gets upper-case hex digits.
fn normalize_percent_encoding(path: &str, out: &mut String) {
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let escape = match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => hex(hi).zip(hex(lo)).map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match escape {
            Some(byte) if is_unreserved(byte) => {
                out.push(char::from(byte));
                i += 3;
            }
            Some(_) => {
                out.push('%');
                out.push(char::from(bytes[i + 1].to_ascii_uppercase()));
                out.push(char::from(bytes[i + 2].to_ascii_uppercase()));
                i += 3;
            }
            None => {
                // `Url` serialises a path as ASCII only, so each byte is a char.
                out.push(char::from(bytes[i]));
                i += 1;
            }
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// RFC 3986 §2.3: `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

#[cfg(test)]
mod tests {
    use super::normalize_htu;
    use proptest::prelude::*;

    fn n(url: &str) -> String {
        normalize_htu(url).unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    #[test]
    fn rfc_3986_equivalents_compare_equal() {
        let canonical = "https://api.example.com/a/b~c";
        for same in [
            "https://api.example.com/a/b~c",
            "HTTPS://API.Example.COM/a/b~c",
            "https://api.example.com:443/a/b~c",
            "https://api.example.com/a/b%7Ec",
            "https://api.example.com/a/b%7ec",
            "https://api.example.com/x/../a/./b~c",
            "https://api.example.com/x/%2E%2E/a/%2e/b~c",
            "https://api.example.com/a/b~c?query=1",
            "https://api.example.com/a/b~c#frag",
            "https://api.example.com/a/b~c?q#f",
        ] {
            assert_eq!(n(same), canonical, "{same}");
        }
        assert_eq!(n("http://h.example"), "http://h.example/");
        assert_eq!(n("http://h.example:80/"), "http://h.example/");
        assert_eq!(n("http://h.example:8080/p"), "http://h.example:8080/p");
        assert_eq!(n("https://h.example:80/p"), "https://h.example:80/p");
        assert_eq!(
            n("https://h.example/%2f%c3%a9"),
            "https://h.example/%2F%C3%A9"
        );
        assert_eq!(n("https://h.example/é"), "https://h.example/%C3%A9");
        assert_eq!(n("http://[0:0:0::1]:80/"), "http://[::1]/");
        assert_eq!(n("http://0x7F.1/"), "http://127.0.0.1/");
        assert_eq!(
            n("https://BÜCHER.example/"),
            "https://xn--bcher-kva.example/"
        );
    }

    #[test]
    fn differences_that_matter_stay_different() {
        assert_ne!(n("https://h.example/a"), n("http://h.example/a"));
        assert_ne!(n("https://h.example/a"), n("https://h.example/A"));
        assert_ne!(n("https://h.example/a"), n("https://h.example:8443/a"));
        assert_ne!(n("https://h.example/a"), n("https://h.example/a/"));
        assert_ne!(n("https://h.example/a%2Fb"), n("https://h.example/a/b"));
        assert_ne!(n("https://h.example/a"), n("https://g.example/a"));
    }

    #[test]
    fn refusals() {
        for bad in [
            "",
            "/relative/path",
            "ftp://h.example/",
            "file:///etc/passwd",
            "urn:x:y",
            "https://user:pw@h.example/",
            "https://user@h.example/",
            "https://h.example/a b",
            " https://h.example/",
            "https://h.example/\t",
            "https://h.example\\a",
            "https://h.example/\u{7f}",
            "https://",
            "https://h.example:99999/",
        ] {
            let e = normalize_htu(bad).unwrap_err();
            assert_eq!(e.code(), "invalid_dpop_proof", "{bad}");
        }
    }

    proptest! {
        #[test]
        fn idempotent_on_arbitrary_strings(s in "\\PC{0,80}") {
            if let Ok(once) = normalize_htu(&s) {
                prop_assert_eq!(normalize_htu(&once).ok(), Some(once.clone()));
            }
        }

        #[test]
        fn idempotent_on_urls(
            s in "(?i)(https?)://([a-z0-9.-]{1,12}|\\[::[0-9a-f]{1,4}\\]|[0-9]{1,3}(\\.[0-9]{1,3}){3})(:[0-9]{1,5})?(/([a-zA-Z0-9._~!$&'()*+,;=:@é-]|%[0-9a-fA-F]{2}|\\.\\.?){0,6}){0,5}(\\?[a-z=&%]{0,8})?(#[a-z%]{0,5})?"
        ) {
            if let Ok(once) = normalize_htu(&s) {
                prop_assert_eq!(normalize_htu(&once).ok(), Some(once.clone()));
                prop_assert!(!once.contains(['?', '#']));
            }
        }
    }
}
