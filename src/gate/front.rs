//! The gate in front of the app (`reauth serve --upstream`): what the
//! request the app receives carries, decided without a network. The
//! identity headers come from the decision and nowhere else; a client's
//! `X-Reauth-*` never passes; `Forwarded` and `X-Forwarded-*` are the
//! gate's own unless the peer is a trusted proxy; hop-by-hop headers stay
//! on their hop (RFC 9110 §7.6.1).

use std::net::IpAddr;

use http::header::{CONNECTION, HeaderMap, HeaderName, HeaderValue, UPGRADE};

/// The most CIDRs `--trusted-proxies` takes (each request checks them all).
pub const MAX_TRUSTED_PROXIES: usize = 256;

/// Peers whose `Forwarded` / `X-Forwarded-*` headers are believed: a load
/// balancer in front of the gate. Empty by default: a client's own
/// forwarded headers are replaced, never trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<ipnet::IpNet>);

/// Why a `--trusted-proxies` list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustedProxiesError {
    /// Not an address or a CIDR block.
    #[error("{0:?} is not an IP address or a CIDR block (10.0.0.0/8, fd00::/8)")]
    Invalid(String),
    /// More than [`MAX_TRUSTED_PROXIES`].
    #[error("more than {MAX_TRUSTED_PROXIES} trusted proxies")]
    TooMany,
}

impl TrustedProxies {
    /// Parses `CIDR,CIDR,...` (a bare address is a /32 or /128).
    pub fn parse(list: &str) -> Result<Self, TrustedProxiesError> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if nets.len() == MAX_TRUSTED_PROXIES {
                return Err(TrustedProxiesError::TooMany);
            }
            let net = item
                .parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| TrustedProxiesError::Invalid(item.chars().take(64).collect()))?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    /// Whether `peer` is one of them (an IPv4-mapped IPv6 peer counts as
    /// its IPv4 address).
    pub fn contains(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(peer, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|n| n.contains(&peer))
    }

    /// No proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The hop-by-hop headers of RFC 9110 §7.6.1 (and their older kin), and
/// `Transfer-Encoding` (HTTP/1.1 framing, redone on each hop). Names, not
/// strings: a lookup by name parses nothing (this runs on every request).
const HOP_BY_HOP: [HeaderName; 8] = [
    CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    http::header::PROXY_AUTHENTICATE,
    http::header::PROXY_AUTHORIZATION,
    http::header::TE,
    http::header::TRAILER,
    http::header::TRANSFER_ENCODING,
];

/// Whether a request asks to switch protocols (RFC 9110 §7.8): `Upgrade`
/// named in `Connection`.
pub fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(UPGRADE)
        && headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
}

/// The headers `Connection` names: hop-by-hop, whatever they are called
/// (RFC 9110 §7.6.1), but never `Host`, which names the site; an upgrade
/// keeps `Upgrade`.
fn named_by_connection(headers: &HeaderMap, upgrade: bool) -> Vec<HeaderName> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .filter(|n| *n != http::header::HOST && !(upgrade && *n == UPGRADE))
        .collect()
}

/// Whether `name` stays on its hop: a fixed hop-by-hop header, one
/// `Connection` names, or `Upgrade` outside an upgrade.
fn hop_by_hop(name: &HeaderName, named: &[HeaderName], upgrade: bool) -> bool {
    HOP_BY_HOP.contains(name) || named.contains(name) || (!upgrade && *name == UPGRADE)
}

/// Removes the hop-by-hop headers: the fixed ones and every header the
/// `Connection` header names. An upgrade keeps `Upgrade` and gets
/// `Connection: upgrade` back (the next hop must see the request).
pub fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: bool) {
    let named = named_by_connection(headers, upgrade);
    for name in named.iter().chain(&HOP_BY_HOP) {
        headers.remove(name);
    }
    if upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(UPGRADE);
    }
}

/// What the gate knows of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct Peer<'a> {
    /// The address the connection came from.
    pub addr: IpAddr,
    /// `https` when the gate terminated TLS, else `http`.
    pub proto: &'a str,
    /// Proxies whose forwarded headers are believed.
    pub trusted: &'a TrustedProxies,
}

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// The request headers the upstream receives: hop-by-hop headers removed
/// (an upgrade kept), every client `X-Reauth-*` removed and the decision's
/// `identity` set, and `X-Forwarded-For`/`-Proto`/`-Host`: appended to a
/// trusted proxy's, else the gate's own (a client's `Forwarded` and
/// `X-Forwarded-*` are dropped).
///
/// One pass over the headers, moving each one that stays (this runs on
/// every request the front door forwards).
pub fn upstream_request_headers(
    headers: &mut HeaderMap,
    identity: &[(&'static str, String)],
    peer: &Peer<'_>,
) {
    let upgrade = is_upgrade(headers);
    let named = named_by_connection(headers, upgrade);
    let trusted = peer.trusted.contains(peer.addr);
    let sent = std::mem::take(headers);
    // Names, not values: `reserve` panics past 24,576 (a long HTTP/2 head).
    headers.reserve(sent.keys_len() + identity.len() + 4);
    let mut earlier_for = String::new();
    let (mut kept_proto, mut kept_host, mut host) = (None, None, None);
    // `into_iter` names a header once, then `None` for its further values.
    let mut current: Option<HeaderName> = None;
    for (name, value) in sent {
        if name.is_some() {
            current = name;
        }
        let Some(name) = &current else { continue };
        if hop_by_hop(name, &named, upgrade) || name.as_str().starts_with("x-reauth-") {
            continue;
        }
        if *name == X_FORWARDED_FOR {
            if let (true, Ok(v)) = (trusted, value.to_str()) {
                if !earlier_for.is_empty() {
                    earlier_for.push_str(", ");
                }
                earlier_for.push_str(v);
            }
            continue;
        }
        if *name == X_FORWARDED_PROTO {
            if trusted && kept_proto.is_none() {
                kept_proto = Some(value);
            }
            continue;
        }
        if *name == X_FORWARDED_HOST {
            if trusted && kept_host.is_none() {
                kept_host = Some(value);
            }
            continue;
        }
        if *name == http::header::FORWARDED && !trusted {
            continue;
        }
        // A Host that is not visible ASCII is not repeated as X-Forwarded-Host.
        if *name == http::header::HOST && host.is_none() && value.to_str().is_ok() {
            host = Some(value.clone());
        }
        headers.append(name.clone(), value);
    }
    let for_value = match earlier_for.as_str() {
        "" => peer.addr.to_string(),
        earlier => format!("{earlier}, {}", peer.addr),
    };
    if let Ok(v) = HeaderValue::from_str(&for_value) {
        headers.insert(X_FORWARDED_FOR, v);
    }
    let proto = kept_proto.unwrap_or_else(|| {
        HeaderValue::from_str(peer.proto).unwrap_or(HeaderValue::from_static("http"))
    });
    headers.insert(X_FORWARDED_PROTO, proto);
    // The gate's own X-Forwarded-Host is the Host it was sent.
    if let Some(v) = kept_host.or(host) {
        headers.insert(X_FORWARDED_HOST, v);
    }
    if upgrade {
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    }
    for (name, value) in identity {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(*name, v);
        }
    }
}

/// The response headers the client receives: hop-by-hop headers removed
/// (a `101 Switching Protocols` keeps its `Upgrade`).
pub fn downstream_response_headers(headers: &mut HeaderMap, switching: bool) {
    strip_hop_by_hop(headers, switching);
}
