//! The `iss` of a token read before anything is verified, only to choose
//! the verifier that then checks everything.

use crate::error::{Rejection, RejectionKind};

fn quick_iss(payload: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"iss\":\"";
    let start = payload.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &payload[start..];
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    (rest[end] == b'"')
        .then(|| std::str::from_utf8(&rest[..end]).ok())
        .flatten()
}

/// The `iss` of a compact JWS, unverified: only for choosing a verifier.
pub(super) fn unverified_issuer(token: &str, max_bytes: usize) -> Result<String, Rejection> {
    let malformed = |m: &'static str| Rejection::new(RejectionKind::MalformedToken, m);
    if token.len() > max_bytes {
        return Err(malformed("token is larger than the configured maximum"));
    }
    let mut parts = token.split('.');
    let (Some(_), Some(payload), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("not a compact JWS"));
    };
    let bytes = crate::jwt::token::b64(payload, "payload")?;
    // Fast path: the first `"iss":"<no escapes>"`. Only for choosing: a
    // nested or repeated `iss` picks a verifier that then refuses the token
    // (it parses strictly and compares the top-level `iss` exactly).
    if let Some(iss) = quick_iss(&bytes) {
        return Ok(iss.to_owned());
    }
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: Option<String>,
    }
    let iss: Iss =
        serde_json::from_slice(&bytes).map_err(|_| malformed("payload is not a JSON object"))?;
    iss.iss
        .ok_or_else(|| Rejection::new(RejectionKind::MissingClaim, "iss claim is required"))
}
