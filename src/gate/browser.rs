//! The gate's browser step-up (feature `stepup`): the session cookie a
//! browser signs in with, the redirect a refused browser navigation gets,
//! and the `/reauth/` endpoints the proxy routes to the gate on the app's
//! own origin. Every decision of the round trip itself is the library's
//! [`StepUp`]; this is what a forward-auth gate adds to it.
//!
//! ```text
//! GET /account/delete   (a browser; its login is an hour old; the route allows 5 min)
//!   proxy → gate /verify: the session cookie is stale → 302 /reauth/start?rd=/account/delete
//! GET /reauth/start?rd=/account/delete   (routed to the gate)
//!   → 302 to the issuer with max_age=300, prompt=login, PKCE, state, nonce
//! GET /reauth/callback?code=…&state=…&iss=…   (routed to the gate)
//!   → state once, iss, nonce, same sub, auth_time ≥ the start → session cookie, 302 /account/delete
//! ```

use crate::guard::render::{Answer, Refused};
use crate::guard::{GuardError, cross_site};
use crate::stepup::{StepUp, check_return_to, joined_cookies, return_place};
use crate::verify::requirement::Requirement;

pub use super::credential::Credential;
use super::forward::{ForwardRequest, Judged, refusal};
use super::original::Original;
use super::policy::{BrowserMode, Policy};

/// The answer header naming where to send a refused browser: on the 302
/// (with `Location`), and on the 401 when the proxy asked for it with
/// [`REDIRECT_AS`] (nginx's `auth_request` turns any status but 2xx, 401
/// and 403 into a 500, so its guide makes the 302 itself from this).
pub const REDIRECT_HEADER: &str = "x-reauth-redirect";

/// The request header a proxy sends as `X-Reauth-Redirect-As: header` to
/// get a refused browser's redirect as the 401 plus [`REDIRECT_HEADER`]
/// rather than a 302 (the nginx and HAProxy guides).
pub const REDIRECT_AS: &str = "x-reauth-redirect-as";

/// Where `/reauth/` lives under the public URL.
pub const PREFIX: &str = "/reauth/";

/// A state change (not GET, HEAD, OPTIONS or TRACE) that says nothing of
/// where it comes from: the gate sees only what the proxy forwards, and a
/// proxy that drops `Origin` and `Sec-Fetch-Site` must not turn the
/// cross-site check off.
fn unproven(method: &str, origin: Option<&str>, fetch_site: Option<&str>) -> bool {
    !matches!(method, "GET" | "HEAD" | "OPTIONS" | "TRACE")
        && origin.is_none()
        && fetch_site.is_none()
}

/// A gate's browser step-up: the [`StepUp`] client whose redirect URI is
/// `<public-url>/reauth/callback`, and the public URL the proxy serves
/// the app (and `/reauth/`) on.
#[derive(Debug, Clone)]
pub struct GateBrowser {
    step: StepUp,
    public: String,
}

/// The value of the query parameter `name`; `Err` when it is given twice
/// (which of them a browser or a proxy would keep cannot be told).
fn param(query: &str, name: &str) -> Result<Option<String>, ()> {
    let mut found = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if k == name && found.replace(v.into_owned()).is_some() {
            return Err(());
        }
    }
    Ok(found)
}

impl GateBrowser {
    /// A gate browser step-up for `step`, whose redirect URI must be
    /// `<public_url>/reauth/callback` (see [`GateBrowser::redirect_uri`]).
    pub fn new(step: StepUp, public_url: &str) -> Result<Self, crate::error::ConfigError> {
        let public = public_url.trim_end_matches('/').to_owned();
        let expected = Self::redirect_uri(&public);
        let redirect = step.config().redirect_uri.trim_end_matches('/');
        if redirect != expected {
            return Err(crate::error::ConfigError::InvalidSetting {
                name: "redirect_uri",
                reason: format!("the gate's step-up must call back at {expected}, not {redirect}"),
            });
        }
        Ok(Self { step, public })
    }

    /// The redirect URI a gate on `public_url` registers at the issuer.
    pub fn redirect_uri(public_url: &str) -> String {
        format!("{}{PREFIX}callback", public_url.trim_end_matches('/'))
    }

    /// The step-up client.
    pub fn step_up(&self) -> &StepUp {
        &self.step
    }

    /// Where a refused browser is sent: `<public-url>/reauth/start?rd=PATH`,
    /// followed by the `/verify` request's overrides (`max_age`,
    /// `acr_values`, `amr`), which `/reauth/start` applies in turn: they
    /// can only tighten a route's demands, so nobody gains by forging them,
    /// and without them a location that demands more than its route would
    /// send the browser round the issuer for ever.
    pub fn start_url(&self, rd: &str, overrides: &str) -> String {
        let rd: String = url::form_urlencoded::byte_serialize(rd.as_bytes()).collect();
        match overrides {
            "" => format!("{}{PREFIX}start?rd={rd}", self.public),
            more => format!("{}{PREFIX}start?rd={rd}&{more}", self.public),
        }
    }

    /// The token of a `/verify` request: `Authorization: Bearer` when sent
    /// (never a fallback to the cookie: a bad bearer token is refused),
    /// else the session cookie. A state-changing request (by the original
    /// method) with the cookie must prove it is same-origin, by
    /// `Sec-Fetch-Site` (`same-origin`, `none`) or else `Origin` (the public
    /// URL's), or it is 403 `cross_site_request`: unlike an app, the gate
    /// sees only what the proxy forwards, so a request with neither header
    /// is refused too (a proxy that drops them would turn the check off).
    ///
    /// The original request is the one the proxy describes
    /// ([`original`](super::forward::original)), or the request itself
    /// when the gate is in front.
    pub fn credential(&self, judged: &Judged<'_>) -> Result<Credential, GuardError> {
        let (req, original) = (judged.req, judged.original);
        if let Some(bearer) = Credential::from_authorization(req) {
            return bearer;
        }
        let Some(token) = self.session_token(req) else {
            return Ok(Credential::None);
        };
        let Some(method) = original.and_then(|o| o.method.clone()) else {
            let e = GuardError::Misconfigured(
                "a browser session reached /verify without the original method: configure the \
                 proxy to send X-Original-Method (nginx, HAProxy) or X-Forwarded-Method, which \
                 the cross-site check of cookie sessions needs",
            );
            e.log();
            return Err(e);
        };
        let origin = req.text("origin");
        let fetch_site = req.text("sec-fetch-site");
        // A protocol upgrade (a WebSocket) is a GET whose effects are a
        // connection's: a same-site sibling must not open it with the
        // cookie, so it needs the proof a state change needs.
        let upgrade = req.header("upgrade").is_some();
        let method = if upgrade { "CONNECT" } else { method.as_str() };
        if self.cross_site(method, origin, fetch_site) {
            tracing::warn!(
                method,
                origin,
                fetch_site,
                "reauth: a state-changing request with the session cookie is not same-origin \
                 (the proxy must forward Origin and Sec-Fetch-Site)"
            );
            return Err(GuardError::CrossSiteRequest);
        }
        Ok(Credential::Session(token))
    }

    /// The session cookie's token in `req`'s `Cookie` headers (every one:
    /// HTTP/2 sends one per cookie).
    fn session_token(&self, req: &ForwardRequest<'_>) -> Option<String> {
        let crate::guard::TokenSource::Cookie(name) = self.step.token_source() else {
            return None;
        };
        let cookies = joined_cookies(cookie_values(req))?;
        crate::guard::cookie(&cookies, &name)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    }

    /// The same-origin rule of this gate's cookie: `Sec-Fetch-Site`
    /// `same-origin`/`none`, else an `Origin` that is the public URL's; a
    /// state change with neither header is refused.
    fn cross_site(&self, method: &str, origin: Option<&str>, fetch_site: Option<&str>) -> bool {
        let own = |o: &str| o.trim_end_matches('/') == self.public_origin();
        unproven(method, origin, fetch_site) || cross_site(method, origin, fetch_site, own)
    }

    fn public_origin(&self) -> String {
        url::Url::parse(&self.public)
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default()
    }

    /// What a refused `/verify` answers: the refusal as it is, unless it is
    /// a 401 for a browser navigation (the original method GET or HEAD,
    /// `Accept` naming HTML, no bearer token) on a route whose browser mode
    /// is [`BrowserMode::StepUp`]: then a 302 to [`start_url`](Self::start_url)
    /// with the original path and query as `rd`, or with
    /// `X-Reauth-Redirect-As: header` the 401 plus [`REDIRECT_HEADER`].
    pub fn refused(
        &self,
        refused: Answer,
        error: &GuardError,
        judged: &Judged<'_>,
        credential: &Credential,
        mode: BrowserMode,
    ) -> Answer {
        let (req, original, overrides) = (judged.req, judged.original, judged.overrides);
        // Any `Authorization` (a bearer token, or `Basic`) is a client
        // that authenticates itself, not a browser to send away.
        if mode != BrowserMode::StepUp
            || error.status() != 401
            || matches!(credential, Credential::Bearer(_))
            || req.header("authorization").is_some()
            || !self.step.is_browser(req.text("accept"))
        {
            return refused;
        }
        let navigation = original
            .and_then(|o| o.method.as_deref())
            .is_some_and(|m| m == "GET" || m == "HEAD");
        if !navigation {
            return refused;
        }
        let uri = original.and_then(|o| o.uri.as_deref()).unwrap_or_default();
        let location = self.start_url(return_place(uri), overrides);
        if req
            .text(REDIRECT_AS)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("header"))
        {
            let mut answer = refused;
            answer.headers.push((REDIRECT_HEADER, location));
            return answer;
        }
        Answer {
            status: 302,
            headers: vec![
                ("location", location.clone()),
                (REDIRECT_HEADER, location),
                ("cache-control", "no-store".to_owned()),
            ],
            body: Vec::new(),
        }
    }

    /// The `/reauth/` endpoints (`req.path` is the gate request's path):
    ///
    /// - `GET /reauth/start?rd=PATH`: to the issuer with the demands of the
    ///   route `rd` is (as a GET, in `policy`, else `base`), as a step-up
    ///   of the session's user when its cookie still verifies;
    /// - `GET /reauth/callback`: the round trip's proofs, then the session
    ///   cookie and a 302 to `rd`;
    /// - `GET /reauth/sign-in?rd=PATH`: a plain sign-in, back to `rd`;
    /// - `POST /reauth/sign-out`: the session cookie removed, 303 to `/`
    ///   (a cross-site post is 403 `cross_site_request`).
    ///
    /// `rd` is a path of this origin ([`check_return_to`]), else 400
    /// `invalid_return_to`. Anything else under `/reauth/` is 404, a wrong
    /// method 405.
    pub async fn endpoint(
        &self,
        req: &ForwardRequest<'_>,
        policy: Option<&Policy>,
        base: &Requirement,
    ) -> Answer {
        let accept = req.text("accept");
        let name = req.path.strip_prefix(PREFIX).unwrap_or_default();
        let get = matches!(req.method, "GET" | "HEAD");
        let rd = || match param(req.query, "rd") {
            Ok(rd) => Ok(rd.unwrap_or_else(|| "/".to_owned())),
            Err(_) => Err(refusal(400, "invalid_request", "rd is given twice")),
        };
        match (name, get) {
            ("start", true) => {
                let rd = match rd() {
                    Ok(rd) => rd,
                    Err(answer) => return answer,
                };
                // A place of this origin, before it is matched as a route.
                if let Err(e) = check_return_to(&rd) {
                    return e.answer(&[], self.step.is_browser(accept));
                }
                let requirement = match demands(&rd, req.text("host"), policy, base) {
                    Ok(r) => r,
                    Err(answer) => return answer,
                };
                // The refused location's overrides, which may only tighten.
                let overrides: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(
                        url::form_urlencoded::parse(req.query.as_bytes())
                            .filter(|(k, _)| k != "rd"),
                    )
                    .finish();
                let requirement = match super::forward::tightened(&overrides, &requirement) {
                    Ok(r) => r.into_owned(),
                    Err(message) => return refusal(400, "invalid_request", &message),
                };
                let token = self.session_token(req);
                self.step
                    .start_answer(&requirement, &rd, token.as_deref(), accept)
                    .await
            }
            ("callback", true) => {
                let cookies = joined_cookies(cookie_values(req));
                self.step
                    .callback_answer(req.query, cookies.as_deref(), accept)
                    .await
            }
            ("sign-in", true) => match rd() {
                Ok(rd) => self.step.sign_in_answer(&rd, accept).await,
                Err(answer) => answer,
            },
            ("sign-out", _) if req.method == "POST" => {
                let (origin, fetch_site) = (req.text("origin"), req.text("sec-fetch-site"));
                if self.cross_site(req.method, origin, fetch_site) {
                    return Refused::from(GuardError::CrossSiteRequest).answer();
                }
                self.step
                    .sign_out_answer(req.method, origin, fetch_site, "/")
            }
            ("start" | "callback" | "sign-in" | "sign-out", _) => {
                let mut answer = refusal(
                    405,
                    "method_not_allowed",
                    "sign-out takes POST; start, callback and sign-in take GET",
                );
                let allow = if name == "sign-out" {
                    "POST"
                } else {
                    "GET, HEAD"
                };
                answer.headers.push(("allow", allow.to_owned()));
                answer
            }
            _ => refusal(404, "not_found", "no such /reauth/ endpoint"),
        }
    }
}

fn cookie_values<'a>(req: &'a ForwardRequest<'a>) -> impl Iterator<Item = &'a [u8]> {
    req.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .map(|(_, v)| *v)
}

/// What the route `rd` is (as a GET) demands: its requirement, none for a
/// public route (a plain sign-in), the defaults for an unmatched path when
/// the file verifies those; else the refusal `/verify` would answer.
fn demands(
    rd: &str,
    host: Option<&str>,
    policy: Option<&Policy>,
    base: &Requirement,
) -> Result<Requirement, Answer> {
    let Some(policy) = policy else {
        return Ok(base.clone());
    };
    let original = Original {
        method: Some("GET".to_owned()),
        host: host.map(str::to_owned),
        uri: Some(rd.to_owned()),
        method_override: false,
    };
    match super::forward::route_for(&Ok(original), policy) {
        Ok((_, requirement)) => Ok(requirement.clone()),
        Err(outcome) if outcome.code == "public" => Ok(Requirement::none()),
        Err(outcome) => Err(outcome.answer),
    }
}
