//! Custom error responses: an app chooses how a refused request's *body*
//! looks (an HTML page, RFC 9457 `application/problem+json`, its own JSON),
//! while the adapters keep what clients act on: the status, the
//! `WWW-Authenticate` challenge, `Retry-After` and `Cache-Control: no-store`.
//!
//! Register an [`ErrorRenderer`] where the route sees it (actix: app data;
//! axum: an `Extension`); the extractors then refuse with a [`Refused`]
//! that renders through it.

use std::fmt;
use std::sync::Arc;

use crate::guard::error::{GuardError, RETRY_AFTER_SECS};

/// A rendered body: its `Content-Type` and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    /// The `Content-Type` header value.
    pub content_type: String,
    /// The body.
    pub body: Vec<u8>,
}

type RenderFn = dyn Fn(&GuardError) -> ErrorBody + Send + Sync;

/// How refused requests' bodies are written. Two renderers are equal only
/// when they are the same registration (clones of one `ErrorRenderer`).
#[derive(Clone)]
pub struct ErrorRenderer(Arc<RenderFn>);

impl ErrorRenderer {
    /// A renderer from a function of the error. The function must not
    /// echo anything the client sent (the token never reaches it).
    pub fn new(f: impl Fn(&GuardError) -> ErrorBody + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// RFC 9457 problem details: `application/problem+json` with `type`
    /// `about:blank`, `title` (the status's reason phrase), `status`,
    /// `detail` (the message) and the extension member `code` (the stable
    /// error code of the errors table).
    pub fn problem_json() -> Self {
        Self::new(|e| {
            let status = e.status();
            let body = serde_json::json!({
                "type": "about:blank",
                "title": reason(status),
                "status": status,
                "detail": e.message(),
                "code": e.code(),
            });
            ErrorBody {
                content_type: "application/problem+json".to_owned(),
                body: body.to_string().into_bytes(),
            }
        })
    }

    /// Renders `error`.
    pub fn render(&self, error: &GuardError) -> ErrorBody {
        (self.0)(error)
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

impl PartialEq for ErrorRenderer {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for ErrorRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ErrorRenderer(..)")
    }
}

/// A redirect a browser gets instead of a refusal (the browser step-up):
/// `302 Found` to `location`, with these `Set-Cookie` values.
#[derive(Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The `Location`.
    pub location: String,
    /// `Set-Cookie` header values.
    pub set_cookies: Vec<String>,
}

/// A URL without its query: what of a redirect may reach a log (the query
/// of an authorization request carries the state, the nonce and hints).
pub(crate) fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(base, _)| base)
}

/// Never the query or the cookies: logs (actix's `Logger` prints errors
/// with `{:?}`) must not collect states, hints or sealed cookies.
impl fmt::Debug for Redirect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redirect")
            .field("location", &without_query(&self.location))
            .field("set_cookies", &self.set_cookies.len())
            .finish()
    }
}

/// What the adapters' extractors refuse with: the [`GuardError`] and the
/// renderer registered for the route, if any. Derefs to the `GuardError`
/// (its `code()`, `status()`...).
#[derive(Debug, Clone)]
pub struct Refused {
    error: GuardError,
    renderer: Option<ErrorRenderer>,
    redirect: Option<Redirect>,
    /// The challenge of a request that sent no token, when the route has
    /// more to say than `Bearer` (RFC 9449 DPoP, RFC 9728 metadata).
    challenge: Option<String>,
}

impl Refused {
    /// `error`, to be rendered by `renderer` (or the default JSON body).
    pub fn new(error: GuardError, renderer: Option<ErrorRenderer>) -> Self {
        Self {
            error,
            renderer,
            redirect: None,
            challenge: None,
        }
    }

    /// A request without a token on a route of `verifiers` demanding
    /// `requirement` is challenged with what the client needs to know:
    /// `DPoP algs="..."` where DPoP is required (RFC 9449 §7.1), and the
    /// resource's metadata URL (RFC 9728 §5.1), when configured.
    pub(crate) fn challenging(
        mut self,
        verifiers: Option<&crate::verify::issuers::Verifiers>,
        requirement: &crate::verify::requirement::Requirement,
    ) -> Self {
        if !matches!(self.error, GuardError::MissingToken) {
            return self;
        }
        let Some(verifier) = verifiers.and_then(|v| v.known().into_iter().next()) else {
            return self;
        };
        let dpop = requirement.dpop_policy() == crate::verify::requirement::DpopPolicy::Required;
        let metadata = verifier.config().resource_metadata.clone();
        if !dpop && metadata.is_none() {
            return self;
        }
        let challenge = crate::error::challenge::BearerChallenge {
            dpop_algs: dpop.then(|| verifier.dpop_algs()),
            resource_metadata: metadata,
            ..Default::default()
        };
        self.challenge = Some(challenge.render());
        self
    }

    /// This refusal answered with `redirect` instead (a browser sent to
    /// step up). The error stays available for logs and handlers.
    pub fn redirecting(mut self, redirect: Redirect) -> Self {
        self.redirect = Some(redirect);
        self
    }

    /// The redirect answered instead of the error, if any.
    pub fn redirect(&self) -> Option<&Redirect> {
        self.redirect.as_ref()
    }

    /// The error.
    pub fn error(&self) -> &GuardError {
        &self.error
    }

    /// The error, without the renderer.
    pub fn into_error(self) -> GuardError {
        self.error
    }

    /// The body: the renderer's, or `{"error": "<code>", "message": "..."}`.
    pub fn body(&self) -> ErrorBody {
        match &self.renderer {
            Some(r) => r.render(&self.error),
            None => ErrorBody {
                content_type: "application/json".to_owned(),
                body: self.error.to_json().to_string().into_bytes(),
            },
        }
    }
}

impl Refused {
    /// The one HTTP answer of this refusal, framework-neutral: what every
    /// adapter converts (in one place each). A redirect (a browser sent to
    /// step up) is `302` with `Location` and its cookies; an error is its
    /// status, the `WWW-Authenticate` challenge, `Retry-After` on a 503, and
    /// the rendered body. Both are `Cache-Control: no-store`.
    pub fn answer(&self) -> Answer {
        if let Some(redirect) = &self.redirect {
            return Answer::redirect(redirect);
        }
        let mut headers = vec![("cache-control", "no-store".to_owned())];
        if let Some(challenge) = self
            .challenge
            .clone()
            .or_else(|| self.error.www_authenticate())
        {
            headers.push(("www-authenticate", challenge));
        }
        if let Some(nonce) = self.error.dpop_nonce() {
            headers.push(("dpop-nonce", nonce.to_owned()));
        }
        if let Some(secs) = self.error.retry_after() {
            headers.push(("retry-after", secs.to_string()));
        }
        let body = self.body();
        headers.push(("content-type", body.content_type));
        Answer {
            status: self.error.status(),
            headers,
            body: body.body,
        }
    }
}

/// One HTTP answer, built once by the framework-free core and converted by
/// each adapter in one place: status, headers (lower-case names, in order;
/// a name may repeat, e.g. `set-cookie`) and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Header names (lower case, `'static`) and values.
    pub headers: Vec<(&'static str, String)>,
    /// The body (empty for a redirect).
    pub body: Vec<u8>,
}

impl Answer {
    /// The back-channel logout receiver's answer (Back-Channel Logout 1.0
    /// §2.8): 200 on success; 400 `invalid_request` for an invalid logout
    /// token; 503 with `Retry-After` when keys or the store are unavailable
    /// (the issuer may retry). Never cached.
    pub fn logout(
        result: &Result<crate::jwt::logout::LogoutEvent, crate::error::LogoutError>,
    ) -> Self {
        match result {
            Ok(_) => Self {
                status: 200,
                headers: vec![("cache-control", "no-store".to_owned())],
                body: Vec::new(),
            },
            Err(e) => Self::json(e.status(), &e.to_json()),
        }
    }

    /// A body the core writes itself (not a rendered refusal): never
    /// cached, `Retry-After` on a 503, then its `Content-Type`.
    pub fn no_store(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        let mut headers = vec![("cache-control", "no-store".to_owned())];
        if status == 503 {
            headers.push(("retry-after", RETRY_AFTER_SECS.to_string()));
        }
        headers.push(("content-type", content_type.to_owned()));
        Self {
            status,
            headers,
            body,
        }
    }

    /// [`no_store`](Self::no_store) with a JSON body.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::no_store(status, "application/json", body.to_string().into_bytes())
    }

    /// `302 Found` to the redirect's location, with its cookies, never cached.
    pub fn redirect(redirect: &Redirect) -> Self {
        let mut headers = vec![
            ("location", redirect.location.clone()),
            ("cache-control", "no-store".to_owned()),
        ];
        headers.extend(
            redirect
                .set_cookies
                .iter()
                .map(|c| ("set-cookie", c.clone())),
        );
        Self {
            status: 302,
            headers,
            body: Vec::new(),
        }
    }

    /// The first value of a header (`name` in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl std::ops::Deref for Refused {
    type Target = GuardError;
    fn deref(&self) -> &GuardError {
        &self.error
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Refused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl From<GuardError> for Refused {
    fn from(error: GuardError) -> Self {
        Self::new(error, None)
    }
}
