//! A JWKS turned into the keys we will verify with. Pure: bytes in, parsed
//! public keys out. Each key is parsed once, here, for each algorithm it may
//! verify, so the hot path never re-parses key material.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaParameters, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use serde_json::Value;

use crate::jwt::json;

/// Smallest RSA modulus accepted (RFC 7518 §3.3: 2048 bits or larger).
const MIN_RSA_BITS: usize = 2048;

/// One usable signing key.
pub(crate) struct UsableKey {
    pub kid: Option<String>,
    /// The RFC 7638 JWK thumbprint (SHA-256) of the public key: every public
    /// parameter of the key type, so two keys are the same key across
    /// refreshes exactly when all their parameters are.
    pub fingerprint: [u8; 32],
    verifiers: Vec<(Algorithm, ParsedPublicKey)>,
}

impl std::fmt::Debug for UsableKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let algs: Vec<_> = self.verifiers.iter().map(|(a, _)| *a).collect();
        f.debug_struct("UsableKey")
            .field("kid", &self.kid)
            .field("algs", &algs)
            .finish()
    }
}

impl UsableKey {
    pub fn verifier(&self, alg: Algorithm) -> Option<&ParsedPublicKey> {
        self.verifiers
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, k)| k)
    }
}

/// The usable keys of one JWKS.
#[derive(Debug, Default)]
pub(crate) struct KeySet {
    keys: Vec<UsableKey>,
}

/// The result of looking a token's `kid`/`alg` up.
pub(crate) enum Lookup<'a> {
    Found(&'a UsableKey, &'a ParsedPublicKey),
    /// No key has this `kid` (or, without `kid`, none fits the algorithm).
    Unknown,
    /// The key named by `kid` may not be used with the token's `alg`.
    WrongAlgorithm,
    /// No `kid`, and more than one key fits the algorithm.
    Ambiguous(usize),
}

impl KeySet {
    /// Parses a JWKS (RFC 7517 §5). The document must be an object with a
    /// `keys` array of at most `max_keys` entries; each entry that is not a
    /// usable signing key is skipped (and named in the second value), so one
    /// bad key never breaks the set.
    pub fn parse(body: &[u8], max_keys: usize) -> Result<(KeySet, Vec<String>), String> {
        let mut doc = json::parse_object(body).map_err(|e| format!("not a JSON object: {e}"))?;
        let Some(Value::Array(entries)) = doc.remove("keys") else {
            return Err("no \"keys\" array".to_owned());
        };
        if entries.len() > max_keys {
            return Err(format!(
                "{} keys is more than the limit of {max_keys}",
                entries.len()
            ));
        }
        let mut keys = Vec::with_capacity(entries.len());
        let mut skipped = Vec::new();
        for (i, entry) in entries.into_iter().enumerate() {
            match usable_key(entry) {
                Ok(key) => keys.push(key),
                Err(why) => skipped.push(format!("key #{i}: {why}")),
            }
        }
        Ok((KeySet { keys }, skipped))
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Finds the key for a token. A token without `kid` is accepted only when
    /// exactly one usable key fits its algorithm.
    pub fn find(&self, kid: Option<&str>, alg: Algorithm) -> Lookup<'_> {
        match kid {
            Some(kid) => {
                let mut named = self
                    .keys
                    .iter()
                    .filter(|k| k.kid.as_deref() == Some(kid))
                    .peekable();
                if named.peek().is_none() {
                    return Lookup::Unknown;
                }
                named
                    .find_map(|k| Some((k, k.verifier(alg)?)))
                    .map_or(Lookup::WrongAlgorithm, |(k, v)| Lookup::Found(k, v))
            }
            None => {
                let mut fitting = self.keys.iter().filter_map(|k| Some((k, k.verifier(alg)?)));
                match (fitting.next(), fitting.count()) {
                    (None, _) => Lookup::Unknown,
                    (Some((k, v)), 0) => Lookup::Found(k, v),
                    (Some(_), more) => Lookup::Ambiguous(more + 1),
                }
            }
        }
    }
}

fn b64(field: &str, value: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map_err(|_| format!("{field} is not base64url"))
}

const RSA_ALGS: [(Algorithm, &RsaParameters); 6] = [
    (Algorithm::RS256, &signature::RSA_PKCS1_2048_8192_SHA256),
    (Algorithm::RS384, &signature::RSA_PKCS1_2048_8192_SHA384),
    (Algorithm::RS512, &signature::RSA_PKCS1_2048_8192_SHA512),
    (Algorithm::PS256, &signature::RSA_PSS_2048_8192_SHA256),
    (Algorithm::PS384, &signature::RSA_PSS_2048_8192_SHA384),
    (Algorithm::PS512, &signature::RSA_PSS_2048_8192_SHA512),
];

/// Filters one JWK down to a usable signing key, or says why not.
fn usable_key(mut entry: Value) -> Result<UsableKey, String> {
    // RFC 9864: a key bound to the fully-specified `Ed25519` is an EdDSA
    // key (the curve check below still requires Ed25519).
    if entry.get("alg").and_then(Value::as_str) == Some("Ed25519") {
        entry["alg"] = Value::from("EdDSA");
    }
    let jwk: Jwk = serde_json::from_value(entry).map_err(|e| format!("unparseable JWK: {e}"))?;
    let kid = jwk.common.key_id.clone();
    // RFC 7517 §4.2: a key for encryption (or an unknown use) is not for us.
    match &jwk.common.public_key_use {
        None | Some(PublicKeyUse::Signature) => {}
        Some(other) => return Err(format!("use is {other:?}, not sig")),
    }
    // RFC 7517 §4.3: when key_ops is given, it must allow verify.
    if let Some(ops) = &jwk.common.key_operations {
        if !ops.contains(&KeyOperations::Verify) {
            return Err("key_ops lacks verify".to_owned());
        }
    }
    // RFC 7517 §4.4: a key bound to an algorithm verifies only that algorithm.
    let bound: Option<Algorithm> = match jwk.common.key_algorithm {
        None => None,
        Some(ka) => Some(
            signing_alg(ka)
                .ok_or_else(|| format!("alg {ka:?} is not a signature algorithm we accept"))?,
        ),
    };
    let allowed = |alg: Algorithm| bound.is_none_or(|b| b == alg);
    let thumbprint: [u8; 32];
    let mut verifiers = Vec::new();
    match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let n = b64("n", &rsa.n)?;
            let e = b64("e", &rsa.e)?;
            let n_trimmed: &[u8] = &n[n.iter().take_while(|b| **b == 0).count()..];
            let bits = n_trimmed.first().map_or(0, |first| {
                (n_trimmed.len() - 1) * 8 + (8 - first.leading_zeros() as usize)
            });
            if bits < MIN_RSA_BITS {
                return Err(format!("RSA key of {bits} bits is under {MIN_RSA_BITS}"));
            }
            let e_trimmed: &[u8] = &e[e.iter().take_while(|b| **b == 0).count()..];
            let components = RsaPublicKeyComponents {
                n: n_trimmed,
                e: e_trimmed,
            };
            for (alg, params) in RSA_ALGS {
                if allowed(alg) {
                    let parsed = components
                        .to_parsed_public_key(params)
                        .map_err(|e| format!("RSA key rejected: {e}"))?;
                    verifiers.push((alg, parsed));
                }
            }
            thumbprint = jwk_thumbprint(&[("e", e_trimmed), ("n", n_trimmed)], "RSA", None);
        }
        AlgorithmParameters::EllipticCurve(ec) => {
            let (alg, verification, size, crv): (
                _,
                &'static signature::EcdsaVerificationAlgorithm,
                _,
                _,
            ) = match ec.curve {
                EllipticCurve::P256 => (
                    Algorithm::ES256,
                    &signature::ECDSA_P256_SHA256_FIXED,
                    32,
                    "P-256",
                ),
                EllipticCurve::P384 => (
                    Algorithm::ES384,
                    &signature::ECDSA_P384_SHA384_FIXED,
                    48,
                    "P-384",
                ),
                ref other => return Err(format!("EC curve {other:?} is not supported")),
            };
            let (x, y) = (b64("x", &ec.x)?, b64("y", &ec.y)?);
            if x.len() != size || y.len() != size {
                return Err("EC coordinates have the wrong length".to_owned());
            }
            thumbprint = jwk_thumbprint(&[("x", &x), ("y", &y)], "EC", Some(crv));
            if allowed(alg) {
                let mut point = Vec::with_capacity(1 + 2 * size);
                point.push(0x04);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                let parsed = ParsedPublicKey::new(verification, point)
                    .map_err(|e| format!("EC key rejected: {e}"))?;
                verifiers.push((alg, parsed));
            }
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            if okp.curve != EllipticCurve::Ed25519 {
                return Err(format!("OKP curve {:?} is not supported", okp.curve));
            }
            let x = b64("x", &okp.x)?;
            if x.len() != 32 {
                return Err("Ed25519 key has the wrong length".to_owned());
            }
            // Small-order (and non-canonical) points make every signature
            // checkable against a forged R: refuse them as libsodium does.
            if is_small_order_or_noncanonical(&x) {
                return Err("Ed25519 key is a small-order or non-canonical point".to_owned());
            }
            thumbprint = jwk_thumbprint(&[("x", &x)], "OKP", Some("Ed25519"));
            if allowed(Algorithm::EdDSA) {
                let parsed = ParsedPublicKey::new(&signature::ED25519, x)
                    .map_err(|e| format!("Ed25519 key rejected: {e}"))?;
                verifiers.push((Algorithm::EdDSA, parsed));
            }
        }
        // RFC 8725 §3.1 and §3.2: symmetric (`oct`) keys never verify ID tokens.
        AlgorithmParameters::OctetKey(_) => return Err("oct (symmetric) key".to_owned()),
        _ => return Err("unsupported key type".to_owned()),
    }
    if verifiers.is_empty() {
        return Err("alg does not fit the key type".to_owned());
    }
    Ok(UsableKey {
        kid,
        fingerprint: thumbprint,
        verifiers,
    })
}

/// RFC 7638 §3: SHA-256 over the JSON object of the key type's required
/// public members, in lexicographic order, without white space. Values are
/// the base64url of the decoded bytes (integers without leading zeros), so
/// two encodings of one key give one thumbprint.
fn jwk_thumbprint(members: &[(&str, &[u8])], kty: &str, crv: Option<&str>) -> [u8; 32] {
    // Members in RFC 7638 order: crv, e, kty, n, x, y (all names sort below).
    let mut fields: Vec<(&str, String)> = members
        .iter()
        .map(|(name, bytes)| (*name, URL_SAFE_NO_PAD.encode(bytes)))
        .collect();
    fields.push(("kty", kty.to_owned()));
    if let Some(crv) = crv {
        fields.push(("crv", crv.to_owned()));
    }
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("\"{k}\":\"{v}\""))
        .collect();
    let json = format!("{{{}}}", body.join(","));
    let mut out = [0u8; 32];
    out.copy_from_slice(
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, json.as_bytes()).as_ref(),
    );
    out
}

/// Encodings of the Ed25519 points of small order (1, 2, 4, 8), sign bit
/// cleared, plus the non-canonical `p` and `p + 1`: libsodium's
/// `ge25519_has_small_order` list. Seven constants do not earn a curve
/// arithmetic dependency; the test checks each one is refused.
const ED25519_SMALL_ORDER: [[u8; 32]; 7] = [
    // 0 (order 4)
    [0; 32],
    // 1 (order 1, the identity)
    [
        1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0,
    ],
    // order 8
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    // order 8
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    // p - 1 (order 2)
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p (= 0, order 4)
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // p + 1 (= 1, order 1)
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// True for a small-order point (in any sign) or a non-canonical `y`
/// (`y >= p`, p = 2^255 - 19).
fn is_small_order_or_noncanonical(x: &[u8]) -> bool {
    let mut y = [0u8; 32];
    y.copy_from_slice(x);
    y[31] &= 0x7f;
    let noncanonical = y[31] == 0x7f && y[1..31].iter().all(|b| *b == 0xff) && y[0] >= 0xed;
    noncanonical || ED25519_SMALL_ORDER.contains(&y)
}

fn signing_alg(ka: KeyAlgorithm) -> Option<Algorithm> {
    Some(match ka {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1's worked example.
    #[test]
    fn thumbprint_matches_rfc_7638() {
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let key = usable_key(jwk).unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(key.fingerprint),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn every_small_order_ed25519_encoding_is_refused_in_both_signs() {
        for point in ED25519_SMALL_ORDER {
            for sign in [0u8, 0x80] {
                let mut x = point;
                x[31] |= sign;
                let jwk =
                    serde_json::json!({"kty":"OKP","crv":"Ed25519","x": URL_SAFE_NO_PAD.encode(x)});
                let err = usable_key(jwk).unwrap_err();
                assert!(err.contains("small-order"), "{x:?}: {err}");
            }
        }
        // Non-canonical y (>= p) of any value is refused too.
        let mut x = [0xffu8; 32];
        x[31] = 0x7f;
        assert!(is_small_order_or_noncanonical(&x));
        // A real key is not.
        let real = aws_lc_rs::signature::Ed25519KeyPair::generate().unwrap();
        use aws_lc_rs::signature::KeyPair;
        assert!(!is_small_order_or_noncanonical(real.public_key().as_ref()));
    }
}
