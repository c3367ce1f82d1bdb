//! The test issuer's HTTP side: a real hyper server on `127.0.0.1:0`.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// How an endpoint of the test issuer answers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Behavior {
    /// The real document. The default.
    #[default]
    Normal,
    /// An empty response with this status (e.g. 500).
    Status(u16),
    /// Never answers (the connection stays open).
    Hang,
    /// Answers normally after this delay (slow headers).
    Delay(Duration),
    /// Streams a body of this many bytes (no `Content-Length`).
    Huge(usize),
    /// Declares `Content-Length` of this many bytes, and streams them.
    HugeDeclared(usize),
    /// Streams a body that never ends.
    Endless,
    /// Redirects to itself, forever.
    RedirectLoop,
    /// Redirects to this absolute URL.
    RedirectTo(String),
    /// This exact body, with status 200.
    Body(String),
}

#[derive(Default)]
pub(crate) struct Shared {
    pub discovery: Mutex<(Value, Behavior)>,
    pub jwks: Mutex<(Value, Behavior, Option<String>)>,
    pub discovery_hits: AtomicUsize,
    pub jwks_hits: AtomicUsize,
    pub other_paths: Mutex<Vec<String>>,
    /// Issuers served under `/realms/<name>` of this server.
    pub tenants: Mutex<std::collections::HashMap<String, Arc<Shared>>>,
    /// The authorization and token endpoints' state.
    pub logins: Mutex<super::login::Logins>,
    /// Signs the token endpoint's ID tokens (set by the `TestIssuer`).
    pub authority: std::sync::OnceLock<Authority>,
    /// Set on a development issuer (and its tenants): the marks and the
    /// `/dev/` endpoints.
    pub dev: std::sync::OnceLock<super::dev::DevMode>,
}

/// What the token endpoint signs with.
pub(crate) struct Authority {
    pub issuer: String,
    pub clock: crate::clock::SharedClock,
    pub keys: Arc<Mutex<Vec<crate::testing::keys::TestKey>>>,
}

impl Authority {
    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    fn sign(&self, claims: serde_json::Map<String, Value>) -> String {
        self.sign_with(&serde_json::Map::new(), claims)
    }

    fn sign_with(
        &self,
        header: &serde_json::Map<String, Value>,
        claims: serde_json::Map<String, Value>,
    ) -> String {
        let key = self.keys.lock().expect("lock")[0].clone();
        crate::testing::jws::sign_jws(
            &key,
            key.default_alg(),
            header,
            &Value::Object(claims).to_string(),
        )
    }
}

fn answer(a: super::login::Answer) -> Response<ResBody> {
    match a {
        super::login::Answer::Html(page) => {
            let mut r = full(200, page);
            r.headers_mut().insert(
                "content-type",
                "text/html; charset=utf-8".parse().expect("static header"),
            );
            r
        }
        super::login::Answer::Redirect(to) => {
            let mut r = redirect(&to);
            r.headers_mut()
                .insert("cache-control", "no-store".parse().expect("static header"));
            r
        }
        super::login::Answer::Json(status, v) => {
            let mut r = full(status, serde_json::to_vec(&v).unwrap_or_default());
            r.headers_mut().insert(
                "content-type",
                "application/json".parse().expect("static header"),
            );
            r.headers_mut()
                .insert("cache-control", "no-store".parse().expect("static header"));
            r
        }
    }
}

type ResBody = Either<Full<Bytes>, Stream>;

/// A body of `remaining` bytes (or endless), in 16 KiB chunks.
pub(crate) struct Stream {
    remaining: Option<usize>,
}

impl Body for Stream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        const CHUNK: usize = 16 * 1024;
        let n = match self.remaining {
            Some(0) => return Poll::Ready(None),
            Some(r) => r.min(CHUNK),
            None => CHUNK,
        };
        if let Some(r) = self.remaining.as_mut() {
            *r -= n;
        }
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![b' '; n])))))
    }
}

fn full(status: u16, body: impl Into<Bytes>) -> Response<ResBody> {
    let mut r = Response::new(Either::Left(Full::new(body.into())));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r
}

async fn respond(
    doc: Value,
    behavior: Behavior,
    cache_control: Option<String>,
    path: &str,
) -> Response<ResBody> {
    let json_ok = |doc: &Value| {
        let mut r = full(200, serde_json::to_vec(doc).unwrap_or_default());
        r.headers_mut().insert(
            "content-type",
            "application/json".parse().expect("static header"),
        );
        if let Some(cc) = &cache_control {
            if let Ok(v) = cc.parse() {
                r.headers_mut().insert("cache-control", v);
            }
        }
        r
    };
    match behavior {
        Behavior::Normal => json_ok(&doc),
        Behavior::Status(s) => full(s, Bytes::new()),
        Behavior::Hang => std::future::pending().await,
        Behavior::Delay(d) => {
            tokio::time::sleep(d).await;
            json_ok(&doc)
        }
        Behavior::Huge(n) => Response::new(Either::Right(Stream { remaining: Some(n) })),
        Behavior::HugeDeclared(n) => {
            let mut r = Response::new(Either::Right(Stream { remaining: Some(n) }));
            r.headers_mut().insert("content-length", n.into());
            r
        }
        Behavior::Endless => Response::new(Either::Right(Stream { remaining: None })),
        Behavior::RedirectLoop => redirect(path),
        Behavior::RedirectTo(url) => redirect(&url),
        Behavior::Body(b) => full(200, b),
    }
}

fn redirect(to: &str) -> Response<ResBody> {
    let mut r = full(302, Bytes::new());
    if let Ok(v) = to.parse() {
        r.headers_mut().insert("location", v);
    }
    r
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<ResBody>, Infallible> {
    let dev = shared.dev.get().is_some();
    let mut response = route(shared, req).await;
    if dev {
        // Every answer of a development issuer says it is for testing.
        response.headers_mut().insert(
            super::dev::DEV_MARKER_HEADER,
            hyper::header::HeaderValue::from_static(super::dev::FOR_TESTING_ONLY),
        );
    }
    Ok(response)
}

async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Response<ResBody> {
    let requested = req.uri().path().to_owned();
    // `/realms/<name>/...` is the tenant issuer `<name>`, when there is one.
    let tenant = requested
        .strip_prefix("/realms/")
        .and_then(|r| r.split_once('/'))
        .and_then(|(name, rest)| {
            let t = shared.tenants.lock().expect("lock").get(name).cloned()?;
            Some((t, format!("/{rest}")))
        });
    let (shared, path) = tenant.unwrap_or((shared, requested));
    if let (Some(authority), "/authorize" | "/token") = (shared.authority.get(), path.as_str()) {
        // The dev issuer logs a user in at once: a page that rebinds its
        // own name to 127.0.0.1 must not get a token from it (DNS
        // rebinding), as for the /dev/ endpoints.
        let host = req.headers().get("host").and_then(|v| v.to_str().ok());
        if shared.dev.get().is_some() && !super::dev::host_allowed(host, &authority.issuer) {
            return full(
                403,
                Bytes::from_static(
                    b"the Host header must be an IP address, localhost or the issuer's host\n",
                ),
            );
        }
        let query = req.uri().query().unwrap_or_default().to_owned();
        let authorization = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if path == "/authorize" {
            let mut logins = shared.logins.lock().expect("lock");
            return answer(super::login::authorize(
                &mut logins,
                &authority.issuer,
                authority.now(),
                &query,
            ));
        }
        use http_body_util::BodyExt;
        let body = match http_body_util::Limited::new(req.into_body(), 64 * 1024)
            .collect()
            .await
        {
            Ok(b) => String::from_utf8_lossy(&b.to_bytes()).into_owned(),
            Err(_) => return full(413, Bytes::new()),
        };
        let dev = shared.dev.get().is_some();
        let mut logins = shared.logins.lock().expect("lock");
        return answer(super::login::token(
            &mut logins,
            &authority.issuer,
            authority.now(),
            authorization.as_deref(),
            &body,
            |mut claims| {
                if dev {
                    claims.insert(
                        super::dev::DEV_MARKER_CLAIM.into(),
                        super::dev::FOR_TESTING_ONLY.into(),
                    );
                }
                authority.sign(claims)
            },
        ));
    }
    if let (Some(mode), Some(authority), true) = (
        shared.dev.get(),
        shared.authority.get(),
        super::dev_server::is_dev_path(&path),
    ) {
        return dev_answer(&shared, mode, authority, &path, req).await;
    }
    let mark = |mut doc: Value| {
        if let (Some(_), Some(o)) = (shared.dev.get(), doc.as_object_mut()) {
            o.insert(
                super::dev::DEV_MARKER_CLAIM.into(),
                super::dev::FOR_TESTING_ONLY.into(),
            );
        }
        doc
    };
    match path.as_str() {
        "/.well-known/openid-configuration" => {
            shared.discovery_hits.fetch_add(1, Ordering::SeqCst);
            let (doc, behavior) = shared.discovery.lock().expect("lock").clone();
            respond(mark(doc), behavior, None, &path).await
        }
        "/jwks" => {
            shared.jwks_hits.fetch_add(1, Ordering::SeqCst);
            let (doc, behavior, cc) = shared.jwks.lock().expect("lock").clone();
            respond(mark(doc), behavior, cc, &path).await
        }
        _ => {
            shared.other_paths.lock().expect("lock").push(path);
            full(404, Bytes::new())
        }
    }
}

/// A development issuer's own paths: the request read here (bounded body),
/// answered by [`super::dev_server::handle`].
async fn dev_answer(
    shared: &Shared,
    mode: &super::dev::DevMode,
    authority: &Authority,
    path: &str,
    req: Request<Incoming>,
) -> Response<ResBody> {
    use http_body_util::BodyExt;
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (host, content_type) = (header("host"), header("content-type"));
    let method = req.method().as_str().to_owned();
    let body = http_body_util::Limited::new(req.into_body(), super::dev::MAX_DEV_BODY_BYTES)
        .collect()
        .await
        .ok()
        .map(|b| b.to_bytes());
    let call = super::dev_server::DevCall {
        path,
        method: &method,
        host: host.as_deref(),
        content_type: content_type.as_deref(),
        body: body.as_deref(),
    };
    let signer = super::dev_server::Signer {
        issuer: &authority.issuer,
        now: authority.now(),
        sign: &|header, claims| authority.sign_with(header, claims),
    };
    answer(super::dev_server::handle(
        &call,
        &shared.logins,
        mode,
        &signer,
    ))
}

/// Binds `addr` (the tests' `127.0.0.1:0`) and serves until the returned
/// task is aborted.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    addr: std::net::SocketAddr,
) -> std::io::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let shared = shared.clone();
            connections.spawn(async move {
                let service = service_fn(move |req| handle(shared.clone(), req));
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
            while connections.try_join_next().is_some() {}
        }
    });
    Ok((addr, task))
}
