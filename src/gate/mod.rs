//! The forward-auth gate's decisions (feature `gate`, on with `cli`): which
//! route of a [`Policy`] file the proxied request is, and what that route
//! demands. `reauth serve --config` is built on it; it has no HTTP server of
//! its own, so another gate can embed the same decisions.
//!
//! The original request is described by the proxy in headers
//! ([`Original::from_headers`]); the decision ([`Policy::decide`]) is one of
//! a route, "no route" (403 `no_route`), "refused" (403
//! `ambiguous_request`: the request could be read several ways) or
//! "misconfigured" (500: the proxy does not send what the policy needs).
//!
//! [`forward`] is the whole forward-auth decision, still without a web
//! framework: [`forward::classify`] turns the gate's request into an answer
//! now or a requirement to verify, and [`forward::identity`] builds the
//! identity headers of an accepted token.
//!
//! ```
//! use reauth::gate::{Action, Decision, Original, Policy};
//!
//! let policy = Policy::parse(
//!     r#"
//!     [[route]]
//!     name = "static"
//!     path = "/static/**"
//!     public = true
//!
//!     [[route]]
//!     name = "delete-account"
//!     methods = ["POST"]
//!     path = "/account/delete"
//!     max_age = "5m"
//!     "#,
//! )
//! .map_err(|errors| format!("{errors:?}"))?;
//!
//! let request = |method: &str, uri: &str| Original {
//!     method: Some(method.into()),
//!     host: Some("app.example.com".into()),
//!     uri: Some(uri.into()),
//!     method_override: false,
//! };
//! // The path is normalised before matching.
//! let Decision::Route(route) = policy.decide(&request("POST", "/Account/Delete/")) else {
//!     panic!("expected a route");
//! };
//! assert_eq!(route.name(), "delete-account");
//! let Action::Verify(requirement) = route.action() else {
//!     panic!("expected a verified route");
//! };
//! assert_eq!(requirement.max_age_secs(), Some(300));
//!
//! // No route: refused (403 `no_route`), unless the file says otherwise.
//! assert_eq!(policy.decide(&request("GET", "/account/delete")), Decision::NoRoute);
//! // A path that could be read as another route is refused, not guessed.
//! assert!(matches!(
//!     policy.decide(&request("POST", "/static/..%2faccount/delete")),
//!     Decision::Refused(_)
//! ));
//! # Ok::<(), String>(())
//! ```

pub mod duration;
pub mod forward;
mod host;
mod method;
pub mod path;
mod policy;

pub use host::HostPattern;
pub use method::{METHOD_OVERRIDE_HEADERS, METHOD_OVERRIDE_PARAMS};
pub use path::{PathError, PathLimits, PathPattern};
pub use policy::{
    Action, MAX_LIST_ITEMS, MAX_NAME_BYTES, MAX_POLICY_BYTES, MAX_ROUTES, Policy, PolicyError,
    Route, Unmatched,
};

use crate::verify::requirement::Requirement;
use method::{query_overrides_method, valid_method};

/// The original request as the proxy described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    /// The method, when the proxy sent one. Methods are case-sensitive
    /// (RFC 9110 §9.1): one that is not upper-case is refused.
    pub method: Option<String>,
    /// The host as sent (compared lower-case, without port, and checked
    /// only when some route is restricted to hosts).
    pub host: Option<String>,
    /// Path and query, as received (origin-form).
    pub uri: Option<String>,
    /// The request carries a method-override header
    /// (`X-HTTP-Method-Override` and kin) some frameworks honour.
    pub method_override: bool,
}

/// The headers each proxy describes the original request with: nginx and
/// the HAProxy guide send `X-Original-*`, Traefik and Caddy
/// `X-Forwarded-*`. When both of a pair are present they must agree.
const METHOD_HEADERS: [&str; 2] = ["x-original-method", "x-forwarded-method"];
const HOST_HEADERS: [&str; 2] = ["x-original-host", "x-forwarded-host"];
const URI_HEADERS: [&str; 2] = ["x-original-uri", "x-forwarded-uri"];
impl Original {
    /// Reads the original request from the gate request's headers, given
    /// as (name, value) pairs in one pass (names compared without regard
    /// to case). A header sent twice, two headers that disagree, or a value
    /// that is not visible ASCII is a [`Refusal`].
    pub fn from_headers<'a>(
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    ) -> Result<Self, Refusal> {
        // Slots in the order of [METHOD_HEADERS, HOST_HEADERS, URI_HEADERS].
        let names = [METHOD_HEADERS, HOST_HEADERS, URI_HEADERS];
        let mut seen: [[Option<&[u8]>; 2]; 3] = [[None; 2]; 3];
        let mut method_override = false;
        for (name, value) in headers {
            if METHOD_OVERRIDE_HEADERS
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
            {
                method_override = true;
                continue;
            }
            for (pair, slots) in names.iter().zip(seen.iter_mut()) {
                for (known, slot) in pair.iter().zip(slots.iter_mut()) {
                    if known.eq_ignore_ascii_case(name) {
                        if slot.is_some() {
                            return Err(Refusal::Repeated(known));
                        }
                        *slot = Some(value);
                    }
                }
            }
        }
        let one = |i: usize| -> Result<Option<String>, Refusal> {
            let mut found: Option<&str> = None;
            for (name, value) in names[i].iter().zip(seen[i]) {
                if let Some(v) = value {
                    let v = std::str::from_utf8(v)
                        .ok()
                        .filter(|s| s.bytes().all(|b| (0x20..0x7f).contains(&b)))
                        .ok_or(Refusal::BadHeader(name))?
                        .trim();
                    if found.is_some_and(|f| f != v) {
                        return Err(Refusal::Disagree(names[i][0], names[i][1]));
                    }
                    found = Some(v);
                }
            }
            Ok(found.map(str::to_owned))
        };
        let method = one(0)?
            .map(|m| {
                valid_method(&m)
                    .then_some(m)
                    .ok_or(Refusal::BadHeader(METHOD_HEADERS[0]))
            })
            .transpose()?;
        Ok(Self {
            method,
            host: one(1)?,
            uri: one(2)?,
            method_override,
        })
    }

    /// Envoy ext_authz (`path_prefix: /verify`): the gate request is the
    /// original request, its path under the prefix. `host` is its `Host`;
    /// `method_override`: it carries one of [`METHOD_OVERRIDE_HEADERS`].
    pub fn envoy(
        method: &str,
        host: Option<&str>,
        uri: &str,
        method_override: bool,
    ) -> Result<Self, Refusal> {
        if !valid_method(method) {
            return Err(Refusal::BadHeader("method"));
        }
        Ok(Self {
            method: Some(method.to_owned()),
            host: host.map(str::to_owned),
            uri: Some(uri.to_owned()),
            method_override,
        })
    }
}

/// Why a request is refused (403 `ambiguous_request`) before any route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The path cannot be read safely.
    Path(PathError),
    /// The path reads as different routes on different servers.
    Ambiguous,
    /// A header describing the original request was sent twice.
    Repeated(&'static str),
    /// Two headers describing the same thing disagree.
    Disagree(&'static str, &'static str),
    /// A header's value is not a plausible method or host, or not ASCII.
    BadHeader(&'static str),
    /// A method-override header ([`METHOD_OVERRIDE_HEADERS`]) or query
    /// parameter ([`METHOD_OVERRIDE_PARAMS`]), while routes are restricted
    /// to methods.
    MethodOverride,
}

impl Refusal {
    /// What is wrong, for logs and the 403's message.
    pub fn message(&self) -> String {
        match self {
            Self::Path(e) => e.as_str().to_owned(),
            Self::Ambiguous => {
                "the original path reads as different routes depending on the server \
                 (encoded / or \\, ;parameters, double encoding or encoded dots)"
                    .to_owned()
            }
            Self::Repeated(h) => format!("{h} was sent more than once"),
            Self::Disagree(a, b) => format!("{a} and {b} disagree"),
            Self::BadHeader(h) => format!("{h} is not valid"),
            Self::MethodOverride => {
                "a method override (an X-HTTP-Method-Override header or kin, or a _method query \
                 parameter) is not accepted where routes are chosen by method"
                    .to_owned()
            }
        }
    }
}

/// The proxy did not send what the policy needs: an operator's mistake
/// (500, logged with the fix), never a client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMistake {
    /// No original URI.
    Uri,
    /// No original method, and some route is restricted to methods.
    Method,
    /// No original host, and some route is restricted to hosts.
    Host,
    /// The proxy calls `/verify/...` (Envoy's `path_prefix`) and also
    /// describes the original request in headers: a `proxy_pass .../verify/`
    /// typo would otherwise make every request `/`.
    EnvoyAndHeaders,
}

impl ProxyMistake {
    /// What the operator must change.
    pub fn fix(&self) -> &'static str {
        match self {
            Self::Uri => {
                "the proxy sends no original URI: set X-Original-URI (nginx: \
                 proxy_set_header X-Original-URI $request_uri) or X-Forwarded-Uri, or use \
                 Envoy's path_prefix /verify"
            }
            Self::Method => {
                "routes are restricted to methods but the proxy sends no original method: set \
                 X-Original-Method (nginx: proxy_set_header X-Original-Method $request_method) \
                 or X-Forwarded-Method"
            }
            Self::Host => {
                "routes are restricted to hosts but the proxy sends no original host: set \
                 X-Original-Host (nginx: proxy_set_header X-Original-Host $host) or \
                 X-Forwarded-Host"
            }
            Self::EnvoyAndHeaders => {
                "the proxy calls /verify/<path> (Envoy path_prefix) but also sends \
                 X-Original-URI or X-Forwarded-Uri: point it at /verify exactly (no trailing \
                 slash or path), or, for Envoy, do not send those headers"
            }
        }
    }
}

/// The policy's answer for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision<'p> {
    /// The first route that matches (under every reading of the path).
    Route(&'p Route),
    /// No route matches and the file says `unmatched = "verify"`.
    Defaults(&'p Requirement),
    /// No route matches: 403 `no_route`.
    NoRoute,
    /// 403 `ambiguous_request`.
    Refused(Refusal),
    /// 500: the proxy's configuration must change.
    Misconfigured(ProxyMistake),
}

/// The segments with the last one's `.ext` removed, when it has one.
fn without_suffix<'a>(segments: &[&'a str]) -> Option<Vec<&'a str>> {
    let (last, rest) = segments.split_last()?;
    let dot = last.rfind('.').filter(|&i| i > 0)?;
    let mut out = rest.to_vec();
    out.push(&last[..dot]);
    Some(out)
}

impl Policy {
    /// Chooses the route for `req`. Every reading of the path
    /// ([`path::readings`]) must choose the same route, or the request is
    /// [`Refusal::Ambiguous`].
    pub fn decide(&self, req: &Original) -> Decision<'_> {
        let Some(uri) = &req.uri else {
            return Decision::Misconfigured(ProxyMistake::Uri);
        };
        if self.uses_methods {
            if req.method.is_none() {
                return Decision::Misconfigured(ProxyMistake::Method);
            }
            if req.method_override {
                return Decision::Refused(Refusal::MethodOverride);
            }
        }
        let method = match req.method.as_deref() {
            Some(m) if !valid_method(m) => return Decision::Refused(Refusal::BadHeader("method")),
            m => m.unwrap_or(""),
        };
        // Only where a route is restricted to hosts does the host matter.
        let host = if self.uses_hosts {
            match req.host.as_deref().map(host::normalize) {
                None => return Decision::Misconfigured(ProxyMistake::Host),
                Some(None) => return Decision::Refused(Refusal::BadHeader("host")),
                Some(h) => h,
            }
        } else {
            None
        };
        let host = host.as_deref();
        let first = |segments: &[&str]| {
            self.routes.iter().position(|r| {
                r.matches_method(method) && r.matches_host(host) && r.matches_path(segments)
            })
        };
        // Every reading must choose the same route; so must the reading
        // without a format suffix (`/account/delete.json` is the delete
        // action to Rails' `(.:format)` and Spring's suffix matching).
        let mut chosen: Option<Option<usize>> = None;
        let mut agree = |segments: &[&str]| -> bool {
            let mut hits = [first(segments), None];
            let n = match without_suffix(segments) {
                Some(bare) => {
                    hits[1] = first(&bare);
                    2
                }
                None => 1,
            };
            hits[..n].iter().all(|&hit| match chosen {
                None => {
                    chosen = Some(hit);
                    true
                }
                Some(c) => c == hit,
            })
        };
        // The path is checked once; the readings start from it.
        let path = match path::path_part(uri, self.limits) {
            Ok(p) => p,
            Err(e) => return Decision::Refused(Refusal::Path(e)),
        };
        // A `_method` in the query chooses the handler as the headers do.
        if self.uses_methods && query_overrides_method(uri) {
            return Decision::Refused(Refusal::MethodOverride);
        }
        match path::plain_path(path, self.limits) {
            Err(e) => return Decision::Refused(Refusal::Path(e)),
            Ok(Some(segments)) => {
                if !agree(&segments) {
                    return Decision::Refused(Refusal::Ambiguous);
                }
            }
            Ok(None) => {
                let readings = match path::unplain_readings(path, self.limits) {
                    Ok(r) => r,
                    Err(e) => return Decision::Refused(Refusal::Path(e)),
                };
                for reading in &readings {
                    let segments: Vec<&str> = reading.iter().map(String::as_str).collect();
                    if !agree(&segments) {
                        return Decision::Refused(Refusal::Ambiguous);
                    }
                }
            }
        }
        let chosen = chosen.flatten();
        match chosen {
            Some(i) => Decision::Route(&self.routes[i]),
            None => match self.unmatched {
                Unmatched::Deny => Decision::NoRoute,
                Unmatched::Verify => Decision::Defaults(&self.defaults),
            },
        }
    }
}
