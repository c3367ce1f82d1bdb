//! The log follower: a blocking `XREAD` from the last applied entry, a
//! snapshot on a gap, a reconnect with back-off on an error, for as long as
//! the store lives (it holds only a weak reference, and lets go of it
//! before every wait).

use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::StoreError;
use crate::revocation::redis::conn::{Conn, Target};
use crate::revocation::redis::keys::{Keys, err};
use crate::revocation::redis::log::{self, Next};
use crate::revocation::redis::shared::{Shared, apply, reload, unix_now};
use crate::revocation::redis::snapshot::{self, Load, Position};

/// Settings of one round, read from the store's configuration.
struct Round {
    block: Duration,
    batch: usize,
    coalesce: Duration,
    max_staleness: Duration,
    read_timeout: Duration,
}

impl Round {
    fn of(shared: &Shared) -> Self {
        let c = &shared.config;
        Self {
            block: c.block,
            batch: c.batch,
            coalesce: c.coalesce,
            max_staleness: c.max_staleness,
            read_timeout: c.block.saturating_add(c.command_timeout),
        }
    }
}

/// The follower's state between reads.
struct Follower {
    target: Target,
    at: Position,
    conn: Option<Conn>,
    last_purge: Instant,
    /// After a full batch (or a reconnect, or a late read) more may be
    /// waiting: the next read does not block, so an instance that has
    /// caught up knows it at once.
    behind: bool,
    /// Failures in a row: the first reconnect is immediate, then backs off.
    failures: u32,
}

/// Follows the log for as long as the store lives.
pub(crate) async fn follow(store: Weak<Shared>, target: Target, at: Position) {
    let mut f = Follower {
        target,
        at,
        conn: None,
        last_purge: Instant::now(),
        behind: false,
        failures: 0,
    };
    loop {
        let Some(shared) = store.upgrade() else {
            return;
        };
        let round = Round::of(&shared);
        if f.conn.is_none() {
            if let Err(e) = f.connect(&shared, &round).await {
                tracing::warn!(error = %e, "reauth: cannot reach Redis to follow revocations");
                let wait = f.failed(&shared);
                drop(shared);
                tokio::time::sleep(wait).await;
                continue;
            }
        }
        if f.last_purge.elapsed() > Duration::from_secs(60) {
            shared.mirror.purge(unix_now());
            f.last_purge = Instant::now();
        }
        let keys = shared.writer.keys.clone();
        drop(shared);
        let sent = Instant::now();
        let reply = f.read(&keys, &round).await;
        let Some(shared) = store.upgrade() else {
            return;
        };
        match reply {
            Err(e) => {
                tracing::warn!(error = %e, "reauth: following the revocation log failed; reconnecting");
                f.conn = None;
                let wait = f.failed(&shared);
                drop(shared);
                tokio::time::sleep(wait).await;
            }
            Ok(entries) => {
                if let Some(pause) = f.take(&shared, &entries, sent, &round).await {
                    drop(shared);
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

impl Follower {
    /// Opens the blocking connection; after a disconnect, reloads if the
    /// store was reset meanwhile.
    async fn connect(&mut self, shared: &Shared, round: &Round) -> Result<(), StoreError> {
        let t = Instant::now();
        let mut fresh = self.target.connect_blocking(round.read_timeout).await?;
        tracing::debug!(
            ms = t.elapsed().as_millis() as u64,
            "reauth: revocation log connection open"
        );
        match snapshot::position(&mut fresh, &shared.writer.keys).await {
            // Reset: what the mirror holds may be gone, so new tables
            // replace it.
            Ok(remote) if remote.n < self.at.n => match reload(shared, Load::Replace).await {
                Ok(p) => self.at = p,
                Err(e) => tracing::warn!(error = %e, "reauth: revocation snapshot failed"),
            },
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "reauth: revocation log position unknown"),
        }
        self.conn = Some(fresh);
        shared.failing.store(false, Ordering::SeqCst);
        // The first read after a reconnect does not block: a reader with
        // nothing to catch up confirms at once, and the checks waiting for
        // it are answered.
        self.behind = true;
        Ok(())
    }

    /// One more failure in a row: how long to wait before the next try.
    fn failed(&mut self, shared: &Shared) -> Duration {
        self.failures += 1;
        shared.failing.store(self.failures >= 2, Ordering::SeqCst);
        backoff(self.failures)
    }

    /// One `XREAD` from the last applied entry (blocking unless behind).
    async fn read(&mut self, keys: &Keys, round: &Round) -> Result<Vec<log::Entry>, StoreError> {
        let Some(active) = self.conn.as_mut() else {
            return Ok(Vec::new());
        };
        let mut xread = redis::cmd("XREAD");
        xread.arg("COUNT").arg(round.batch);
        if !self.behind {
            xread
                .arg("BLOCK")
                .arg(u64::try_from(round.block.as_millis()).unwrap_or(u64::MAX));
        }
        let reply: redis::Value = xread
            .arg("STREAMS")
            .arg(&keys.log)
            .arg(&self.at.id)
            .query_async(active)
            .await
            .map_err(err)?;
        log::parse_xread(&reply).map_err(err)
    }

    /// Applies what was read in sequence, reloads on a gap, confirms the
    /// mirror; returns how long to pause before the next read, if at all.
    async fn take(
        &mut self,
        shared: &Shared,
        entries: &[log::Entry],
        sent: Instant,
        round: &Round,
    ) -> Option<Duration> {
        self.failures = 0;
        shared.failing.store(false, Ordering::SeqCst);
        self.behind = entries.len() >= round.batch;
        let (take, gap) = match log::in_sequence(self.at.n, entries) {
            Next::Apply(k) => (k, false),
            Next::ApplyThenReload(k) => (k, true),
        };
        if !entries.is_empty() {
            tracing::debug!(
                entries = entries.len(),
                read_ms = sent.elapsed().as_millis() as u64,
                "reauth: revocation log entries read"
            );
        }
        for e in &entries[..take] {
            apply(shared, e);
            self.at = Position {
                // In sequence, so every entry taken has its number.
                n: e.n().unwrap_or(self.at.n.saturating_add(1)),
                id: e.id().to_owned(),
            };
        }
        shared.applied.fetch_add(take as u64, Ordering::SeqCst);
        if gap {
            self.reload_after_gap(shared, entries.get(take)).await;
            return None;
        }
        if self.behind {
            return None;
        }
        // Everything up to when this read was sent is applied.
        shared.confirm(sent);
        // A read that returned late (the process was paused, Redis was
        // slow): its confirmation may leave the mirror stale, with checks
        // waiting; the next read does not block and confirms now.
        if sent.elapsed() > round.max_staleness.min(round.read_timeout) {
            self.behind = true;
            None
        } else {
            (!entries.is_empty() && !round.coalesce.is_zero()).then_some(round.coalesce)
        }
    }

    /// A number at or below the last applied one: the sequence went back,
    /// the store was reset, and what the mirror holds may be gone (new
    /// tables). A higher one (entries trimmed away) or none (an unreadable
    /// entry): the snapshot holds all the mirror holds, so it is merged in.
    async fn reload_after_gap(&mut self, shared: &Shared, next: Option<&log::Entry>) {
        let reset = next.and_then(log::Entry::n).is_some_and(|n| n <= self.at.n);
        tracing::warn!(
            after = self.at.n,
            reset,
            "reauth: revocation log has a gap (trimmed or reset); loading a snapshot"
        );
        let into = if reset {
            Load::Replace
        } else {
            Load::Merge { applied: self.at.n }
        };
        match reload(shared, into).await {
            Ok(p) => self.at = p,
            Err(e) => {
                tracing::warn!(error = %e, "reauth: revocation snapshot failed");
                self.conn = None;
            }
        }
        self.behind = false;
    }
}

/// The wait before reconnect attempt `failures` (1-based): none for the
/// first (a dropped connection is usually back at once), then 50 ms
/// doubling to 1 s.
fn backoff(failures: u32) -> Duration {
    match failures {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(50u64 << (n - 2).min(5)).min(Duration::from_secs(1)),
    }
}
