//! The original request, as the proxy describes it in headers (nginx,
//! HAProxy, Traefik, Caddy) or as Envoy's ext_authz passes it.

use super::method::{METHOD_OVERRIDE_HEADERS, valid_method};
use super::refusal::Refusal;

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
