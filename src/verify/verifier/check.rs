//! The check: a token's signature and claims verified from scratch (RFC
//! 8725, RFC 7515, OIDC Core 3.1.3.7), or a memoised token re-judged on
//! what depends on time and on the world; both then [`decide`](super::decide).

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::error::VerifyError;
use crate::jwt::claims::{self, ClaimContext, ClaimsMap};
use crate::jwt::token::Expected;
use crate::provider::keys::Lookup;
use crate::provider::keys::signed::{Signed, signed_payload};
use crate::verify::requirement::Requirement;
use crate::verify::verifier::handle::{Memo, MemoEntry, Verifier};
use crate::verify::verifier::verified::{Verified, extract};

impl Verifier {
    /// Steps shared by ID and logout tokens: shape, header, key, signature,
    /// strict JSON payload. Nothing in the payload is trusted before this.
    pub(super) async fn signed_payload(
        &self,
        token: &str,
        expected: Expected,
    ) -> Result<Signed, VerifyError> {
        signed_payload(
            &self.inner.keys,
            token,
            self.inner.config.max_token_bytes,
            expected,
        )
        .await
    }

    pub(super) fn now_and_leeway(&self) -> (i64, i64) {
        let config = &*self.inner.config;
        let leeway = i64::try_from(config.leeway.as_secs()).unwrap_or(i64::MAX);
        (config.clock.now().timestamp(), leeway)
    }

    /// `set_memo`: an issuer set's memo to use instead of this verifier's.
    pub(super) async fn run<E: DeserializeOwned + 'static>(
        &self,
        token: &str,
        req: &Requirement,
        set_memo: Option<&Memo>,
    ) -> Result<Verified<E>, VerifyError> {
        let memo = set_memo.or(self.inner.memo.as_ref());
        if let Some(memo) = memo {
            if let Some(entry) = memo.get(token) {
                if let Some(result) = self.judge_memoized(&entry, req).await {
                    return result;
                }
                // The key left the JWKS (or the allow-list changed, or the
                // token expired): forget it and judge it afresh.
                memo.remove(token);
            }
        }
        let config = &*self.inner.config;
        let expected = match config.token_kind {
            crate::jwt::token_kind::TokenKind::IdToken => Expected::Id,
            crate::jwt::token_kind::TokenKind::AccessToken => Expected::Access,
        };
        let signed = self.signed_payload(token, expected).await?;
        let (now, leeway) = self.now_and_leeway();
        // OIDC Core 3.1.3.7 steps 2-10 (iss, aud, azp, exp, iat) and RFC 7519 nbf.
        let claims = claims::validate(
            &signed.map,
            &ClaimContext {
                issuer: &config.issuer,
                audiences: &config.audiences,
                now,
                leeway,
                can_reauthenticate_claim: &config.can_reauthenticate_claim,
                kind: config.token_kind,
            },
        )?;
        let claims = Arc::new(claims);
        let payload: ClaimsMap = Arc::new(signed.map);
        let extra = extract::<E>(&payload)?;
        let freshness = self.decide(&claims, req, now, leeway).await;
        if let Some(memo) = memo {
            let mut entry = MemoEntry::new(
                Arc::clone(&claims),
                payload,
                signed.alg,
                signed.kid.clone(),
                signed.fingerprint,
                signed.payload_bytes,
            );
            if set_memo.is_some() {
                entry.owner = Some(self.clone());
            }
            memo.insert(token, entry);
        }
        Ok(Verified {
            claims,
            extra,
            freshness: freshness?,
            alg: signed.alg,
            kid: signed.kid,
        })
    }

    /// A memo hit: re-runs everything that depends on time or on the world.
    /// `None` means "not usable any more; verify from scratch".
    pub(super) async fn judge_memoized<E: DeserializeOwned + 'static>(
        &self,
        entry: &MemoEntry,
        req: &Requirement,
    ) -> Option<Result<Verified<E>, VerifyError>> {
        // The allow-list may have changed with a discovery refresh.
        if !self.inner.keys.algorithms().contains(&entry.alg) {
            return None;
        }
        // The signing key must still be published (a removed key stops working).
        let kid = entry.kid.as_deref();
        let keys = match self.inner.keys.resolve(kid, entry.alg).await {
            Ok(keys) => keys,
            Err(VerifyError::Rejected(_)) => return None,
            Err(e) => return Some(Err(e)),
        };
        match keys.find(kid, entry.alg) {
            Lookup::Found(key, _) if key.fingerprint == entry.fingerprint => {}
            _ => return None,
        }
        let (now, leeway) = self.now_and_leeway();
        // exp / nbf / iat against the current time.
        if claims::check_times(&entry.claims, now, leeway).is_err() {
            return None;
        }
        let result = self
            .decide(&entry.claims, req, now, leeway)
            .await
            .and_then(|freshness| {
                let extra = extract::<E>(&entry.payload)?;
                Ok(Verified {
                    claims: entry.claims.clone(),
                    extra,
                    freshness,
                    alg: entry.alg,
                    kid: entry.kid.clone(),
                })
            });
        Some(result)
    }
}
