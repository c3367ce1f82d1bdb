//! A JWKS turned into the keys we will verify with. Pure: bytes in, parsed
//! public keys out. Each key is parsed once, here, for each algorithm it may
//! verify, so the hot path never re-parses key material.

use aws_lc_rs::signature::ParsedPublicKey;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse};
use serde_json::Value;

use crate::jwt::json;
use crate::provider::keys::jwk::{Material, key_material};

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

/// Filters one JWK down to a usable signing key, or says why not: the
/// JWK's metadata here (RFC 7517 §4), its key material by key type in
/// [`jwk`](super::jwk).
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
    let Material {
        fingerprint,
        verifiers,
    } = key_material(&jwk.algorithm, &allowed)?;
    if verifiers.is_empty() {
        return Err("alg does not fit the key type".to_owned());
    }
    Ok(UsableKey {
        kid,
        fingerprint,
        verifiers,
    })
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
    use crate::provider::keys::jwk::{ED25519_SMALL_ORDER, is_small_order_or_noncanonical};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
