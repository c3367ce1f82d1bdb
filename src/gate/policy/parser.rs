//! The policy file's parser: the top-level keys, `[limits]`, the routes,
//! and the checks across routes (names used twice, shadowed routes, the
//! one-segment trap).

use std::ops::Range;

use toml::de::{DeTable, DeValue};

use super::fallthrough;
use super::model::{
    Action, BrowserMode, MAX_NAME_BYTES, MAX_POLICY_BYTES, MAX_ROUTES, Policy, PolicyError, Route,
    Unmatched,
};
use super::reader::{
    DEFAULTS_KEYS, Item, LIMIT_KEYS, Parser, REQUIREMENT_KEYS, ROUTE_KEYS, TOP_KEYS, find,
};
use crate::gate::host::HostPattern;
use crate::gate::path::{PathLimits, PathPattern};
use crate::jwt::token_kind::TokenKind;
use crate::verify::requirement::Requirement;

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
}

impl Parser<'_> {
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
        let unmatched = self.unmatched(doc);
        let mut defaults = Requirement::none();
        let mut default_browser = None;
        if let Some((_, v)) = find(doc, "defaults") {
            if let Some(t) = self.table(v, "[defaults]") {
                let allowed: Vec<&str> = REQUIREMENT_KEYS
                    .iter()
                    .chain(DEFAULTS_KEYS)
                    .copied()
                    .collect();
                self.unknown_keys(t, &allowed, "in [defaults]");
                defaults = self.requirement(t, &Requirement::none(), "in [defaults]");
                default_browser = self.browser(t);
            }
        }
        let limits = self.limits(doc);
        let routes = self.routes(doc, &defaults);
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
            default_browser,
            limits,
        })
    }

    /// `upstream = "http(s)://host:port"` (absent: `None`): scheme, host and
    /// port only, the request's own path and query are kept.
    fn upstream(&mut self, t: &DeTable<'_>) -> Option<String> {
        let (_, v) = find(t, "upstream")?;
        let raw = self.string(v, "upstream")?;
        let ok = url::Url::parse(raw).is_ok_and(|u| {
            (u.scheme() == "http" || u.scheme() == "https")
                && u.host().is_some()
                && u.path() == "/"
                && u.query().is_none()
                && u.fragment().is_none()
                && u.username().is_empty()
                && u.password().is_none()
        }) && !raw.trim_end_matches('/').contains(['?', '#'])
            && raw
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .find('/')
                .is_none();
        if !ok {
            self.error(
                v.span(),
                format!(
                    "upstream = {raw:?}: an http:// or https://host:port URL, without path or query"
                ),
            );
            return None;
        }
        Some(raw.trim_end_matches('/').to_owned())
    }

    /// `browser = "step-up" | "challenge"` (absent: `None`).
    fn browser(&mut self, t: &DeTable<'_>) -> Option<BrowserMode> {
        let (_, v) = find(t, "browser")?;
        match self.string(v, "browser")? {
            "step-up" => Some(BrowserMode::StepUp),
            "challenge" => Some(BrowserMode::Challenge),
            other => {
                self.error(
                    v.span(),
                    format!("browser = {other:?}: use \"step-up\" or \"challenge\""),
                );
                None
            }
        }
    }

    /// `unmatched = "deny" | "verify"` (absent: deny).
    fn unmatched(&mut self, doc: &DeTable<'_>) -> Unmatched {
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
        unmatched
    }

    /// `[limits]`: absent keys keep [`PathLimits::default`].
    fn limits(&mut self, doc: &DeTable<'_>) -> PathLimits {
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
        limits
    }

    /// The `[[route]]` list, each route with its span; a name used twice is
    /// reported even on routes with other mistakes.
    fn routes(&mut self, doc: &DeTable<'_>, defaults: &Requirement) -> Vec<(Route, Range<usize>)> {
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
                        if let Some(route) = self.route(item, defaults) {
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
        routes
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
        let name = self.route_name(item, t);
        let path = self.route_path(item, t);
        let methods = self.route_methods(t);
        let hosts = self.route_hosts(t);
        let action = self.route_action(t, name.as_deref(), defaults);
        let browser = self.browser(t);
        let upstream = self.upstream(t);
        // A route with other mistakes is still kept for the name and
        // shadowing checks (a policy with any error is never used).
        Some(Route {
            name: name?,
            methods,
            hosts,
            path: path?,
            action,
            browser,
            upstream,
        })
    }

    /// The route's `name`: a bounded label (metrics, logs, `X-Reauth-Route`).
    fn route_name(&mut self, item: &Item<'_>, t: &DeTable<'_>) -> Option<String> {
        match find(t, "name") {
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
        }
    }

    /// The route's `path` pattern (required).
    fn route_path(&mut self, item: &Item<'_>, t: &DeTable<'_>) -> Option<PathPattern> {
        match find(t, "path") {
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
        }
    }

    /// `methods`, upper-cased; absent: any method.
    fn route_methods(&mut self, t: &DeTable<'_>) -> Option<Vec<String>> {
        find(t, "methods").and_then(|(_, v)| {
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
        })
    }

    /// `hosts`; absent: any host.
    fn route_hosts(&mut self, t: &DeTable<'_>) -> Option<Vec<HostPattern>> {
        find(t, "hosts").and_then(|(_, v)| {
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
        })
    }

    /// `public = true`, or the requirement of the route's own keys over
    /// `defaults`.
    fn route_action(
        &mut self,
        t: &DeTable<'_>,
        name: Option<&str>,
        defaults: &Requirement,
    ) -> Action {
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
        if public {
            if let Some((k, _)) = t.iter().find(|(k, _)| {
                let k = k.get_ref().as_ref();
                REQUIREMENT_KEYS.contains(&k) || k == "browser"
            }) {
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
            let place = format!("on route {:?}", name.unwrap_or(""));
            Action::Verify(self.requirement(t, defaults, &place))
        }
    }
}
