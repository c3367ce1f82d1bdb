//! One request through the front door: the `/reauth/` endpoints, else the
//! library's decision, then the upstream (or the refusal), and the access
//! log line.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Uri, Version};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use reauth::Answer;
use reauth::gate::forward::{ForwardRequest, Outcome, refusal};
use reauth::gate::front::{self, Peer};
use reauth::gate::{METHOD_OVERRIDE_HEADERS, Original};

use super::config::Front;

pub(super) type Body = BoxBody<Bytes, hyper::Error>;

/// The core's answer as a response: the library's conversion
/// ([`reauth::tower::answer_response`]), its body boxed as the proxy's.
fn answer(answer: Answer) -> Response<Body> {
    reauth::tower::answer_response(answer).map(|b| b.map_err(|never| match never {}).boxed())
}

/// What the access log says of a request (never the token, the cookie or
/// the query).
struct Logged<'a> {
    route: &'a str,
    code: &'static str,
    upstream: Option<u16>,
}

pub(super) async fn handle(
    front: Arc<Front>,
    peer: SocketAddr,
    proto: &'static str,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let policy = front.gate.policy.as_ref().map(|p| p.load_full());
    let (res, logged) = route(&front, peer, proto, req, policy.as_deref()).await;
    let elapsed = started.elapsed();
    if let Some(m) = &front.gate.metrics {
        m.decision(logged.route, logged.code, elapsed);
    }
    tracing::info!(
        target: "reauth::access",
        peer = %peer.ip(),
        method = %method,
        path = %path,
        route = logged.route,
        code = logged.code,
        status = res.status().as_u16(),
        upstream_status = logged.upstream,
        latency_us = elapsed.as_micros() as u64,
        "reauth: request"
    );
    Ok(res)
}

async fn route<'p>(
    front: &'p Front,
    peer: SocketAddr,
    proto: &'static str,
    req: Request<Incoming>,
    policy: Option<&'p reauth::gate::Policy>,
) -> (Response<Body>, Logged<'p>) {
    let headers: Vec<(&str, &[u8])> = req
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let forward = ForwardRequest {
        method: req.method().as_str(),
        path: req.uri().path(),
        query: req.uri().query().unwrap_or_default(),
        headers: &headers,
    };
    // The browser step-up's own endpoints.
    if let Some(browser) = &front.gate.keeper.browser {
        if forward.path.starts_with(reauth::gate::browser::PREFIX) {
            let a = browser
                .endpoint(&forward, policy, &front.gate.keeper.requirement)
                .await;
            let code = if a.status < 400 { "ok" } else { "refused" };
            return (
                answer(a),
                Logged {
                    route: "_reauth",
                    code,
                    upstream: None,
                },
            );
        }
    }
    // RFC 9728: the gate's own metadata, when it has some.
    if forward.path == reauth::METADATA_PATH && front.gate.keeper.metadata.is_some() {
        return (
            answer(front.gate.keeper.metadata_answer()),
            Logged {
                route: "_metadata",
                code: "ok",
                upstream: None,
            },
        );
    }
    // The route is chosen from the very request line that is forwarded:
    // its method, its path and query, its Host (or HTTP/2 :authority).
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str())
        .or_else(|| forward.text("host"));
    let method_override = METHOD_OVERRIDE_HEADERS
        .iter()
        .any(|h| req.headers().contains_key(*h));
    let original = Original::envoy(forward.method, host, &path_and_query, method_override);
    let Outcome {
        route,
        code,
        answer: decided,
    } = front.gate.keeper.admit(&forward, &original, policy).await;
    if decided.status != 200 {
        let logged = Logged {
            route,
            code,
            upstream: None,
        };
        return (answer(decided), logged);
    }
    let identity: Vec<(&'static str, String)> = decided
        .headers
        .into_iter()
        .filter(|(n, _)| n.starts_with("x-reauth-"))
        .collect();
    drop(headers);
    // The route's own upstream (the policy file checked it), else --upstream.
    let target = policy
        .and_then(|p| p.upstream_of(route))
        .and_then(|u| u.parse::<Uri>().ok())
        .unwrap_or_else(|| front.upstream.clone());
    let sent = Instant::now();
    let (res, upstream, failure) =
        forward_to(front, &target, peer, proto, req, &path_and_query, &identity).await;
    if let Some(m) = &front.gate.metrics {
        m.upstream(upstream, failure, sent.elapsed());
    }
    let logged = Logged {
        route,
        code: failure.unwrap_or(code),
        upstream,
    };
    (res, logged)
}

/// Sends the allowed request to the upstream and its answer back; an
/// upgrade (WebSocket) becomes a tunnel once the upstream switches.
async fn forward_to(
    front: &Front,
    target: &Uri,
    peer: SocketAddr,
    proto: &'static str,
    mut req: Request<Incoming>,
    path_and_query: &str,
    identity: &[(&'static str, String)],
) -> (Response<Body>, Option<u16>, Option<&'static str>) {
    let upgrade = front::is_upgrade(req.headers());
    let client_side = upgrade.then(|| hyper::upgrade::on(&mut req));
    // HTTP/2 carries the host as :authority: the app gets it as Host.
    if !req.headers().contains_key(http::header::HOST) {
        if let Some(v) = req
            .uri()
            .authority()
            .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
        {
            req.headers_mut().insert(http::header::HOST, v);
        }
    }
    let peer = Peer {
        addr: peer.ip(),
        proto,
        trusted: &front.trusted,
    };
    front::upstream_request_headers(req.headers_mut(), identity, &peer);
    let mut parts = target.clone().into_parts();
    parts.path_and_query = path_and_query.parse().ok();
    match Uri::from_parts(parts) {
        Ok(uri) => *req.uri_mut() = uri,
        Err(_) => {
            let a = refusal(
                400,
                "invalid_request",
                "the request target cannot be forwarded",
            );
            return (answer(a), None, Some("refused"));
        }
    }
    *req.version_mut() = Version::HTTP_11;
    // A slot (--upstream-max-connections), then the response headers, both
    // within one --upstream-timeout; the log says which one ran out.
    let deadline = tokio::time::Instant::now() + front.upstream_timeout;
    let timed_out = |why: &str| {
        tracing::error!(upstream = %target, timeout = ?front.upstream_timeout, "reauth: {why}");
        let a = refusal(
            504,
            "gateway_timeout",
            "the upstream did not answer in time",
        );
        (answer(a), None, Some("gateway_timeout"))
    };
    let slot = match &front.upstream_slots {
        None => None,
        Some(slots) => match tokio::time::timeout_at(deadline, slots.clone().acquire_owned()).await
        {
            // (A closed semaphore cannot happen: `None`, as without a bound.)
            Ok(slot) => slot.ok(),
            Err(_) => {
                return timed_out(
                    "no upstream connection came free in time: raise \
                     --upstream-max-connections, or --upstream-timeout",
                );
            }
        },
    };
    let mut res = match tokio::time::timeout_at(deadline, front.client.request(req)).await {
        Ok(Ok(res)) => res,
        Ok(Err(e)) => {
            tracing::error!(error = %e, upstream = %target, "reauth: the upstream failed");
            let a = refusal(502, "bad_gateway", "the upstream could not be reached");
            return (answer(a), None, Some("bad_gateway"));
        }
        Err(_) => {
            return timed_out("the upstream did not answer in time (--upstream-timeout)");
        }
    };
    let status = res.status().as_u16();
    let switching = res.status() == StatusCode::SWITCHING_PROTOCOLS;
    if let (true, Some(client_side)) = (switching, client_side) {
        let upstream_side = hyper::upgrade::on(&mut res);
        front.tunnels.spawn(async move {
            match tokio::try_join!(client_side, upstream_side) {
                Ok((client, upstream)) => {
                    let mut client = TokioIo::new(client);
                    let mut upstream = TokioIo::new(upstream);
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
                Err(e) => tracing::warn!(error = %e, "reauth: an upgrade did not complete"),
            }
        });
    }
    front::downstream_response_headers(res.headers_mut(), switching);
    // The slot is the body's until it ends or is dropped: the connection
    // goes back to the pool then. (A tunnel left the pool: its slot is
    // free now; --max-connections bounds tunnels.)
    let res = res.map(move |body| {
        body.map_frame(move |frame| {
            let _held = &slot;
            frame
        })
        .boxed()
    });
    (res, Some(status), None)
}
