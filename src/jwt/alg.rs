//! The signature algorithms `reauth` verifies, and their JOSE names.

use jsonwebtoken::Algorithm;

/// The signature algorithms an ID token may use with `reauth`: asymmetric
/// only (RFC 8725 §3.1: never `none`; `HS*` would make the client secret a
/// signing key).
pub const SUPPORTED_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// The algorithm a JOSE `alg` name denotes, as `reauth` verifies it.
/// RFC 9864's fully-specified `Ed25519` is [`Algorithm::EdDSA`]: the only
/// EdDSA curve `reauth` accepts is Ed25519 (Ed448 keys are refused), so the
/// two names mean the same signature and are accepted wherever either is
/// (token headers, JWKs, the discovery document, `--algorithms`). Every
/// other name is `jsonwebtoken`'s.
pub fn algorithm_named(name: &str) -> Option<Algorithm> {
    match name {
        "Ed25519" => Some(Algorithm::EdDSA),
        other => other.parse().ok(),
    }
}

/// The JOSE names of `algs` (`RS256`, `EdDSA`...), in order: what a DPoP
/// challenge's `algs` and RFC 9728's `dpop_signing_alg_values_supported`
/// list.
pub(crate) fn names(algs: &[Algorithm]) -> Vec<String> {
    algs.iter().map(|a| format!("{a:?}")).collect()
}
