//! [`VerifierConfigBuilder`]: every setting with its documented default,
//! and [`build`](VerifierConfigBuilder::build), which validates them all.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::clock::{SharedClock, SystemClock};
use crate::config::endpoint::check_url;
use crate::config::limits::{MAX_DURATION, MAX_HTTP_TIMEOUT, MAX_LEEWAY};
use crate::config::reauth_policy::ReauthPolicy;
use crate::config::verifier_config::VerifierConfig;
use crate::error::ConfigError;
use crate::jwt::alg::SUPPORTED_ALGORITHMS;
use crate::revocation::RevocationStore;

/// Authgear's claim telling whether the user can re-authenticate.
pub const AUTHGEAR_CAN_REAUTHENTICATE: &str = "https://authgear.com/claims/user/can_reauthenticate";

impl VerifierConfig {
    /// Starts a configuration for `issuer` (exactly as it appears in `iss`,
    /// e.g. `https://myapp.authgear.cloud`).
    pub fn builder(issuer: impl Into<String>) -> VerifierConfigBuilder {
        VerifierConfigBuilder {
            config: VerifierConfig {
                issuer: issuer.into(),
                audiences: Vec::new(),
                algorithms: None,
                leeway: Duration::from_secs(30),
                can_reauthenticate_claim: AUTHGEAR_CAN_REAUTHENTICATE.to_owned(),
                when_cannot_reauthenticate: ReauthPolicy::Deny,
                clock: Arc::new(SystemClock),
                http_timeout: Duration::from_secs(5),
                max_response_bytes: 1024 * 1024,
                max_token_bytes: 16 * 1024,
                max_jwks_keys: 100,
                max_redirects: 5,
                jwks_default_ttl: Duration::from_secs(10 * 60),
                jwks_min_ttl: Duration::from_secs(5 * 60),
                jwks_max_ttl: Duration::from_secs(24 * 3600),
                jwks_refresh_cooldown: Duration::from_secs(30),
                stale_if_error: Duration::from_secs(24 * 3600),
                discovery_refresh_interval: Duration::from_secs(6 * 3600),
                max_session_age: None,
                revocation_store: None,
                revocation_retention: Duration::from_secs(30 * 86_400),
                logout_token_max_age: Duration::from_secs(5 * 60),
                memo_max_entries: 100_000,
                memo_max_bytes: 32 * 1024 * 1024,
                insecure_trust_iat_as_login_time: false,
                token_kind: crate::jwt::token_kind::TokenKind::IdToken,
                metadata_url: None,
                dpop_proof_max_age: Duration::from_secs(60),
                dpop_nonce_key: None,
                dpop_nonce_lifetime: Duration::from_secs(300),
                resource_metadata: None,
                public_origin: None,
            },
        }
    }
}

/// Builder for [`VerifierConfig`]; [`build`](Self::build) validates.
///
/// Every setting has a documented default; only the issuer and at least one
/// audience are required. `build` makes no request: discovery happens when
/// the [`Verifier`](crate::Verifier) is created.
///
/// ```
/// use std::time::Duration;
/// use reauth::{ConfigError, ReauthPolicy, VerifierConfig};
///
/// let config = VerifierConfig::builder("https://myapp.authgear.cloud")
///     .audience("my-client-id")
///     .leeway(Duration::from_secs(10))
///     .when_cannot_reauthenticate(ReauthPolicy::Deny)
///     .max_session_age(Some(Duration::from_secs(12 * 60 * 60)))
///     .build()?;
/// assert_eq!(config.audiences(), ["my-client-id"]);
/// assert_eq!(config.leeway(), Duration::from_secs(10));
///
/// // Bad settings are a typed error at build time, never at request time.
/// let no_audience = VerifierConfig::builder("https://myapp.authgear.cloud").build();
/// assert!(matches!(no_audience, Err(ConfigError::NoAudience)));
/// # Ok::<(), ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VerifierConfigBuilder {
    config: VerifierConfig,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.config.$name = value;
            self
        }
    };
}

impl VerifierConfigBuilder {
    /// Adds an accepted audience (a client id). At least one is required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.config.audiences.push(audience.into());
        self
    }

    /// Adds several accepted audiences.
    pub fn audiences<I, S>(mut self, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config
            .audiences
            .extend(audiences.into_iter().map(Into::into));
        self
    }

    /// The algorithm allow-list. Defaults to the discovery document's
    /// `id_token_signing_alg_values_supported` intersected with
    /// [`SUPPORTED_ALGORITHMS`] (or `RS256` when the document lists none,
    /// as OIDC Discovery §3 makes RS256 mandatory). `HS*` is a config error.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.config.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    setter!(
        /// Clock skew tolerated on `exp`, `nbf`, `iat` and `auth_time`. Defaults
        /// to 30 s; at most [`MAX_LEEWAY`] (1 h).
        leeway: Duration
    );
    setter!(
        /// What to do when the can-reauthenticate claim is `false` and a route
        /// demands freshness. Defaults to [`ReauthPolicy::Deny`]; a route's
        /// [`Requirement`](crate::Requirement) may override it.
        when_cannot_reauthenticate: ReauthPolicy
    );
    setter!(
        /// The source of "now". Defaults to [`SystemClock`].
        clock: SharedClock
    );
    setter!(
        /// Timeout of each HTTP fetch (connect, headers and body). Defaults to
        /// 5 s; at most [`MAX_HTTP_TIMEOUT`] (1 h). Every other duration is at
        /// most [`MAX_DURATION`] (100 years); larger values are a `config_error`.
        http_timeout: Duration
    );
    setter!(
        /// Largest discovery or JWKS response body accepted. Defaults to 1 MiB.
        max_response_bytes: usize
    );
    setter!(
        /// Largest token accepted; longer ones are `malformed_token` without
        /// being decoded. Defaults to 16 KiB.
        max_token_bytes: usize
    );
    setter!(
        /// Largest number of keys a JWKS may hold; a larger set is refused
        /// whole (the last good keys stay). Defaults to 100.
        max_jwks_keys: usize
    );
    setter!(
        /// Redirects followed per fetch, same host only. Defaults to 5.
        max_redirects: usize
    );
    setter!(
        /// JWKS lifetime when the response has no `Cache-Control: max-age`.
        /// Defaults to 10 min.
        jwks_default_ttl: Duration
    );
    setter!(
        /// Lower clamp of the JWKS lifetime taken from `Cache-Control`
        /// (`no-store` and `max-age=0` land here). Defaults to 5 min.
        jwks_min_ttl: Duration
    );
    setter!(
        /// Upper clamp of the JWKS lifetime. Defaults to 24 h.
        jwks_max_ttl: Duration
    );
    setter!(
        /// Minimum time between two JWKS fetches, whatever asks for them
        /// (an unknown `kid`, an expired set, a failed fetch). Defaults to 30 s.
        jwks_refresh_cooldown: Duration
    );
    setter!(
        /// How long past their lifetime the last good keys keep serving while
        /// refreshes fail (stale-if-error). After that: `keys_unavailable`.
        /// Defaults to 24 h.
        stale_if_error: Duration
    );
    setter!(
        /// How often the discovery document is re-fetched (a failed re-fetch
        /// keeps the previous document). Defaults to 6 h.
        discovery_refresh_interval: Duration
    );

    /// The name of the boolean claim saying whether the user can
    /// re-authenticate. Defaults to [`AUTHGEAR_CAN_REAUTHENTICATE`].
    pub fn can_reauthenticate_claim(mut self, name: impl Into<String>) -> Self {
        self.config.can_reauthenticate_claim = name.into();
        self
    }

    /// The kind of token accepted: ID tokens (the default) or RFC 9068
    /// access tokens, whose `aud` must contain one of the
    /// [`audience`](Self::audience)s, here resource identifiers.
    pub fn token_kind(mut self, kind: crate::jwt::token_kind::TokenKind) -> Self {
        self.config.token_kind = kind;
        self
    }

    /// Absolute session lifetime: a token whose `auth_time` is older is
    /// rejected `authentication_too_old` on every route. Defaults to none.
    pub fn max_session_age(mut self, max: Option<Duration>) -> Self {
        self.config.max_session_age = max;
        self
    }

    /// Where revocations live. Defaults to a fresh in-process
    /// [`MemoryStore`](crate::revocation::MemoryStore); use a
    /// [`RedisStore`](crate::revocation) (feature `redis`) to share them
    /// across instances.
    pub fn revocation_store(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.config.revocation_store = Some(store);
        self
    }

    setter!(
        /// How long a user cut-off or session revocation is kept when no
        /// [`max_session_age`](Self::max_session_age) bounds the tokens it
        /// could affect (refreshed ID tokens keep `auth_time`, so `exp` does
        /// not bound them). With `max_session_age`, that is used instead.
        /// Defaults to 30 days.
        revocation_retention: Duration
    );
    setter!(
        /// How old (by `iat`) a back-channel logout token may be. Defaults to 5 min.
        logout_token_max_age: Duration
    );
    setter!(
        /// Most tokens kept in the verified-token memo (a hit skips the
        /// signature check; time, key presence, revocation and freshness are
        /// re-checked on every hit). 0 disables the memo. Defaults to 100,000.
        memo_max_entries: usize
    );
    setter!(
        /// Most memory (approximate bytes) the memo may hold. 0 disables the
        /// memo. Defaults to 32 MiB.
        memo_max_bytes: u64
    );

    setter!(
        /// For a user with a "log out all devices" cut-off, accept a token
        /// without `auth_time` when its `iat` is after the cut-off. Defaults
        /// to `false`: `iat` is when the token was issued, and an issuer
        /// that refreshes ID tokens re-issues them from the revoked login
        /// with a new `iat`, so without `auth_time` a later login cannot be
        /// proven and such tokens are `revoked` until the cut-off expires.
        /// Ask the issuer for `auth_time` (send `max_age`, or request the
        /// claim) rather than turning this on.
        insecure_trust_iat_as_login_time: bool
    );

    /// DPoP (RFC 9449 §11.1): how old a proof's `iat` may be (it may also
    /// be up to 5 s in the future); each proof's `jti` is remembered that
    /// long (in the revocation store: Redis when shared). Default 60 s; at
    /// most 1 h.
    pub fn dpop_proof_max_age(mut self, max_age: Duration) -> Self {
        self.config.dpop_proof_max_age = max_age;
        self
    }

    /// DPoP server nonces (RFC 9449 §8), off by default. With a key (at
    /// least 32 secret random bytes, the same on every instance), every
    /// proof must carry a nonce this verifier issued within `lifetime`; a
    /// refusal sends a fresh one in `DPoP-Nonce` (`use_dpop_nonce`).
    pub fn dpop_nonces(mut self, key: Option<Vec<u8>>, lifetime: Duration) -> Self {
        self.config.dpop_nonce_key = key.map(Into::into);
        self.config.dpop_nonce_lifetime = lifetime;
        self
    }

    /// The app's public origin as clients address it
    /// (`https://api.example.com`, no path): the base of a DPoP proof's
    /// `htu` (RFC 9449 §4.3). Without it, each request's own scheme and
    /// `Host` are used; set it behind a proxy or a load balancer (the app
    /// then sees another scheme or host than the client used), and so that
    /// a `Host` header cannot choose what a proof is compared with.
    pub fn public_origin(mut self, origin: impl Into<String>) -> Self {
        self.config.public_origin = Some(origin.into());
        self
    }

    /// RFC 9728 §5.1: the URL of this resource's metadata
    /// (`https://api.example.com/.well-known/oauth-protected-resource`),
    /// named as `resource_metadata` in every challenge. Default: none.
    pub fn resource_metadata(mut self, url: impl Into<String>) -> Self {
        self.config.resource_metadata = Some(url.into());
        self
    }

    /// Validates and returns the configuration. Makes no request.
    pub fn build(self) -> Result<VerifierConfig, ConfigError> {
        let c = self.config;
        let issuer = check_url("issuer", &c.issuer)?;
        if issuer.query().is_some() || issuer.fragment().is_some() {
            return Err(ConfigError::IssuerShape(c.issuer));
        }
        if c.audiences.is_empty() || c.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::NoAudience);
        }
        if let Some(algs) = &c.algorithms {
            if let Some(bad) = algs.iter().find(|a| !SUPPORTED_ALGORITHMS.contains(a)) {
                return Err(ConfigError::UnsupportedAlgorithm(format!("{bad:?}")));
            }
            if algs.is_empty() {
                return Err(ConfigError::NoAlgorithms(
                    "the configured allow-list is empty".into(),
                ));
            }
        }
        check_limits(&c)?;
        if c.dpop_proof_max_age.is_zero() || c.dpop_proof_max_age > Duration::from_secs(3600) {
            return Err(invalid(
                "dpop_proof_max_age",
                "must be greater than zero and at most 1 h",
            ));
        }
        if let Some(key) = &c.dpop_nonce_key {
            if key.len() < 32 {
                return Err(invalid(
                    "dpop_nonces",
                    "the nonce key must be at least 32 bytes",
                ));
            }
            if c.dpop_nonce_lifetime.is_zero() || c.dpop_nonce_lifetime > MAX_DURATION {
                return Err(invalid(
                    "dpop_nonces",
                    "the lifetime must be greater than zero",
                ));
            }
        }
        if let Some(url) = &c.resource_metadata {
            check_url("resource_metadata", url)?;
        }
        if let Some(origin) = &c.public_origin {
            let url = check_url("public_origin", origin)?;
            if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
                return Err(invalid("public_origin", "scheme, host and port only"));
            }
        }
        Ok(c)
    }
}

/// The settings past identity: sizes and durations greater than zero where
/// zero would refuse everything, every duration within its bound, the JWKS
/// lifetime clamps in order, a named can-reauthenticate claim.
fn check_limits(c: &VerifierConfig) -> Result<(), ConfigError> {
    let positive = [
        ("http_timeout", c.http_timeout.is_zero()),
        ("max_response_bytes", c.max_response_bytes == 0),
        ("max_token_bytes", c.max_token_bytes == 0),
        ("max_jwks_keys", c.max_jwks_keys == 0),
        ("jwks_max_ttl", c.jwks_max_ttl.is_zero()),
        ("revocation_retention", c.revocation_retention.is_zero()),
        ("logout_token_max_age", c.logout_token_max_age.is_zero()),
    ];
    if let Some((name, _)) = positive.iter().find(|(_, bad)| *bad) {
        return Err(invalid(name, "must be greater than zero"));
    }
    // Every duration is range-checked here, so no arithmetic on it later
    // (deadlines, expiries, Redis TTLs) can overflow or panic.
    let bounded = [
        ("leeway", c.leeway, MAX_LEEWAY),
        ("http_timeout", c.http_timeout, MAX_HTTP_TIMEOUT),
        ("jwks_default_ttl", c.jwks_default_ttl, MAX_DURATION),
        ("jwks_min_ttl", c.jwks_min_ttl, MAX_DURATION),
        ("jwks_max_ttl", c.jwks_max_ttl, MAX_DURATION),
        (
            "jwks_refresh_cooldown",
            c.jwks_refresh_cooldown,
            MAX_DURATION,
        ),
        ("stale_if_error", c.stale_if_error, MAX_DURATION),
        (
            "discovery_refresh_interval",
            c.discovery_refresh_interval,
            MAX_DURATION,
        ),
        (
            "max_session_age",
            c.max_session_age.unwrap_or_default(),
            MAX_DURATION,
        ),
        ("revocation_retention", c.revocation_retention, MAX_DURATION),
        ("logout_token_max_age", c.logout_token_max_age, MAX_DURATION),
    ];
    if let Some((name, _, max)) = bounded.iter().find(|(_, value, max)| value > max) {
        return Err(invalid(
            name,
            &format!("must be at most {} s", max.as_secs()),
        ));
    }
    if c.jwks_min_ttl > c.jwks_max_ttl {
        return Err(invalid("jwks_min_ttl", "must not exceed jwks_max_ttl"));
    }
    if c.can_reauthenticate_claim.is_empty() {
        return Err(invalid("can_reauthenticate_claim", "must not be empty"));
    }
    if c.max_session_age.is_some_and(|d| d.is_zero()) {
        return Err(invalid("max_session_age", "must be greater than zero"));
    }
    Ok(())
}

fn invalid(name: &'static str, reason: &str) -> ConfigError {
    ConfigError::InvalidSetting {
        name,
        reason: reason.to_owned(),
    }
}
