//! DPoP proofs (RFC 9449 §4.3): raw header values, and proofs signed
//! around fuzzed header members and payloads so the claim checks behind
//! the signature are reached. Never a panic; an accepted proof fits the
//! request in every claim; `normalize_htu` is idempotent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    reauth::__fuzz::dpop_proof(data);
});
