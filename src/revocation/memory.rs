//! The in-process store: the default, for one instance.

use std::collections::HashMap;
use std::sync::RwLock;

use super::{BoxFuture, RevocationStore, Revoked, StoreError};

/// Revocations in this process's memory. Entries are dropped after their
/// `keep_until`. Use `RedisStore` (feature `redis`) when
/// several instances must agree.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: RwLock<State>,
}

#[derive(Debug, Default)]
struct State {
    /// sub -> (cutoff, keep_until)
    users: HashMap<String, (i64, i64)>,
    /// sid -> keep_until
    sessions: HashMap<String, i64>,
    /// jti -> keep_until
    jtis: HashMap<String, i64>,
    last_purge: i64,
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
        self.jtis.retain(|_, keep| *keep > now);
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a user cut-off (keeping the higher one). Shared with the Redis
    /// store's local mirror.
    pub(crate) fn apply_user(&self, sub: &str, cutoff: i64, keep_until: i64) {
        let mut s = self.write();
        s.purge(cutoff);
        let e = s
            .users
            .entry(sub.to_owned())
            .or_insert((cutoff, keep_until));
        *e = (e.0.max(cutoff), e.1.max(keep_until));
    }

    /// Applies a session revocation.
    pub(crate) fn apply_session(&self, sid: &str, keep_until: i64) {
        let mut s = self.write();
        let e = s.sessions.entry(sid.to_owned()).or_insert(keep_until);
        *e = (*e).max(keep_until);
    }

    /// Replaces the whole state (a full reload of a mirror).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn replace(
        &self,
        users: HashMap<String, (i64, i64)>,
        sessions: HashMap<String, i64>,
    ) {
        let mut s = self.write();
        s.users = users;
        s.sessions = sessions;
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
        sub: &str,
        sid: Option<&str>,
        auth_time: i64,
        now: i64,
    ) -> Option<Revoked> {
        let s = self.state.read().unwrap_or_else(|p| p.into_inner());
        if let Some(sid) = sid {
            if s.sessions.get(sid).is_some_and(|keep| *keep > now) {
                return Some(Revoked::Session);
            }
        }
        match s.users.get(sub) {
            // "Log out all devices" at T revokes every login at or before T
            // (same-second logins included: fail closed).
            Some(&(cutoff, keep)) if keep > now && auth_time <= cutoff => {
                Some(Revoked::User { cutoff })
            }
            _ => None,
        }
    }
}

impl RevocationStore for MemoryStore {
    fn check(
        &self,
        sub: &str,
        sid: Option<&str>,
        auth_time: i64,
        now: i64,
    ) -> Result<Option<Revoked>, StoreError> {
        Ok(self.lookup(sub, sid, auth_time, now))
    }

    fn revoke_user<'a>(
        &'a self,
        sub: &'a str,
        cutoff: i64,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.apply_user(sub, cutoff, keep_until);
        Box::pin(async { Ok(()) })
    }

    fn revoke_session<'a>(
        &'a self,
        sid: &'a str,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.apply_session(sid, keep_until);
        Box::pin(async { Ok(()) })
    }

    fn record_jti<'a>(
        &'a self,
        jti: &'a str,
        now: i64,
        keep_until: i64,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let mut s = self.write();
        s.purge(now);
        // Expired records are forgotten: their logout tokens are expired too.
        let fresh = s.jtis.get(jti).is_none_or(|keep| *keep <= now);
        if fresh {
            s.jtis.insert(jti.to_owned(), keep_until);
        }
        Box::pin(async move { Ok(fresh) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[tokio::test]
    async fn user_cutoff_uses_auth_time() {
        let s = MemoryStore::new();
        s.revoke_user("alice", NOW, NOW + 86_400).await.unwrap();
        assert_eq!(
            s.check("alice", None, NOW - 10, NOW).unwrap(),
            Some(Revoked::User { cutoff: NOW })
        );
        assert_eq!(
            s.check("alice", None, NOW, NOW).unwrap(),
            Some(Revoked::User { cutoff: NOW })
        );
        assert_eq!(
            s.check("alice", None, NOW + 1, NOW + 5).unwrap(),
            None,
            "logged in again after"
        );
        assert_eq!(s.check("bob", None, NOW - 10, NOW).unwrap(), None);
        // A lower cut-off never replaces a higher one.
        s.revoke_user("alice", NOW - 1000, NOW + 86_400)
            .await
            .unwrap();
        assert!(s.check("alice", None, NOW - 10, NOW).unwrap().is_some());
        // Forgotten after keep_until.
        assert_eq!(
            s.check("alice", None, NOW - 10, NOW + 86_401).unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn sessions_and_jtis() {
        let s = MemoryStore::new();
        s.revoke_session("sid-1", NOW + 60).await.unwrap();
        assert_eq!(
            s.check("u", Some("sid-1"), NOW, NOW).unwrap(),
            Some(Revoked::Session)
        );
        assert_eq!(s.check("u", Some("sid-2"), NOW, NOW).unwrap(), None);
        assert_eq!(s.check("u", None, NOW, NOW).unwrap(), None);
        assert_eq!(s.check("u", Some("sid-1"), NOW, NOW + 61).unwrap(), None);
        assert!(s.record_jti("j1", NOW, NOW + 60).await.unwrap());
        assert!(!s.record_jti("j1", NOW + 30, NOW + 90).await.unwrap());
        assert!(s.record_jti("j2", NOW, NOW + 60).await.unwrap());
        assert!(
            s.record_jti("j1", NOW + 61, NOW + 120).await.unwrap(),
            "forgotten once expired"
        );
    }
}
