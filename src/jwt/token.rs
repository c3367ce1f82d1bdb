//! Compact-JWS parsing and header checks (RFC 7515 §5.2, RFC 8725 §3).
//! Pure: no keys, no clock, no I/O.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;

use crate::error::{Rejection, RejectionKind};
use crate::jwt::json::{self, Header, Member};

/// Which kind of JWT the caller expects (RFC 8725 §3.11 explicit typing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expected {
    /// An ID token: `typ` absent, `JWT` or `application/jwt`.
    Id,
    /// A back-channel logout token: `typ` absent or `logout+jwt`.
    Logout,
    /// An RFC 9068 access token: `typ` must be `at+jwt` (§4).
    Access,
    /// A Security Event Token from a Shared Signals transmitter: `typ`
    /// must be `secevent+jwt` (RFC 8417 §2.3, SSF 1.0 §4.1.1).
    SecEvent,
}

/// A token whose shape and header passed; its signature is not checked yet.
#[derive(Debug)]
pub(crate) struct ParsedToken<'a> {
    pub alg: Algorithm,
    pub kid: Option<String>,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the signed bytes.
    pub signing_input: &'a str,
    pub payload_b64: &'a str,
    pub signature: Vec<u8>,
}

fn malformed(msg: impl Into<std::borrow::Cow<'static, str>>) -> Rejection {
    Rejection::new(RejectionKind::MalformedToken, msg)
}

pub(crate) fn b64(part: &str, what: &'static str) -> Result<Vec<u8>, Rejection> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| malformed(format!("{what} is not base64url without padding")))
}

/// Steps 1-3 of the pipeline: size, compact shape, header.
pub(crate) fn parse<'a>(
    token: &'a str,
    max_bytes: usize,
    allowed: &[Algorithm],
    expected: Expected,
) -> Result<ParsedToken<'a>, Rejection> {
    // RFC 8725 §3.12 (resource limits): refuse oversize input before decoding any of it.
    if token.len() > max_bytes {
        return Err(malformed(format!("token is longer than {max_bytes} bytes")));
    }
    // RFC 7515 §7.1: compact serialization is exactly three dot-separated parts
    // (five would be a JWE, which ID tokens for us are not).
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "not a compact JWS (expected three dot-separated parts)",
        ));
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(malformed("empty JWS part"));
    }
    let header_bytes = b64(h, "header")?;
    let header = json::parse_header(&header_bytes)
        .map_err(|e| malformed(format!("header is not a JSON object: {e}")))?;
    let (alg, kid) = check_header(&header, allowed, expected)?;
    let signature = b64(s, "signature")?;
    Ok(ParsedToken {
        alg,
        kid,
        signing_input: &token[..h.len() + 1 + p.len()],
        payload_b64: p,
        signature,
    })
}

/// Header checks, in order: `alg`, `crit`, `typ`, `kid`.
/// `jku`, `x5u`, `jwk` and `x5c` are ignored: keys come only from the
/// issuer's JWKS (RFC 8725 §3.10 - never fetch or trust what a token names).
fn check_header(
    header: &Header<'_>,
    allowed: &[Algorithm],
    expected: Expected,
) -> Result<(Algorithm, Option<String>), Rejection> {
    // RFC 8725 §3.1 / OIDC Core 3.1.3.7 step 7: alg must be one we expect;
    // `none` (any case) and HS* never are.
    let alg_name: &str = match &header.alg {
        Some(Member::Str(a)) => a,
        Some(Member::Other) => return Err(malformed("alg is not a string")),
        None => return Err(malformed("header has no alg")),
    };
    let alg = crate::jwt::alg::algorithm_named(alg_name)
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| {
            Rejection::new(
                RejectionKind::UnsupportedAlgorithm,
                format!("alg {:?} is not allowed", truncate(alg_name)),
            )
        })?;
    // RFC 7515 §4.1.11: we understand no extension, so any `crit` is a reject.
    if header.crit {
        return Err(malformed("crit header parameter is not supported"));
    }
    // RFC 8725 §3.11: explicit typing. An ID token is untyped or `JWT`;
    // `at+jwt` (RFC 9068) and `logout+jwt` are other kinds of token, and a
    // logout token (Back-Channel Logout §2.4) is untyped or `logout+jwt`.
    let typ_ok = |t: &str| {
        let t = t.strip_prefix("application/").unwrap_or(t);
        match expected {
            Expected::Id => t.eq_ignore_ascii_case("JWT"),
            Expected::Logout => t.eq_ignore_ascii_case("logout+jwt"),
            Expected::Access => t.eq_ignore_ascii_case("at+jwt"),
            Expected::SecEvent => t.eq_ignore_ascii_case("secevent+jwt"),
        }
    };
    match &header.typ {
        // RFC 9068 §4: an access token without `typ: at+jwt` is refused.
        None if expected == Expected::Access => {
            return Err(Rejection::new(
                RejectionKind::InvalidTokenType,
                "an access token must have typ at+jwt (RFC 9068)",
            ));
        }
        // SSF 1.0 §4.1.1: SETs MUST be explicitly typed.
        None if expected == Expected::SecEvent => {
            return Err(Rejection::new(
                RejectionKind::InvalidTokenType,
                "a Security Event Token must have typ secevent+jwt (SSF 1.0 §4.1.1)",
            ));
        }
        None => {}
        Some(Member::Str(t)) if typ_ok(t) => {}
        Some(Member::Str(t)) => {
            return Err(Rejection::new(
                RejectionKind::InvalidTokenType,
                format!("typ {:?} is not expected here", truncate(t)),
            ));
        }
        Some(Member::Other) => return Err(malformed("typ is not a string")),
    }
    let kid = match &header.kid {
        None => None,
        Some(Member::Str(k)) => Some(k.to_string()),
        Some(Member::Other) => return Err(malformed("kid is not a string")),
    };
    Ok((alg, kid))
}

/// Bounds what attacker-chosen text we echo into messages and logs.
pub(crate) fn truncate(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        format!("{}...", s.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[Algorithm] = &crate::jwt::alg::SUPPORTED_ALGORITHMS;

    fn tok(header: &str) -> String {
        format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(header))
    }

    fn code(token: &str) -> &'static str {
        parse(token, 16 * 1024, ALL, Expected::Id)
            .unwrap_err()
            .code()
    }

    #[test]
    fn shapes() {
        assert_eq!(code("a.b"), "malformed_token");
        assert_eq!(code("a.b.c.d.e"), "malformed_token");
        assert_eq!(code(".."), "malformed_token");
        assert_eq!(code("!!.e30.c2ln"), "malformed_token");
        assert_eq!(code(&tok("[]")), "malformed_token");
        assert_eq!(code(&"a".repeat(16 * 1024 + 1)), "malformed_token");
        // padding is not base64url-without-padding
        assert_eq!(code("eyJhbGciOiJSUzI1NiJ9=.e30.c2ln"), "malformed_token");
        assert_eq!(code("eyJhbGciOiJSUzI1NiJ9.e30.c2ln="), "malformed_token");
    }

    #[test]
    fn alg_checks() {
        for alg in [
            "none", "None", "NONE", "HS256", "rs256", "RSA-OAEP", "ES512",
        ] {
            assert_eq!(
                code(&tok(&format!(r#"{{"alg":"{alg}"}}"#))),
                "unsupported_algorithm",
                "{alg}"
            );
        }
        assert_eq!(code(&tok(r#"{"alg":1}"#)), "malformed_token");
        assert_eq!(code(&tok(r#"{}"#)), "malformed_token");
        let only_rs = parse(
            &tok(r#"{"alg":"ES256"}"#),
            1000,
            &[Algorithm::RS256],
            Expected::Id,
        )
        .unwrap_err();
        assert_eq!(only_rs.code(), "unsupported_algorithm");
    }

    #[test]
    fn crit_typ_kid() {
        assert_eq!(
            code(&tok(r#"{"alg":"RS256","crit":["exp"],"exp":1}"#)),
            "malformed_token"
        );
        assert_eq!(
            code(&tok(r#"{"alg":"RS256","typ":"at+jwt"}"#)),
            "invalid_token_type"
        );
        assert_eq!(
            code(&tok(r#"{"alg":"RS256","typ":"logout+jwt"}"#)),
            "invalid_token_type"
        );
        assert_eq!(code(&tok(r#"{"alg":"RS256","kid":7}"#)), "malformed_token");
        assert_eq!(
            code(&tok(r#"{"alg":"RS256","alg":"none"}"#)),
            "malformed_token"
        );
        let ok = tok(r#"{"alg":"RS256","typ":"jwt","kid":"k1","jku":"https://evil"}"#);
        let p = parse(&ok, 1000, ALL, Expected::Id).unwrap();
        assert_eq!((p.alg, p.kid.as_deref()), (Algorithm::RS256, Some("k1")));
        assert_eq!(p.payload_b64, "e30");
        assert_eq!(p.signature, b"sig");
        let logout = tok(r#"{"alg":"RS256","typ":"logout+jwt"}"#);
        assert!(parse(&logout, 1000, ALL, Expected::Logout).is_ok());
        let as_id = parse(&logout, 1000, ALL, Expected::Id).unwrap_err();
        assert_eq!(as_id.code(), "invalid_token_type");
        let jwt = tok(r#"{"alg":"RS256","typ":"JWT"}"#);
        let jwt = parse(&jwt, 1000, ALL, Expected::Logout).unwrap_err();
        assert_eq!(jwt.code(), "invalid_token_type");
    }
}
