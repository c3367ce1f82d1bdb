//! One forward-auth request (`/verify`), decided without a web framework:
//! which route it is and what to verify ([`classify`]), and the identity
//! headers of an accepted token ([`identity`]). `reauth serve` is glue
//! around these two; another gate can embed the same decisions.

use std::borrow::Cow;

use crate::guard::render::Answer;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::Verified;

use super::decision::Decision;
use super::duration;
use super::method::METHOD_OVERRIDE_HEADERS;
use super::original::Original;
use super::policy::{Action, Policy};
use super::refusal::{ProxyMistake, Refusal};

/// Route labels where no route of the file was chosen (route names start
/// with a letter or digit, so these never collide).
pub const NO_FILE: &str = "_default";
/// No route matched and the file's defaults applied.
pub const UNMATCHED: &str = "_unmatched";
/// The request was answered before a route was chosen.
pub const NO_ROUTE: &str = "_none";

/// The gate's own request: its method, path (`/verify`, or `/verify/...`
/// under Envoy's `path_prefix`), query and headers (names lower case).
#[derive(Debug, Clone, Copy)]
pub struct ForwardRequest<'a> {
    /// The gate request's method (Envoy forwards the original's).
    pub method: &'a str,
    /// The gate request's path, without the query.
    pub path: &'a str,
    /// The gate request's query (without `?`).
    pub query: &'a str,
    /// Every header, in order.
    pub headers: &'a [(&'a str, &'a [u8])],
}

impl<'a> ForwardRequest<'a> {
    /// The first header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The first header `name` as text (`None` when absent or not UTF-8).
    pub fn text(&self, name: &str) -> Option<&'a str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }

    fn has(&self, name: &str) -> bool {
        self.header(name).is_some()
    }

    /// A body the proxy forwarded (the gate never needs one).
    fn has_body(&self) -> bool {
        self.has("transfer-encoding")
            || self
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .any(|(_, v)| v.iter().any(|&b| b != b'0'))
    }
}

/// A request as the gate judges it: the gate's own request (its headers),
/// the original request it stands for (the proxy's description, or the
/// request itself in front of the app), and the `/verify` query overrides
/// (empty in front of the app, where the query is the app's).
#[derive(Debug, Clone, Copy)]
pub struct Judged<'a> {
    /// The gate's request.
    pub req: &'a ForwardRequest<'a>,
    /// The original request, when it could be read.
    pub original: Option<&'a Original>,
    /// `max_age`, `acr_values`, `amr` overrides (a query string).
    pub overrides: &'a str,
    /// In front of the app: the request's headers are the client's own
    /// (no proxy vouches for `X-Forwarded-*`).
    pub front: bool,
}

/// One answered request: its route label (metrics, logs,
/// `X-Reauth-Route`), the outcome's code (`ok`, `public`, or the refusal's:
/// `no_route`, `ambiguous_request`...) and the answer.
#[derive(Debug)]
pub struct Outcome<'p> {
    /// The route label.
    pub route: &'p str,
    /// `ok`, `public`, or the error code.
    pub code: &'static str,
    /// The answer.
    pub answer: Answer,
}

/// What to do with one request.
#[derive(Debug)]
pub enum Step<'p> {
    /// Answer now: a public route, or a refusal before any token is read.
    Answer(Outcome<'p>),
    /// Verify the request's token against this requirement.
    Verify {
        /// The route label.
        route: &'p str,
        /// The route's requirement, tightened by the request's overrides.
        requirement: Cow<'p, Requirement>,
    },
}

/// A JSON refusal the gate itself makes: `{"error", "message"}`, no-store.
pub fn refusal(status: u16, code: &str, message: &str) -> Answer {
    Answer::json(
        status,
        &serde_json::json!({"error": code, "message": message}),
    )
}

/// Chooses the route of `req` in `policy` (or `base` without one) and
/// applies the request's overrides (`/verify?max_age=...`, which may only
/// tighten). Each refusal is logged where a log names the fix.
pub fn classify<'p>(
    req: &ForwardRequest<'_>,
    policy: Option<&'p Policy>,
    base: &'p Requirement,
) -> Step<'p> {
    let answer = |route: &'p str, code: &'static str, answer: Answer| {
        Step::Answer(Outcome {
            route,
            code,
            answer,
        })
    };
    // The gate never needs the client's body; a proxy that forwards it
    // wastes both sides' bandwidth (nginx: proxy_pass_request_body off).
    if req.has_body() {
        tracing::warn!(
            "reauth: the proxy forwarded a request body to /verify; configure it not to \
             (nginx: proxy_pass_request_body off; proxy_set_header Content-Length \"\")"
        );
        let message = "the gate takes no request body: configure the proxy not to forward it";
        return answer(
            NO_ROUTE,
            "invalid_request",
            refusal(400, "invalid_request", message),
        );
    }
    // `/verify?overrides`; under `/verify/...` (Envoy ext_authz with
    // `path_prefix: /verify`) the rest of the path and its query are the
    // original request's, never overrides.
    let envoy = req.path != "/verify";
    let query = if envoy { "" } else { req.query };
    let (route, base): (&'p str, &'p Requirement) = match policy {
        None => (NO_FILE, base),
        Some(policy) => match route_of(req, policy, envoy) {
            Ok(chosen) => chosen,
            Err(outcome) => return Step::Answer(outcome),
        },
    };
    match tightened(query, base) {
        Ok(requirement) => Step::Verify { route, requirement },
        Err(msg) => answer(
            route,
            "invalid_request",
            refusal(400, "invalid_request", &msg),
        ),
    }
}

/// The route a request is, and its requirement; or the answer when there
/// is none to verify against.
fn route_of<'p>(
    req: &ForwardRequest<'_>,
    policy: &'p Policy,
    envoy: bool,
) -> Result<(&'p str, &'p Requirement), Outcome<'p>> {
    if envoy && (req.has("x-original-uri") || req.has("x-forwarded-uri")) {
        // A `.../verify/` typo in a proxy that also describes the original
        // request would otherwise make every request `/`.
        return Err(misconfigured(ProxyMistake::EnvoyAndHeaders));
    }
    route_for(&original(req), policy)
}

fn misconfigured<'p>(mistake: ProxyMistake) -> Outcome<'p> {
    tracing::error!("reauth: {}", mistake.fix());
    Outcome {
        route: NO_ROUTE,
        code: "server_error",
        answer: refusal(500, "server_error", "the gate is misconfigured"),
    }
}

/// The route `original` is in `policy` and its requirement; or the answer
/// when there is none to verify against (public, no route, ambiguous).
pub fn route_for<'p>(
    original: &Result<Original, Refusal>,
    policy: &'p Policy,
) -> Result<(&'p str, &'p Requirement), Outcome<'p>> {
    let answer = |route: &'p str, code: &'static str, answer: Answer| Outcome {
        route,
        code,
        answer,
    };
    let decision = match original {
        Ok(o) => policy.decide(o),
        Err(refusal) => Decision::Refused(*refusal),
    };
    match decision {
        Decision::Route(r) => match r.action() {
            Action::Public => Err(answer(
                r.name(),
                "public",
                Answer {
                    status: 200,
                    headers: vec![
                        ("x-reauth-route", r.name().to_owned()),
                        ("cache-control", "no-store".to_owned()),
                    ],
                    body: Vec::new(),
                },
            )),
            Action::Verify(requirement) => Ok((r.name(), requirement)),
        },
        Decision::Defaults(requirement) => Ok((UNMATCHED, requirement)),
        Decision::NoRoute => Err(answer(
            NO_ROUTE,
            "no_route",
            refusal(
                403,
                "no_route",
                "no route of the policy matches this request",
            ),
        )),
        Decision::Refused(why) => Err(answer(
            NO_ROUTE,
            "ambiguous_request",
            refusal(403, "ambiguous_request", &why.message()),
        )),
        Decision::Misconfigured(mistake) => Err(misconfigured(mistake)),
    }
}

/// The original request the proxy describes: in `X-Original-*` or
/// `X-Forwarded-*` headers, or under `/verify/` as Envoy's ext_authz
/// passes it (its method, `Host` and the path after the prefix).
pub fn original(req: &ForwardRequest<'_>) -> Result<Original, Refusal> {
    if req.path != "/verify" && req.path.starts_with("/verify/") {
        let rest = &req.path["/verify".len()..];
        let uri = match req.query {
            "" => rest.to_owned(),
            q => format!("{rest}?{q}"),
        };
        let host = req.header("host").and_then(|h| std::str::from_utf8(h).ok());
        let method_override = METHOD_OVERRIDE_HEADERS.iter().any(|h| req.has(h));
        return Original::envoy(req.method, host, &uri, method_override);
    }
    Original::from_headers(req.headers.iter().copied())
}

/// Per-request overrides (`max_age`, `acr_values`, `amr`), so one gate
/// serves several locations. They may only tighten the requirement
/// ([`Requirement::tightened`]); an unknown or repeated parameter is an
/// error (a typo must not silently drop a demand).
pub fn tightened<'a>(query: &str, base: &'a Requirement) -> Result<Cow<'a, Requirement>, String> {
    if query.is_empty() {
        return Ok(Cow::Borrowed(base));
    }
    let (mut max_age, mut acr, mut amr) = (None, None, None);
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        let slot = match &*name {
            "max_age" => &mut max_age,
            "acr_values" => &mut acr,
            "amr" => &mut amr,
            other => {
                return Err(format!(
                    "invalid query: unknown parameter {:?} (max_age, acr_values, amr)",
                    crate::jwt::token::truncate(other)
                ));
            }
        };
        if slot.replace(value.into_owned()).is_some() {
            return Err(format!("invalid query: {name} given twice"));
        }
    }
    let max_age = max_age.as_deref().map(duration::parse).transpose()?;
    base.tightened(max_age, acr.as_deref().map(list), amr.as_deref().map(list))
        .map(Cow::Owned)
}

fn list(s: &str) -> Vec<String> {
    s.split([',', ' '])
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A claim that cannot travel as a header value (a non-ASCII `sub`): the
/// token is refused (500 `server_error`, logged with the header's name)
/// rather than forwarded without its identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the claim for {header} cannot be sent as a header value (not visible ASCII)")]
pub struct UnencodableClaim {
    /// The identity header it was meant for.
    pub header: &'static str,
}

impl UnencodableClaim {
    /// The gate's answer: 500 `server_error`, the fix in the log.
    pub fn answer(&self) -> Answer {
        tracing::warn!(header = self.header, "reauth: {self}");
        refusal(500, "server_error", "an identity claim cannot be forwarded")
    }
}

/// The 200 answer for an accepted token: the identity headers
/// (`X-Reauth-Issuer`, `-Subject`, `-Reauthentication`, `-Auth-Time`,
/// `-Session`, `-Route` when a policy file chose it, and for access tokens
/// `-Client-Id` and `-Scope`), never cached. A value that is not visible
/// ASCII fails closed ([`UnencodableClaim`]).
pub fn identity<E>(
    verified: &Verified<E>,
    route: Option<&str>,
) -> Result<Answer, UnencodableClaim> {
    let claims = &verified.claims;
    let auth_time = claims.auth_time.map(|t| t.to_string());
    let scope = (!claims.scope.is_empty()).then(|| claims.scope.join(" "));
    let values: [(&'static str, Option<&str>); 8] = [
        ("x-reauth-issuer", Some(&claims.iss)),
        ("x-reauth-subject", Some(&claims.sub)),
        (
            "x-reauth-reauthentication",
            Some(verified.freshness.as_str()),
        ),
        ("x-reauth-auth-time", auth_time.as_deref()),
        ("x-reauth-session", claims.sid.as_deref()),
        ("x-reauth-route", route),
        ("x-reauth-client-id", claims.client_id.as_deref()),
        ("x-reauth-scope", scope.as_deref()),
    ];
    let mut headers = Vec::with_capacity(values.len() + 1);
    for (header, value) in values {
        let Some(value) = value else { continue };
        // RFC 9110 §5.5: visible ASCII and spaces travel everywhere.
        if !value
            .bytes()
            .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
        {
            return Err(UnencodableClaim { header });
        }
        headers.push((header, value.to_owned()));
    }
    headers.push(("cache-control", "no-store".to_owned()));
    Ok(Answer {
        status: 200,
        headers,
        body: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn overrides_only_tighten_and_typos_are_errors() {
        let base = Requirement::none().with_max_age(Some(Duration::from_secs(600)));
        assert!(matches!(tightened("", &base), Ok(Cow::Borrowed(_))));
        let t = tightened("max_age=5m", &base).unwrap();
        assert_eq!(t.max_age_value(), Some(Duration::from_secs(300)));
        assert!(tightened("max_age=1h", &base).is_err(), "loosening");
        assert!(tightened("max_agee=5m", &base).is_err(), "a typo");
        assert!(tightened("max_age=5m&max_age=1s", &base).is_err(), "twice");
    }

    #[test]
    fn bodies_are_seen() {
        let with = |h: &[(&'static str, &'static [u8])]| {
            ForwardRequest {
                method: "GET",
                path: "/verify",
                query: "",
                headers: h,
            }
            .has_body()
        };
        assert!(!with(&[("content-length", b"0")]));
        assert!(with(&[("content-length", b"12")]));
        assert!(with(&[("Transfer-Encoding", b"chunked")]));
        assert!(!with(&[]));
    }
}
