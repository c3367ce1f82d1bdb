//! The verified-token memo: successful signature checks, kept so a token
//! seen again costs a lookup instead of a signature verification.
//!
//! - Keyed by the **whole token** (`Arc<str>`): a hit implies the same bytes.
//! - Bounded by memory (weight = token + claims size) and, through a minimum
//!   weight per entry, by entries; S3-FIFO admission (`quick_cache`) keeps
//!   one-off tokens from evicting the working set.
//! - Only tokens whose signature and static claims (`iss`, `aud`, `azp`,
//!   `sub`, types) passed are inserted; failures never are.
//! - On every hit the caller re-runs what depends on time or on the world:
//!   `exp`/`nbf`/`iat`, the allow-list, that the signing key is still in the
//!   current JWKS, revocation, and the route's freshness. An entry found
//!   past its `exp` is removed.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::jwt::claims::ClaimsMap;
use crate::jwt::claims::IdTokenClaims;
use jsonwebtoken::Algorithm;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// What a successful signature check established about one token. `O` is
/// the owner that re-judges it (the verifier: generic, so the memo knows
/// nothing of the pipeline above it).
pub(crate) struct MemoEntry<O> {
    pub claims: Arc<IdTokenClaims>,
    /// All claims.
    pub payload: ClaimsMap,
    pub alg: Algorithm,
    pub kid: Option<String>,
    /// The signing key's fingerprint, to confirm it is still published.
    pub fingerprint: [u8; 32],
    /// The verifier that judged it, when the memo is an issuer set's (one
    /// lookup finds both the entry and who re-judges it).
    pub owner: Option<O>,
    weight: u64,
}

impl<O> MemoEntry<O> {
    pub fn new(
        claims: Arc<IdTokenClaims>,
        payload: ClaimsMap,
        alg: Algorithm,
        kid: Option<String>,
        fingerprint: [u8; 32],
        payload_bytes: usize,
    ) -> Self {
        // Decoded JSON costs a few times its text; 256 for the fixed parts.
        let weight = (payload_bytes as u64).saturating_mul(4).saturating_add(256);
        Self {
            claims,
            payload,
            alg,
            kid,
            fingerprint,
            owner: None,
            weight,
        }
    }
}

#[derive(Clone)]
struct ByWeight {
    min: u64,
}

impl<O> Weighter<Arc<str>, Arc<MemoEntry<O>>> for ByWeight {
    fn weight(&self, token: &Arc<str>, entry: &Arc<MemoEntry<O>>) -> u64 {
        (token.len() as u64 + entry.weight).max(self.min)
    }
}

pub(crate) struct Memo<O> {
    cache: Cache<Arc<str>, Arc<MemoEntry<O>>, ByWeight>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<O> Memo<O> {
    /// `None` when either bound is zero (memo disabled).
    pub fn new(max_entries: usize, max_bytes: u64) -> Option<Self> {
        if max_entries == 0 || max_bytes == 0 {
            return None;
        }
        let min = max_bytes.div_ceil(max_entries as u64).max(1);
        Some(Self {
            cache: Cache::with_weighter(max_entries, max_bytes, ByWeight { min }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    pub fn get(&self, token: &str) -> Option<Arc<MemoEntry<O>>> {
        let found = self.cache.get(token);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Lookups that found the token, and that did not.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    pub fn insert(&self, token: &str, entry: MemoEntry<O>) {
        self.cache.insert(Arc::from(token), Arc::new(entry));
    }

    pub fn remove(&self, token: &str) {
        self.cache.remove(token);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.cache.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> MemoEntry<()> {
        let claims = IdTokenClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: vec![],
            exp: 0,
            iat: 0,
            nbf: None,
            auth_time: None,
            nonce: None,
            acr: None,
            amr: vec![],
            azp: None,
            sid: None,
            jti: None,
            can_reauthenticate: None,
            client_id: None,
            scope: Vec::new(),
            cnf: Default::default(),
        };
        MemoEntry::new(
            Arc::new(claims),
            Arc::default(),
            Algorithm::RS256,
            None,
            [0; 32],
            100,
        )
    }

    #[test]
    fn bounded_by_entries_and_bytes() {
        let memo = Memo::new(100, 1 << 20).unwrap();
        for i in 0..1000 {
            memo.insert(&format!("token-{i}"), entry());
        }
        assert!(memo.len() <= 110, "{}", memo.len());
        let small = Memo::new(1_000_000, 10_000).unwrap();
        for i in 0..1000 {
            small.insert(&format!("token-{i}"), entry());
        }
        assert!(small.len() <= 15, "{}", small.len());
        assert!(Memo::<()>::new(0, 10).is_none());
    }

    #[test]
    fn whole_token_is_the_key() {
        let memo = Memo::new(10, 1 << 20).unwrap();
        memo.insert("a.b.c", entry());
        assert!(memo.get("a.b.c").is_some());
        assert!(memo.get("a.b.d").is_none());
        assert!(memo.get("a.b.").is_none());
        memo.remove("a.b.c");
        assert!(memo.get("a.b.c").is_none());
    }
}
