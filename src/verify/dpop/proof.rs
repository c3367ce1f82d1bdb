//! Checking one DPoP proof against the request it came with (RFC 9449
//! §4.2, §4.3). Pure: the caller passes the header values, the request's
//! method, URL and access token, the time and the nonce it expects; the
//! `jti` replay cache and the token's `cnf.jkt` are the caller's.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::jwt::claim::numeric_date;
use crate::jwt::json;
use crate::jwt::token::truncate;
use crate::verify::dpop::error::DpopError;
use crate::verify::dpop::htu::normalize_htu;
use crate::verify::dpop::key::proof_key;

/// Default [`ProofLimits::max_bytes`]: 8 KiB, room for an RSA-4096 `jwk`
/// and signature with a long `htu`.
pub(crate) const DEFAULT_MAX_PROOF_BYTES: usize = 8 * 1024;
/// Default [`ProofLimits::iat_past`]: 60 seconds.
pub(crate) const DEFAULT_IAT_PAST: Duration = Duration::from_secs(60);
/// Default [`ProofLimits::iat_future`]: 5 seconds of clock skew.
pub(crate) const DEFAULT_IAT_FUTURE: Duration = Duration::from_secs(5);
/// Longest `jti` accepted (bytes): 256, room for any UUID or base64url of
/// 96+ random bits (RFC 9449 §4.2), and a bounded replay-cache key.
pub(crate) const MAX_JTI_BYTES: usize = 256;

/// The `typ` a DPoP proof carries (RFC 9449 §4.2).
const DPOP_TYP: &str = "dpop+jwt";

/// What a proof may be: its size, its age, its algorithms.
#[derive(Debug, Clone)]
pub(crate) struct ProofLimits {
    /// Longest `DPoP` header value accepted, checked before anything is
    /// decoded. Defaults to [`DEFAULT_MAX_PROOF_BYTES`] (8 KiB).
    pub(crate) max_bytes: usize,
    /// How far `iat` may lie in the past (RFC 9449 §11.1). Defaults to
    /// [`DEFAULT_IAT_PAST`] (60 s).
    pub(crate) iat_past: Duration,
    /// How far `iat` may lie in the future, for clock skew. Defaults to
    /// [`DEFAULT_IAT_FUTURE`] (5 s).
    pub(crate) iat_future: Duration,
    /// The `alg` values accepted. Defaults to
    /// [`SUPPORTED_ALGORITHMS`](crate::jwt::alg::SUPPORTED_ALGORITHMS);
    /// `HS*` are refused even when listed (RFC 9449 §4.3 step 5: asymmetric
    /// only), and `none` is never an algorithm.
    pub(crate) algorithms: Vec<Algorithm>,
}

impl Default for ProofLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_PROOF_BYTES,
            iat_past: DEFAULT_IAT_PAST,
            iat_future: DEFAULT_IAT_FUTURE,
            algorithms: crate::jwt::alg::SUPPORTED_ALGORITHMS.to_vec(),
        }
    }
}

impl ProofLimits {
    /// How long the caller must remember a `jti` to refuse every replay of
    /// an accepted proof: the whole `iat` window, `iat_past + iat_future`.
    pub(crate) fn replay_window(&self) -> Duration {
        self.iat_past.saturating_add(self.iat_future)
    }
}

/// The request a proof must fit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProofRequest<'a> {
    /// The HTTP method, as sent (`htm` is compared case-sensitively).
    pub(crate) method: &'a str,
    /// The request's URL as the client addressed it (scheme, host, port,
    /// path; a query or fragment is ignored).
    pub(crate) htu: &'a str,
    /// The access token that came with the proof (for `ath`).
    pub(crate) access_token: &'a str,
    /// Now, in seconds since the Unix epoch.
    pub(crate) now: i64,
    /// The nonce the server gave the client (`DPoP-Nonce`), when nonces are on.
    pub(crate) expected_nonce: Option<&'a str>,
}

/// A proof that passed: what the caller still checks (`jti` unseen within
/// [`ProofLimits::replay_window`], `jkt` equal to the token's `cnf.jkt`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckedProof {
    pub(crate) jti: String,
    pub(crate) iat: i64,
    /// base64url of the proof key's RFC 7638 SHA-256 thumbprint.
    pub(crate) jkt: String,
    /// The proof's `nonce` claim, when it has one (a string).
    pub(crate) nonce: Option<String>,
}

/// RFC 9449 §6.1 / §4.3 step 12.2: the token's `cnf.jkt` names the proof's key.
pub(crate) fn jkt_matches(cnf_jkt: &str, proof: &CheckedProof) -> bool {
    cnf_jkt == proof.jkt
}

/// RFC 9449 §4.2 `ath`: base64url of the SHA-256 of the token's ASCII bytes.
pub(crate) fn access_token_hash(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// Checks the `DPoP` header values of one request (all of them: exactly
/// one is allowed) per RFC 9449 §4.3 steps 1 to 12.1.
pub(crate) fn check_proof(
    proof_header_values: &[&str],
    req: &ProofRequest<'_>,
    limits: &ProofLimits,
) -> Result<CheckedProof, DpopError> {
    // RFC 9449 §4.3 step 1: not more than one DPoP header field (and, with
    // a DPoP access token, not fewer).
    let [proof] = proof_header_values else {
        return Err(DpopError::invalid(format!(
            "{} DPoP header fields; exactly one is required",
            proof_header_values.len()
        )));
    };
    // RFC 9449 §4.3 step 2: a single well-formed JWT. Size cap first
    // (RFC 8725 §3.12), then three base64url parts (RFC 7515 §7.1), then a
    // strict JSON header (duplicate members refused, RFC 7515 §5.2).
    if proof.len() > limits.max_bytes {
        return Err(DpopError::invalid(format!(
            "DPoP proof is longer than {} bytes",
            limits.max_bytes
        )));
    }
    let proof = proof.trim_matches([' ', '\t']);
    let mut parts = proof.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(DpopError::invalid(
            "DPoP proof is not a compact JWS (three dot-separated parts)",
        ));
    };
    let mut header = json::parse_object(&b64(h, "header")?)
        .map_err(|e| DpopError::invalid(format!("DPoP proof header is not a JSON object: {e}")))?;
    let signature = b64(s, "signature")?;
    // RFC 7515 §4.1.11: no extension is understood, so any `crit` is refused.
    if header.contains_key("crit") {
        return Err(DpopError::invalid("crit header parameter is not supported"));
    }
    // RFC 9449 §4.3 step 4: typ is dpop+jwt.
    match header.get("typ") {
        Some(Value::String(t)) if t == DPOP_TYP => {}
        Some(Value::String(t)) => {
            return Err(DpopError::invalid(format!(
                "typ {:?} is not {DPOP_TYP}",
                truncate(t)
            )));
        }
        Some(_) => return Err(DpopError::invalid("typ is not a string")),
        None => return Err(DpopError::invalid("DPoP proof has no typ")),
    }
    // RFC 9449 §4.3 step 5: an asymmetric alg, not none, on the allow-list.
    let alg = check_alg(&header, limits)?;
    // RFC 9449 §4.3 step 7 (before step 6, so a private key is never
    // parsed): the jwk is a public key; and it is usable for alg.
    let jwk = header
        .remove("jwk")
        .ok_or_else(|| DpopError::invalid("DPoP proof has no jwk header parameter"))?;
    let key = proof_key(jwk, alg)?;
    // RFC 9449 §4.3 step 6: the signature verifies with that jwk.
    let signing_input = &proof[..h.len() + 1 + p.len()];
    key.verifier
        .verify_sig(signing_input.as_bytes(), &signature)
        .map_err(|_| DpopError::invalid("DPoP proof signature does not verify"))?;
    // RFC 9449 §4.3 step 3, read only after step 6 (nothing in a payload
    // is read before its signature verifies): strict JSON, and the claims
    // of §4.2 a resource server requires, each of its type.
    let claims = json::parse_object(&b64(p, "payload")?)
        .map_err(|e| DpopError::invalid(format!("DPoP proof payload is not a JSON object: {e}")))?;
    let jti = string_claim(&claims, "jti")?;
    let htm = string_claim(&claims, "htm")?;
    let htu = string_claim(&claims, "htu")?;
    let iat = numeric_date(&claims, "iat")
        .map_err(|e| DpopError::invalid(e.message().to_owned()))?
        .ok_or_else(|| DpopError::invalid("iat claim is required"))?;
    let ath = string_claim(&claims, "ath")?;
    if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
        return Err(DpopError::invalid(format!(
            "jti must be 1 to {MAX_JTI_BYTES} bytes"
        )));
    }
    // RFC 9449 §4.3 step 8: htm is the request's method.
    if htm != req.method {
        return Err(DpopError::invalid(format!(
            "htm {:?} is not the request's method",
            truncate(htm)
        )));
    }
    // RFC 9449 §4.3 step 9: htu is the request's URI without query and
    // fragment, both sides normalised (RFC 3986 §6.2.2, §6.2.3).
    let request_htu = normalize_htu(req.htu).map_err(|e| {
        DpopError::invalid(format!("the request URL cannot be compared: {}", e.detail))
    })?;
    if normalize_htu(htu)? != request_htu {
        return Err(DpopError::invalid(format!(
            "htu {:?} is not the request's URL",
            truncate(htu)
        )));
    }
    // RFC 9449 §4.3 step 10: the server's nonce, when it gave one (§9).
    // A caller whose nonces are not one fixed value (e.g. MACed with a
    // lifetime) passes None and checks `CheckedProof::nonce` itself.
    let nonce = match claims.get("nonce") {
        None => None,
        Some(Value::String(n)) => Some(n.as_str()),
        Some(_) => return Err(DpopError::invalid("nonce claim is not a string")),
    };
    match (req.expected_nonce, nonce) {
        (None, _) => {}
        (Some(expected), Some(n)) if n == expected => {}
        (Some(_), Some(_)) => return Err(DpopError::use_nonce("nonce is not the current one")),
        (Some(_), None) => return Err(DpopError::use_nonce("a nonce is required")),
    }
    // RFC 9449 §4.3 step 11 and §11.1: iat within the accepted window.
    let past = secs(limits.iat_past);
    let future = secs(limits.iat_future);
    if req.now.saturating_sub(iat) > past {
        return Err(DpopError::invalid(format!(
            "iat is more than {past} s in the past"
        )));
    }
    if iat.saturating_sub(req.now) > future {
        return Err(DpopError::invalid(format!(
            "iat is more than {future} s in the future"
        )));
    }
    // RFC 9449 §4.3 step 12.1: ath is the hash of the access token. Step
    // 12.2 (the token's cnf.jkt) is the caller's, with `jkt_matches`.
    if ath != access_token_hash(req.access_token) {
        return Err(DpopError::invalid(
            "ath is not the hash of the access token",
        ));
    }
    Ok(CheckedProof {
        jti: jti.to_owned(),
        iat,
        jkt: key.jkt,
        nonce: nonce.map(str::to_owned),
    })
}

/// RFC 9449 §4.3 step 5: `alg` names an asymmetric signature algorithm on
/// the allow-list; `none` (no algorithm here) and `HS*` never pass.
fn check_alg(header: &Map<String, Value>, limits: &ProofLimits) -> Result<Algorithm, DpopError> {
    let name = match header.get("alg") {
        Some(Value::String(name)) => name,
        Some(_) => return Err(DpopError::invalid("alg is not a string")),
        None => return Err(DpopError::invalid("DPoP proof has no alg")),
    };
    crate::jwt::alg::algorithm_named(name)
        .filter(|a| !matches!(a, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512))
        .filter(|a| limits.algorithms.contains(a))
        .ok_or_else(|| DpopError::invalid(format!("alg {:?} is not allowed", truncate(name))))
}

fn b64(part: &str, what: &str) -> Result<Vec<u8>, DpopError> {
    if part.is_empty() {
        return Err(DpopError::invalid(format!("DPoP proof {what} is empty")));
    }
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| DpopError::invalid(format!("DPoP proof {what} is not base64url")))
}

fn string_claim<'m>(claims: &'m Map<String, Value>, name: &str) -> Result<&'m str, DpopError> {
    match claims.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(DpopError::invalid(format!("{name} claim is not a string"))),
        None => Err(DpopError::invalid(format!("{name} claim is required"))),
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
