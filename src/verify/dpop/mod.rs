//! DPoP proofs (RFC 9449) at the protected resource: one proof checked
//! against the request it came with ([`check_proof`], §4.3 steps 1 to
//! 12.1), the `htu` comparison form ([`normalize_htu`]), the `ath` hash
//! ([`access_token_hash`]) and the `cnf.jkt` comparison ([`jkt_matches`],
//! step 12.2). Pure: no clock, no replay cache, no I/O; the verifier
//! records each accepted `jti` for [`ProofLimits::replay_window`].
//!
//! - `error`: [`DpopError`], `invalid_dpop_proof` or `use_dpop_nonce`;
//! - `proof`: the checks, the limits and their defaults;
//! - `key`: the proof's `jwk` (public only) and its RFC 7638 thumbprint;
//! - `htu`: RFC 3986 §6.2.2 / §6.2.3 normalisation of `htu`.

pub(crate) mod error;
#[cfg(feature = "fuzzing")]
mod fuzz;
pub(crate) mod htu;
pub(crate) mod key;
pub(crate) mod proof;
#[cfg(test)]
mod tests;

#[cfg(feature = "fuzzing")]
pub(crate) use fuzz::fuzz_one;
pub(crate) use proof::{ProofLimits, ProofRequest, check_proof, jkt_matches};
