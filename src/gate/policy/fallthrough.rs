//! The one-segment trap: `path = "/admin/*"` matches `/admin/users` only,
//! so `/admin` and `/admin/users/42/delete` go on to the routes after it.
//! When one of those demands less (a public `/**`), the file almost
//! certainly meant `/admin/**`; [`check`] finds each such route.
//!
//! "Demands less" ([`weaker`]) is judged on what a request must show: a
//! public route demands nothing; otherwise a missing or longer `max_age`,
//! an `acr` the stronger route would refuse, a missing `amr` method or
//! scope, or a laxer `when_cannot_reauthenticate` is less. A weaker route
//! written for those paths on purpose (its path starts with the same
//! segments and does not match the `*` route's own paths: `path = "/admin"`,
//! `path = "/admin/*/*/**"`) is not a mistake.

use std::collections::HashMap;

use super::model::{Action, Route, Unmatched};
use crate::config::ReauthPolicy;
use crate::gate::host::HostPattern;
use crate::verify::requirement::Requirement;

/// A segment no pattern has (patterns are visible ASCII): it stands for
/// "any name" in the example paths, matched only by `*` and `**`.
const ANY: &str = "\u{1}";

/// Where a near-miss request ends up.
enum Catcher<'r> {
    Route(&'r Route),
    /// `unmatched = "verify"`: the `[defaults]`.
    Defaults,
}

/// Every route whose bare prefix or deeper paths fall to a weaker route,
/// as (index of the route, message naming both and the fix).
pub(super) fn check(
    routes: &[Route],
    unmatched: Unmatched,
    defaults: &Requirement,
    max_segments: usize,
) -> Vec<(usize, String)> {
    let (by_first, any_first) = by_first_segment(routes);
    let scan = Scan {
        routes,
        unmatched,
        defaults,
        max_segments,
        changes: change_depths(routes, max_segments),
        by_first,
        any_first,
    };
    routes
        .iter()
        .enumerate()
        .filter_map(|(i, r)| scan.judge(i, r).map(|message| (i, message)))
        .collect()
}

/// The depths at which the set of routes that can match a path changes
/// (a pattern starts or stops matching), within what a request may have.
fn change_depths(routes: &[Route], max_segments: usize) -> Vec<usize> {
    let mut changes: Vec<usize> = Vec::new();
    for s in routes {
        changes.push(s.path.len());
        if !s.path.is_rest() {
            changes.push(s.path.len() + 1);
        }
    }
    changes.retain(|&d| d <= max_segments);
    changes.sort_unstable();
    changes.dedup();
    changes
}

/// Routes by first segment, so a route is judged against those that can
/// match below its prefix, not every route of a large file: the routes
/// whose path starts with each literal, and those starting with `*`.
fn by_first_segment(routes: &[Route]) -> (HashMap<&str, Vec<usize>>, Vec<usize>) {
    let mut by_first: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut any_first: Vec<usize> = Vec::new();
    for (j, s) in routes.iter().enumerate() {
        match s.path.first_literal() {
            Some(l) => by_first.entry(l).or_default().push(j),
            None => any_first.push(j),
        }
    }
    (by_first, any_first)
}

/// What [`check`] judges each route against.
struct Scan<'r> {
    routes: &'r [Route],
    unmatched: Unmatched,
    defaults: &'r Requirement,
    max_segments: usize,
    changes: Vec<usize>,
    by_first: HashMap<&'r str, Vec<usize>>,
    any_first: Vec<usize>,
}

impl Scan<'_> {
    /// The message for route `i` when its bare prefix or deeper paths fall
    /// to a weaker route.
    fn judge(&self, i: usize, r: &Route) -> Option<String> {
        if !r.path.ends_in_one_segment() || matches!(r.action, Action::Public) {
            return None;
        }
        let n = r.path.len() - 1;
        let own = r.path.example(n + 1, ANY);
        // The bare prefix, then one example path per depth at which the
        // set of routes that can match changes.
        let bare = r.path.example(n, ANY);
        let candidates: Vec<usize> = match r.path.first_literal() {
            Some(l) if n > 0 => {
                let mut c = self.by_first.get(l).cloned().unwrap_or_default();
                c.extend(&self.any_first);
                c.sort_unstable();
                c
            }
            _ => (0..self.routes.len()).collect(),
        };
        let falls_at = |path: &[String]| {
            catch(
                self.routes,
                &candidates,
                i,
                path,
                &own,
                self.unmatched,
                self.defaults,
            )
        };
        let depths = std::iter::once(n + 2)
            .filter(|&d| d <= self.max_segments)
            .chain(self.changes.iter().copied().filter(|&d| d > n + 2));
        let bare_falls = falls_at(&bare);
        let mut deeper_falls = None;
        for d in depths {
            let mut deeper = bare.clone();
            deeper.resize(d, ANY.to_owned());
            deeper_falls = falls_at(&deeper);
            if deeper_falls.is_some() {
                break;
            }
        }
        message(r, n, bare_falls, deeper_falls)
    }
}

/// The message naming route `r` (whose `*` is segment `n`), where its bare
/// prefix and its deeper paths fall, and the fix; `None` when neither falls.
fn message(
    r: &Route,
    n: usize,
    bare_falls: Option<(Catcher<'_>, String)>,
    deeper_falls: Option<(Catcher<'_>, String)>,
) -> Option<String> {
    let prefix = r.path.prefix(n);
    let below = if n == 0 {
        String::new()
    } else {
        prefix.clone()
    };
    let fix = format!("{below}/**");
    let mut falls = Vec::new();
    let mut own_routes = Vec::new();
    for (found, what, own_route) in [
        (bare_falls, format!("{prefix} itself falls"), prefix.clone()),
        (
            deeper_falls,
            format!("deeper paths such as {below}/x/y fall"),
            format!("{below}/*/*/**"),
        ),
    ] {
        let Some((catcher, why)) = found else {
            continue;
        };
        let to = match catcher {
            Catcher::Route(s) => format!("route {:?} (path \"{}\")", s.name, s.path),
            Catcher::Defaults => "[defaults] (unmatched = \"verify\")".to_owned(),
        };
        falls.push(format!("{what} to {to}, which demands less ({why})"));
        own_routes.push(format!("path = \"{own_route}\""));
    }
    if falls.is_empty() {
        return None;
    }
    Some(format!(
        "route {:?} (path \"{}\") matches exactly one segment below {prefix}, but {}: \
         did you mean path = \"{fix}\"? To let that through on purpose, give it a route \
         of its own before the weaker one ({})",
        r.name,
        r.path,
        falls.join("; and "),
        own_routes.join(", ")
    ))
}

/// The first weaker route a request for `path` reaches, with any method
/// and host of route `i`, when that is not a route written for it.
fn catch<'r>(
    routes: &'r [Route],
    candidates: &[usize],
    i: usize,
    path: &[String],
    own: &[String],
    unmatched: Unmatched,
    defaults: &Requirement,
) -> Option<(Catcher<'r>, String)> {
    let r = &routes[i];
    let Action::Verify(strong) = &r.action else {
        return None;
    };
    let hosts: Vec<Option<&HostPattern>> = match &r.hosts {
        None => vec![None],
        Some(hs) => hs.iter().map(Some).collect(),
    };
    for host in hosts {
        let mut methods = Methods::of(r);
        for &j in candidates {
            let s = &routes[j];
            if j == i || !s.path.matches(path) || !host_overlaps(s, host) || !methods.overlap(s) {
                continue;
            }
            let deliberate = !s.path.matches(own) && s.path.same_start(&r.path, r.path.len() - 1);
            if !deliberate && let Some(why) = weaker(strong, &s.action) {
                return Some((Catcher::Route(s), why));
            }
            if host_consumes(s, host) {
                methods.remove(s);
                if methods.is_empty() {
                    break;
                }
            }
        }
        if !methods.is_empty()
            && unmatched == Unmatched::Verify
            && let Some(why) = weaker(strong, &Action::Verify(defaults.clone()))
        {
            return Some((Catcher::Defaults, why));
        }
    }
    None
}

/// What `other` demands less than `strong`, or `None` when it demands as
/// much.
fn weaker(strong: &Requirement, other: &Action) -> Option<String> {
    let Action::Verify(o) = other else {
        return Some("public: no token at all".to_owned());
    };
    let mut less = Vec::new();
    match (strong.max_age, o.max_age) {
        (Some(_), None) => less.push("no max_age".to_owned()),
        (Some(a), Some(b)) if b > a => less.push(format!(
            "max_age {}s instead of {}s",
            b.as_secs(),
            a.as_secs()
        )),
        _ => {}
    }
    if !strong.acr_values.is_empty() {
        if o.acr_values.is_empty() {
            less.push("any acr".to_owned());
        } else if let Some(a) = o.acr_values.iter().find(|a| !strong.acr_values.contains(a)) {
            less.push(format!("acr {a:?} accepted"));
        }
    }
    if let Some(m) = strong.amr.iter().find(|m| !o.amr.contains(m)) {
        less.push(format!("no amr {m:?}"));
    }
    if let Some(s) = strong.scopes.iter().find(|s| !o.scopes.contains(s)) {
        less.push(format!("no scope {s:?}"));
    }
    if strong.dpop == crate::verify::requirement::DpopPolicy::Required && o.dpop != strong.dpop {
        less.push("bearer tokens (dpop = \"allowed\")".to_owned());
    }
    // Unset is the gate-wide setting: between "deny" and "allow".
    let rank = |p: Option<ReauthPolicy>| match p {
        Some(ReauthPolicy::Deny) => 2,
        None => 1,
        Some(ReauthPolicy::Allow) => 0,
    };
    if strong.max_age.is_some() && rank(o.policy) < rank(strong.policy) {
        less.push("a laxer when_cannot_reauthenticate".to_owned());
    }
    (!less.is_empty()).then(|| less.join(", "))
}

/// Whether some host of `host` (any host for `None`) can reach `s`.
fn host_overlaps(s: &Route, host: Option<&HostPattern>) -> bool {
    match (&s.hosts, host) {
        (None, _) | (_, None) => true,
        (Some(ps), Some(h)) => ps.iter().any(|p| p.covers(h) || h.covers(p)),
    }
}

/// Whether every host of `host` that reaches `s` stops there.
fn host_consumes(s: &Route, host: Option<&HostPattern>) -> bool {
    match (&s.hosts, host) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(ps), Some(h)) => ps.iter().any(|p| p.covers(h)),
    }
}

/// The methods of the strong route's requests not yet taken by a route.
enum Methods {
    Only(Vec<String>),
    AllBut(Vec<String>),
}

impl Methods {
    fn of(r: &Route) -> Self {
        match &r.methods {
            Some(ms) => Self::Only(ms.clone()),
            None => Self::AllBut(Vec::new()),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Self::Only(ms) if ms.is_empty())
    }

    fn overlap(&self, s: &Route) -> bool {
        match (self, &s.methods) {
            (_, None) => !self.is_empty(),
            (Self::Only(ms), Some(_)) => ms.iter().any(|m| s.matches_method(m)),
            (Self::AllBut(taken), Some(theirs)) => {
                effective(theirs).any(|m| !taken.iter().any(|t| t == m))
            }
        }
    }

    fn remove(&mut self, s: &Route) {
        match (self, &s.methods) {
            (this, None) => *this = Self::Only(Vec::new()),
            (Self::Only(ms), Some(_)) => ms.retain(|m| !s.matches_method(m)),
            (Self::AllBut(taken), Some(theirs)) => {
                for m in effective(theirs) {
                    if !taken.iter().any(|t| t == m) {
                        taken.push(m.to_owned());
                    }
                }
            }
        }
    }
}

/// A route's methods as matched: `GET` takes `HEAD` too.
fn effective(ms: &[String]) -> impl Iterator<Item = &str> {
    let head = ms.iter().any(|m| m == "GET").then_some("HEAD");
    ms.iter().map(String::as_str).chain(head)
}
