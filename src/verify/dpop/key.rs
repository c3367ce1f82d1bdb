//! The proof's own key: the `jwk` header parameter (RFC 9449 §4.2), public
//! only, parsed into a verifier for the proof's `alg` and named by its RFC
//! 7638 thumbprint (the `jkt` a bound token's `cnf` carries, RFC 9449 §6.1).

use aws_lc_rs::signature::ParsedPublicKey;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::AlgorithmParameters;
use serde_json::{Map, Value};

use crate::jwt::token::truncate;
use crate::provider::keys::jwk::key_material;
use crate::verify::dpop::error::DpopError;

/// JWK members that hold private or symmetric key material (RFC 7518
/// §6.2.2 EC `d`; §6.3.2 RSA `d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`; RFC
/// 8037 §2 OKP `d`; §6.4 `oct` `k`). A proof carrying any of them is refused.
pub(crate) const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof key: the verifier for the proof's `alg` and the key's thumbprint.
pub(crate) struct ProofKey {
    pub(crate) verifier: ParsedPublicKey,
    /// base64url of the RFC 7638 SHA-256 thumbprint.
    pub(crate) jkt: String,
}

/// Turns the `jwk` header parameter into a [`ProofKey`] for `alg`.
pub(crate) fn proof_key(jwk: Value, alg: Algorithm) -> Result<ProofKey, DpopError> {
    let Value::Object(jwk) = jwk else {
        return Err(DpopError::invalid(
            "jwk header parameter is not a JSON object",
        ));
    };
    // RFC 9449 §4.3 step 7 (checked before the key is parsed for step 6):
    // the jwk MUST NOT contain a private key.
    if let Some(member) = PRIVATE_MEMBERS.iter().find(|m| jwk.contains_key(**m)) {
        return Err(DpopError::invalid(format!(
            "jwk carries the private or symmetric key member {member:?}"
        )));
    }
    check_bound_alg(&jwk, alg)?;
    // RFC 7517 §6: the key type's public members; key_material checks
    // sizes and points (RSA >= 2048 bits, EC coordinates, Ed25519 small
    // order) and computes the RFC 7638 thumbprint.
    let params: AlgorithmParameters = serde_json::from_value(Value::Object(jwk))
        .map_err(|e| DpopError::invalid(format!("jwk is not a usable public key: {e}")))?;
    let material = key_material(&params, &|a| a == alg)
        .map_err(|e| DpopError::invalid(format!("jwk is not a usable public key: {e}")))?;
    let Some((_, verifier)) = material.verifiers.into_iter().find(|(a, _)| *a == alg) else {
        return Err(DpopError::invalid(format!(
            "alg {alg:?} does not fit the jwk's key type"
        )));
    };
    Ok(ProofKey {
        verifier,
        jkt: URL_SAFE_NO_PAD.encode(material.fingerprint),
    })
}

/// RFC 7517 §4.4: a jwk that names an algorithm is used with that one only.
fn check_bound_alg(jwk: &Map<String, Value>, alg: Algorithm) -> Result<(), DpopError> {
    match jwk.get("alg") {
        None => Ok(()),
        Some(Value::String(name)) if crate::jwt::alg::algorithm_named(name) == Some(alg) => Ok(()),
        Some(Value::String(name)) => Err(DpopError::invalid(format!(
            "jwk is bound to alg {:?}, the proof uses {alg:?}",
            truncate(name)
        ))),
        Some(_) => Err(DpopError::invalid("jwk alg is not a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The RFC 7638 §3.1 example key: the thumbprint `key_material`
    /// computes (our `jkt`) IS the RFC 7638 SHA-256 thumbprint.
    #[test]
    fn jkt_is_the_rfc_7638_thumbprint() {
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let key = proof_key(jwk, Algorithm::RS256).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(key.jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    #[test]
    fn refusals() {
        let ec = json!({"kty":"EC","crv":"P-256",
            "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        assert!(proof_key(ec.clone(), Algorithm::ES256).is_ok());
        for member in PRIVATE_MEMBERS {
            let mut bad = ec.clone();
            bad[member] = json!("AAAA");
            let e = proof_key(bad, Algorithm::ES256)
                .err()
                .map(|e| e.to_string());
            assert!(e.is_some_and(|e| e.contains("private")), "{member}");
        }
        let mut bound = ec.clone();
        bound["alg"] = json!("ES384");
        assert!(proof_key(bound, Algorithm::ES256).is_err());
        assert!(proof_key(ec.clone(), Algorithm::RS256).is_err());
        assert!(proof_key(ec.clone(), Algorithm::EdDSA).is_err());
        assert!(proof_key(json!("key"), Algorithm::ES256).is_err());
        assert!(proof_key(json!({"kty":"EC"}), Algorithm::ES256).is_err());
        assert!(proof_key(json!({"kty":"oct","x":"AA"}), Algorithm::HS256).is_err());
    }
}
