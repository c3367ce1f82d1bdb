//! [`StepUp`]: the authorization-code round trip that proves a new login.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Url;

use crate::error::ConfigError;
use crate::guard::TokenSource;
use crate::provider::http::OAuthHttp;
use crate::stepup::config::StepUpConfig;
use crate::stepup::exchange::Endpoints;
use crate::stepup::pending;
use crate::verify::verifier::Verifier;

/// The largest cookie (name and value) browsers keep (RFC 6265 §6.1 asks
/// for at least 4096 bytes; most stop there).
pub(crate) const MAX_COOKIE_BYTES: usize = 4096;

/// A browser step-up client for one issuer. Cheap to clone.
#[derive(Clone)]
pub struct StepUp {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) verifier: Verifier,
    pub(crate) config: StepUpConfig,
    pub(crate) endpoints: Endpoints,
    pub(crate) redirect_uri: Url,
    pub(crate) http: OAuthHttp,
    /// Used `state`s (cookie mode): a replayed callback is refused here,
    /// before the issuer sees its code again.
    pub(crate) used: quick_cache::sync::Cache<String, ()>,
    pub(crate) secure: bool,
    pub(crate) iss_parameter: bool,
    /// The session cookie's name: `__Host-` + the configured one on https
    /// (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain, so a sibling
    /// subdomain cannot set or shadow it).
    pub(crate) session_name: String,
    /// The pending cookies' prefix, named the same way: a sibling subdomain
    /// must not plant a pending step-up either (login CSRF).
    pub(crate) pending_prefix: String,
    /// The pending cookies' path: `/` on https (as `__Host-` demands), the
    /// callback's path on http.
    pub(crate) pending_path: String,
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

pub(crate) fn random_token() -> String {
    let mut b = [0u8; 32];
    // aws-lc-rs: the same CSPRNG that backs the signature checks.
    aws_lc_rs::rand::fill(&mut b).expect("the system random generator failed");
    URL_SAFE_NO_PAD.encode(b)
}

/// Constant-time equality for secrets compared with attacker input.
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
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

    pub(crate) fn now(&self) -> i64 {
        self.inner.verifier.config().clock().now().timestamp()
    }
}

/// axum handlers and tower services run on a work-stealing runtime: every
/// future of the round trip must be `Send`.
#[allow(dead_code)]
fn _futures_are_send(step: &StepUp, r: &crate::verify::requirement::Requirement) {
    fn send<T: Send>(_: T) {}
    send(step.complete("", None));
    send(step.sign_in("/"));
    send(step.begin(r, "/", None));
}
