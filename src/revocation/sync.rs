//! How current a shared store's local copy is: what a verifier reports
//! for metrics and readiness.

use std::time::Duration;

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
