//! The policy file: named routes, each matched on the original request's
//! method, host and path, and what each demands. Parsed from TOML into a
//! [`Policy`], with every mistake reported at its line and column.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

mod fallthrough;

use super::duration;
use super::host::HostPattern;
use super::path::{PathLimits, PathPattern};
use crate::config::MAX_DURATION;
use crate::config::ReauthPolicy;
use crate::jwt::token_kind::TokenKind;
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

/// One `[[route]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    name: String,
    /// Upper-case; `None`: any method.
    methods: Option<Vec<String>>,
    /// `None`: any host.
    hosts: Option<Vec<HostPattern>>,
    path: PathPattern,
    action: Action,
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

    pub(super) fn matches_method(&self, method: &str) -> bool {
        self.methods.as_ref().is_none_or(|ms| {
            // HEAD is served by GET handlers in most frameworks.
            ms.iter()
                .any(|m| m == method || (method == "HEAD" && m == "GET"))
        })
    }

    pub(super) fn matches_host(&self, host: Option<&str>) -> bool {
        match (&self.hosts, host) {
            (None, _) => true,
            (Some(hs), Some(h)) => hs.iter().any(|p| p.matches(h)),
            (Some(_), None) => false,
        }
    }

    pub(super) fn matches_path<S: AsRef<str>>(&self, path: &[S]) -> bool {
        self.path.matches(path)
    }

    /// Every request `other` matches, `self` matches too.
    fn covers(&self, other: &Route) -> bool {
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
    pub(super) routes: Vec<Route>,
    pub(super) unmatched: Unmatched,
    pub(super) defaults: Requirement,
    pub(super) limits: PathLimits,
    /// Some route is restricted to methods / to hosts (then every request
    /// must say its method / host).
    pub(super) uses_methods: bool,
    pub(super) uses_hosts: bool,
}

impl Policy {
    /// Parses and checks a policy file. Every error is returned, each with
    /// its line and column. `scopes` are accepted whatever the tokens are;
    /// a gate that knows its [`TokenKind`] uses [`Policy::parse_for`].
    pub fn parse(text: &str) -> Result<Policy, Vec<PolicyError>> {
        Self::parse_with(text, None)
    }

    /// [`Policy::parse`] for a gate that verifies `kind` tokens: with
    /// [`TokenKind::IdToken`], `scopes` (in `[defaults]` or on a route) is
    /// an error naming the route, since an ID token carries no `scope` and
    /// every request of that route would be refused.
    pub fn parse_for(text: &str, kind: TokenKind) -> Result<Policy, Vec<PolicyError>> {
        Self::parse_with(text, Some(kind))
    }

    fn parse_with(text: &str, kind: Option<TokenKind>) -> Result<Policy, Vec<PolicyError>> {
        let mut p = Parser {
            text,
            kind,
            errors: Vec::new(),
        };
        let policy = p.policy();
        match policy {
            Some(policy) if p.errors.is_empty() => Ok(policy),
            _ => {
                p.errors.sort_by_key(|e| (e.line, e.column));
                Err(p.errors)
            }
        }
    }

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

struct Parser<'t> {
    text: &'t str,
    /// The gate's token kind, when known.
    kind: Option<TokenKind>,
    errors: Vec<PolicyError>,
}

type Item<'i> = Spanned<DeValue<'i>>;

const TOP_KEYS: &[&str] = &["unmatched", "defaults", "limits", "route"];
const REQUIREMENT_KEYS: &[&str] = &[
    "max_age",
    "acr_values",
    "amr",
    "scopes",
    "when_cannot_reauthenticate",
];
const ROUTE_KEYS: &[&str] = &["name", "methods", "hosts", "path", "public"];
const LIMIT_KEYS: &[&str] = &["max_uri_bytes", "max_segments", "allow_non_ascii"];

impl Parser<'_> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = self.text[line_start..start].chars().count() + 1;
        self.errors.push(PolicyError {
            line,
            column,
            message: message.into(),
        });
    }

    fn policy(&mut self) -> Option<Policy> {
        if self.text.len() > MAX_POLICY_BYTES {
            self.error(
                0..0,
                format!("the file is larger than {MAX_POLICY_BYTES} bytes"),
            );
            return None;
        }
        let doc = match DeTable::parse(self.text) {
            Ok(doc) => doc,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                self.error(span, format!("TOML syntax: {}", e.message().trim()));
                return None;
            }
        };
        let doc = doc.get_ref();
        self.unknown_keys(doc, TOP_KEYS, "at the top level");
        let mut unmatched = Unmatched::Deny;
        if let Some((_, v)) = find(doc, "unmatched") {
            match self.string(v, "unmatched") {
                Some("deny") => unmatched = Unmatched::Deny,
                Some("verify") => unmatched = Unmatched::Verify,
                Some(other) => self.error(
                    v.span(),
                    format!("unmatched = {other:?}: use \"deny\" (the default) or \"verify\""),
                ),
                None => {}
            }
        }
        let mut defaults = Requirement::none();
        if let Some((_, v)) = find(doc, "defaults") {
            if let Some(t) = self.table(v, "[defaults]") {
                self.unknown_keys(t, REQUIREMENT_KEYS, "in [defaults]");
                defaults = self.requirement(t, &Requirement::none(), "in [defaults]");
            }
        }
        let mut limits = PathLimits::default();
        if let Some((_, v)) = find(doc, "limits") {
            if let Some(t) = self.table(v, "[limits]") {
                self.unknown_keys(t, LIMIT_KEYS, "in [limits]");
                if let Some((_, v)) = find(t, "max_uri_bytes") {
                    if let Some(n) = self.integer(v, "max_uri_bytes", 1, 65_536) {
                        limits.max_uri_bytes = n;
                    }
                }
                if let Some((_, v)) = find(t, "allow_non_ascii") {
                    match v.get_ref() {
                        DeValue::Boolean(b) => limits.allow_non_ascii = *b,
                        _ => self.error(v.span(), "allow_non_ascii is true or false"),
                    }
                }
                if let Some((_, v)) = find(t, "max_segments") {
                    if let Some(n) = self.integer(v, "max_segments", 1, 1024) {
                        limits.max_segments = n;
                    }
                }
            }
        }
        let mut routes: Vec<(Route, Range<usize>)> = Vec::new();
        if let Some((key, v)) = find(doc, "route") {
            match v.get_ref() {
                DeValue::Array(items) => {
                    if items.len() > MAX_ROUTES {
                        self.error(key.span(), format!("more than {MAX_ROUTES} routes"));
                    }
                    let mut names: Vec<&str> = Vec::new();
                    for item in items.iter().take(MAX_ROUTES) {
                        // Duplicate names, even of routes with other mistakes.
                        if let DeValue::Table(t) = item.get_ref()
                            && let Some((_, v)) = find(t, "name")
                            && let DeValue::String(n) = v.get_ref()
                        {
                            if names.contains(&n.as_ref()) {
                                self.error(item.span(), format!("route name {n:?} is used twice"));
                            }
                            names.push(n.as_ref());
                        }
                        if let Some(route) = self.route(item, &defaults) {
                            routes.push((route, item.span()));
                        }
                    }
                }
                _ => self.error(
                    v.span(),
                    "route is a list of tables: write each as [[route]]",
                ),
            }
        }
        self.shadowed(&routes);
        // Judged only on a file otherwise valid: a route left out for a
        // mistake would change where requests fall.
        if self.errors.is_empty() {
            let list: Vec<Route> = routes.iter().map(|(r, _)| r.clone()).collect();
            for (i, message) in fallthrough::check(&list, unmatched, &defaults, limits.max_segments)
            {
                self.error(routes[i].1.clone(), message);
            }
        }
        let routes: Vec<Route> = routes.into_iter().map(|(r, _)| r).collect();
        Some(Policy {
            uses_methods: routes.iter().any(|r| r.methods.is_some()),
            uses_hosts: routes.iter().any(|r| r.hosts.is_some()),
            routes,
            unmatched,
            defaults,
            limits,
        })
    }

    fn shadowed(&mut self, routes: &[(Route, Range<usize>)]) {
        for (j, (later, span)) in routes.iter().enumerate() {
            if let Some((earlier, _)) = routes[..j].iter().find(|(r, _)| r.covers(later)) {
                self.error(
                    span.clone(),
                    format!(
                        "route {:?} can never match: route {:?} before it matches every request \
                         it would (put the more specific route first)",
                        later.name, earlier.name
                    ),
                );
            }
        }
    }

    fn route(&mut self, item: &Item<'_>, defaults: &Requirement) -> Option<Route> {
        let t = self.table(item, "[[route]]")?;
        let allowed: Vec<&str> = ROUTE_KEYS.iter().chain(REQUIREMENT_KEYS).copied().collect();
        self.unknown_keys(t, &allowed, "in [[route]]");
        let name = match find(t, "name") {
            Some((_, v)) => self.string(v, "name").map(str::to_owned).and_then(|n| {
                let ok = n.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && n.len() <= MAX_NAME_BYTES
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
                if !ok {
                    self.error(
                        v.span(),
                        format!(
                            "route name {n:?}: 1 to {MAX_NAME_BYTES} of a-z, A-Z, 0-9, -, _ and ., \
                             starting with a letter or digit"
                        ),
                    );
                }
                ok.then_some(n)
            }),
            None => {
                self.error(item.span(), "every [[route]] needs a name");
                None
            }
        };
        let path = match find(t, "path") {
            Some((_, v)) => self.string(v, "path").and_then(|s| {
                PathPattern::parse(s)
                    .map_err(|e| self.error(v.span(), format!("path {s:?}: {e}")))
                    .ok()
            }),
            None => {
                self.error(
                    item.span(),
                    "every [[route]] needs a path (\"/**\" for all)",
                );
                None
            }
        };
        let methods = find(t, "methods").and_then(|(_, v)| {
            let list = self.strings(v, "methods")?;
            let mut out = Vec::new();
            for (m, span) in list {
                let upper = m.to_ascii_uppercase();
                if upper.is_empty()
                    || upper.len() > 32
                    || !upper
                        .bytes()
                        .all(|b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
                {
                    self.error(span, format!("{m:?} is not an HTTP method"));
                } else {
                    out.push(upper);
                }
            }
            if out.is_empty() {
                self.error(
                    v.span(),
                    "methods = [] matches nothing: remove it for any method",
                );
            }
            Some(out)
        });
        let hosts = find(t, "hosts").and_then(|(_, v)| {
            let list = self.strings(v, "hosts")?;
            let mut out = Vec::new();
            for (h, span) in list {
                match HostPattern::parse(h) {
                    Ok(p) => out.push(p),
                    Err(e) => self.error(span, format!("host {h:?}: {e}")),
                }
            }
            if out.is_empty() {
                self.error(
                    v.span(),
                    "hosts = [] matches nothing: remove it for any host",
                );
            }
            Some(out)
        });
        let public = match find(t, "public") {
            Some((_, v)) => match v.get_ref() {
                DeValue::Boolean(b) => *b,
                _ => {
                    self.error(v.span(), "public is true or false");
                    false
                }
            },
            None => false,
        };
        let action = if public {
            if let Some((k, _)) = t
                .iter()
                .find(|(k, _)| REQUIREMENT_KEYS.contains(&k.get_ref().as_ref()))
            {
                self.error(
                    k.span(),
                    format!(
                        "{} on a public route would never be checked: remove it or public",
                        k.get_ref()
                    ),
                );
            }
            Action::Public
        } else {
            let place = format!("on route {:?}", name.as_deref().unwrap_or(""));
            Action::Verify(self.requirement(t, defaults, &place))
        };
        // A route with other mistakes is still kept for the name and
        // shadowing checks (a policy with any error is never used).
        Some(Route {
            name: name?,
            methods,
            hosts,
            path: path?,
            action,
        })
    }

    /// A requirement from `max_age`, `acr_values`, `amr`, `scopes` and
    /// `when_cannot_reauthenticate`; absent keys keep `base`'s values.
    /// `place` ("on route \"x\"", "in [defaults]") names it in errors.
    fn requirement(&mut self, t: &DeTable<'_>, base: &Requirement, place: &str) -> Requirement {
        let mut r = base.clone();
        if let Some((_, v)) = find(t, "max_age") {
            let parsed = match v.get_ref() {
                DeValue::String(s) => duration::parse(s).map_err(|e| e.to_string()),
                DeValue::Integer(i) => i
                    .as_str()
                    .replace('_', "")
                    .parse::<u64>()
                    .ok()
                    .filter(|_| i.radix() == 10)
                    .map(Duration::from_secs)
                    .ok_or_else(|| "max_age is a non-negative number of seconds".to_owned()),
                _ => Err("max_age is a duration: \"5m\", \"300s\" or 300".to_owned()),
            };
            match parsed {
                Ok(d) if d.is_zero() => self.error(
                    v.span(),
                    "max_age = 0 rejects every login (write at least 1s)",
                ),
                Ok(d) if d > MAX_DURATION => {
                    self.error(v.span(), "max_age is longer than 100 years")
                }
                Ok(d) => r = r.with_max_age(Some(d)),
                Err(e) => self.error(v.span(), e),
            }
        }
        if let Some((_, v)) = find(t, "acr_values") {
            if let Some(list) = self.strings(v, "acr_values") {
                r = r.acr_values(list.into_iter().map(|(s, _)| s.to_owned()));
            }
        }
        if let Some((_, v)) = find(t, "amr") {
            if let Some(list) = self.strings(v, "amr") {
                r = r.require_amr(list.into_iter().map(|(s, _)| s.to_owned()));
            }
        }
        if let Some((k, v)) = find(t, "scopes") {
            // RFC 9068 §2.2.3: `scope` is an access token's claim; an ID
            // token (OIDC Core §2) has none, so the route would refuse all.
            if self.kind == Some(TokenKind::IdToken) {
                self.error(
                    k.span(),
                    format!(
                        "scopes {place}: this gate verifies ID tokens, which carry no scope, so \
                         every request would be refused (insufficient_scope): verify access \
                         tokens (reauth serve --token-kind access) or remove scopes"
                    ),
                );
            }
            if let Some(list) = self.strings(v, "scopes") {
                r = r.require_scopes(list.into_iter().map(|(s, _)| s.to_owned()));
            }
        }
        if let Some((_, v)) = find(t, "when_cannot_reauthenticate") {
            match self.string(v, "when_cannot_reauthenticate") {
                Some("deny") => r = r.when_cannot_reauthenticate(ReauthPolicy::Deny),
                Some("allow") => r = r.when_cannot_reauthenticate(ReauthPolicy::Allow),
                Some(other) => self.error(
                    v.span(),
                    format!("when_cannot_reauthenticate = {other:?}: use \"deny\" or \"allow\""),
                ),
                None => {}
            }
        }
        r
    }

    fn unknown_keys(&mut self, t: &DeTable<'_>, allowed: &[&str], place: &str) {
        for (k, _) in t.iter() {
            let name: &str = k.get_ref();
            if !allowed.contains(&name) {
                self.error(
                    k.span(),
                    format!(
                        "unknown key {name:?} {place} (expected one of: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
    }

    fn table<'a, 'i>(&mut self, v: &'a Item<'i>, what: &str) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.error(v.span(), format!("{what} is a table"));
                None
            }
        }
    }

    fn string<'a>(&mut self, v: &'a Item<'_>, what: &str) -> Option<&'a str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            _ => {
                self.error(v.span(), format!("{what} is a string"));
                None
            }
        }
    }

    fn strings<'a>(&mut self, v: &'a Item<'_>, what: &str) -> Option<Vec<(&'a str, Range<usize>)>> {
        match v.get_ref() {
            DeValue::Array(items) if items.len() > MAX_LIST_ITEMS => {
                self.error(
                    v.span(),
                    format!("{what} has more than {MAX_LIST_ITEMS} entries"),
                );
                None
            }
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for i in items.iter() {
                    match i.get_ref() {
                        DeValue::String(s) if !s.is_empty() => out.push((s.as_ref(), i.span())),
                        _ => self.error(i.span(), format!("{what} holds non-empty strings")),
                    }
                }
                Some(out)
            }
            _ => {
                self.error(v.span(), format!("{what} is a list: [\"...\", ...]"));
                None
            }
        }
    }

    fn integer(&mut self, v: &Item<'_>, what: &str, min: usize, max: usize) -> Option<usize> {
        let n = match v.get_ref() {
            DeValue::Integer(i) if i.radix() == 10 => i.as_str().replace('_', "").parse().ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.error(
                    v.span(),
                    format!("{what} is a whole number from {min} to {max}"),
                );
                None
            }
        }
    }
}

fn find<'a, 'i>(
    t: &'a DeTable<'i>,
    key: &str,
) -> Option<(&'a Spanned<std::borrow::Cow<'i, str>>, &'a Item<'i>)> {
    t.iter().find(|(k, _)| k.get_ref().as_ref() == key)
}
