//! Why a request gets no route: the client's request cannot be read
//! safely ([`Refusal`], 403), or the proxy's configuration is wrong
//! ([`ProxyMistake`], 500).

use super::path::PathError;

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
    /// A method-override header ([`METHOD_OVERRIDE_HEADERS`](super::METHOD_OVERRIDE_HEADERS)) or query
    /// parameter ([`METHOD_OVERRIDE_PARAMS`](super::METHOD_OVERRIDE_PARAMS)), while routes are restricted
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
