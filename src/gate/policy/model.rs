//! What a parsed policy is: its routes, what each does, and the limits on
//! a policy file.

use std::fmt;

use crate::gate::host::HostPattern;
use crate::gate::path::{PathLimits, PathPattern};
use crate::verify::requirement::Requirement;

/// Largest policy file read, in bytes (1 MiB): a policy is written by hand.
pub const MAX_POLICY_BYTES: usize = 1024 * 1024;
/// Most routes in one policy (every request tries them in order).
pub const MAX_ROUTES: usize = 10_000;
/// Longest route name (it is a metrics label and a response header).
pub const MAX_NAME_BYTES: usize = 64;
/// Most entries in one list (`methods`, `hosts`, `acr_values`, `amr`,
/// `scopes`): it bounds the shadowing check and each request's matching.
pub const MAX_LIST_ITEMS: usize = 256;

/// One mistake in a policy file, where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// What a request no route matches gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmatched {
    /// 403 `no_route`. The default.
    #[default]
    Deny,
    /// The `[defaults]` requirement, like a last route `path = "/**"`.
    Verify,
}

/// What a route does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// `public = true`: answered 200 without looking at any token.
    Public,
    /// The token must pass this requirement.
    Verify(Requirement),
}

/// What a browser navigation (GET or HEAD, `Accept: text/html`) refused
/// for a missing, stale or insufficient login gets: the route's
/// `browser = "step-up" | "challenge"` (or `[defaults]`'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserMode {
    /// `"step-up"`: sent to the gate's `/reauth/start`, then to the issuer
    /// (needs `reauth serve --stepup-client-id`). The default when the
    /// gate has a step-up client.
    StepUp,
    /// `"challenge"`: the 401 challenge, as an API client gets it. The
    /// default without a step-up client.
    Challenge,
}

impl BrowserMode {
    /// The file's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::StepUp => "step-up",
            Self::Challenge => "challenge",
        }
    }
}

/// One `[[route]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub(super) name: String,
    /// Upper-case; `None`: any method.
    pub(super) methods: Option<Vec<String>>,
    /// `None`: any host.
    pub(super) hosts: Option<Vec<HostPattern>>,
    pub(super) path: PathPattern,
    pub(super) action: Action,
    /// `browser`, when the route says.
    pub(super) browser: Option<BrowserMode>,
    /// `upstream`: where a gate in front sends this route's requests.
    pub(super) upstream: Option<String>,
}

impl Route {
    /// The route's `name` (a bounded label: metrics, logs, `X-Reauth-Route`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the route does.
    pub fn action(&self) -> &Action {
        &self.action
    }

    /// The route's `upstream` (`http://host:port`), for a gate in front of
    /// several apps (`reauth serve --upstream`: the default for routes
    /// without one).
    pub fn upstream(&self) -> Option<&str> {
        self.upstream.as_deref()
    }

    /// The route's own `browser` setting (`None`: `[defaults]`'s, else the
    /// gate's default).
    pub fn browser(&self) -> Option<BrowserMode> {
        self.browser
    }

    pub(crate) fn matches_method(&self, method: &str) -> bool {
        self.methods.as_ref().is_none_or(|ms| {
            // HEAD is served by GET handlers in most frameworks.
            ms.iter()
                .any(|m| m == method || (method == "HEAD" && m == "GET"))
        })
    }

    pub(crate) fn matches_host(&self, host: Option<&str>) -> bool {
        match (&self.hosts, host) {
            (None, _) => true,
            (Some(hs), Some(h)) => hs.iter().any(|p| p.matches(h)),
            (Some(_), None) => false,
        }
    }

    pub(crate) fn matches_path<S: AsRef<str>>(&self, path: &[S]) -> bool {
        self.path.matches(path)
    }

    /// Every request `other` matches, `self` matches too.
    pub(super) fn covers(&self, other: &Route) -> bool {
        let methods = match (&self.methods, &other.methods) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(_), Some(b)) => b.iter().all(|m| self.matches_method(m)),
        };
        let hosts = match (&self.hosts, &other.hosts) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(a), Some(b)) => b.iter().all(|h| a.iter().any(|p| p.covers(h))),
        };
        methods && hosts && self.path.covers(&other.path)
    }
}

/// A parsed policy file. See the README's "Per-route policies" for the
/// format and the matching rules.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub(crate) routes: Vec<Route>,
    pub(crate) unmatched: Unmatched,
    pub(crate) defaults: Requirement,
    /// `[defaults]`'s `browser`.
    pub(crate) default_browser: Option<BrowserMode>,
    pub(crate) limits: PathLimits,
    /// Some route is restricted to methods / to hosts (then every request
    /// must say its method / host).
    pub(crate) uses_methods: bool,
    pub(crate) uses_hosts: bool,
}

impl Policy {
    /// The routes, in the order they are tried.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// What a request no route matches gets.
    pub fn unmatched(&self) -> Unmatched {
        self.unmatched
    }

    /// The `[defaults]` requirement.
    pub fn defaults(&self) -> &Requirement {
        &self.defaults
    }

    /// The `upstream` of the route named `route` (a label of
    /// [`forward`](crate::gate::forward) has none).
    pub fn upstream_of(&self, route: &str) -> Option<&str> {
        self.routes
            .iter()
            .find(|r| r.name == route)
            .and_then(Route::upstream)
    }

    /// `[defaults]`'s `browser`, when it says.
    pub fn default_browser(&self) -> Option<BrowserMode> {
        self.default_browser
    }

    /// What a browser refused on `route` (a route's name, or one of the
    /// labels of [`forward`](crate::gate::forward)) gets: the route's
    /// `browser`, else `[defaults]`'s, else `gate_default`.
    pub fn browser_of(&self, route: &str, gate_default: BrowserMode) -> BrowserMode {
        self.routes
            .iter()
            .find(|r| r.name == route)
            .and_then(|r| r.browser)
            .or(self.default_browser)
            .unwrap_or(gate_default)
    }

    /// Where the file asks for `browser = "step-up"` (route names, and
    /// `[defaults]`): a gate without a step-up client refuses such a file.
    pub fn step_up_demanded(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .routes
            .iter()
            .filter(|r| r.browser == Some(BrowserMode::StepUp))
            .map(|r| format!("route {:?}", r.name))
            .collect();
        if self.default_browser == Some(BrowserMode::StepUp) {
            out.push("[defaults]".to_owned());
        }
        out
    }

    /// Whether some route is restricted to hosts (then every request must
    /// say its host).
    pub fn uses_hosts(&self) -> bool {
        self.uses_hosts
    }

    /// Whether some route is restricted to methods.
    pub fn uses_methods(&self) -> bool {
        self.uses_methods
    }

    /// The path limits (`[limits]`).
    pub fn limits(&self) -> PathLimits {
        self.limits
    }
}
