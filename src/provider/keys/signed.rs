//! One compact JWS checked against an issuer's keys: shape, header, key,
//! signature, then a strict JSON payload. Shared by every kind of token a
//! key cache vouches for (ID, access and logout tokens; Security Event
//! Tokens from a transmitter). Nothing in the payload is trusted before it.

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::error::{Rejection, RejectionKind, VerifyError};
use crate::jwt::json;
use crate::jwt::token::{self, Expected};
use crate::provider::keys::{KeyCache, Lookup};

/// A token whose signature verified: its payload and what signed it.
pub(crate) struct Signed {
    pub alg: Algorithm,
    pub kid: Option<String>,
    pub map: Map<String, Value>,
    pub fingerprint: [u8; 32],
    pub payload_bytes: usize,
}

/// Verifies `token`'s signature with `keys` (fetching as the cache's policy
/// allows) and parses its payload.
pub(crate) async fn signed_payload(
    keys: &Arc<KeyCache>,
    token: &str,
    max_bytes: usize,
    expected: Expected,
) -> Result<Signed, VerifyError> {
    // RFC 8725 §3.1, §3.11, RFC 7515 §5.2: size cap, three parts, header
    // (alg on the allow-list, no crit, typ as expected).
    let algorithms = keys.algorithms();
    let parsed = token::parse(token, max_bytes, &algorithms, expected)?;
    // OIDC Core 3.1.3.7 step 6 / RFC 7515 §5.2 step 8: the key comes only
    // from the issuer's JWKS, by kid (or the single key fitting alg).
    let kid = parsed.kid.as_deref();
    let set = keys.resolve(kid, parsed.alg).await?;
    let Lookup::Found(key, verifier) = set.find(kid, parsed.alg) else {
        return Err(Rejection::new(RejectionKind::UnknownKey, "key not found").into());
    };
    // Signature over the ASCII `header.payload`, before any claim is read.
    verifier
        .verify_sig(parsed.signing_input.as_bytes(), &parsed.signature)
        .map_err(|_| {
            Rejection::new(RejectionKind::InvalidSignature, "signature does not verify")
        })?;
    // Only now decode the payload: strict JSON, no duplicate members.
    let payload = token::b64(parsed.payload_b64, "payload")?;
    let map = json::parse_object(&payload).map_err(|e| {
        Rejection::new(
            RejectionKind::MalformedToken,
            format!("payload is not a JSON object: {e}"),
        )
    })?;
    Ok(Signed {
        alg: parsed.alg,
        kid: parsed.kid,
        map,
        fingerprint: key.fingerprint,
        payload_bytes: payload.len(),
    })
}
