//! [`ReceiverConfig`]: what a Shared Signals receiver is configured with,
//! every setting with a documented default.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{SharedClock, SystemClock};
use crate::config::{MAX_DURATION, MAX_HTTP_TIMEOUT, MAX_LEEWAY, check_url};
use crate::error::ConfigError;
use crate::revocation::RevocationStore;

/// Maps an `email` subject to the `sub` it is known by (RFC 9493 §3.2.2
/// subjects are acted on only through one: an address is not an identity
/// the verifier knows).
pub type EmailToSubject = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How a [`Receiver`](super::Receiver) decides. Build with
/// [`ReceiverConfig::builder`].
#[derive(Clone)]
pub struct ReceiverConfig {
    pub(crate) transmitter: String,
    pub(crate) audiences: Vec<String>,
    pub(crate) leeway: Duration,
    pub(crate) max_set_bytes: usize,
    pub(crate) max_set_age: Duration,
    pub(crate) http_timeout: Duration,
    pub(crate) clock: SharedClock,
    pub(crate) replay_store: Option<Arc<dyn RevocationStore>>,
    pub(crate) email_to_subject: Option<EmailToSubject>,
    pub(crate) subject_issuer: Option<String>,
    pub(crate) push_token: Option<String>,
    pub(crate) jwks_refresh_cooldown: Duration,
    pub(crate) allowed_subject_issuers: Vec<String>,
}

impl fmt::Debug for ReceiverConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverConfig")
            .field("transmitter", &self.transmitter)
            .field("audiences", &self.audiences)
            .field("leeway", &self.leeway)
            .field("max_set_bytes", &self.max_set_bytes)
            .field("max_set_age", &self.max_set_age)
            .field("http_timeout", &self.http_timeout)
            .field("replay_store", &self.replay_store.is_some())
            .field("email_to_subject", &self.email_to_subject.is_some())
            .field("subject_issuer", &self.subject_issuer)
            .field(
                "push_token",
                &self.push_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl ReceiverConfig {
    /// A receiver of the transmitter `transmitter` (its issuer identifier,
    /// exactly as in the SETs' `iss`), for SETs whose `aud` names `audience`.
    pub fn builder(
        transmitter: impl Into<String>,
        audience: impl Into<String>,
    ) -> ReceiverConfigBuilder {
        ReceiverConfigBuilder {
            config: ReceiverConfig {
                transmitter: transmitter.into(),
                audiences: vec![audience.into()],
                leeway: Duration::from_secs(30),
                max_set_bytes: 64 * 1024,
                max_set_age: Duration::from_secs(7 * 86_400),
                http_timeout: Duration::from_secs(5),
                clock: Arc::new(SystemClock),
                replay_store: None,
                email_to_subject: None,
                subject_issuer: None,
                push_token: None,
                jwks_refresh_cooldown: Duration::from_secs(30),
                allowed_subject_issuers: Vec::new(),
            },
        }
    }

    /// The transmitter's issuer identifier.
    pub fn transmitter(&self) -> &str {
        &self.transmitter
    }

    /// The largest SET accepted, in bytes.
    pub fn max_set_bytes(&self) -> usize {
        self.max_set_bytes
    }

    /// The URL of the transmitter's configuration (SSF 1.0 §7.2:
    /// `/.well-known/ssf-configuration` between the host and the path).
    pub fn configuration_url(&self) -> String {
        configuration_url(&self.transmitter)
    }
}

/// SSF 1.0 §7.2: the well-known path goes between the host and the
/// issuer's path (a trailing `/` removed first).
pub(crate) fn configuration_url(issuer: &str) -> String {
    let issuer = issuer.trim_end_matches('/');
    let after_scheme = issuer.find("://").map_or(0, |i| i + 3);
    match issuer[after_scheme..].find('/') {
        Some(i) => {
            let (origin, path) = issuer.split_at(after_scheme + i);
            format!("{origin}/.well-known/ssf-configuration{path}")
        }
        None => format!("{issuer}/.well-known/ssf-configuration"),
    }
}

/// Builder for [`ReceiverConfig`]; [`build`](Self::build) validates.
#[derive(Debug, Clone)]
pub struct ReceiverConfigBuilder {
    config: ReceiverConfig,
}

impl ReceiverConfigBuilder {
    /// Another accepted audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.config.audiences.push(audience.into());
        self
    }

    /// Clock skew tolerated on `iat`. Default 30 s; at most
    /// [`MAX_LEEWAY`](crate::MAX_LEEWAY).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.config.leeway = leeway;
        self
    }

    /// The largest SET accepted, in bytes (checked before any decoding).
    /// Default 64 KiB.
    pub fn max_set_bytes(mut self, max: usize) -> Self {
        self.config.max_set_bytes = max;
        self
    }

    /// How old a SET's `iat` may be; a `jti` is remembered this long (plus
    /// the leeway), so no older SET can be replayed. Default 7 days (a
    /// stream paused for a week still delivers).
    pub fn max_set_age(mut self, max: Duration) -> Self {
        self.config.max_set_age = max;
        self
    }

    /// The transmitter's configuration, keys, stream and poll requests:
    /// total time per request. Default 5 s.
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.config.http_timeout = timeout;
        self
    }

    /// The least time between two fetches of the transmitter's JWKS for
    /// an unknown `kid` (a rotation is picked up on first sight, a flood of
    /// made-up kids fetches once per period). Default 30 s.
    pub fn jwks_refresh_cooldown(mut self, cooldown: Duration) -> Self {
        self.config.jwks_refresh_cooldown = cooldown;
        self
    }

    /// The clock ("now" for `iat` and cut-offs). Default: the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.config.clock = clock;
        self
    }

    /// Where SET `jti`s are recorded against replay. Default: the first
    /// target verifier's revocation store (Redis when the verifiers share
    /// one, so every instance sees every `jti`).
    pub fn replay_store(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.config.replay_store = Some(store);
        self
    }

    /// Acts on `email` subjects by mapping an address to the `sub` the
    /// verifier knows. Default: none (an `email` subject is refused with
    /// `invalid_request`).
    pub fn email_to_subject(mut self, map: EmailToSubject) -> Self {
        self.config.email_to_subject = Some(map);
        self
    }

    /// The issuer whose users (and sessions) `opaque` and `email` subjects
    /// name. Default: the verifier whose issuer is the transmitter's, else
    /// the only verifier; with several and none of them the transmitter,
    /// such subjects are refused until this is set.
    pub fn subject_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.config.subject_issuer = Some(issuer.into());
        self
    }

    /// The bearer secret a transmitter's pushes must carry
    /// ([`Receiver::receive_push`](super::Receiver::receive_push); the
    /// stream's `authorization_header` is `Bearer <secret>`). At least 16
    /// bytes. Default: none (pushes are refused; poll instead).
    pub fn push_token(mut self, secret: impl Into<String>) -> Self {
        self.config.push_token = Some(secret.into());
        self
    }

    /// With an issuer set (several issuers, or tenants), the issuers whose
    /// users an `iss_sub` subject may name besides the transmitter's own
    /// and [`subject_issuer`](Self::subject_issuer): one identity
    /// provider's events must not cut off another's users, nor make the
    /// set discover tenants. Default: none more. (With one verifier, its
    /// issuer is always allowed.)
    pub fn allowed_subject_issuers<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        issuers: I,
    ) -> Self {
        self.config.allowed_subject_issuers = issuers.into_iter().map(Into::into).collect();
        self
    }

    /// Validates and returns the configuration. Makes no request.
    pub fn build(self) -> Result<ReceiverConfig, ConfigError> {
        let c = self.config;
        let url = check_url("transmitter", &c.transmitter)?;
        if url.query().is_some() || url.fragment().is_some() {
            return Err(ConfigError::IssuerShape(c.transmitter));
        }
        if c.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::NoAudience);
        }
        let bad = |name: &'static str, why: &str| ConfigError::InvalidSetting {
            name,
            reason: why.to_owned(),
        };
        if c.max_set_bytes == 0 {
            return Err(bad("max_set_bytes", "must be greater than zero"));
        }
        if c.max_set_age.is_zero() || c.max_set_age > MAX_DURATION {
            return Err(bad(
                "max_set_age",
                "must be greater than zero and at most MAX_DURATION",
            ));
        }
        if c.leeway > MAX_LEEWAY {
            return Err(bad("leeway", "must be at most MAX_LEEWAY"));
        }
        if c.http_timeout.is_zero() || c.http_timeout > MAX_HTTP_TIMEOUT {
            return Err(bad(
                "http_timeout",
                "must be greater than zero and at most MAX_HTTP_TIMEOUT",
            ));
        }
        if c.push_token.as_ref().is_some_and(|t| {
            t.len() < 16 || t.chars().any(|ch| ch.is_whitespace() || ch.is_control())
        }) {
            return Err(bad(
                "push_token",
                "must be at least 16 bytes, without spaces or control characters",
            ));
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::configuration_url;

    #[test]
    fn the_well_known_path_goes_before_the_issuer_path() {
        assert_eq!(
            configuration_url("https://tr.example.com"),
            "https://tr.example.com/.well-known/ssf-configuration"
        );
        assert_eq!(
            configuration_url("https://tr.example.com/issuer1/"),
            "https://tr.example.com/.well-known/ssf-configuration/issuer1"
        );
        assert_eq!(
            configuration_url("http://127.0.0.1:9/a/b"),
            "http://127.0.0.1:9/.well-known/ssf-configuration/a/b"
        );
    }
}
