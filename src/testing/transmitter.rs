//! [`TestTransmitter`]: a real Shared Signals transmitter on 127.0.0.1 for
//! tests (yours and ours): its configuration and JWKS, the SSF 1.0 stream
//! management endpoints, RFC 8935 push and RFC 8936 poll delivery of SETs
//! it signs, and builders for well-formed and deliberately broken SETs.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;

use crate::clock::{SharedClock, SystemClock};
use crate::testing::jws::{rand_suffix, sign_jws};
use crate::testing::keys::TestKey;

/// The bearer token [`TestTransmitter`]'s management and poll endpoints
/// accept unless [`TestTransmitter::set_management_token`] changes it.
pub const TEST_MANAGEMENT_TOKEN: &str = "test-transmitter-management-token";

/// A configured stream.
#[derive(Debug, Clone)]
struct Stream {
    id: String,
    config: Value,
    push: Option<(String, Option<String>)>,
    queue: VecDeque<(String, String)>,
    /// SETs sent by poll and not acknowledged yet, and when.
    outstanding: HashMap<String, (String, tokio::time::Instant)>,
}

struct State {
    issuer: String,
    audience: String,
    clock: SharedClock,
    key: Mutex<TestKey>,
    published: Mutex<Vec<TestKey>>,
    token: Mutex<String>,
    streams: Mutex<Vec<Stream>>,
    acks: Mutex<Vec<String>>,
    set_errs: Mutex<Vec<(String, String)>>,
    polls: Mutex<usize>,
    arrived: tokio::sync::Notify,
    poll_wait: Mutex<Duration>,
    redeliver_after: Mutex<Duration>,
    client: reqwest::Client,
}

/// A transmitter for tests. Dropping it stops it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use reauth::signals::{Action, Receiver, ReceiverConfig};
/// use reauth::testing::{TestIssuer, TestTransmitter};
///
/// let issuer = TestIssuer::start().await;
/// let verifier = issuer.verifier().await;
/// let transmitter = TestTransmitter::start("https://app.example/ssf").await;
/// let receiver = Receiver::discover(
///     ReceiverConfig::builder(transmitter.issuer(), "https://app.example/ssf").build().unwrap(),
///     verifier.clone(),
/// )
/// .await
/// .unwrap();
/// let set = transmitter
///     .event("session-revoked")
///     .user(issuer.issuer(), "user-1")
///     .session("sid-1")
///     .sign();
/// let received = receiver.receive(&set).await.unwrap();
/// assert!(matches!(received.action, Action::SessionRevoked { ref sid, .. } if sid == "sid-1"));
/// // The same SET again is a replay: refused, nothing changes.
/// assert_eq!(receiver.receive(&set).await.unwrap_err().code().unwrap().as_str(), "invalid_request");
/// # }
/// ```
pub struct TestTransmitter {
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestTransmitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestTransmitter")
            .field("issuer", &self.state.issuer)
            .finish_non_exhaustive()
    }
}

impl Drop for TestTransmitter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestTransmitter {
    /// Starts a transmitter on 127.0.0.1 (any port) whose SETs name
    /// `audience`, signed with a fresh ES256 key, on the system clock.
    pub async fn start(audience: &str) -> Self {
        Self::start_with_clock(audience, Arc::new(SystemClock)).await
    }

    /// [`start`](Self::start), stamping SETs with `clock`.
    pub async fn start_with_clock(audience: &str, clock: SharedClock) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let key = TestKey::ec("ssf-key-1");
        let state = Arc::new(State {
            issuer: format!("http://{addr}"),
            audience: audience.to_owned(),
            clock,
            published: Mutex::new(vec![key.clone()]),
            key: Mutex::new(key),
            token: Mutex::new(TEST_MANAGEMENT_TOKEN.to_owned()),
            streams: Mutex::new(Vec::new()),
            acks: Mutex::new(Vec::new()),
            set_errs: Mutex::new(Vec::new()),
            polls: Mutex::new(0),
            arrived: tokio::sync::Notify::new(),
            poll_wait: Mutex::new(Duration::from_secs(2)),
            redeliver_after: Mutex::new(Duration::from_secs(5)),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("HTTP client"),
        });
        let serving = state.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = serving.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(route(&state, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
                while connections.try_join_next().is_some() {}
            }
        });
        Self { state, task }
    }

    /// The transmitter's issuer identifier (`http://127.0.0.1:<port>`).
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// A URL on this transmitter.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.state.issuer)
    }

    /// The bearer token the management and poll endpoints accept.
    pub fn management_token(&self) -> String {
        lock(&self.state.token).clone()
    }

    /// Changes that token.
    pub fn set_management_token(&self, token: &str) {
        *lock(&self.state.token) = token.to_owned();
    }

    /// How long a long poll waits for a SET before answering with none
    /// (default 2 s).
    pub fn set_poll_wait(&self, wait: Duration) {
        *lock(&self.state.poll_wait) = wait;
    }

    /// How long a polled SET may stay unacknowledged before it is sent
    /// again, as real transmitters do (default 5 s).
    pub fn set_redeliver_after(&self, after: Duration) {
        *lock(&self.state.redeliver_after) = after;
    }

    /// The signing key (ES256).
    pub fn key(&self) -> TestKey {
        lock(&self.state.key).clone()
    }

    /// Signs with a new key from now on and publishes both.
    pub fn rotate(&self) {
        let key = TestKey::ec(format!("ssf-key-{}", rand_suffix()));
        lock(&self.state.published).push(key.clone());
        *lock(&self.state.key) = key;
    }

    /// A SET of `event` (a short name such as `session-revoked`, see
    /// [`EventKind::NAMES`](crate::signals::EventKind::NAMES), or a full
    /// type URI), iss, aud, iat and a fresh jti filled in.
    pub fn event(&self, event: &str) -> SetBuilder {
        let uri = crate::signals::event_type_uri(event).unwrap_or_else(|| event.to_owned());
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.state.issuer));
        claims.insert("aud".into(), json!(self.state.audience));
        claims.insert("iat".into(), json!(self.state.clock.now().timestamp()));
        claims.insert("jti".into(), json!(format!("set-{}", rand_suffix())));
        let mut events = Map::new();
        events.insert(uri, json!({}));
        claims.insert("events".into(), Value::Object(events));
        SetBuilder {
            claims,
            header: Map::new(),
            key: self.key(),
            user: None,
            session: None,
            omit_sub_id: false,
        }
    }

    /// Every stream's configuration.
    pub fn streams(&self) -> Vec<Value> {
        lock(&self.state.streams)
            .iter()
            .map(|s| s.config.clone())
            .collect()
    }

    /// Delivers `set` on every stream: pushed (its answer returned) or
    /// queued for the poller (`None`).
    pub async fn deliver(&self, set: &str) -> Vec<Option<PushAnswer>> {
        let streams: Vec<Stream> = lock(&self.state.streams).clone();
        let mut out = Vec::new();
        for s in streams {
            match &s.push {
                Some((endpoint, auth)) => {
                    out.push(Some(
                        push(&self.state.client, endpoint, auth.as_deref(), set).await,
                    ));
                }
                None => {
                    enqueue(&self.state, &s.id, set);
                    out.push(None);
                }
            }
        }
        out
    }

    /// Pushes `set` to `endpoint` as RFC 8935 says (`POST`,
    /// `application/secevent+jwt`), with `authorization` as the
    /// `Authorization` header when given.
    pub async fn push_to(
        &self,
        endpoint: &str,
        authorization: Option<&str>,
        set: &str,
    ) -> PushAnswer {
        push(&self.state.client, endpoint, authorization, set).await
    }

    /// Queues `set` on the first poll stream (panics without one).
    pub fn enqueue(&self, set: &str) {
        let id = lock(&self.state.streams)
            .iter()
            .find(|s| s.push.is_none())
            .map(|s| s.id.clone())
            .expect("a poll stream (create one first)");
        enqueue(&self.state, &id, set);
    }

    /// Every `jti` acknowledged by pollers, in order (a repeat means a SET
    /// was acknowledged twice).
    pub fn acks(&self) -> Vec<String> {
        lock(&self.state.acks).clone()
    }

    /// Every `setErrs` entry received: (jti, err code).
    pub fn set_errs(&self) -> Vec<(String, String)> {
        lock(&self.state.set_errs).clone()
    }

    /// SETs sent to pollers and neither acknowledged nor reported in
    /// `setErrs` yet.
    pub fn unacknowledged(&self) -> usize {
        lock(&self.state.streams)
            .iter()
            .map(|s| s.outstanding.len())
            .sum()
    }

    /// Poll requests answered.
    pub fn polls(&self) -> usize {
        *lock(&self.state.polls)
    }
}

/// A push's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PushAnswer {
    /// The HTTP status (202 accepted).
    pub status: u16,
    /// The JSON body (`{"err", "description"}` on an error), or `Null`.
    pub body: Value,
}

impl PushAnswer {
    /// The `err` code, when the answer has one.
    pub fn err(&self) -> Option<&str> {
        self.body.get("err").and_then(Value::as_str)
    }
}

/// A SET being made; [`sign`](Self::sign) finishes it.
#[derive(Debug, Clone)]
pub struct SetBuilder {
    claims: Map<String, Value>,
    header: Map<String, Value>,
    key: TestKey,
    user: Option<Value>,
    session: Option<Value>,
    omit_sub_id: bool,
}

impl SetBuilder {
    /// The user, as an `iss_sub` subject.
    pub fn user(mut self, iss: &str, sub: &str) -> Self {
        self.user = Some(json!({"format": "iss_sub", "iss": iss, "sub": sub}));
        self
    }

    /// The user, as an `opaque` subject.
    pub fn opaque_user(mut self, id: &str) -> Self {
        self.user = Some(json!({"format": "opaque", "id": id}));
        self
    }

    /// The user, as an `email` subject.
    pub fn email_user(mut self, email: &str) -> Self {
        self.user = Some(json!({"format": "email", "email": email}));
        self
    }

    /// The session, as an `opaque` subject (a complex subject with the user).
    pub fn session(mut self, id: &str) -> Self {
        self.session = Some(json!({"format": "opaque", "id": id}));
        self
    }

    /// `sub_id` exactly as given (overrides user and session);
    /// `Value::Null` leaves it out.
    pub fn sub_id(mut self, subject: Value) -> Self {
        if subject.is_null() {
            self.user = None;
            self.session = None;
            self.omit_sub_id = true;
        } else {
            self.claims.insert("sub_id".into(), subject);
        }
        self
    }

    /// The event's `event_timestamp`.
    pub fn event_timestamp(self, at: i64) -> Self {
        self.event_member("event_timestamp", json!(at))
    }

    /// A member of the event object.
    pub fn event_member(mut self, name: &str, value: Value) -> Self {
        if let Some(Value::Object(events)) = self.claims.get_mut("events") {
            if let Some(Value::Object(event)) = events.values_mut().next() {
                event.insert(name.to_owned(), value);
            }
        }
        self
    }

    /// Sets a claim; `Value::Null` removes it.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        if value.is_null() {
            self.claims.remove(name);
        } else {
            self.claims.insert(name.to_owned(), value);
        }
        self
    }

    /// Sets a header parameter; `Value::Null` removes it.
    pub fn header(mut self, name: &str, value: Value) -> Self {
        self.header.insert(name.to_owned(), value);
        self
    }

    /// Signs with another key (e.g. one the transmitter does not publish).
    pub fn key(mut self, key: TestKey) -> Self {
        self.key = key;
        self
    }

    /// The compact JWS: typ `secevent+jwt`, the key's kid and algorithm.
    pub fn sign(self) -> String {
        let mut claims = self.claims;
        if !claims.contains_key("sub_id") && !self.omit_sub_id {
            let subject = match (self.user, self.session) {
                (Some(u), None) => u,
                (None, Some(s)) => s,
                (u, s) => {
                    let mut c = Map::new();
                    c.insert("format".into(), json!("complex"));
                    if let Some(u) = u {
                        c.insert("user".into(), u);
                    }
                    if let Some(s) = s {
                        c.insert("session".into(), s);
                    }
                    Value::Object(c)
                }
            };
            claims.insert("sub_id".into(), subject);
        }
        let mut header = Map::new();
        header.insert("typ".into(), json!("secevent+jwt"));
        header.extend(self.header);
        sign_jws(
            &self.key,
            self.key.default_alg(),
            &header,
            &Value::Object(claims).to_string(),
        )
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn jti_of(set: &str) -> String {
    use base64::Engine;
    set.split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .ok()
        })
        .and_then(|p| serde_json::from_slice::<Value>(&p).ok())
        .and_then(|v| v.get("jti").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| format!("no-jti-{}", rand_suffix()))
}

fn enqueue(state: &State, stream: &str, set: &str) {
    if let Some(s) = lock(&state.streams).iter_mut().find(|s| s.id == stream) {
        s.queue.push_back((jti_of(set), set.to_owned()));
    }
    state.arrived.notify_waiters();
}

async fn push(
    client: &reqwest::Client,
    endpoint: &str,
    auth: Option<&str>,
    set: &str,
) -> PushAnswer {
    let mut req = client
        .post(endpoint)
        .header("content-type", "application/secevent+jwt")
        .header("accept", "application/json")
        .body(set.to_owned());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            PushAnswer {
                status,
                body: serde_json::from_str(&text).unwrap_or(Value::Null),
            }
        }
        Err(e) => PushAnswer {
            status: 0,
            body: json!({"err": "transport", "description": e.to_string()}),
        },
    }
}

type Body = Full<Bytes>;

fn answer(status: u16, body: Option<Value>) -> Response<Body> {
    let bytes = body.map(|b| b.to_string()).unwrap_or_default();
    let mut r = Response::new(Full::new(Bytes::from(bytes)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    r.headers_mut()
        .insert("content-type", "application/json".parse().expect("static"));
    r.headers_mut()
        .insert("cache-control", "no-store".parse().expect("static"));
    r
}

fn query(req: &Request<Incoming>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn route(state: &Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let method = req.method().as_str().to_owned();
    match (method.as_str(), path.as_str()) {
        ("GET", "/.well-known/ssf-configuration") => {
            let i = &state.issuer;
            return answer(
                200,
                Some(json!({
                    "spec_version": "1_0",
                    "issuer": i,
                    "jwks_uri": format!("{i}/jwks"),
                    "delivery_methods_supported": [crate::signals::PUSH, crate::signals::POLL],
                    "configuration_endpoint": format!("{i}/ssf/stream"),
                    "status_endpoint": format!("{i}/ssf/status"),
                    "verification_endpoint": format!("{i}/ssf/verify"),
                    "default_subjects": "ALL",
                })),
            );
        }
        ("GET", "/jwks") => {
            let keys: Vec<Value> = lock(&state.published).iter().map(TestKey::jwk).collect();
            return answer(200, Some(json!({"keys": keys})));
        }
        _ => {}
    }
    let authorized = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {}", lock(&state.token)));
    if !authorized {
        return answer(401, Some(json!({"error": "invalid_token"})));
    }
    let stream_id = query(&req, "stream_id");
    let body: Value = match Limited::new(req.into_body(), 1024 * 1024).collect().await {
        Ok(b) => serde_json::from_slice(&b.to_bytes()).unwrap_or(Value::Null),
        Err(_) => return answer(400, None),
    };
    match (method.as_str(), path.as_str()) {
        ("POST", "/ssf/stream") => create(state, &body),
        ("GET", "/ssf/stream") => {
            let streams = lock(&state.streams);
            match stream_id {
                Some(id) => match streams.iter().find(|s| s.id == id) {
                    Some(s) => answer(200, Some(s.config.clone())),
                    None => answer(404, None),
                },
                None => answer(
                    200,
                    Some(Value::Array(
                        streams.iter().map(|s| s.config.clone()).collect(),
                    )),
                ),
            }
        }
        ("DELETE", "/ssf/stream") => {
            let mut streams = lock(&state.streams);
            let before = streams.len();
            streams.retain(|s| Some(&s.id) != stream_id.as_ref());
            answer(if streams.len() < before { 204 } else { 404 }, None)
        }
        ("GET", "/ssf/status") => {
            let known = lock(&state.streams)
                .iter()
                .any(|s| Some(&s.id) == stream_id.as_ref());
            if known {
                answer(
                    200,
                    Some(json!({"stream_id": stream_id, "status": "enabled"})),
                )
            } else {
                answer(404, None)
            }
        }
        ("POST", "/ssf/verify") => verify(state, &body).await,
        ("POST", p) if p.starts_with("/ssf/poll/") => {
            poll(state, &p["/ssf/poll/".len()..], &body).await
        }
        _ => answer(404, None),
    }
}

fn create(state: &Arc<State>, body: &Value) -> Response<Body> {
    let delivery = body
        .get("delivery")
        .cloned()
        .unwrap_or(json!({"method": crate::signals::POLL}));
    let id = format!("stream-{}", rand_suffix());
    let (delivery, push) = match delivery.get("method").and_then(Value::as_str) {
        Some(m) if m == crate::signals::PUSH => {
            let Some(endpoint) = delivery.get("endpoint_url").and_then(Value::as_str) else {
                return answer(400, Some(json!({"error": "push needs endpoint_url"})));
            };
            let auth = delivery
                .get("authorization_header")
                .and_then(Value::as_str)
                .map(str::to_owned);
            (delivery.clone(), Some((endpoint.to_owned(), auth)))
        }
        Some(m) if m == crate::signals::POLL => (
            json!({"method": crate::signals::POLL, "endpoint_url": format!("{}/ssf/poll/{id}", state.issuer)}),
            None,
        ),
        _ => return answer(400, Some(json!({"error": "unsupported delivery method"}))),
    };
    let requested = body.get("events_requested").cloned().unwrap_or(json!([]));
    let config = json!({
        "stream_id": id,
        "iss": state.issuer,
        "aud": state.audience,
        "delivery": delivery,
        "events_supported": crate::signals::actionable_event_types(),
        "events_requested": requested,
        "events_delivered": requested,
        "description": body.get("description").cloned().unwrap_or(Value::Null),
    });
    lock(&state.streams).push(Stream {
        id,
        config: config.clone(),
        push,
        queue: VecDeque::new(),
        outstanding: HashMap::new(),
    });
    answer(201, Some(config))
}

async fn verify(state: &Arc<State>, body: &Value) -> Response<Body> {
    let Some(id) = body.get("stream_id").and_then(Value::as_str) else {
        return answer(400, None);
    };
    let Some(stream) = lock(&state.streams).iter().find(|s| s.id == id).cloned() else {
        return answer(404, None);
    };
    let mut event = json!({});
    if let Some(s) = body.get("state") {
        event["state"] = s.clone();
    }
    let key = lock(&state.key).clone();
    let set = SetBuilder {
        claims: {
            let mut c = Map::new();
            c.insert("iss".into(), json!(state.issuer));
            c.insert("aud".into(), json!(state.audience));
            c.insert("iat".into(), json!(state.clock.now().timestamp()));
            c.insert("jti".into(), json!(format!("set-{}", rand_suffix())));
            c.insert("sub_id".into(), json!({"format": "opaque", "id": id}));
            c.insert(
                "events".into(),
                json!({"https://schemas.openid.net/secevent/ssf/event-type/verification": event}),
            );
            c
        },
        header: Map::new(),
        key,
        user: None,
        session: None,
        omit_sub_id: false,
    }
    .sign();
    match &stream.push {
        Some((endpoint, auth)) => {
            let (client, endpoint, auth) = (state.client.clone(), endpoint.clone(), auth.clone());
            tokio::spawn(async move { push(&client, &endpoint, auth.as_deref(), &set).await });
        }
        None => enqueue(state, id, &set),
    }
    answer(204, None)
}

/// RFC 8936 §2.4-§2.5.
async fn poll(state: &Arc<State>, id: &str, body: &Value) -> Response<Body> {
    *lock(&state.polls) += 1;
    if let Some(acks) = body.get("ack").and_then(Value::as_array) {
        lock(&state.acks).extend(acks.iter().filter_map(Value::as_str).map(str::to_owned));
        let mut streams = lock(&state.streams);
        if let Some(s) = streams.iter_mut().find(|s| s.id == id) {
            for jti in acks.iter().filter_map(Value::as_str) {
                s.outstanding.remove(jti);
            }
        }
    }
    if let Some(errs) = body.get("setErrs").and_then(Value::as_object) {
        let mut log = lock(&state.set_errs);
        let mut streams = lock(&state.streams);
        for (jti, e) in errs {
            log.push((
                jti.clone(),
                e.get("err")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            ));
            if let Some(s) = streams.iter_mut().find(|s| s.id == id) {
                s.outstanding.remove(jti);
            }
        }
    }
    let max = body.get("maxEvents").and_then(Value::as_u64).unwrap_or(100) as usize;
    let immediately = body
        .get("returnImmediately")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let deadline = tokio::time::Instant::now() + *lock(&state.poll_wait);
    let redeliver_after = *lock(&state.redeliver_after);
    loop {
        let notified = state.arrived.notified();
        {
            let mut streams = lock(&state.streams);
            let Some(s) = streams.iter_mut().find(|s| s.id == id) else {
                return answer(404, None);
            };
            // Unacknowledged for too long: sent again.
            let now = tokio::time::Instant::now();
            let late: Vec<String> = s
                .outstanding
                .iter()
                .filter(|(_, (_, at))| now.duration_since(*at) >= redeliver_after)
                .map(|(jti, _)| jti.clone())
                .collect();
            for jti in late {
                if let Some((set, _)) = s.outstanding.remove(&jti) {
                    s.queue.push_back((jti, set));
                }
            }
            if max == 0 || immediately || !s.queue.is_empty() {
                let mut sets = Map::new();
                while sets.len() < max {
                    let Some((jti, set)) = s.queue.pop_front() else {
                        break;
                    };
                    s.outstanding
                        .insert(jti.clone(), (set.clone(), tokio::time::Instant::now()));
                    sets.insert(jti, json!(set));
                }
                let more = !s.queue.is_empty();
                return answer(200, Some(json!({"sets": sets, "moreAvailable": more})));
            }
        }
        if tokio::time::timeout_at(deadline, notified).await.is_err() {
            return answer(200, Some(json!({"sets": {}, "moreAvailable": false})));
        }
    }
}
