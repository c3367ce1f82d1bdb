//! The extractor logic, written once for every adapter: read the token from
//! the request's head ([`Prepared::read`]), check it against the route's
//! requirement, and turn a refusal into the one answer, or into a browser
//! redirect when a [`BrowserHook`] (the browser step-up) is registered
//! ([`guard_request`]). An adapter only finds the [`Wiring`] (app data,
//! extensions, state) and converts the result.

use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::guard::check::{check_presented, optional};
use crate::guard::error::GuardError;
use crate::guard::render::{ErrorRenderer, Redirect, Refused};
use crate::guard::source::TokenSource;
use crate::revocation::BoxFuture;
use crate::verify::issuers::Verifiers;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::{DpopPresentation, Verified};

/// What turns refused browser requests into a round trip to the issuer
/// (implemented by `reauth::stepup::StepUp`, feature `stepup`). Every
/// adapter that finds one in its wiring gets the browser step-up through
/// [`guard_request`]; none needs to know what it is.
pub trait BrowserHook: Send + Sync + 'static {
    /// The token source in force while the hook is registered (the browser
    /// session's cookie); `found` is the one the app registered, if any.
    /// A different source is a wiring mistake (the browser would sign in
    /// and never be seen as signed in).
    fn token_source(&self, found: Option<TokenSource>) -> Result<TokenSource, GuardError>;

    /// Whether a request is a cross-site state change that must not use
    /// the browser session (see [`cross_site`](crate::guard::cross_site)).
    fn cross_site(&self, method: &str, origin: Option<&str>, fetch_site: Option<&str>) -> bool;

    /// The redirect a refused request gets instead of `error`, if any (a
    /// browser navigation refused for a missing, stale or insufficient
    /// login). `return_to` is the request's path and query.
    fn redirect<'a>(
        &'a self,
        error: &'a GuardError,
        accept: Option<&'a str>,
        token: Option<&'a str>,
        requirement: &'a Requirement,
        return_to: &'a str,
    ) -> BoxFuture<'a, Option<Redirect>>;
}

/// What an adapter found for a route: everything but the request itself.
#[derive(Clone, Default)]
pub struct Wiring {
    /// The verifier(s); `None` is a wiring mistake (500).
    pub verifiers: Option<Verifiers>,
    /// The token source the app registered (default `Authorization: Bearer`).
    pub source: Option<TokenSource>,
    /// The error body renderer, if any.
    pub renderer: Option<ErrorRenderer>,
    /// The browser step-up, if registered.
    pub browser: Option<Arc<dyn BrowserHook>>,
}

impl std::fmt::Debug for Wiring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wiring")
            .field("verifiers", &self.verifiers)
            .field("source", &self.source)
            .field("browser", &self.browser.is_some())
            .finish_non_exhaustive()
    }
}

/// The request's head as an adapter reads it (borrowed, for the sync part).
pub struct Head<'a, F, C> {
    /// The method.
    pub method: &'a str,
    /// The request's own authority (`Host`, or HTTP/2's `:authority`).
    pub host: Option<&'a str>,
    /// Path and query (`return_to` of a browser step-up).
    pub path_and_query: &'a str,
    /// The first value of a header, by lower-case name.
    pub header: F,
    /// Every `Cookie` header value, in order.
    pub cookies: C,
    /// `http` or `https`: how the request reached this server.
    pub scheme: &'a str,
    /// Every `DPoP` header value, in order (RFC 9449 §4.3: one is valid).
    pub dpop: Vec<&'a [u8]>,
}

/// What was read from the request: owned, so the check can run in a
/// `'static` future.
#[derive(Debug, Clone)]
pub struct Prepared {
    token: Option<String>,
    sent: bool,
    /// `Authorization: DPoP`: the proofs and the request they must fit.
    dpop: Option<DpopPresentation>,
    /// What the browser hook needs to send a refused navigation away:
    /// read only when a hook is registered (not on every request).
    navigation: Option<Navigation>,
}

/// A request as the browser hook sees it.
#[derive(Debug, Clone)]
struct Navigation {
    accept: Option<String>,
    return_to: String,
}

impl Prepared {
    /// Reads the token through the effective token source (the browser
    /// hook's session cookie when one is registered), applying the cookie
    /// CSRF rule (a cross-site state change that carries the cookie is
    /// [`GuardError::CrossSiteRequest`]).
    pub fn read<'a, F, C, I>(head: Head<'a, F, C>, wiring: &Wiring) -> Result<Self, GuardError>
    where
        F: Fn(&str) -> Option<&'a [u8]>,
        C: FnOnce() -> I,
        I: Iterator<Item = &'a [u8]>,
    {
        let source = match &wiring.browser {
            Some(hook) => hook.token_source(wiring.source.clone())?,
            None => wiring.source.clone().unwrap_or_default(),
        };
        let text = |name: &str| (head.header)(name).and_then(|v| std::str::from_utf8(v).ok());
        // RFC 9449 §7.1: `Authorization: DPoP <token>` where the app reads
        // `Authorization` (never for a cookie or custom-header source).
        let dpop_token = match source {
            TokenSource::AuthorizationBearer => text("authorization").and_then(dpop_scheme),
            _ => None,
        };
        let (token, sent, dpop) = match dpop_token {
            Some(token) => (
                Some(token.to_owned()),
                true,
                Some(DpopPresentation {
                    proofs: head
                        .dpop
                        .iter()
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                        .collect(),
                    method: head.method.to_owned(),
                    origin: format!("{}://{}", head.scheme, head.host.unwrap_or("")),
                    path: path_of(head.path_and_query).to_owned(),
                }),
            ),
            None => {
                let (token, sent) =
                    source.read_request(head.method, head.host, &head.header, head.cookies)?;
                (token, sent, None)
            }
        };
        if let Some(hook) = &wiring.browser {
            // Only a request that carries the session is refused: an
            // anonymous cross-site post authenticates nobody.
            if sent && hook.cross_site(head.method, text("origin"), text("sec-fetch-site")) {
                tracing::warn!(
                    path = head.path_and_query,
                    "reauth: cross-site request refused"
                );
                return Err(GuardError::CrossSiteRequest);
            }
        }
        let navigation = wiring.browser.as_ref().map(|_| Navigation {
            accept: text("accept").map(str::to_owned),
            return_to: head.path_and_query.to_owned(),
        });
        Ok(Self {
            token,
            sent,
            dpop,
            navigation,
        })
    }

    /// The DPoP presentation, when the token came as `Authorization: DPoP`.
    pub fn dpop(&self) -> Option<&DpopPresentation> {
        self.dpop.as_ref()
    }

    /// The token read, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// Whether the source was sent at all (see [`optional`]).
    pub fn sent(&self) -> bool {
        self.sent
    }
}

/// The extractor logic of every adapter: the token checked against
/// `requirement`; `anonymous_ok` for routes that serve guests too (no
/// token: `Ok(None)`; a token that was sent must pass). A refusal is the
/// [`Refused`] answer, or the browser hook's redirect for a refused browser
/// navigation (never for a guest who sent nothing on an optional route).
pub async fn guard_request<E: DeserializeOwned + 'static>(
    prepared: Prepared,
    wiring: &Wiring,
    requirement: &Requirement,
    anonymous_ok: bool,
) -> Result<Option<Verified<E>>, Refused> {
    let checked = check_presented(
        wiring.verifiers.as_ref(),
        prepared.token(),
        prepared.dpop(),
        requirement,
    )
    .await;
    let checked = if anonymous_ok {
        optional(checked, prepared.sent)
    } else {
        checked.map(Some)
    };
    let error = match checked {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let mut refused = Refused::new(error, wiring.renderer.clone())
        .challenging(wiring.verifiers.as_ref(), requirement);
    if let (Some(hook), Some(nav)) = (&wiring.browser, &prepared.navigation) {
        let redirect = hook
            .redirect(
                refused.error(),
                nav.accept.as_deref(),
                prepared.token(),
                requirement,
                &nav.return_to,
            )
            .await;
        if let Some(redirect) = redirect {
            refused = refused.redirecting(redirect);
        }
    }
    Err(refused)
}

/// RFC 9449 §7.1: `DPoP` (case-insensitive scheme), then the token.
pub(crate) fn dpop_scheme(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let token = rest.trim();
    (scheme.eq_ignore_ascii_case("dpop") && !token.is_empty()).then_some(token)
}

/// The path of a request target, without its query (RFC 9449 §4.3: `htu`
/// has no query or fragment).
pub(crate) fn path_of(path_and_query: &str) -> &str {
    path_and_query.split(['?', '#']).next().unwrap_or("/")
}
