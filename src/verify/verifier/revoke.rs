//! Revocation writes: "log out all devices" (a user's cut-off), one
//! session, and OpenID Connect Back-Channel Logout 1.0 (a validated logout
//! token becomes one of those).

use crate::error::{LogoutError, Rejection, RejectionKind, RevokeError};
use crate::jwt::logout::{self, LogoutContext, LogoutEvent};
use crate::jwt::token::Expected;
use crate::verify::verifier::handle::Verifier;

/// The id rule, before any store write (a shared store's readers depend on it).
fn valid_id(what: &'static str, id: &str) -> Result<(), RevokeError> {
    crate::revocation::check_id(id).map_err(|source| RevokeError::InvalidId { what, source })
}

impl Verifier {
    /// "Log out all devices": revokes every token of `sub` whose login
    /// (`auth_time`) is at or before `before` (default: now). A cut-off later
    /// than now plus the leeway is refused ([`RevokeError::CutoffInFuture`]):
    /// it would revoke logins that have not happened yet; so is a `sub` that
    /// breaks the id rule ([`RevokeError::InvalidId`]).
    pub async fn revoke_user(&self, sub: &str, before: Option<i64>) -> Result<(), RevokeError> {
        let (now, leeway) = self.now_and_leeway();
        let cutoff = before.unwrap_or(now);
        if cutoff > now.saturating_add(leeway) {
            return Err(RevokeError::CutoffInFuture { cutoff, now });
        }
        valid_id("sub", sub)?;
        let keep = cutoff.saturating_add(self.keep_secs());
        let ns = &self.inner.namespace;
        Ok(self
            .inner
            .store
            .revoke_user(ns, sub, cutoff, keep, now)
            .await?)
    }

    /// Revokes every token carrying this `sid`. An id that breaks the id
    /// rule ([`check_id`](crate::revocation::check_id)) is refused
    /// ([`RevokeError::InvalidId`]) before anything is written.
    pub async fn revoke_session(&self, sid: &str) -> Result<(), RevokeError> {
        valid_id("sid", sid)?;
        let (now, _) = self.now_and_leeway();
        let keep = now.saturating_add(self.keep_secs());
        let ns = &self.inner.namespace;
        Ok(self.inner.store.revoke_session(ns, sid, keep, now).await?)
    }

    fn keep_secs(&self) -> i64 {
        i64::try_from(self.inner.config.revocation_keep().as_secs()).unwrap_or(i64::MAX)
    }

    /// OpenID Connect Back-Channel Logout 1.0 §2.6: validates a logout token
    /// (same keys, issuer and audiences as ID tokens) and records it: its
    /// `sid` is revoked, or, with only a `sub`, every earlier login of the user.
    pub async fn backchannel_logout(&self, logout_token: &str) -> Result<LogoutEvent, LogoutError> {
        let result = self.logout(logout_token).await;
        match &result {
            Ok(e) => {
                tracing::info!(sub = ?e.sub, sid = ?e.sid, "reauth: back-channel logout recorded")
            }
            Err(e) => tracing::debug!(code = e.code(), error = %e, "reauth: logout token refused"),
        }
        result
    }

    async fn logout(&self, logout_token: &str) -> Result<LogoutEvent, LogoutError> {
        let config = &*self.inner.config;
        // §2.6 steps 1-2: a signed JWT, the issuer's key, an allowed alg.
        let map = self
            .signed_payload(logout_token, Expected::Logout)
            .await?
            .map;
        let (now, leeway) = self.now_and_leeway();
        let max_age = i64::try_from(config.logout_token_max_age.as_secs()).unwrap_or(i64::MAX);
        let event = logout::validate(
            &map,
            &LogoutContext {
                issuer: &config.issuer,
                audiences: &config.audiences,
                now,
                leeway,
                max_age,
            },
        )?;
        // The revocation is written first, the jti recorded after: a write
        // that fails answers 503 and the issuer's retry (same jti) is not
        // mistaken for a replay. Writing it again is harmless: a session
        // revocation is idempotent, and a user cut-off is the token's iat
        // (never later than now), so a replay cannot move it.
        match (&event.sid, &event.sub) {
            (Some(sid), _) => self.revoke_session(sid).await?,
            (None, Some(sub)) => self.revoke_user(sub, Some(event.iat.min(now))).await?,
            (None, None) => {}
        }
        // §2.6 step 7: a jti seen before is a replay.
        let keep = event.exp.saturating_add(leeway);
        if !self
            .inner
            .store
            .record_jti(&self.inner.namespace, &event.jti, now, keep)
            .await?
        {
            return Err(Rejection::new(
                RejectionKind::InvalidClaim,
                "jti was already used (replay)",
            )
            .into());
        }
        Ok(event)
    }
}
