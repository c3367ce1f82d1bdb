//! Framework-free pieces every adapter shares: where the token comes from,
//! and the one error type a guarded route answers with.

pub(crate) mod render;

use serde::de::DeserializeOwned;

use crate::error::VerifyError;
use crate::error::challenge::BearerChallenge;
use crate::verify::issuers::Verifiers;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::{Verified, Verifier};

/// `Retry-After` on every 503 the adapters and `reauth serve` answer, in
/// seconds: about the JWKS refresh back-off and the revocation store's
/// reconnect, short enough that a recovered service is used again soon.
pub const RETRY_AFTER_SECS: u64 = 5;

/// The whole decision for one guarded request, as every adapter makes it:
/// a verifier must be registered, a token must be present, and it must pass
/// `requirement`.
pub async fn check<E: DeserializeOwned + 'static>(
    verifier: Option<&Verifier>,
    token: Option<&str>,
    requirement: &Requirement,
) -> Result<Verified<E>, GuardError> {
    let one = verifier.cloned().map(Verifiers::One);
    check_with(one.as_ref(), token, requirement).await
}

/// [`check`] with one issuer's verifier or an [`IssuerSet`](crate::IssuerSet).
pub async fn check_with<E: DeserializeOwned + 'static>(
    verifier: Option<&Verifiers>,
    token: Option<&str>,
    requirement: &Requirement,
) -> Result<Verified<E>, GuardError> {
    let result = match (verifier, token) {
        (None, _) => Err(GuardError::NotConfigured),
        (Some(_), None) => Err(GuardError::MissingToken),
        (Some(v), Some(t)) => v.verify_as(t, requirement).await.map_err(GuardError::from),
    };
    if let Err(e) = &result {
        e.log();
    }
    result
}

/// The one value of a setting an adapter found in the places it may be
/// registered (actix: `T` and `web::Data<T>` app data). Two disagreeing
/// values are refused (which one is closer cannot be told), never guessed.
#[cfg(feature = "actix")]
pub(crate) fn one_of<T: PartialEq + Clone>(
    found: [Option<&T>; 2],
    disagree: &'static str,
) -> Result<Option<T>, GuardError> {
    match found {
        [Some(a), Some(b)] if a != b => Err(GuardError::Misconfigured(disagree)),
        [a, b] => Ok(a.or(b).cloned()),
    }
}

/// The requirement a `Reauthenticated` route is checked against. None
/// registered is a wiring mistake (a `Requirement` on a layer that does not
/// reach the route, in axum `State` instead of an `Extension`, ...), not a
/// request for "signature only": that must be asked for explicitly with
/// [`Requirement::none()`]. For adapters of other frameworks.
pub fn required(found: Option<Requirement>) -> Result<Requirement, GuardError> {
    found.ok_or(GuardError::Misconfigured(
        "no Requirement reached this route, so its freshness would go unchecked: register \
         one where the route sees it (actix: app_data / web::Data on the app, scope or \
         resource; axum: an Extension layer on the route or the router after the route is \
         added), or register Requirement::none() for signature and claims only; \
         FreshWithin<SECS> needs none",
    ))
}

/// The requirement a `FreshWithin<SECS>` route is checked against: the
/// closest registered one (its policy and step-up), with `max_age` at most
/// `secs` (a stricter registered `max_age` is kept). For adapters of other
/// frameworks.
pub fn fresh_within(found: Option<Requirement>, secs: u64) -> Requirement {
    let r = found.unwrap_or_default();
    let limit = std::time::Duration::from_secs(secs);
    let max_age = r.max_age_value().map_or(limit, |m| m.min(limit));
    r.with_max_age(Some(max_age))
}

/// Where a guarded route reads the ID token from. Place one in app data
/// (actix) or as an `Extension` (axum) to change it; default: `Authorization: Bearer`.
///
/// ```
/// use actix_web::{App, HttpResponse, test, web};
/// use reauth::actix::Reauthenticated;
/// use reauth::testing::TestIssuer;
/// use reauth::{Requirement, TokenSource};
///
/// async fn me(user: Reauthenticated) -> HttpResponse {
///     HttpResponse::Ok().body(user.subject().to_owned())
/// }
///
/// # actix_web::rt::System::new().block_on(async {
/// let issuer = TestIssuer::start().await;
/// let app = test::init_service(
///     App::new()
///         .app_data(issuer.verifier().await)
///         // The token comes in `X-ID-Token`, not `Authorization: Bearer`.
///         .app_data(TokenSource::Header("X-ID-Token".into()))
///         .app_data(Requirement::none())
///         .route("/me", web::get().to(me)),
/// )
/// .await;
/// let req = test::TestRequest::get()
///     .uri("/me")
///     .insert_header(("X-ID-Token", issuer.token().sign()))
///     .to_request();
/// assert_eq!(test::call_service(&app, req).await.status(), 200);
/// # });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (RFC 6750 §2.1). The default.
    #[default]
    AuthorizationBearer,
    /// The whole value of this header (e.g. `X-ID-Token`).
    Header(String),
    /// The value of this cookie. A browser sends a cookie whatever site
    /// made the request, so a state-changing cross-site request that
    /// carries it is refused (403 `cross_site_request`, see
    /// [`TokenSource::read_request`]).
    Cookie(String),
}

impl TokenSource {
    /// Reads the token through `header`, a lookup of the request's first
    /// header of that name. `None` when absent or empty.
    pub fn extract<'a>(&self, header: impl Fn(&str) -> Option<&'a str>) -> Option<&'a str> {
        let token = match self {
            Self::AuthorizationBearer => bearer(header("authorization")?),
            Self::Header(name) => Some(header(name)?.trim()),
            Self::Cookie(name) => cookie(header("cookie")?, name),
        }?;
        (!token.is_empty()).then_some(token)
    }
}

impl TokenSource {
    /// Whether the request carries this source at all, usable or not: the
    /// header (for `Authorization: Bearer`, any `Authorization`), or the
    /// cookie by name. `header` returns the raw bytes of the request's first
    /// header of that name. For routes that serve anonymous users too
    /// ([`optional`]): what was sent must be a good token.
    pub fn is_sent<'a>(&self, header: impl Fn(&str) -> Option<&'a [u8]>) -> bool {
        match self {
            Self::AuthorizationBearer => header("authorization").is_some(),
            Self::Header(name) => header(name).is_some(),
            Self::Cookie(name) => header("cookie").is_some_and(|v| {
                // Unreadable cookies might hold ours: count them as sent.
                std::str::from_utf8(v).map_or(true, |s| cookie(s, name).is_some())
            }),
        }
    }
}

impl TokenSource {
    /// The token (owned) and whether this source was sent at all, from a
    /// request's headers, as the adapters read them: `first(name)` is the
    /// raw first value of a header; `cookies()` every `Cookie` header value
    /// in order, read (and joined) only for a cookie source. HTTP/2 sends
    /// one `Cookie` header per cookie (RFC 9113 §8.2.3): a session cookie in
    /// the second one must be seen, or a browser signed in through the
    /// step-up would be sent to log in forever. For adapters of other
    /// frameworks: this is what the actix and axum extractors call.
    pub fn read<'a, C>(
        &self,
        first: impl Fn(&str) -> Option<&'a [u8]>,
        cookies: impl FnOnce() -> C,
    ) -> (Option<String>, bool)
    where
        C: Iterator<Item = &'a [u8]>,
    {
        let Self::Cookie(_) = self else {
            let token = self.extract(|n| first(n).and_then(|v| std::str::from_utf8(v).ok()));
            return (token.map(str::to_owned), self.is_sent(first));
        };
        let values: Vec<&[u8]> = cookies().collect();
        // Unreadable cookies might hold ours: count them as sent.
        let unreadable = values.iter().any(|v| std::str::from_utf8(v).is_err());
        let joined: Vec<&str> = values
            .iter()
            .filter_map(|v| std::str::from_utf8(v).ok())
            .collect();
        let joined = joined.join("; ");
        let header =
            |name: &str| (name == "cookie" && !joined.is_empty()).then_some(joined.as_str());
        let token = self.extract(header).map(str::to_owned);
        let sent = unreadable || self.is_sent(|n| header(n).map(str::as_bytes));
        (token, sent)
    }
}

impl TokenSource {
    /// [`read`](Self::read), plus the CSRF rule of a cookie source: a
    /// cookie is sent by the browser whatever site made the request, so a
    /// state-changing request (not GET, HEAD, OPTIONS or TRACE) from another
    /// site that carries the cookie is refused with
    /// [`GuardError::CrossSiteRequest`] (403 `cross_site_request`); see
    /// [`cross_site`]. `host` is the request's own authority (`Host`, or
    /// HTTP/2's `:authority`), what `Origin` is compared with when the
    /// browser sends no `Sec-Fetch-Site`. Header and bearer sources are not
    /// sent by browsers on their own and are never refused here. This is
    /// what the actix and axum extractors call.
    pub fn read_request<'a, C>(
        &self,
        method: &str,
        host: Option<&str>,
        first: impl Fn(&str) -> Option<&'a [u8]>,
        cookies: impl FnOnce() -> C,
    ) -> Result<(Option<String>, bool), GuardError>
    where
        C: Iterator<Item = &'a [u8]>,
    {
        let (token, sent) = self.read(&first, cookies);
        if let Self::Cookie(_) = self {
            let text = |name: &str| first(name).and_then(|v| std::str::from_utf8(v).ok());
            let own = |origin: &str| {
                host.is_some_and(|h| {
                    origin
                        .split_once("://")
                        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(h))
                })
            };
            if sent && cross_site(method, text("origin"), text("sec-fetch-site"), own) {
                tracing::warn!(
                    method,
                    "reauth: cross-site request with the session cookie refused"
                );
                return Err(GuardError::CrossSiteRequest);
            }
        }
        Ok((token, sent))
    }
}

/// Whether a request is a browser's cross-site request that must not use
/// a cookie: a state-changing method (anything but GET, HEAD, OPTIONS and
/// TRACE, RFC 9110 §9.2.1 safe methods) whose `Sec-Fetch-Site` is not
/// `same-origin` or `none` (a sibling subdomain, `same-site`, is another
/// site here), or, without that header, whose `Origin` is not the app's
/// own (`is_own_origin`; `Origin: null` never is). A request with neither
/// header is not a modern browser's cross-site request (and SameSite=Lax
/// keeps the cookie off older browsers' cross-site posts).
pub fn cross_site(
    method: &str,
    origin: Option<&str>,
    fetch_site: Option<&str>,
    is_own_origin: impl FnOnce(&str) -> bool,
) -> bool {
    if matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE") {
        return false;
    }
    match (fetch_site, origin) {
        (Some(site), _) => !matches!(site.trim(), "same-origin" | "none"),
        (None, Some(origin)) => origin == "null" || !is_own_origin(origin),
        (None, None) => false,
    }
}

/// The decision for a route that serves anonymous and signed-in users
/// alike, from [`check`]'s result and [`TokenSource::is_sent`]: nothing
/// sent is `Ok(None)` (anonymous); a token that was sent must pass, and a
/// sent but unreadable one (`Authorization: Basic ...`, an empty cookie) is
/// `malformed_token`. Never silently anonymous. Wiring mistakes (no
/// verifier, no requirement) stay errors for anonymous requests too.
pub fn optional<E>(
    checked: Result<Verified<E>, GuardError>,
    sent: bool,
) -> Result<Option<Verified<E>>, GuardError> {
    match checked {
        Ok(v) => Ok(Some(v)),
        Err(GuardError::MissingToken) if !sent => Ok(None),
        Err(GuardError::MissingToken) => Err(GuardError::Verify(
            crate::error::Rejection::new(
                crate::error::RejectionKind::MalformedToken,
                "a credential was sent but holds no token (e.g. Authorization without Bearer)",
            )
            .into(),
        )),
        Err(e) => Err(e),
    }
}

/// RFC 6750 §2.1: `Bearer` (case-insensitive scheme, RFC 9110 §11.1), then the token.
fn bearer(value: &str) -> Option<&str> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// RFC 6265 §5.4: `name=value` pairs separated by `; `.
pub(crate) fn cookie<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k.trim() == name).then(|| v.trim().trim_matches('"'))
    })
}

/// Why a guarded request was refused, whatever the framework.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// No token was sent: 401 with a bare `WWW-Authenticate: Bearer`
    /// (RFC 6750 §3.1: no error code), code `missing_token`.
    #[error("no ID token was sent")]
    MissingToken,
    /// The token was rejected, or keys were unavailable.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The application has no [`Verifier`] registered: 500,
    /// code `server_error` (a deployment bug, logged at error level).
    #[error("no reauth::Verifier is registered with the application")]
    NotConfigured,
    /// The route is wired in a way that would not enforce what it seems to
    /// (no [`Requirement`] reached a `Reauthenticated` route, or two
    /// disagreeing ones did): 500, code `server_error`, never a pass. The
    /// text names the fix; it is logged at error level, not sent.
    #[error("reauth is misconfigured: {0}")]
    Misconfigured(&'static str),
    /// A state-changing request from another site (or a sibling
    /// subdomain) carried the browser session cookie: 403, code
    /// `cross_site_request` (CSRF; see `StepUp::cross_site`).
    #[error("a cross-site request may not use the browser session")]
    CrossSiteRequest,
}

impl GuardError {
    /// `missing_token`, `server_error`, or the [`VerifyError`] code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::Verify(e) => e.code(),
            Self::NotConfigured | Self::Misconfigured(_) => "server_error",
            Self::CrossSiteRequest => "cross_site_request",
        }
    }

    /// 401, 403, 500 or 503.
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingToken => 401,
            Self::Verify(e) => e.status(),
            Self::NotConfigured | Self::Misconfigured(_) => 500,
            Self::CrossSiteRequest => 403,
        }
    }

    /// The message for the response body. Never contains the token.
    pub fn message(&self) -> String {
        match self {
            Self::MissingToken => "an ID token is required (Authorization: Bearer)".to_owned(),
            Self::Verify(e) => e.message(),
            Self::NotConfigured | Self::Misconfigured(_) => {
                "the server is misconfigured".to_owned()
            }
            Self::CrossSiteRequest => {
                "a request from another site may not use the browser session".to_owned()
            }
        }
    }

    /// The `WWW-Authenticate` value, when the status calls for one.
    pub fn www_authenticate(&self) -> Option<String> {
        match self {
            Self::MissingToken => Some(BearerChallenge::no_token().render()),
            Self::Verify(e) => e.www_authenticate(),
            Self::NotConfigured | Self::Misconfigured(_) | Self::CrossSiteRequest => None,
        }
    }

    /// The `Retry-After` seconds of a 503 ([`RETRY_AFTER_SECS`]): keys or
    /// revocation state are expected back soon, and a client or proxy that
    /// retries must not hammer the issuer or Redis.
    pub fn retry_after(&self) -> Option<u64> {
        (self.status() == 503).then_some(RETRY_AFTER_SECS)
    }

    /// `{"error": "<code>", "message": "..."}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.code(), "message": self.message() })
    }

    /// Logs what deserves a log line: a missing verifier at error level
    /// (rejections and unavailability are logged by the verifier).
    pub(crate) fn log(&self) {
        match self {
            Self::NotConfigured => tracing::error!(
                "reauth: no Verifier registered with the application; add it as app data / state"
            ),
            Self::Misconfigured(fix) => tracing::error!("reauth: {fix}"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<&'a str> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| *v)
        }
    }

    #[test]
    fn sources() {
        let bearer = TokenSource::default();
        assert_eq!(
            bearer.extract(get(&[("Authorization", "Bearer abc")])),
            Some("abc")
        );
        assert_eq!(
            bearer.extract(get(&[("Authorization", "bearer  abc ")])),
            Some("abc")
        );
        assert_eq!(bearer.extract(get(&[("Authorization", "Basic abc")])), None);
        assert_eq!(bearer.extract(get(&[("Authorization", "Bearer ")])), None);
        assert_eq!(bearer.extract(get(&[])), None);
        let header = TokenSource::Header("X-ID-Token".into());
        assert_eq!(header.extract(get(&[("x-id-token", " t ")])), Some("t"));
        let cookie = TokenSource::Cookie("id_token".into());
        assert_eq!(
            cookie.extract(get(&[("Cookie", "a=1; id_token=t2; b=3")])),
            Some("t2")
        );
        assert_eq!(cookie.extract(get(&[("Cookie", "xid_token=t2")])), None);
    }

    #[test]
    fn every_cookie_header_is_read() {
        let source = TokenSource::Cookie("id_token".into());
        let read = |values: &[&'static [u8]]| {
            let values = values.to_vec();
            source.read(|_| values.first().copied(), || values.clone().into_iter())
        };
        // HTTP/2: one header per cookie; ours in the second.
        assert_eq!(read(&[b"a=1", b"id_token=t"]), (Some("t".to_owned()), true));
        assert_eq!(read(&[b"a=1"]), (None, false));
        assert_eq!(read(&[]), (None, false));
        // An unreadable header might hold ours: sent, but no token.
        assert_eq!(read(&[b"a=1", b"\xff"]), (None, true));
        // Other sources read the first value only, and never the cookies.
        let bearer = TokenSource::AuthorizationBearer;
        let got = bearer.read(
            |n| (n == "authorization").then_some(&b"Bearer x"[..]),
            || -> std::vec::IntoIter<&[u8]> { panic!("cookies read for a bearer source") },
        );
        assert_eq!(got, (Some("x".to_owned()), true));
    }

    #[test]
    fn missing_token_is_a_bare_challenge() {
        let e = GuardError::MissingToken;
        assert_eq!(
            (e.status(), e.www_authenticate().as_deref()),
            (401, Some("Bearer"))
        );
        assert_eq!(GuardError::NotConfigured.status(), 500);
    }
}
