//! [`Verifiers`]: what an adapter or the gate verifies with, one
//! [`Verifier`] or an [`IssuerSet`].

use serde::de::DeserializeOwned;

use crate::error::VerifyError;
use crate::verify::issuers::set::IssuerSet;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::{Verified, Verifier};

/// What an adapter or the gate verifies with: one issuer's [`Verifier`], or
/// an [`IssuerSet`]. Register either (actix: app data); the extractors take
/// whichever is there (both at once is a wiring mistake, 500).
#[derive(Debug, Clone, PartialEq)]
pub enum Verifiers {
    /// One issuer.
    One(Verifier),
    /// Several, chosen by each token's `iss`.
    Set(IssuerSet),
}

impl From<Verifier> for Verifiers {
    fn from(v: Verifier) -> Self {
        Self::One(v)
    }
}

impl From<IssuerSet> for Verifiers {
    fn from(s: IssuerSet) -> Self {
        Self::Set(s)
    }
}

impl Verifiers {
    /// [`Verifier::verify_as`], through the set when there is one.
    pub async fn verify_as<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        req: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        match self {
            Self::One(v) => v.verify_as(token, req).await,
            Self::Set(s) => s.verify_as(token, req).await,
        }
    }

    /// [`Verifier::verify_presented_as`], through the set when there is one.
    pub async fn verify_presented_as<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        dpop: Option<&crate::verify::verifier::DpopPresentation>,
        req: &Requirement,
    ) -> Result<Verified<E>, VerifyError> {
        match self {
            Self::One(v) => v.verify_presented_as(token, dpop, req).await,
            Self::Set(s) => s.verify_presented_as(token, dpop, req).await,
        }
    }

    /// The verifiers known now: the one, or the set's fixed issuers and the
    /// tenants discovered so far.
    pub fn known(&self) -> Vec<Verifier> {
        match self {
            Self::One(v) => vec![v.clone()],
            Self::Set(s) => s.known(),
        }
    }

    /// [`Verifier::warm_up`] for every fixed issuer (tenants are loaded on
    /// first sight): true when all have keys.
    pub async fn warm_up(&self) -> bool {
        let fixed = match self {
            Self::One(v) => vec![v.clone()],
            Self::Set(s) => s.fixed.values().cloned().collect(),
        };
        let mut ready = true;
        for v in fixed {
            ready &= v.warm_up().await;
        }
        ready
    }

    /// The counters of every known verifier, summed; the oldest keys' fetch
    /// time; the stalest revocation copy.
    pub fn stats(&self) -> crate::verify::stats::VerifierStats {
        let mut total = crate::verify::stats::VerifierStats::default();
        for s in self.known().iter().map(Verifier::stats) {
            total.jwks_fetches += s.jwks_fetches;
            total.jwks_fetch_failures += s.jwks_fetch_failures;
            total.memo_hits += s.memo_hits;
            total.memo_misses += s.memo_misses;
            total.keys_fetched_at = match (total.keys_fetched_at, s.keys_fetched_at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            total.revocation = match (total.revocation, s.revocation) {
                (Some(a), Some(b)) if b.staleness > a.staleness => Some(b),
                (a, b) => a.or(b),
            };
        }
        total
    }

    /// [`Verifier::backchannel_logout`] by the logout token's issuer.
    pub async fn backchannel_logout(
        &self,
        logout_token: &str,
    ) -> Result<crate::jwt::logout::LogoutEvent, crate::error::LogoutError> {
        let v = match self {
            Self::One(v) => v.clone(),
            Self::Set(s) => s.choose(logout_token).await.map_err(|e| match e {
                VerifyError::Rejected(r) => crate::error::LogoutError::Rejected(r),
                VerifyError::KeysUnavailable(f) => crate::error::LogoutError::KeysUnavailable(f),
                VerifyError::RevocationUnavailable(s) => crate::error::LogoutError::Store(s),
            })?,
        };
        v.backchannel_logout(logout_token).await
    }
}
