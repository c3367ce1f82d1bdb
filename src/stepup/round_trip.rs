//! The round trip itself: [`StepUp::begin`] sends the browser to the
//! issuer, [`StepUp::finish`] and [`StepUp::complete`] check what comes
//! back and prove that a new login happened.

use crate::error::{Rejection, RejectionKind};
use crate::stepup::callback::{Callback, Outcome};
use crate::stepup::client::{MAX_COOKIE_BYTES, StepUp, random_token, same};
use crate::stepup::config::{Keep, UserHint};
use crate::stepup::error::{StateProblem, StepUpError};
use crate::stepup::exchange;
use crate::stepup::outcome::{Begun, Completion, Finished, StepUpUser};
use crate::stepup::pending::{self, PendingStepUp};
use crate::stepup::return_to::check_return_to;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::Verified;

impl StepUp {
    /// Starts a step-up (with `user`) or a plain sign-in (without) for a
    /// route that demands `requirement`, returning to `return_to` (a path
    /// of this app, see [`check_return_to`]).
    pub async fn begin(
        &self,
        requirement: &Requirement,
        return_to: &str,
        user: Option<&StepUpUser>,
    ) -> Result<Begun, StepUpError> {
        let return_to = check_return_to(return_to)?;
        let c = &self.inner.config;
        let state = random_token();
        let nonce = random_token();
        let prove_login = user.is_some() || requirement.demands_login();
        let extra = self.authorization_params(requirement, user, &nonce, prove_login);
        let client = exchange::client(c, &self.inner.endpoints, &self.inner.redirect_uri);
        let (url, pkce_verifier) = exchange::authorization_url(&client, &state, &c.scopes, extra);
        let mut pending = PendingStepUp {
            state,
            nonce,
            pkce_verifier,
            began_at: self.now(),
            sub: user.map(|u| u.sub.clone()),
            return_to: return_to.to_owned(),
            max_age: requirement.max_age_secs(),
            acr_values: requirement.acr().to_vec(),
            amr: requirement.amr().to_vec(),
            allow_unavailable: requirement
                .policy()
                .map(|p| p == crate::config::ReauthPolicy::Allow),
            prove_login,
            binding: None,
        };
        let set_cookie = self.keep_pending(&mut pending).await?;
        Ok(Begun {
            location: url.to_string(),
            set_cookie,
            pending,
        })
    }

    /// OIDC Core §3.1.2.1: what the issuer is asked for besides the code
    /// flow's own parameters.
    fn authorization_params(
        &self,
        requirement: &Requirement,
        user: Option<&StepUpUser>,
        nonce: &str,
        prove_login: bool,
    ) -> Vec<(&'static str, String)> {
        let c = &self.inner.config;
        let mut extra: Vec<(&'static str, String)> = vec![("nonce", nonce.to_owned())];
        if let Some(max_age) = requirement.max_age_secs() {
            extra.push(("max_age", max_age.to_string()));
        }
        if !requirement.acr().is_empty() {
            extra.push(("acr_values", requirement.acr().join(" ")));
        }
        // A new login must be proven for a step-up and for any route that
        // demands one: even when the session could not say who is stepping
        // up (expired, revoked), an older issuer session must not pass.
        if prove_login && c.prompt_login {
            extra.push(("prompt", "login".to_owned()));
        }
        if let Some(user) = user {
            match (c.hint, &user.id_token) {
                (UserHint::IdToken, Some(t)) => extra.push(("id_token_hint", t.clone())),
                (UserHint::IdToken | UserHint::LoginHint, _) => {
                    extra.push(("login_hint", user.sub.clone()));
                }
                (UserHint::None, _) => {}
            }
        }
        extra
    }

    /// Keeps the pending step-up where the configuration says (a sealed
    /// cookie, or the store plus a browser-binding cookie); returns the
    /// `Set-Cookie` value.
    async fn keep_pending(&self, pending: &mut PendingStepUp) -> Result<String, StepUpError> {
        let c = &self.inner.config;
        let (prefix, path, secure) = (
            &self.inner.pending_prefix,
            &self.inner.pending_path,
            self.inner.secure,
        );
        Ok(match &c.keep {
            Keep::Store(store) => {
                // Login CSRF (RFC 6749 §10.12): only the browser that began
                // the step-up may finish it.
                let secret = random_token();
                pending.binding = Some(pending::binding_hash(&secret));
                store.put(pending.clone(), c.pending_lifetime).await?;
                pending::binding_cookie(
                    prefix,
                    &pending.state,
                    &secret,
                    path,
                    secure,
                    c.pending_lifetime,
                )
            }
            Keep::Cookie { seal, .. } => {
                pending::seal(seal, prefix, pending, path, secure, c.pending_lifetime)
            }
        })
    }

    /// Checks `callback` against `pending` and, when it carries a code,
    /// exchanges it and checks the new ID token:
    ///
    /// - RFC 6749 §10.12: `state` is the pending one, used once, within the
    ///   pending lifetime (default 10 min);
    /// - RFC 9207 §2.4: `iss`, when sent (or promised), is our issuer;
    /// - an `error=` becomes [`StepUpError::Authorization`];
    /// - OIDC Core §3.1.3.7: the verifier's checks (signature, `iss`, `aud`,
    ///   `exp`, `iat`, revocation) and the route's `max_age`, `acr`, `amr`;
    ///   step 3-5 `aud` holds our client id and `azp`, when present, is it;
    ///   step 11 `nonce` is the one sent;
    /// - a step-up (a user was stepping up): the same `sub`;
    /// - a step-up, or any route that demands a login: an `auth_time` not
    ///   earlier than the moment it began, minus the leeway: proof of a new
    ///   login, not a replayed or reused older one.
    pub async fn finish(
        &self,
        callback: &Callback,
        pending: &PendingStepUp,
    ) -> Result<Finished, StepUpError> {
        let c = &self.inner.config;
        let code = self.check_callback(callback, pending)?;
        let client = exchange::client(c, &self.inner.endpoints, &self.inner.redirect_uri);
        let id_token =
            exchange::exchange(&client, &self.inner.http, code, &pending.pkce_verifier).await?;
        let verified = self
            .inner
            .verifier
            .verify(&id_token, &pending.requirement())
            .await
            .map_err(StepUpError::IdToken)?;
        self.check_new_login(&verified, pending)?;
        Ok(Finished {
            id_token,
            verified,
            return_to: pending.return_to.clone(),
        })
    }

    /// RFC 6749 §10.12 and RFC 9207: the callback belongs to this pending
    /// step-up (same `state`, within its lifetime, used once), comes from
    /// our issuer, and carries a code (an `error=` is the issuer's refusal).
    fn check_callback<'c>(
        &self,
        callback: &'c Callback,
        pending: &PendingStepUp,
    ) -> Result<&'c str, StepUpError> {
        let c = &self.inner.config;
        let vc = self.inner.verifier.config();
        if !same(&callback.state, &pending.state) {
            return Err(StepUpError::InvalidState(StateProblem::Mismatch));
        }
        let lifetime = i64::try_from(c.pending_lifetime.as_secs()).unwrap_or(i64::MAX);
        if self.now().saturating_sub(pending.began_at) > lifetime {
            return Err(StepUpError::InvalidState(StateProblem::Expired));
        }
        if matches!(c.keep, Keep::Cookie { .. }) {
            use quick_cache::sync::GuardResult;
            match self.inner.used.get_value_or_guard(&pending.state, None) {
                GuardResult::Guard(g) => {
                    let _ = g.insert(());
                }
                GuardResult::Value(()) | GuardResult::Timeout => {
                    return Err(StepUpError::InvalidState(StateProblem::Replayed));
                }
            }
        }
        match &callback.iss {
            Some(iss) if iss != vc.issuer() => return Err(StepUpError::IssuerMismatch),
            None if self.inner.iss_parameter => return Err(StepUpError::IssuerMismatch),
            _ => {}
        }
        match &callback.outcome {
            Outcome::Code(code) => Ok(code),
            Outcome::Error { kind, description } => Err(StepUpError::Authorization {
                kind: kind.clone(),
                description: description.clone(),
            }),
        }
    }

    /// The new ID token proves what the step-up asked for: issued to this
    /// client, for this browser's request (nonce), for the same user, and a
    /// login at or after the moment the step-up began.
    fn check_new_login(
        &self,
        verified: &Verified,
        pending: &PendingStepUp,
    ) -> Result<(), StepUpError> {
        let c = &self.inner.config;
        let leeway =
            i64::try_from(self.inner.verifier.config().leeway().as_secs()).unwrap_or(i64::MAX);
        let claims = &verified.claims;
        // OIDC Core 3.1.3.7 steps 3-5: issued to this client.
        let foreign = |what: &str| {
            StepUpError::IdToken(
                Rejection::new(
                    RejectionKind::InvalidAudience,
                    format!("{what} is not this client"),
                )
                .into(),
            )
        };
        if !claims.aud.iter().any(|a| a == &c.client_id) {
            return Err(foreign("no aud"));
        }
        if claims.azp.as_ref().is_some_and(|azp| azp != &c.client_id) {
            return Err(foreign("azp"));
        }
        // Step 11: the nonce binds the token to this browser's request.
        if !claims
            .nonce
            .as_deref()
            .is_some_and(|n| same(n, &pending.nonce))
        {
            return Err(StepUpError::NonceMismatch);
        }
        if pending.sub.as_ref().is_some_and(|sub| &claims.sub != sub) {
            return Err(StepUpError::SubjectMismatch);
        }
        if pending.prove_login {
            // The proof: a login at or after the moment the step-up began.
            let threshold = pending.began_at.saturating_sub(leeway);
            if claims.auth_time.is_none_or(|t| t < threshold) {
                return Err(StepUpError::NotReauthenticated {
                    auth_time: claims.auth_time,
                    began_at: pending.began_at,
                });
            }
        }
        Ok(())
    }

    /// A whole callback request: parses `query`, finds the pending step-up
    /// (its sealed cookie in `cookie_header`, or the store), and finishes
    /// it. On success the session cookie holds the new ID token; either
    /// way the pending cookie is removed.
    pub async fn complete(&self, query: &str, cookie_header: Option<&str>) -> Completion {
        let c = &self.inner.config;
        let mut set_cookies = Vec::new();
        let result = async {
            let callback = Callback::parse(query, c.max_callback_bytes)?;
            if !pending::well_formed_state(&callback.state) {
                return Err(StepUpError::InvalidState(StateProblem::Missing));
            }
            let (prefix, path) = (&self.inner.pending_prefix, &self.inner.pending_path);
            // The pending cookie goes, whatever happens next.
            set_cookies.push(pending::removal(
                prefix,
                &callback.state,
                path,
                self.inner.secure,
            ));
            let raw = pending::cookie_value(prefix, cookie_header, &callback.state);
            let pending = match &c.keep {
                Keep::Store(store) => {
                    // RFC 6749 §10.12: only the browser that began the
                    // step-up may finish it, and checking that comes before
                    // anything is taken: a stranger who learned the `state`
                    // must not cancel another user's step-up.
                    let hash = pending::binding_hash(raw?);
                    let bound =
                        |p: &PendingStepUp| p.binding.as_deref().is_some_and(|h| same(h, &hash));
                    let found = store
                        .get(&callback.state)
                        .await?
                        .ok_or(StepUpError::InvalidState(StateProblem::Missing))?;
                    if !bound(&found) {
                        return Err(StepUpError::InvalidState(StateProblem::Tampered));
                    }
                    // Single use: of two callbacks that both got here, the
                    // store's atomic take lets one through.
                    let pending = store
                        .take(&callback.state)
                        .await?
                        .ok_or(StepUpError::InvalidState(StateProblem::Replayed))?;
                    if !bound(&pending) {
                        return Err(StepUpError::InvalidState(StateProblem::Tampered));
                    }
                    pending
                }
                Keep::Cookie { seal, earlier } => {
                    // The current key, then earlier ones (a rotation).
                    let raw = raw?;
                    let mut opened = Err(StepUpError::InvalidState(StateProblem::Tampered));
                    for key in std::iter::once(seal).chain(earlier) {
                        opened = pending::open(key, prefix, raw, &callback.state);
                        if !matches!(
                            opened,
                            Err(StepUpError::InvalidState(StateProblem::Tampered))
                        ) {
                            break;
                        }
                    }
                    opened?
                }
            };
            self.finish(&callback, &pending).await
        }
        .await;
        // A browser drops a cookie over 4096 bytes without a word, and the
        // user would be sent to log in again and again: refuse it here.
        let result = result.and_then(|finished| {
            let bytes = self.inner.session_name.len() + 1 + finished.id_token.len();
            if bytes > MAX_COOKIE_BYTES {
                return Err(StepUpError::SessionTooLarge { bytes });
            }
            set_cookies.push(self.session_cookie(&finished.id_token));
            Ok(finished)
        });
        if let Err(e) = &result {
            if e.status() >= 500 {
                tracing::error!(code = e.code(), error = %e, "reauth: step-up callback failed");
            } else {
                tracing::warn!(code = e.code(), error = %e, "reauth: step-up callback refused");
            }
        }
        Completion {
            result,
            set_cookies,
        }
    }
}
