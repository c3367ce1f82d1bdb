//! A real, local OpenID issuer for tests: yours and ours (feature `testing`).
//!
//! [`TestIssuer::start`] binds `127.0.0.1:0`, serves a discovery document and
//! a JWKS of freshly generated keys (RSA-2048, EC P-256, Ed25519), mints ID
//! tokens with any claims or headers, rotates keys, and can fail, hang,
//! stream or redirect on demand while counting requests.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! use reauth::testing::TestIssuer;
//! use reauth::Requirement;
//! use std::time::Duration;
//!
//! let issuer = TestIssuer::start().await;
//! let verifier = issuer.verifier().await;
//! let token = issuer.token().auth_time_ago(3600).sign();
//! let err = verifier
//!     .verify(&token, &Requirement::max_age(Duration::from_secs(300)))
//!     .await
//!     .unwrap_err();
//! assert_eq!(err.code(), "authentication_too_old");
//! # }
//! ```
//!
//! It runs on the caller's Tokio runtime (any flavour: `#[tokio::test]`,
//! `#[actix_web::test]`) and stops when dropped. In your own crate, add it as
//! a dev-dependency: `reauth = { path = "../reauth", default-features = false,
//! features = ["testing"] }` (the crate is not on crates.io yet: a path or
//! git dependency).
//!
//! The helpers panic on setup failures (no free port, key generation): they
//! are for tests.

mod dev;
mod dev_server;
mod dpop;
mod jws;
mod keys;
mod login;
mod names;
mod server;
mod token;
#[cfg(feature = "signals")]
mod transmitter;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Map, Value, json};

pub use dev::{
    DEV_MARKER_CLAIM, DEV_MARKER_HEADER, DevLogin, DevRequestError, DevTokenRequest,
    FOR_TESTING_ONLY, MAX_DEV_AUTH_TIME_AGO, MAX_DEV_BODY_BYTES, MAX_DEV_EXPIRES_IN,
    MAX_DEV_LIST_LEN, MAX_DEV_STRING_BYTES,
};
pub use dpop::{DpopKey, ProofBuilder};
pub use keys::TestKey;
pub use login::{Recorded, TestLogin};
pub use names::{TEST_CLIENT_ID, TEST_RESOURCE};
pub use server::Behavior;
pub use token::TokenBuilder;
#[cfg(feature = "signals")]
pub use transmitter::{PushAnswer, SetBuilder, TEST_MANAGEMENT_TOKEN, TestTransmitter};

use jws::rand_suffix;

use crate::clock::{SharedClock, SystemClock};
use crate::{config::VerifierConfig, config::VerifierConfigBuilder, verify::verifier::Verifier};

/// A running test issuer. Stops when dropped.
///
/// Point a real [`Verifier`] at it ([`verifier`](Self::verifier), or your
/// own configuration from [`config`](Self::config)) and mint tokens with
/// [`token`](Self::token); see the README's "Testing your routes" for a
/// whole route test.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
///
/// use reauth::Requirement;
/// use reauth::testing::TestIssuer;
///
/// let issuer = TestIssuer::start().await;
/// let verifier = issuer.verifier().await;
/// let recent = Requirement::max_age(Duration::from_secs(300)).require_amr(["mfa"]);
///
/// let token = issuer.token().amr(["pwd", "mfa"]).sign();
/// assert_eq!(verifier.verify(&token, &recent).await.unwrap().subject(), "user-1");
///
/// let stale = issuer.token().amr(["pwd", "mfa"]).auth_time_ago(3600).sign();
/// let err = verifier.verify(&stale, &recent).await.unwrap_err();
/// assert_eq!(err.code(), "authentication_too_old");
/// # }
/// ```
pub struct TestIssuer {
    issuer: String,
    shared: Arc<server::Shared>,
    task: tokio::task::JoinHandle<()>,
    clock: SharedClock,
    keys: Arc<std::sync::Mutex<Vec<TestKey>>>,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestIssuer {
    /// Starts an issuer on the system clock.
    pub async fn start() -> Self {
        Self::start_with_clock(Arc::new(SystemClock)).await
    }

    /// Starts an issuer whose tokens are stamped by `clock` (share it with the
    /// verifier's configuration to move both in step).
    pub async fn start_with_clock(clock: SharedClock) -> Self {
        let any_port = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        Self::bind(any_port, None, clock)
            .await
            .expect("bind 127.0.0.1:0")
    }

    /// Starts an issuer on the system clock listening on `addr` (port 0:
    /// any free port); its identifier is `http://<the bound address>`.
    /// Unlike the other constructors, a failure to listen is returned
    /// rather than a panic (`reauth dev-issuer` reports it).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use reauth::testing::TestIssuer;
    ///
    /// let issuer = TestIssuer::start_on("127.0.0.1:0".parse().unwrap()).await.unwrap();
    /// assert!(issuer.issuer().starts_with("http://127.0.0.1:"));
    /// # }
    /// ```
    pub async fn start_on(addr: std::net::SocketAddr) -> std::io::Result<Self> {
        Self::bind(addr, None, Arc::new(SystemClock)).await
    }

    /// [`start_on`](Self::start_on), under the identifier `issuer` rather
    /// than `http://<the bound address>`: the URL its clients reach it at
    /// (e.g. `http://127.0.0.1:9000` for a container listening on
    /// `0.0.0.0:9000` behind a port mapping, or the https URL of a proxy in
    /// front). Its documents and tokens name `issuer`; it is not checked.
    pub async fn start_on_as(addr: std::net::SocketAddr, issuer: &str) -> std::io::Result<Self> {
        Self::bind(addr, Some(issuer), Arc::new(SystemClock)).await
    }

    async fn bind(
        addr: std::net::SocketAddr,
        issuer: Option<&str>,
        clock: SharedClock,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(server::Shared::default());
        let (addr, task) = server::serve(shared.clone(), addr).await?;
        let issuer = issuer.map_or_else(
            || format!("http://{addr}"),
            |i| i.trim_end_matches('/').to_owned(),
        );
        Ok(Self::serving(issuer, shared, task, clock))
    }

    /// Turns this issuer into a development issuer (what `reauth
    /// dev-issuer` runs), for trying a gate or an app by hand or from a
    /// test in any language:
    /// - every answer carries the header [`DEV_MARKER_HEADER`], every JSON
    ///   document and every token the member [`DEV_MARKER_CLAIM`]
    ///   (`"for testing only"`), and `GET /` is a page that says so;
    /// - only `clients` are accepted at the authorization endpoint (the
    ///   first is the default audience of minted ID tokens; empty: any);
    /// - `POST /dev/token` mints a token ([`DevTokenRequest`] as JSON) and
    ///   answers `{"token": "...", "token_type", "expires_in"}`;
    /// - `POST /dev/login` ([`DevLogin`] as JSON) changes who the
    ///   authorization endpoint logs in from now on, as
    ///   [`set_login`](Self::set_login) does; `GET /dev/login` shows it.
    ///
    /// The `/dev/` endpoints need `Content-Type: application/json` (a
    /// cross-site page cannot send it without a CORS preflight, which is
    /// never answered) and a `Host` that is an IP address, `localhost` or
    /// the issuer's host (no DNS rebinding). They mint any token for
    /// anyone who reaches them: keep the issuer on loopback. Tenants made
    /// afterwards with [`tenant`](Self::tenant) are development issuers too.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use reauth::testing::{DEV_MARKER_CLAIM, TestIssuer};
    ///
    /// let issuer = TestIssuer::start().await;
    /// issuer.serve_dev_endpoints(["my-app"]);
    /// let answer = reqwest::Client::new()
    ///     .post(issuer.url("/dev/token"))
    ///     .header("content-type", "application/json")
    ///     .body(r#"{"sub": "alice", "auth_time_ago": 3600}"#)
    ///     .send().await.unwrap()
    ///     .text().await.unwrap();
    /// let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    /// let verifier = reauth::Verifier::discover(
    ///     issuer.config().audience("my-app").build().unwrap(),
    /// ).await.unwrap();
    /// let ok = verifier
    ///     .verify_as::<reauth::ClaimsMap>(answer["token"].as_str().unwrap(), &reauth::Requirement::none())
    ///     .await
    ///     .unwrap();
    /// assert_eq!(ok.claims.sub, "alice");
    /// assert_eq!(ok.extra[DEV_MARKER_CLAIM], "for testing only");
    /// # }
    /// ```
    pub fn serve_dev_endpoints<I: IntoIterator<Item = S>, S: Into<String>>(&self, clients: I) {
        let clients: Vec<String> = clients.into_iter().map(Into::into).collect();
        self.shared.logins.lock().expect("lock").clients =
            (!clients.is_empty()).then(|| clients.clone());
        let _ = self.shared.dev.set(dev::DevMode { clients });
    }

    /// Another issuer served by this one's server, at
    /// `<this issuer>/realms/<name>` (its own keys and documents), for
    /// tenant templates such as `http://127.0.0.1:PORT/realms/{tenant}`.
    pub fn tenant(&self, name: &str) -> TestIssuer {
        let shared = Arc::new(server::Shared::default());
        if let Some(mode) = self.shared.dev.get() {
            shared.logins.lock().expect("lock").clients =
                (!mode.clients.is_empty()).then(|| mode.clients.clone());
            let _ = shared.dev.set(mode.clone());
        }
        self.shared
            .tenants
            .lock()
            .expect("lock")
            .insert(name.to_owned(), shared.clone());
        let issuer = format!("{}/realms/{name}", self.issuer);
        Self::serving(issuer, shared, tokio::spawn(async {}), self.clock.clone())
    }

    fn serving(
        issuer: String,
        shared: Arc<server::Shared>,
        task: tokio::task::JoinHandle<()>,
        clock: SharedClock,
    ) -> Self {
        let keys = vec![
            TestKey::rsa("rsa-1"),
            TestKey::ec("ec-1"),
            TestKey::ed25519("ed-1"),
        ];
        let keys = Arc::new(std::sync::Mutex::new(keys));
        let _ = shared.authority.set(server::Authority {
            issuer: issuer.clone(),
            clock: clock.clone(),
            keys: keys.clone(),
        });
        let this = Self {
            issuer,
            shared,
            task,
            clock,
            keys,
        };
        let discovery = json!({
            "issuer": this.issuer,
            "authorization_endpoint": format!("{}/authorize", this.issuer),
            "token_endpoint": format!("{}/token", this.issuer),
            "jwks_uri": format!("{}/jwks", this.issuer),
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "authorization_response_iss_parameter_supported": true,
            "id_token_signing_alg_values_supported": ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "EdDSA"],
        });
        *this.shared.discovery.lock().expect("lock") = (discovery, Behavior::Normal);
        this.publish_current_keys();
        this
    }

    fn publish_current_keys(&self) {
        let jwks: Vec<Value> = self
            .keys
            .lock()
            .expect("lock")
            .iter()
            .map(TestKey::jwk)
            .collect();
        self.set_jwks(json!({ "keys": jwks }));
    }

    /// The issuer identifier, `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `issuer` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// The clock tokens are stamped with.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// A configuration for this issuer: its URL, [`TEST_CLIENT_ID`], its clock.
    pub fn config(&self) -> VerifierConfigBuilder {
        VerifierConfig::builder(self.issuer.clone())
            .audience(TEST_CLIENT_ID)
            .clock(self.clock.clone())
    }

    /// A browser step-up configuration for this issuer: client
    /// [`TEST_CLIENT_ID`] (a public client), `redirect_uri`, and a fresh
    /// random cookie key.
    #[cfg(feature = "stepup")]
    pub fn step_up_config(&self, redirect_uri: &str) -> crate::stepup::StepUpConfigBuilder {
        let mut key = [0u8; 32];
        aws_lc_rs::rand::fill(&mut key).expect("random cookie key");
        crate::stepup::StepUpConfig::builder(TEST_CLIENT_ID, redirect_uri).cookie_key(&key)
    }

    /// A [`Verifier`] built from [`config`](Self::config).
    pub async fn verifier(&self) -> Verifier {
        let config = self.config().build().expect("test config");
        Verifier::discover(config)
            .await
            .expect("discover the test issuer")
    }

    /// The currently published keys: RSA, EC, Ed25519 (in that order).
    pub fn keys(&self) -> Vec<TestKey> {
        self.keys.lock().expect("lock").clone()
    }

    /// The current RSA key.
    pub fn rsa_key(&self) -> TestKey {
        self.keys()[0].clone()
    }

    /// Replaces every key with new ones (new `kid`s) and publishes them; the
    /// old keys disappear from the JWKS.
    pub fn rotate(&self) {
        let n = self.shared.jwks_hits.load(Ordering::SeqCst);
        let suffix = format!("{n}-{}", rand_suffix());
        *self.keys.lock().expect("lock") = vec![
            TestKey::rsa(format!("rsa-{suffix}")),
            TestKey::ec(format!("ec-{suffix}")),
            TestKey::ed25519(format!("ed-{suffix}")),
        ];
        self.publish_current_keys();
    }

    /// Serves this exact JWKS document.
    pub fn set_jwks(&self, jwks: Value) {
        self.shared.jwks.lock().expect("lock").0 = jwks;
    }

    /// Publishes `keys` (public JWKs) as the whole JWKS.
    pub fn publish(&self, keys: &[TestKey]) {
        self.set_jwks(json!({ "keys": keys.iter().map(TestKey::jwk).collect::<Vec<_>>() }));
    }

    /// How `/jwks` answers.
    pub fn set_jwks_behavior(&self, behavior: Behavior) {
        self.shared.jwks.lock().expect("lock").1 = behavior;
    }

    /// The `Cache-Control` header on `/jwks` (none by default).
    pub fn set_jwks_cache_control(&self, value: Option<&str>) {
        self.shared.jwks.lock().expect("lock").2 = value.map(str::to_owned);
    }

    /// How the discovery document answers.
    pub fn set_discovery_behavior(&self, behavior: Behavior) {
        self.shared.discovery.lock().expect("lock").1 = behavior;
    }

    /// Changes one member of the discovery document (e.g. `issuer`).
    pub fn set_discovery_field(&self, name: &str, value: Value) {
        self.shared.discovery.lock().expect("lock").0[name] = value;
    }

    /// Requests served on `/jwks` so far.
    pub fn jwks_requests(&self) -> usize {
        self.shared.jwks_hits.load(Ordering::SeqCst)
    }

    /// Requests served on the discovery path so far.
    pub fn discovery_requests(&self) -> usize {
        self.shared.discovery_hits.load(Ordering::SeqCst)
    }

    /// What the authorization endpoint does from now on: log this user in
    /// (with this `auth_time`, `acr`, `amr`), or answer an error. Defaults
    /// to [`TestLogin::default`].
    pub fn set_login(&self, login: TestLogin) {
        self.shared.logins.lock().expect("lock").login = login;
    }

    /// Requires this client secret at the token endpoint (HTTP Basic or the
    /// form); `None` (the default) accepts any client, with or without one.
    pub fn set_client_secret(&self, secret: Option<&str>) {
        self.shared.logins.lock().expect("lock").client_secret = secret.map(str::to_owned);
    }

    /// The parameters of every authorization request so far.
    pub fn authorization_requests(&self) -> Vec<Recorded> {
        self.shared
            .logins
            .lock()
            .expect("lock")
            .authorizations
            .clone()
    }

    /// The form parameters of every token request so far (a
    /// `client_secret` shows as `***`).
    pub fn token_requests(&self) -> Vec<Recorded> {
        self.shared
            .logins
            .lock()
            .expect("lock")
            .token_requests
            .clone()
    }

    /// Paths other than discovery and JWKS that someone requested.
    pub fn other_requests(&self) -> Vec<String> {
        self.shared.other_paths.lock().expect("lock").clone()
    }

    /// A token builder with sensible ID-token claims: `iss`, `aud`
    /// ([`TEST_CLIENT_ID`]), `sub` (`user-1`), `iat` and `auth_time` now,
    /// `exp` in one hour; signed RS256 by the current RSA key.
    pub fn token(&self) -> TokenBuilder {
        let now = self.clock.now().timestamp();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(TEST_CLIENT_ID));
        claims.insert("sub".into(), json!("user-1"));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 3600));
        claims.insert("auth_time".into(), json!(now));
        TokenBuilder {
            now,
            key: self.rsa_key(),
            keys: self.keys(),
            alg: None,
            header: Map::new(),
            claims,
            raw_payload: None,
            raw_header: None,
        }
    }
}

impl TestIssuer {
    /// An RFC 9068 access token builder: `typ: at+jwt`, `aud`
    /// [`TEST_RESOURCE`], `client_id` [`TEST_CLIENT_ID`], a random `jti`,
    /// and the ID-token builder's `iss`, `sub`, `iat`, `exp`, `auth_time`.
    /// Add `scope` with [`TokenBuilder::claim`], `acr` and `amr` with
    /// [`TokenBuilder::acr`] and [`TokenBuilder::amr`].
    pub fn access_token(&self) -> TokenBuilder {
        let mut b = self.token().header("typ", "at+jwt");
        b.claims.insert("aud".into(), json!(TEST_RESOURCE));
        b.claims.insert("client_id".into(), json!(TEST_CLIENT_ID));
        b.claims
            .insert("jti".into(), json!(format!("at-{}", rand_suffix())));
        b
    }

    /// A configuration for access tokens of this issuer: audience
    /// [`TEST_RESOURCE`], [`TokenKind::AccessToken`](crate::TokenKind).
    pub fn access_config(&self) -> VerifierConfigBuilder {
        VerifierConfig::builder(self.issuer.clone())
            .audience(TEST_RESOURCE)
            .token_kind(crate::jwt::token_kind::TokenKind::AccessToken)
            .clock(self.clock.clone())
    }

    /// A back-channel logout token builder (Back-Channel Logout 1.0 §2.4):
    /// `typ: logout+jwt`, `iss`, `aud`, `iat` now, `exp` in 2 min, a random
    /// `jti`, the logout `events` member, and `sid` (`session-1`). Add `sub`
    /// with [`TokenBuilder::claim`]; remove anything with [`TokenBuilder::without`].
    pub fn logout_token(&self) -> TokenBuilder {
        let now = self.clock.now().timestamp();
        let mut b = self
            .token()
            .without("auth_time")
            .without("sub")
            .header("typ", "logout+jwt");
        b.claims.insert("exp".into(), json!(now + 120));
        b.claims
            .insert("jti".into(), json!(format!("jti-{}", rand_suffix())));
        b.claims.insert("sid".into(), json!("session-1"));
        b.claims.insert(
            "events".into(),
            json!({ crate::jwt::logout::BACKCHANNEL_LOGOUT_EVENT: {} }),
        );
        b
    }
}
