//! The decision on a token whose signature and claims are good, made on
//! every request (a memo hit included): revocation, the route's scopes,
//! then freshness.

use crate::error::{Rejection, RejectionKind, VerifyError};
use crate::jwt::claims::IdTokenClaims;
use crate::revocation::Revoked;
use crate::verify::freshness::{self, FreshnessContext};
use crate::verify::requirement::{Freshness, Requirement};
use crate::verify::verifier::handle::Verifier;

impl Verifier {
    /// Revocation, then freshness: the per-request decisions about a token
    /// whose signature and claims are good.
    pub(super) async fn decide(
        &self,
        claims: &IdTokenClaims,
        req: &Requirement,
        now: i64,
        leeway: i64,
    ) -> Result<Freshness, VerifyError> {
        let config = &*self.inner.config;
        self.refuse_revoked(claims, now).await?;
        // RFC 6750 §3.1: the route's scopes, before freshness (a new login
        // would not add a scope).
        check_scopes(claims, req)?;
        // Freshness (OIDC Core 3.1.3.7 step 13, RFC 9470): the session lifetime,
        // auth_time vs max_age, the can-reauthenticate policy, acr/amr step-up.
        Ok(freshness::evaluate(
            claims,
            req,
            &FreshnessContext {
                now,
                leeway,
                default_policy: config.when_cannot_reauthenticate,
                max_session_age: config.max_session_age,
            },
        )?)
    }

    /// Revocation: the session (sid), then the user's cut-off, compared with
    /// auth_time, so a refreshed token (same auth_time, OIDC Core 12.2)
    /// stays revoked. Without auth_time, `iat` is only when the token was
    /// (re-)issued, not when the user logged in: a user with a cut-off is
    /// refused unless the operator chose to trust iat.
    async fn refuse_revoked(&self, claims: &IdTokenClaims, now: i64) -> Result<(), VerifyError> {
        let config = &*self.inner.config;
        let login_time = match claims.auth_time {
            Some(t) => t,
            None if config.insecure_trust_iat_as_login_time => claims.iat,
            None => i64::MIN,
        };
        match self
            .check_revocation(&claims.sub, claims.sid.as_deref(), login_time, now)
            .await?
        {
            None => Ok(()),
            Some(Revoked::Session) => {
                Err(Rejection::new(RejectionKind::Revoked, "the session was revoked").into())
            }
            Some(Revoked::User { .. }) if claims.auth_time.is_none() => Err(Rejection::new(
                RejectionKind::Revoked,
                "the user's sessions were revoked and the token has no auth_time to prove a later login; log in again",
            )
            .into()),
            Some(Revoked::User { .. }) => Err(Rejection::new(
                RejectionKind::Revoked,
                "the user's sessions were revoked; log in again",
            )
            .into()),
        }
    }

    /// The store's check. A shared store's copy that cannot vouch for its
    /// answer (stale: a paused process, a reconnect) gets one bounded wait
    /// for its log reader to catch up, then one more check; if that fails
    /// too, the error stands (503 `revocation_unavailable`: fail closed).
    async fn check_revocation(
        &self,
        sub: &str,
        sid: Option<&str>,
        login_time: i64,
        now: i64,
    ) -> Result<Option<Revoked>, crate::revocation::StoreError> {
        let (store, ns) = (&self.inner.store, &self.inner.namespace);
        let first = store.check(ns, sub, sid, login_time, now);
        if first.is_err() && store.until_current().await {
            return store.check(ns, sub, sid, login_time, now);
        }
        first
    }
}

/// RFC 6750 §3.1: every scope the route demands is in the token's `scope`
/// (`insufficient_scope`, 403, naming the route's scopes, otherwise).
fn check_scopes(claims: &IdTokenClaims, req: &Requirement) -> Result<(), VerifyError> {
    let lacking: Vec<&String> = req
        .scopes()
        .iter()
        .filter(|s| !claims.scope.contains(s))
        .collect();
    if lacking.is_empty() {
        return Ok(());
    }
    Err(Rejection::new(
        RejectionKind::InsufficientScope,
        format!(
            "the token lacks scope {}",
            lacking
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
    )
    .with_scope(req.scopes().to_vec())
    .into())
}
