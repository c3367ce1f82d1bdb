//! What a running verifier can tell about itself, for metrics and
//! readiness: key fetches, the memo, the revocation store's sync.

pub use crate::revocation::RevocationSync;

/// A snapshot of a verifier's counters ([`Verifier::stats`](crate::Verifier::stats)).
/// Counters only grow (since the verifier was built).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifierStats {
    /// JWKS fetches attempted.
    pub jwks_fetches: u64,
    /// JWKS fetches that failed (the last good keys were kept).
    pub jwks_fetch_failures: u64,
    /// When the keys in use were fetched (Unix seconds, by the verifier's
    /// clock); `None` before the first success.
    pub keys_fetched_at: Option<i64>,
    /// Verifications answered from the memo of verified tokens.
    pub memo_hits: u64,
    /// Verifications that were not (the token was verified in full).
    pub memo_misses: u64,
    /// The revocation store's sync, when it follows a shared store.
    pub revocation: Option<RevocationSync>,
}
