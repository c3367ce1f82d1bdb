//! Where a guarded route reads the token from, and the CSRF rule of a
//! cookie source.

use crate::guard::error::GuardError;

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
    /// ([`optional`](crate::guard::optional)): what was sent must be a good token.
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
