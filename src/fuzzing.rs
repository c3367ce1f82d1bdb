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

/// Reads `data` as a Security Event Token's payload (strict JSON), then
/// as a subject and as a transmitter configuration: never a panic, and an
/// accepted SET keeps the invariants the receiver relies on.
#[cfg(feature = "signals")]
pub fn security_event(data: &[u8]) {
    use crate::signals::{SetContext, parse_subject, validate};
    let _ = crate::signals::parse_transmitter(data, "https://tr.example", "https://tr.example");
    let Ok(map) = crate::jwt::json::parse_object(data) else {
        return;
    };
    if let Some(v) = map.get("sub_id") {
        let _ = parse_subject(v);
    }
    let audience = ["https://rp.example".to_owned()];
    let ctx = SetContext {
        transmitter: "https://tr.example",
        audience: &audience,
        now: 1_800_000_000,
        leeway: 30,
        max_age: 86_400,
    };
    if let Ok(e) = validate(&map, &ctx) {
        assert!(!map.contains_key("sub") && !map.contains_key("exp"));
        assert!(!e.jti.is_empty() && e.jti.len() <= crate::signals::MAX_JTI_BYTES);
        assert!(e.iat <= 1_800_000_030);
    }
}
