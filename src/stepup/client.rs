//! [`StepUp`]: the authorization-code round trip that proves a new login.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;

use crate::error::{ConfigError, Rejection, RejectionKind};
use crate::guard::render::Redirect;
use crate::guard::{GuardError, TokenSource};
use crate::provider::http::OAuthHttp;
use crate::stepup::callback::{Callback, Outcome};
use crate::stepup::config::{Keep, StepUpConfig, UserHint};
use crate::stepup::error::{StateProblem, StepUpError};
use crate::stepup::exchange::{self, Endpoints};
use crate::stepup::outcome::{Begun, Completion, Finished, StepUpUser};
use crate::stepup::pending::{self, PendingStepUp};
use crate::stepup::return_to::check_return_to;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::{Verified, Verifier};

/// The largest cookie (name and value) browsers keep (RFC 6265 §6.1 asks
/// for at least 4096 bytes; most stop there).
const MAX_COOKIE_BYTES: usize = 4096;

/// A browser step-up client for one issuer. Cheap to clone.
#[derive(Clone)]
pub struct StepUp {
    inner: Arc<Inner>,
}

struct Inner {
    verifier: Verifier,
    config: StepUpConfig,
    endpoints: Endpoints,
    redirect_uri: Url,
    http: OAuthHttp,
    /// Used `state`s (cookie mode): a replayed callback is refused here,
    /// before the issuer sees its code again.
    used: quick_cache::sync::Cache<String, ()>,
    secure: bool,
    iss_parameter: bool,
    /// The session cookie's name: `__Host-` + the configured one on https
    /// (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain, so a sibling
    /// subdomain cannot set or shadow it).
    session_name: String,
    /// The pending cookies' prefix, named the same way: a sibling subdomain
    /// must not plant a pending step-up either (login CSRF).
    pending_prefix: String,
    /// The pending cookies' path: `/` on https (as `__Host-` demands), the
    /// callback's path on http.
    pending_path: String,
}

impl std::fmt::Debug for StepUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUp")
            .field("issuer", &self.inner.verifier.config().issuer())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Two step-up clients are equal when one is a clone of the other.
impl PartialEq for StepUp {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    // aws-lc-rs: the same CSPRNG that backs the signature checks.
    aws_lc_rs::rand::fill(&mut b).expect("the system random generator failed");
    URL_SAFE_NO_PAD.encode(b)
}

/// Constant-time equality for secrets compared with attacker input.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// Whether `accept` names one of `types` with a non-zero quality.
fn accepts(accept: &str, types: &[String]) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.get(..2).is_some_and(|k| k.eq_ignore_ascii_case("q="))
                && p.get(2..)
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        !refused && types.iter().any(|t| t.eq_ignore_ascii_case(media))
    })
}

impl StepUp {
    /// A step-up client for `verifier`'s issuer. Reads the authorization
    /// and token endpoints from the discovery document the verifier
    /// fetched, and refuses (at start-up, not at the first login) anything
    /// that cannot work or would be weaker than it looks: a verifier that
    /// does not accept this client's ID tokens, endpoints that are not
    /// https (or loopback http), an issuer that does not support PKCE S256
    /// or this client authentication method. The endpoints are read once,
    /// here: a discovery document that later moves them needs a restart.
    pub fn new(verifier: Verifier, config: StepUpConfig) -> Result<Self, ConfigError> {
        let bad = |name, reason: String| ConfigError::InvalidSetting { name, reason };
        let vc = verifier.config();
        if vc.kind() != crate::jwt::token_kind::TokenKind::IdToken {
            return Err(bad(
                "verifier",
                "the step-up's verifier must accept ID tokens (TokenKind::IdToken)".into(),
            ));
        }
        if !vc.audiences().iter().any(|a| a == &config.client_id) {
            return Err(bad(
                "client_id",
                format!(
                    "the verifier does not accept ID tokens for {:?}: add it to the verifier's audiences",
                    config.client_id
                ),
            ));
        }
        let meta = verifier.authorization_metadata();
        let endpoint = |what: &'static str, raw: Option<&String>| match raw {
            Some(raw) => crate::config::check_url(what, raw),
            None => Err(bad(
                what,
                format!("the issuer's discovery document has no {what}"),
            )),
        };
        let endpoints = Endpoints {
            authorization: endpoint(
                "authorization_endpoint",
                meta.authorization_endpoint.as_ref(),
            )?,
            token: endpoint("token_endpoint", meta.token_endpoint.as_ref())?,
        };
        // RFC 7636 §4.2 / RFC 8414 §2: we always send S256; an issuer that
        // lists its methods without it would ignore or refuse it.
        if let Some(methods) = &meta.code_challenge_methods {
            if !methods.iter().any(|m| m == "S256") {
                return Err(bad(
                    "code_challenge_methods_supported",
                    "the issuer does not support PKCE S256".into(),
                ));
            }
        }
        // OIDC Discovery §3: absent means client_secret_basic only.
        let methods = meta
            .token_auth_methods
            .clone()
            .unwrap_or_else(|| vec!["client_secret_basic".to_owned()]);
        if !methods.iter().any(|m| m == config.client_auth.as_str()) {
            return Err(bad(
                "client_auth",
                format!(
                    "the issuer's token endpoint does not accept {} (it lists {methods:?})",
                    config.client_auth.as_str()
                ),
            ));
        }
        let redirect_uri = crate::config::check_url("redirect_uri", &config.redirect_uri)?;
        let http = OAuthHttp::new(vc)?;
        let secure = redirect_uri.scheme() == "https";
        let session_name = pending::host_name(&config.session_cookie, secure);
        let pending_prefix = pending::host_name(&config.pending_cookie_prefix, secure);
        let pending_path = pending::cookie_path(redirect_uri.path(), secure).to_owned();
        Ok(Self {
            inner: Arc::new(Inner {
                secure,
                session_name,
                pending_prefix,
                pending_path,
                iss_parameter: meta.iss_parameter,
                used: quick_cache::sync::Cache::new(config.max_tracked_states.max(1)),
                verifier,
                config,
                endpoints,
                redirect_uri,
                http,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &StepUpConfig {
        &self.inner.config
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// Where the ID token lives: the session cookie.
    pub fn token_source(&self) -> TokenSource {
        TokenSource::Cookie(self.inner.session_name.clone())
    }

    /// The callback's path (the redirect URI's). On http the pending
    /// cookies are sent there only; on https they are `__Host-` cookies,
    /// which must have `Path=/`.
    pub fn callback_path(&self) -> &str {
        self.inner.redirect_uri.path()
    }

    fn now(&self) -> i64 {
        self.inner.verifier.config().clock().now().timestamp()
    }

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
            Keep::Cookie(key) => {
                pending::seal(key, prefix, pending, path, secure, c.pending_lifetime)
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
        if matches!(c.keep, Keep::Cookie(_)) {
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
                Keep::Cookie(key) => pending::open(key, prefix, raw?, &callback.state)?,
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

    /// Whether a request that would be authenticated by the session cookie
    /// comes from another site (CSRF): a state-changing method (not GET,
    /// HEAD, OPTIONS or TRACE) whose `Sec-Fetch-Site` is `cross-site` or
    /// `same-site` (a sibling subdomain), or, without it, whose `Origin` is
    /// not this app's (the redirect URI's origin). A request with neither
    /// header is not a modern browser's cross-site request (and SameSite=Lax
    /// keeps the cookie off older browsers' cross-site posts).
    pub fn cross_site(&self, method: &str, origin: Option<&str>, fetch_site: Option<&str>) -> bool {
        crate::guard::cross_site(method, origin, fetch_site, |origin| {
            origin == self.inner.redirect_uri.origin().ascii_serialization()
        })
    }

    /// Whether a request with this `Accept` header is a browser's (one of
    /// the configured media types, default `text/html`, with q > 0).
    pub fn is_browser(&self, accept: Option<&str>) -> bool {
        accept.is_some_and(|a| accepts(a, &self.inner.config.browser_types))
    }

    /// What a refused browser request gets instead of the 401: `Some`
    /// redirect to the issuer when `error` is a 401 (no token, expired, too
    /// old, `acr`/`amr` unmet, revoked...) and the request is a browser's;
    /// `None` otherwise (API clients keep the challenge; a 403 such as
    /// `reauthentication_unavailable` or a 5xx is never redirected, since a
    /// new login would not change it). When the token still verifies apart
    /// from freshness, its user must be the one who logs in (a step-up);
    /// otherwise it is a plain sign-in. `return_to` is the request's path
    /// and query (its path alone when the query makes it too long; `/`
    /// when it is not a path [`check_return_to`] accepts).
    pub async fn challenge(
        &self,
        error: &GuardError,
        accept: Option<&str>,
        token: Option<&str>,
        requirement: &Requirement,
        return_to: &str,
    ) -> Option<Result<Redirect, StepUpError>> {
        if error.status() != 401 || !self.is_browser(accept) {
            return None;
        }
        let mut user = None;
        if let Some(token) = token {
            if let Ok(v) = self
                .inner
                .verifier
                .verify(token, &Requirement::none())
                .await
            {
                user = Some(StepUpUser::of(&v, token));
            }
        }
        // The request's own path and query; its path alone when that is too
        // long or odd; the app's root when even the path is no place to return.
        let path = return_to.split('?').next().unwrap_or_default();
        let return_to = check_return_to(return_to)
            .or_else(|_| check_return_to(path))
            .unwrap_or("/");
        Some(self.redirect(requirement, return_to, user.as_ref()).await)
    }

    /// A plain sign-in returning to `return_to` (a "Log in" link).
    pub async fn sign_in(&self, return_to: &str) -> Result<Redirect, StepUpError> {
        self.redirect(&Requirement::none(), return_to, None).await
    }

    async fn redirect(
        &self,
        requirement: &Requirement,
        return_to: &str,
        user: Option<&StepUpUser>,
    ) -> Result<Redirect, StepUpError> {
        let begun = self.begin(requirement, return_to, user).await?;
        Ok(Redirect {
            location: begun.location,
            set_cookies: vec![begun.set_cookie],
        })
    }

    fn cookie(&self, value: &str) -> cookie::Cookie<'static> {
        pending::lax_cookie(
            self.inner.session_name.clone(),
            value.to_owned(),
            "/",
            self.inner.secure,
        )
    }

    /// The `Set-Cookie` value that makes `id_token` the session (HttpOnly,
    /// SameSite=Lax, Path=/; on https Secure and named `__Host-<name>`; a
    /// browser-session cookie: the token's own `exp` bounds its use).
    pub fn session_cookie(&self, id_token: &str) -> String {
        self.cookie(id_token).to_string()
    }

    /// The `Set-Cookie` value that ends the session (log out).
    pub fn session_removal(&self) -> String {
        let mut c = self.cookie("");
        c.make_removal();
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_told_by_accept() {
        let html = ["text/html".to_owned()];
        assert!(accepts("text/html,application/xhtml+xml,*/*;q=0.8", &html));
        assert!(accepts("TEXT/HTML; q=0.9", &html));
        assert!(!accepts("application/json", &html));
        assert!(!accepts("*/*", &html));
        assert!(!accepts("text/html;q=0", &html));
        assert!(!accepts("text/html;q=0.0, application/json", &html));
        assert!(!accepts("text/html;\u{e9}", &["x".to_owned()]));
        assert!(accepts("text/html;\u{e9}\u{e9}", &html));
    }
}
