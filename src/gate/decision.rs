//! The policy's decision for one request: the route every reading of the
//! path agrees on, or why there is none.

use super::host;
use super::method::{query_overrides_method, valid_method};
use super::original::Original;
use super::path;
use super::policy::{Policy, Route, Unmatched};
use super::refusal::{ProxyMistake, Refusal};
use crate::verify::requirement::Requirement;

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
        let (method, host) = match self.method_and_host(req) {
            Ok(found) => found,
            Err(decision) => return decision,
        };
        let chosen = match self.choose(uri, method, host.as_deref()) {
            Ok(chosen) => chosen,
            Err(refusal) => return Decision::Refused(refusal),
        };
        match chosen {
            Some(i) => Decision::Route(&self.routes[i]),
            None => match self.unmatched {
                Unmatched::Deny => Decision::NoRoute,
                Unmatched::Verify => Decision::Defaults(&self.defaults),
            },
        }
    }

    /// The request's method (`""` when none is sent and no route needs
    /// one) and, where some route is restricted to hosts, its normalised
    /// host; or the decision when the proxy sent too little or too much.
    fn method_and_host<'r>(
        &self,
        req: &'r Original,
    ) -> Result<(&'r str, Option<String>), Decision<'static>> {
        if self.uses_methods {
            if req.method.is_none() {
                return Err(Decision::Misconfigured(ProxyMistake::Method));
            }
            if req.method_override {
                return Err(Decision::Refused(Refusal::MethodOverride));
            }
        }
        let method = match req.method.as_deref() {
            Some(m) if !valid_method(m) => {
                return Err(Decision::Refused(Refusal::BadHeader("method")));
            }
            m => m.unwrap_or(""),
        };
        // Only where a route is restricted to hosts does the host matter.
        let host = if self.uses_hosts {
            match req.host.as_deref().map(host::normalize) {
                None => return Err(Decision::Misconfigured(ProxyMistake::Host)),
                Some(None) => return Err(Decision::Refused(Refusal::BadHeader("host"))),
                Some(h) => h,
            }
        } else {
            None
        };
        Ok((method, host))
    }

    /// The index of the route every reading of `uri`'s path chooses
    /// (`None`: no route), or why the path cannot be read safely.
    fn choose(
        &self,
        uri: &str,
        method: &str,
        host: Option<&str>,
    ) -> Result<Option<usize>, Refusal> {
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
        let path = path::path_part(uri, self.limits).map_err(Refusal::Path)?;
        // A `_method` in the query chooses the handler as the headers do.
        if self.uses_methods && query_overrides_method(uri) {
            return Err(Refusal::MethodOverride);
        }
        match path::plain_path(path, self.limits).map_err(Refusal::Path)? {
            Some(segments) => {
                if !agree(&segments) {
                    return Err(Refusal::Ambiguous);
                }
            }
            None => {
                let readings = path::unplain_readings(path, self.limits).map_err(Refusal::Path)?;
                for reading in &readings {
                    let segments: Vec<&str> = reading.iter().map(String::as_str).collect();
                    if !agree(&segments) {
                        return Err(Refusal::Ambiguous);
                    }
                }
            }
        }
        Ok(chosen.flatten())
    }
}
