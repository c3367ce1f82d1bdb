//! The settings of a [`RedisStore`](super::RedisStore) or a
//! [`RedisWriter`](super::RedisWriter), each with its default.

use std::time::Duration;

use crate::error::StoreError;
use crate::revocation::redis::keys::err;

/// What checks do when Redis cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WhenUnreachable {
    /// Fail closed once the mirror was last confirmed more than
    /// `max_staleness` ago: 503. The default.
    #[default]
    FailClosed,
    /// Keep answering from the last known state for this long beyond
    /// `max_staleness`, then fail closed.
    UseLastKnown(Duration),
}

/// How many replicas must confirm a write before it is acknowledged
/// (Redis replication is asynchronous: without this, a write acknowledged
/// by a master that fails a moment later can be lost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaAcks {
    /// One replica, when the master has any connected at start; none
    /// otherwise. The default, with a 1 s timeout.
    Auto {
        /// How long a write waits for its replica.
        timeout: Duration,
    },
    /// Never wait.
    None,
    /// Always wait for this many replicas.
    Wait {
        /// Replicas that must confirm.
        replicas: usize,
        /// How long a write waits for them; then it is an error (the write
        /// is on the master, and retrying is safe).
        timeout: Duration,
    },
}

/// Settings of a [`RedisStore`](super::RedisStore) or a [`RedisWriter`](super::RedisWriter).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisStoreConfig {
    /// `redis://host:port/db` for one Redis; `redis+cluster://h1:p1,h2:p2`
    /// (or several comma-separated `redis://` URLs) for a Redis Cluster.
    pub url: String,
    /// Prefix of every key, used as the cluster hash tag. Defaults to `reauth`.
    pub key_prefix: String,
    /// How old the last position confirmed against Redis may be before
    /// checks fail. Defaults to 5 s.
    pub max_staleness: Duration,
    /// Behaviour when Redis is unreachable. Defaults to [`WhenUnreachable::FailClosed`].
    pub when_unreachable: WhenUnreachable,
    /// How long a check that finds the mirror stale may wait for the log
    /// reader to confirm it current again (an instance resuming from a
    /// pause, a dropped connection being reopened) before it fails closed.
    /// A check waits only while the reader is not failing: once Redis has
    /// refused a reconnect, checks fail at once. Zero disables the wait.
    /// Defaults to 1 s; at most 60 s.
    pub catch_up_wait: Duration,
    /// Connect and response timeout of each command. Defaults to 1 s.
    pub command_timeout: Duration,
    /// How long one `XREAD` blocks waiting for new entries. Defaults to 1 s
    /// (and so the staleness of an idle instance is at most about that).
    pub block: Duration,
    /// Entries read per `XREAD`. Defaults to 1,000: a catch-up reads the
    /// missed entries in that many round trips of about 150 KB each, where
    /// one read of 10,000 held about 12 MB of reply at once (the RSS of a
    /// gate catching up 10,000 entries went from 47 to 59 MiB).
    pub batch: usize,
    /// After a read that brought entries, wait this long before the next
    /// one, so a busy log is read in batches rather than one wake-up per
    /// entry (at 1,000 writes a second, a fifth of the reads). It adds at
    /// most this much to the time a revocation takes to reach an instance.
    /// Defaults to 5 ms.
    pub coalesce: Duration,
    /// Log entries kept (`XADD MAXLEN ~`): an instance that falls further
    /// behind reloads a snapshot. Defaults to 1,000,000 (a day of 10
    /// revocations a second, with room; about 20-40 MB in Redis).
    pub log_max_len: u64,
    /// Replica confirmation of writes. Defaults to
    /// [`ReplicaAcks::Auto`] with a 1 s timeout.
    pub replica_acks: ReplicaAcks,
    /// Every this many writes compact one snapshot bucket of each kind
    /// (expired and superseded records dropped); a full round is this times
    /// [`BUCKETS`](super::BUCKETS) writes. Defaults to 64.
    pub compact_every: u32,
}

impl RedisStoreConfig {
    /// The defaults, for `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            key_prefix: "reauth".into(),
            max_staleness: Duration::from_secs(5),
            when_unreachable: WhenUnreachable::FailClosed,
            catch_up_wait: Duration::from_secs(1),
            command_timeout: Duration::from_secs(1),
            block: Duration::from_secs(1),
            batch: 1_000,
            coalesce: Duration::from_millis(5),
            log_max_len: 1_000_000,
            replica_acks: ReplicaAcks::Auto {
                timeout: Duration::from_secs(1),
            },
            compact_every: 64,
        }
    }

    /// A write's response timeout: the command timeout, plus the time a
    /// `WAIT` for replicas may take.
    pub(crate) fn write_timeout(&self) -> Duration {
        let wait = match self.replica_acks {
            ReplicaAcks::Auto { timeout } | ReplicaAcks::Wait { timeout, .. } => timeout,
            ReplicaAcks::None => Duration::ZERO,
        };
        self.command_timeout.saturating_add(wait)
    }

    pub(crate) fn validate(&self) -> Result<(), StoreError> {
        let bad = |what: &str| Err(err(format!("invalid RedisStoreConfig: {what}")));
        if self.key_prefix.is_empty() || self.key_prefix.contains(['{', '}']) {
            return bad("key_prefix must be non-empty and without braces");
        }
        if self.batch == 0 || self.log_max_len == 0 || self.compact_every == 0 {
            return bad("batch, log_max_len and compact_every must be greater than zero");
        }
        let hour = Duration::from_secs(3600);
        for (name, d) in [
            ("max_staleness", self.max_staleness),
            ("command_timeout", self.command_timeout),
            ("block", self.block),
        ] {
            if d.is_zero() || d > hour {
                return bad(&format!("{name} must be between 1 ms and 1 h"));
            }
        }
        if self.coalesce > Duration::from_secs(1) {
            return bad("coalesce must be at most 1 s");
        }
        if self.catch_up_wait > Duration::from_secs(60) {
            return bad("catch_up_wait must be at most 60 s");
        }
        Ok(())
    }
}
