//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`). Not an
//! API: no stability promise.

use crate::error::RejectionKind;

/// True for every code `Verifier::verify` may answer with.
pub fn documented(code: &str) -> bool {
    RejectionKind::ALL.iter().any(|k| k.as_str() == code)
        || code == "keys_unavailable"
        || code == "revocation_unavailable"
}

/// Parses a JWKS document as the key cache does; the number of usable keys.
pub fn parse_jwks(data: &[u8]) -> Result<usize, String> {
    crate::provider::keys::KeySet::parse(data, 100).map(|(set, _)| set.len())
}

/// Parses a discovery document as discovery does, for a fixed issuer.
pub fn parse_discovery(data: &[u8]) -> bool {
    crate::provider::discovery::parse(data, "https://issuer.example").is_ok()
}

/// Checks `data` as DPoP proofs (raw, or signed around fuzzed header
/// members and payload) and as an `htu`; panics on a broken invariant.
pub fn dpop_proof(data: &[u8]) {
    crate::verify::dpop::fuzz_one(data);
}
