//! What a running verifier can tell about itself, for metrics and
//! readiness: key fetches, the memo, the revocation store's sync.

use std::time::Duration;

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

/// How current a shared revocation store's local copy is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationSync {
    /// How long ago the copy was last confirmed up to date.
    pub staleness: Duration,
    /// Staleness beyond which verification fails closed (503).
    pub max_staleness: Duration,
    /// Log entries applied since start.
    pub applied: u64,
    /// Snapshots loaded since start.
    pub snapshots: u64,
    /// Unreadable log entries and snapshot records passed over since start.
    pub skipped: u64,
}

impl RevocationSync {
    /// Builds one (for [`RevocationStore`](crate::revocation::RevocationStore) implementations).
    pub fn new(staleness: Duration, max_staleness: Duration, applied: u64, snapshots: u64) -> Self {
        Self {
            staleness,
            max_staleness,
            applied,
            snapshots,
            skipped: 0,
        }
    }

    /// With the count of unreadable entries passed over.
    pub fn with_skipped(mut self, skipped: u64) -> Self {
        self.skipped = skipped;
        self
    }

    /// Whether verification can currently vouch for revocations.
    pub fn within_bound(&self) -> bool {
        self.staleness <= self.max_staleness
    }
}
