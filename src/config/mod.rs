//! [`VerifierConfig`] and its builder. Every field documents its default.

mod reauth_policy;

pub use reauth_policy::ReauthPolicy;

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use url::{Host, Url};

use crate::clock::{SharedClock, SystemClock};
use crate::error::ConfigError;
use crate::jwt::alg::SUPPORTED_ALGORITHMS;
use crate::revocation::RevocationStore;

/// Authgear's claim telling whether the user can re-authenticate.
pub const AUTHGEAR_CAN_REAUTHENTICATE: &str = "https://authgear.com/claims/user/can_reauthenticate";

/// How a [`Verifier`](crate::Verifier) decides. Build with [`VerifierConfig::builder`].
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub(crate) issuer: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: Option<Vec<Algorithm>>,
    pub(crate) leeway: Duration,
    pub(crate) can_reauthenticate_claim: String,
    pub(crate) when_cannot_reauthenticate: ReauthPolicy,
    pub(crate) clock: SharedClock,
    pub(crate) http_timeout: Duration,
    pub(crate) max_response_bytes: usize,
    pub(crate) max_token_bytes: usize,
    pub(crate) max_jwks_keys: usize,
    pub(crate) max_redirects: usize,
    pub(crate) jwks_default_ttl: Duration,
    pub(crate) jwks_min_ttl: Duration,
    pub(crate) jwks_max_ttl: Duration,
    pub(crate) jwks_refresh_cooldown: Duration,
    pub(crate) stale_if_error: Duration,
    pub(crate) discovery_refresh_interval: Duration,
    pub(crate) max_session_age: Option<Duration>,
    pub(crate) revocation_store: Option<Arc<dyn RevocationStore>>,
    pub(crate) revocation_retention: Duration,
    pub(crate) logout_token_max_age: Duration,
    pub(crate) memo_max_entries: usize,
    pub(crate) memo_max_bytes: u64,
    pub(crate) insecure_trust_iat_as_login_time: bool,
    pub(crate) token_kind: crate::jwt::token_kind::TokenKind,
}

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
            },
        }
    }

    /// The configured issuer, exactly as given.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The accepted audiences (client ids).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The leeway applied to every time comparison.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// The clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The verifier-wide policy for users who cannot re-authenticate.
    pub fn when_cannot_reauthenticate_policy(&self) -> ReauthPolicy {
        self.when_cannot_reauthenticate
    }

    /// The kind of token accepted.
    pub fn kind(&self) -> crate::jwt::token_kind::TokenKind {
        self.token_kind
    }

    /// The absolute session lifetime, if configured.
    pub fn max_session_age_value(&self) -> Option<Duration> {
        self.max_session_age
    }

    /// How long revocation entries are kept: the session lifetime when set,
    /// else the retention, plus the leeway.
    pub(crate) fn revocation_keep(&self) -> Duration {
        self.max_session_age
            .unwrap_or(self.revocation_retention)
            .saturating_add(self.leeway)
    }

    /// The URL of the discovery document (OIDC Discovery §4: the issuer with
    /// any trailing `/` removed, then `/.well-known/openid-configuration`).
    pub fn discovery_url(&self) -> String {
        format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        )
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
        Ok(c)
    }
}

/// The longest any configured duration may be: 100 years.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);
/// The largest leeway: 1 h (more would make `max_age` meaningless).
pub const MAX_LEEWAY: Duration = Duration::from_secs(3600);
/// The longest HTTP fetch timeout: 1 h.
pub const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(3600);

fn invalid(name: &'static str, reason: &str) -> ConfigError {
    ConfigError::InvalidSetting {
        name,
        reason: reason.to_owned(),
    }
}

/// HTTPS is required; plain http only for loopback hosts (`127.0.0.0/8`,
/// `::1`, `localhost`), for development.
pub(crate) fn check_url(what: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw).map_err(|_| ConfigError::InvalidUrl {
        what,
        url: raw.to_owned(),
    })?;
    let insecure = || ConfigError::InsecureUrl {
        what,
        url: raw.to_owned(),
    };
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(insecure()),
        _ => {
            return Err(ConfigError::InvalidUrl {
                what,
                url: raw.to_owned(),
            });
        }
    }
    if url.host().is_none() || !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::InvalidUrl {
            what,
            url: raw.to_owned(),
        });
    }
    Ok(url)
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(issuer: &str) -> Result<VerifierConfig, ConfigError> {
        VerifierConfig::builder(issuer).audience("c").build()
    }

    #[test]
    fn https_required_except_loopback() {
        assert!(build("https://id.example.com").is_ok());
        assert!(build("http://127.0.0.1:8080").is_ok());
        assert!(build("http://127.9.9.9").is_ok());
        assert!(build("http://[::1]:9").is_ok());
        assert!(build("http://localhost:3000").is_ok());
        for bad in [
            "http://id.example.com",
            "http://10.0.0.1",
            "http://localhost.evil.com",
            "ftp://127.0.0.1",
            "not a url",
            "https://u:p@id.example.com",
        ] {
            assert!(build(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            build("https://a.example?x=1"),
            Err(ConfigError::IssuerShape(_))
        ));
    }

    #[test]
    fn rejects_hmac_and_missing_audience() {
        let e = VerifierConfig::builder("https://a.example")
            .audience("c")
            .algorithms([Algorithm::HS256])
            .build()
            .unwrap_err();
        assert!(matches!(e, ConfigError::UnsupportedAlgorithm(_)));
        assert_eq!(
            VerifierConfig::builder("https://a.example")
                .build()
                .unwrap_err(),
            ConfigError::NoAudience
        );
    }

    /// Security review finding 8: extreme durations are a config error,
    /// never a panic later.
    #[test]
    fn every_duration_is_range_checked() {
        type Set = fn(VerifierConfigBuilder, Duration) -> VerifierConfigBuilder;
        let setters: [(&str, Set); 11] = [
            ("leeway", |b, d| b.leeway(d)),
            ("http_timeout", |b, d| b.http_timeout(d)),
            ("jwks_default_ttl", |b, d| b.jwks_default_ttl(d)),
            ("jwks_min_ttl", |b, d| b.jwks_min_ttl(d)),
            ("jwks_max_ttl", |b, d| b.jwks_max_ttl(d)),
            ("jwks_refresh_cooldown", |b, d| b.jwks_refresh_cooldown(d)),
            ("stale_if_error", |b, d| b.stale_if_error(d)),
            ("discovery_refresh_interval", |b, d| {
                b.discovery_refresh_interval(d)
            }),
            ("max_session_age", |b, d| b.max_session_age(Some(d))),
            ("revocation_retention", |b, d| b.revocation_retention(d)),
            ("logout_token_max_age", |b, d| b.logout_token_max_age(d)),
        ];
        for (name, set) in setters {
            for extreme in [
                Duration::MAX,
                Duration::from_secs(u64::MAX),
                MAX_DURATION + Duration::from_secs(1),
            ] {
                let b = set(
                    VerifierConfig::builder("https://a.example").audience("c"),
                    extreme,
                );
                let err = b.build().expect_err(name);
                assert!(
                    matches!(err, ConfigError::InvalidSetting { name: n, .. } if n == name || n == "jwks_min_ttl"),
                    "{name}: {err}"
                );
            }
            let ok = set(
                VerifierConfig::builder("https://a.example").audience("c"),
                Duration::from_secs(600),
            );
            assert!(ok.build().is_ok(), "{name} = 600 s");
        }
        let c = VerifierConfig::builder("https://a.example")
            .audience("c")
            .leeway(MAX_LEEWAY)
            .max_session_age(Some(MAX_DURATION))
            .build()
            .unwrap();
        assert_eq!(c.revocation_keep(), MAX_DURATION + MAX_LEEWAY);
    }

    #[test]
    fn discovery_url_drops_trailing_slash() {
        let c = build("https://a.example/tenant/").unwrap();
        assert_eq!(
            c.discovery_url(),
            "https://a.example/tenant/.well-known/openid-configuration"
        );
    }
}
