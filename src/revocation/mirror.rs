//! The compact local mirror of a shared revocation state.
//!
//! Ids (`{issuer tag}:{sub or sid}`) are kept as 64-bit keyed hashes, not
//! strings: SipHash-1-3 (std's `RandomState`) with a random key drawn per
//! process, so nobody outside the process can aim for a collision. A
//! collision can only make an id that is *not* revoked look revoked (a
//! spurious 401, fail closed), never the reverse; with 1,000,000 entries the
//! chance that a given check hits one is 10^6 / 2^64, about 5 x 10^-14.
//! Times are stored as `u32` Unix seconds (until 2106; a later `keep_until`
//! saturates, which only keeps an entry longer).
//!
//! Memory per entry, in hashbrown tables between 7/16 and 7/8 full: a
//! revoked session takes 12 bytes + 1 control byte per slot, so 15 to 30
//! bytes; a user cut-off 16 + 1, so 19 to 39 bytes. 1,000,000 sessions fit
//! in at most 27 MiB (2^21 slots).
//!
//! The tables sit behind one `RwLock`: a check takes the read lock for two
//! lookups; an event takes the write lock for one insert. The first load
//! (and one after a store reset) builds new tables and swaps them in one
//! move; a load after a gap in the log merges into the live tables one
//! bucket (about a thousand inserts) per write lock, so a check waits at
//! most for one bucket, and memory never holds two mirrors.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::RwLock;

use crate::revocation::namespace::Namespace;
use crate::revocation::store::{Revoked, rule};

/// The ids are already uniformly random hashes: the table uses them as is.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Table<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// Unix seconds as stored: clamped into `u32`.
fn secs(t: i64) -> u32 {
    u32::try_from(t.max(0)).unwrap_or(u32::MAX)
}

/// One consistent state: built whole by a snapshot, or updated by events.
#[derive(Default)]
pub(crate) struct Tables {
    /// id hash -> (cutoff, keep_until)
    users: Table<(u32, u32)>,
    /// id hash -> keep_until
    sessions: Table<u32>,
    /// The earliest `keep_until` held (a purge before it finds nothing).
    next_expiry: u32,
}

impl Tables {
    /// Tables sized for this many entries.
    pub fn with_capacity(users: usize, sessions: usize) -> Self {
        Self {
            users: Table::with_capacity_and_hasher(users, Default::default()),
            sessions: Table::with_capacity_and_hasher(sessions, Default::default()),
            next_expiry: u32::MAX,
        }
    }

    /// Adds a user cut-off (the higher cut-off and keep win).
    pub fn add_user(&mut self, id: u64, cutoff: i64, keep_until: i64) {
        let (c, k) = (secs(cutoff), secs(keep_until));
        let e = self.users.entry(id).or_insert((c, k));
        *e = (e.0.max(c), e.1.max(k));
        self.next_expiry = self.next_expiry.min(k);
    }

    /// Adds a session revocation (the later keep wins).
    pub fn add_session(&mut self, id: u64, keep_until: i64) {
        let k = secs(keep_until);
        let e = self.sessions.entry(id).or_insert(k);
        *e = (*e).max(k);
        self.next_expiry = self.next_expiry.min(k);
    }

    /// Adds the records of one snapshot bucket: (id, cut-off, keep until)
    /// of user cut-offs (`user`) or sessions (the cut-off unused).
    pub fn add_all(&mut self, user: bool, records: &[(u64, i64, i64)]) {
        for &(id, cutoff, keep) in records {
            if user {
                self.add_user(id, cutoff, keep);
            } else {
                self.add_session(id, keep);
            }
        }
    }

    /// Room for this many entries in all, so a merge grows each table at
    /// most once.
    fn reserve(&mut self, users: usize, sessions: usize) {
        self.users.reserve(users.saturating_sub(self.users.len()));
        self.sessions
            .reserve(sessions.saturating_sub(self.sessions.len()));
    }

    /// (users, sessions) held.
    pub fn len(&self) -> (usize, usize) {
        (self.users.len(), self.sessions.len())
    }
}

/// The mirror: a per-process hash key and the current tables.
pub(crate) struct Mirror {
    key: RandomState,
    tables: RwLock<Tables>,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("entries", &self.len())
            .finish()
    }
}

impl Mirror {
    pub fn new() -> Self {
        Self {
            key: RandomState::new(),
            tables: RwLock::new(Tables::with_capacity(0, 0)),
        }
    }

    /// The hash of `{tag}:{id}`, given as its two parts.
    pub fn id(&self, tag: &str, id: &str) -> u64 {
        let mut h = self.key.build_hasher();
        h.write(tag.as_bytes());
        h.write(b":");
        h.write(id.as_bytes());
        h.finish()
    }

    /// The hash of a stored id (`{tag}:{id}`), split at its first `:`.
    pub fn stored_id(&self, scoped: &str) -> u64 {
        let (tag, id) = scoped.split_once(':').unwrap_or(("", scoped));
        self.id(tag, id)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies one user cut-off.
    pub fn apply_user(&self, id: u64, cutoff: i64, keep_until: i64) {
        self.write().add_user(id, cutoff, keep_until);
    }

    /// Applies one session revocation.
    pub fn apply_session(&self, id: u64, keep_until: i64) {
        self.write().add_session(id, keep_until);
    }

    /// Merges one snapshot bucket's records into the live tables (a load
    /// after a gap), under the write lock for that bucket only (about a
    /// thousand inserts at a million entries).
    pub fn merge(&self, user: bool, records: &[(u64, i64, i64)]) {
        self.write().add_all(user, records);
    }

    /// Makes room for this many entries in all (a merge to come); grows a
    /// table at most once, under the write lock.
    pub fn reserve(&self, users: usize, sessions: usize) {
        self.write().reserve(users, sessions);
    }

    /// Swaps in tables built elsewhere (a snapshot load); the old ones are
    /// dropped after the lock is released.
    pub fn replace(&self, tables: Tables) {
        let old = std::mem::replace(&mut *self.write(), tables);
        drop(old);
    }

    /// Drops entries expired at `now`, when any can be.
    pub fn purge(&self, now: i64) {
        let now = secs(now);
        if self.read().next_expiry > now {
            return;
        }
        let mut t = self.write();
        t.users.retain(|_, (_, keep)| *keep > now);
        t.sessions.retain(|_, keep| *keep > now);
        t.next_expiry = t
            .users
            .values()
            .map(|(_, k)| *k)
            .chain(t.sessions.values().copied())
            .min()
            .unwrap_or(u32::MAX);
    }

    /// (users, sessions) held.
    pub fn len(&self) -> (usize, usize) {
        self.read().len()
    }

    /// The check: the session, then the user's cut-off against `login_time`.
    pub fn lookup(
        &self,
        ns: &Namespace,
        sub: &str,
        sid: Option<&str>,
        login_time: i64,
        now: i64,
    ) -> Option<Revoked> {
        let t = self.read();
        if t.users.is_empty() && t.sessions.is_empty() {
            return None;
        }
        let session = sid
            .filter(|_| !t.sessions.is_empty())
            .and_then(|sid| t.sessions.get(&self.id(ns.tag(), sid)))
            .map(|keep| i64::from(*keep));
        let user = Some(&t.users)
            .filter(|u| !u.is_empty())
            .and_then(|u| u.get(&self.id(ns.tag(), sub)))
            .map(|(c, k)| (i64::from(*c), i64::from(*k)));
        rule(session, user, login_time, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    #[test]
    fn lookups_merges_and_purge() {
        let m = Mirror::new();
        let ns = Namespace::new("https://i");
        let other = Namespace::new("https://j");
        m.apply_user(m.id(ns.tag(), "alice"), NOW, NOW + 60);
        m.apply_session(m.stored_id(&ns.scoped("s1")), NOW + 30);
        assert_eq!(
            m.lookup(&ns, "alice", None, NOW - 1, NOW),
            Some(Revoked::User { cutoff: NOW })
        );
        assert_eq!(m.lookup(&ns, "alice", None, NOW + 1, NOW), None);
        assert!(m.lookup(&ns, "alice", None, i64::MIN, NOW).is_some());
        assert_eq!(m.lookup(&other, "alice", Some("s1"), NOW - 1, NOW), None);
        assert_eq!(
            m.lookup(&ns, "bob", Some("s1"), NOW, NOW),
            Some(Revoked::Session)
        );
        // Lower values never replace higher ones.
        m.apply_user(m.id(ns.tag(), "alice"), NOW - 100, NOW + 10);
        assert!(m.lookup(&ns, "alice", None, NOW - 50, NOW + 50).is_some());
        // Expiry.
        assert_eq!(m.lookup(&ns, "bob", Some("s1"), NOW, NOW + 31), None);
        m.purge(NOW + 31);
        assert_eq!(m.len(), (1, 0));
        m.purge(NOW + 61);
        assert_eq!(m.len(), (0, 0));
    }

    #[test]
    fn merge_only_adds_and_keeps_the_higher_value() {
        let m = Mirror::new();
        let ns = Namespace::new("https://i");
        let (alice, s1, s2) = (
            m.id(ns.tag(), "alice"),
            m.id(ns.tag(), "s1"),
            m.id(ns.tag(), "s2"),
        );
        m.apply_user(alice, NOW, NOW + 60);
        m.apply_session(s1, NOW + 60);
        m.reserve(10, 10);
        // A snapshot with an older cut-off for alice, s1 kept longer, s2 new.
        m.merge(true, &[(alice, NOW - 100, NOW + 10)]);
        m.merge(false, &[(s1, 0, NOW + 600), (s2, 0, NOW + 60)]);
        assert_eq!(m.len(), (1, 2));
        assert_eq!(
            m.lookup(&ns, "alice", None, NOW - 50, NOW),
            Some(Revoked::User { cutoff: NOW })
        );
        assert!(m.lookup(&ns, "u", Some("s1"), NOW, NOW + 300).is_some());
        assert!(m.lookup(&ns, "u", Some("s2"), NOW, NOW).is_some());
    }

    #[test]
    fn replace_swaps_whole_tables() {
        let m = Mirror::new();
        let ns = Namespace::new("https://i");
        m.apply_session(m.id(ns.tag(), "old"), NOW + 60);
        let mut t = Tables::with_capacity(1, 1);
        t.add_session(m.id(ns.tag(), "new"), NOW + 60);
        m.replace(t);
        assert_eq!(m.lookup(&ns, "u", Some("old"), NOW, NOW), None);
        assert!(m.lookup(&ns, "u", Some("new"), NOW, NOW).is_some());
    }
}
