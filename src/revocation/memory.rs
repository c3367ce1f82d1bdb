//! The in-process store: the default, for one instance.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::error::StoreError;
use crate::revocation::namespace::Namespace;
use crate::revocation::store::{BoxFuture, RevocationStore, Revoked, rule};

/// Revocations in this process's memory. Entries are dropped after their
/// `keep_until` (measured by the clock of the caller's `now`, never by a
/// cut-off). Use `RedisStore` (feature `redis`) when
/// several instances must agree.
#[derive(Debug)]
pub struct MemoryStore {
    state: RwLock<State>,
    max_jtis: usize,
    max_proof_jtis: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self {
            state: RwLock::default(),
            max_jtis: MAX_MEMORY_JTIS,
            max_proof_jtis: MAX_MEMORY_PROOF_JTIS,
        }
    }
}

/// The most replay records (logout-token and SET `jti`s, kept until their
/// window ends) a [`MemoryStore`] holds by default. When it is full of
/// unexpired records, a new one is refused with a [`StoreError`] (the
/// sender is told to retry: 503) rather than forgotten or grown without
/// bound. Change it with [`MemoryStore::with_jti_capacity`].
pub const MAX_MEMORY_JTIS: usize = 1_000_000;

/// The most DPoP proof `jti`s a [`MemoryStore`] holds by default, counted
/// apart from [`MAX_MEMORY_JTIS`]: each is kept for the proof window (61 s
/// by default), so 1,000,000 is 16,000 DPoP requests/s. Full, a new proof
/// is refused with a [`StoreError`] (503), never forgotten. Change it with
/// [`MemoryStore::with_proof_jti_capacity`].
pub const MAX_MEMORY_PROOF_JTIS: usize = 1_000_000;

#[derive(Debug, Default)]
struct State {
    /// issuer tag:sub -> (cutoff, keep_until)
    users: HashMap<String, (i64, i64)>,
    /// issuer tag:sid -> keep_until
    sessions: HashMap<String, i64>,
    /// Logout-token and SET `jti`s.
    jtis: Replays,
    /// DPoP proof `jti`s ([`Namespace::dpop_proofs`]).
    proof_jtis: Replays,
    last_purge: i64,
}

/// One bounded replay record: scoped jti -> keep_until.
#[derive(Debug, Default)]
struct Replays {
    seen: HashMap<String, i64>,
    /// When a full record was last swept for expired entries: at most once
    /// a second, so a full record costs no scan per request.
    swept: i64,
}

impl Replays {
    /// Records `key` unless it is unexpired already: `Ok(false)` for a
    /// replay, `Err` when `max` unexpired records leave no room.
    fn record(&mut self, key: String, now: i64, keep_until: i64, max: usize) -> Result<bool, ()> {
        match self.seen.get(&key) {
            Some(keep) if *keep > now => return Ok(false),
            // Expired records are forgotten (their tokens are expired too):
            // this one's room is reused.
            Some(_) => {}
            None if self.seen.len() < max => {}
            None => {
                if self.swept != now {
                    self.swept = now;
                    self.expire(now);
                }
                if self.seen.len() >= max {
                    return Err(());
                }
            }
        }
        self.seen.insert(key, keep_until);
        Ok(true)
    }

    /// Drops the records expired at `now`.
    fn expire(&mut self, now: i64) {
        self.seen.retain(|_, keep| *keep > now);
    }
}

impl State {
    /// Drops expired entries, at most once a minute (amortised over writes).
    fn purge(&mut self, now: i64) {
        if now.saturating_sub(self.last_purge) < 60 {
            return;
        }
        self.last_purge = now;
        self.users.retain(|_, (_, keep)| *keep > now);
        self.sessions.retain(|_, keep| *keep > now);
        self.jtis.expire(now);
        self.proof_jtis.expire(now);
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store holding at most `max` replay records (default
    /// [`MAX_MEMORY_JTIS`]; at least 1).
    pub fn with_jti_capacity(max: usize) -> Self {
        Self {
            max_jtis: max.max(1),
            ..Self::default()
        }
    }

    /// This store, holding at most `max` DPoP proof `jti`s (default
    /// [`MAX_MEMORY_PROOF_JTIS`]; at least 1).
    pub fn with_proof_jti_capacity(self, max: usize) -> Self {
        Self {
            max_proof_jtis: max.max(1),
            ..self
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a user cut-off (keeping the higher one) under an already
    /// scoped key; `now` is the real time, used only to purge expired
    /// entries. Shared with the Redis store's local mirror.
    pub(crate) fn apply_user(&self, key: &str, cutoff: i64, keep_until: i64, now: i64) {
        let mut s = self.write();
        s.purge(now);
        let e = s
            .users
            .entry(key.to_owned())
            .or_insert((cutoff, keep_until));
        *e = (e.0.max(cutoff), e.1.max(keep_until));
    }

    /// Applies a session revocation under an already scoped key.
    pub(crate) fn apply_session(&self, key: &str, keep_until: i64, now: i64) {
        let mut s = self.write();
        s.purge(now);
        let e = s.sessions.entry(key.to_owned()).or_insert(keep_until);
        *e = (*e).max(keep_until);
    }

    /// Entries held (users, sessions), for tests and metrics.
    pub fn len(&self) -> (usize, usize) {
        let s = self.state.read().unwrap_or_else(|p| p.into_inner());
        (s.users.len(), s.sessions.len())
    }

    /// True when nothing is revoked.
    pub fn is_empty(&self) -> bool {
        self.len() == (0, 0)
    }

    pub(crate) fn lookup(
        &self,
        ns: &Namespace,
        sub: &str,
        sid: Option<&str>,
        login_time: i64,
        now: i64,
    ) -> Option<Revoked> {
        let s = self.state.read().unwrap_or_else(|p| p.into_inner());
        if s.users.is_empty() && s.sessions.is_empty() {
            return None;
        }
        let session = sid.and_then(|sid| s.sessions.get(&ns.scoped(sid)).copied());
        let user = s.users.get(&ns.scoped(sub)).copied();
        rule(session, user, login_time, now)
    }
}

impl RevocationStore for MemoryStore {
    fn check(
        &self,
        ns: &Namespace,
        sub: &str,
        sid: Option<&str>,
        login_time: i64,
        now: i64,
    ) -> Result<Option<Revoked>, StoreError> {
        Ok(self.lookup(ns, sub, sid, login_time, now))
    }

    fn revoke_user<'a>(
        &'a self,
        ns: &'a Namespace,
        sub: &'a str,
        cutoff: i64,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.apply_user(&ns.scoped(sub), cutoff, keep_until, now);
        Box::pin(async { Ok(()) })
    }

    fn revoke_session<'a>(
        &'a self,
        ns: &'a Namespace,
        sid: &'a str,
        keep_until: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.apply_session(&ns.scoped(sid), keep_until, now);
        Box::pin(async { Ok(()) })
    }

    fn record_jti<'a>(
        &'a self,
        ns: &'a Namespace,
        jti: &'a str,
        now: i64,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let mut s = self.write();
        s.purge(now);
        let (record, max, which, fix) = if ns.holds_proofs() {
            (
                &mut s.proof_jtis,
                self.max_proof_jtis,
                "DPoP proof jti",
                "MemoryStore::with_proof_jti_capacity",
            )
        } else {
            (
                &mut s.jtis,
                self.max_jtis,
                "jti",
                "MemoryStore::with_jti_capacity",
            )
        };
        let recorded = record.record(ns.scoped(jti), now, keep_until, max);
        Box::pin(async move {
            recorded.map_err(|()| {
                StoreError(format!(
                    "the replay record is full ({max} unexpired {which} entries); raise {fix} or use a shared store"
                ))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;
    fn iss() -> Namespace {
        Namespace::new("https://id.example")
    }

    #[tokio::test]
    async fn user_cutoff_uses_login_time() {
        let ns = iss();
        let s = MemoryStore::new();
        s.revoke_user(&ns, "alice", NOW, NOW + 86_400, NOW)
            .await
            .unwrap();
        assert_eq!(
            s.check(&ns, "alice", None, NOW - 10, NOW).unwrap(),
            Some(Revoked::User { cutoff: NOW })
        );
        assert_eq!(
            s.check(&ns, "alice", None, NOW, NOW).unwrap(),
            Some(Revoked::User { cutoff: NOW })
        );
        assert_eq!(
            s.check(&ns, "alice", None, NOW + 1, NOW + 5).unwrap(),
            None,
            "logged in again after"
        );
        assert_eq!(s.check(&ns, "bob", None, NOW - 10, NOW).unwrap(), None);
        // A lower cut-off never replaces a higher one.
        s.revoke_user(&ns, "alice", NOW - 1000, NOW + 86_400, NOW)
            .await
            .unwrap();
        assert!(
            s.check(&ns, "alice", None, NOW - 10, NOW)
                .unwrap()
                .is_some()
        );
        // Forgotten after keep_until.
        assert_eq!(
            s.check(&ns, "alice", None, NOW - 10, NOW + 86_401).unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn dpop_proofs_are_counted_apart_from_logout_and_set_jtis() {
        let ns = iss();
        let proofs = Namespace::dpop_proofs("https://id.example");
        assert_ne!(proofs.tag(), ns.tag());
        // The Redis keys of proofs recorded before this namespace existed.
        assert_eq!(
            proofs.tag(),
            Namespace::new("dpop:https://id.example").tag()
        );
        let s = MemoryStore::with_jti_capacity(2).with_proof_jti_capacity(1);
        assert!(s.record_jti(&proofs, "p1", NOW, NOW + 61).await.unwrap());
        // A full proof record refuses proofs (503), never forgets one...
        let full = s
            .record_jti(&proofs, "p2", NOW, NOW + 61)
            .await
            .unwrap_err();
        assert!(full.0.contains("with_proof_jti_capacity"), "{full}");
        assert!(
            !s.record_jti(&proofs, "p1", NOW + 1, NOW + 62)
                .await
                .unwrap()
        );
        // ...and leaves logout tokens and SETs their room.
        assert!(s.record_jti(&ns, "logout-1", NOW, NOW + 60).await.unwrap());
        assert!(s.record_jti(&ns, "logout-2", NOW, NOW + 60).await.unwrap());
        assert!(s.record_jti(&ns, "logout-3", NOW, NOW + 60).await.is_err());
        // The proof window over, its room is free again.
        assert!(
            s.record_jti(&proofs, "p2", NOW + 62, NOW + 123)
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn a_full_record_is_swept_of_expired_entries_before_it_refuses() {
        let ns = Namespace::dpop_proofs("https://id.example");
        let s = MemoryStore::new().with_proof_jti_capacity(2);
        assert!(s.record_jti(&ns, "short", NOW, NOW + 5).await.unwrap());
        assert!(s.record_jti(&ns, "long", NOW, NOW + 600).await.unwrap());
        assert!(s.record_jti(&ns, "third", NOW + 1, NOW + 61).await.is_err());
        // Well before the minute's purge: the sweep of the full record
        // finds "short" expired; a second refusal in the same second does
        // not sweep again (nothing more can have expired).
        assert!(s.record_jti(&ns, "third", NOW + 6, NOW + 66).await.unwrap());
        assert!(
            s.record_jti(&ns, "fourth", NOW + 6, NOW + 66)
                .await
                .is_err()
        );
        assert!(!s.record_jti(&ns, "long", NOW + 7, NOW + 67).await.unwrap());
    }

    #[tokio::test]
    async fn sessions_and_jtis() {
        let ns = iss();
        let s = MemoryStore::new();
        s.revoke_session(&ns, "sid-1", NOW + 60, NOW).await.unwrap();
        assert_eq!(
            s.check(&ns, "u", Some("sid-1"), NOW, NOW).unwrap(),
            Some(Revoked::Session)
        );
        assert_eq!(s.check(&ns, "u", Some("sid-2"), NOW, NOW).unwrap(), None);
        assert_eq!(s.check(&ns, "u", None, NOW, NOW).unwrap(), None);
        assert_eq!(
            s.check(&ns, "u", Some("sid-1"), NOW, NOW + 61).unwrap(),
            None
        );
        assert!(s.record_jti(&ns, "j1", NOW, NOW + 60).await.unwrap());
        let small = MemoryStore::with_jti_capacity(1);
        assert!(small.record_jti(&ns, "a", NOW, NOW + 60).await.unwrap());
        assert!(
            small.record_jti(&ns, "b", NOW, NOW + 60).await.is_err(),
            "full: refused"
        );
        assert!(
            !small.record_jti(&ns, "a", NOW, NOW + 60).await.unwrap(),
            "a replay is still seen"
        );
        assert!(
            small
                .record_jti(&ns, "b", NOW + 61, NOW + 120)
                .await
                .unwrap(),
            "expired ones make room"
        );
        assert!(!s.record_jti(&ns, "j1", NOW + 30, NOW + 90).await.unwrap());
        assert!(s.record_jti(&ns, "j2", NOW, NOW + 60).await.unwrap());
        assert!(
            s.record_jti(&ns, "j1", NOW + 61, NOW + 120).await.unwrap(),
            "forgotten once expired"
        );
    }

    /// Security review finding 2: a future-dated cut-off for one user used
    /// to purge with the cut-off as "now", erasing other users' entries.
    #[tokio::test]
    async fn a_write_about_one_id_never_drops_another() {
        let ns = iss();
        let s = MemoryStore::new();
        s.revoke_user(&ns, "alice", NOW, NOW + 86_400, NOW)
            .await
            .unwrap();
        s.revoke_session(&ns, "sid-a", NOW + 86_400, NOW)
            .await
            .unwrap();
        let far = NOW + 40 * 86_400;
        s.revoke_user(&ns, "mallory", far, far + 86_400, NOW + 61)
            .await
            .unwrap();
        s.revoke_session(&ns, "sid-m", far, NOW + 122)
            .await
            .unwrap();
        assert!(
            s.check(&ns, "alice", None, NOW - 1, NOW + 200)
                .unwrap()
                .is_some()
        );
        assert!(
            s.check(&ns, "x", Some("sid-a"), NOW, NOW + 200)
                .unwrap()
                .is_some()
        );
        assert_eq!(s.len(), (2, 2));
    }

    /// Security review finding 11: entries are namespaced by issuer.
    #[tokio::test]
    async fn issuers_never_share_entries() {
        let ns = iss();
        let s = MemoryStore::new();
        let other = &Namespace::new("https://other.example");
        s.revoke_user(&ns, "alice", NOW, NOW + 60, NOW)
            .await
            .unwrap();
        s.revoke_session(&ns, "sid", NOW + 60, NOW).await.unwrap();
        assert!(s.record_jti(&ns, "j", NOW, NOW + 60).await.unwrap());
        assert_eq!(
            s.check(other, "alice", Some("sid"), NOW - 1, NOW).unwrap(),
            None
        );
        assert!(s.record_jti(other, "j", NOW, NOW + 60).await.unwrap());
        assert!(s.check(&ns, "alice", None, NOW - 1, NOW).unwrap().is_some());
    }
}
