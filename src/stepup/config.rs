//! How a [`StepUp`](super::StepUp) client behaves. Every field has a
//! default; build with [`StepUpConfig::builder`].

use std::sync::Arc;
use std::time::Duration;

use super::callback::DEFAULT_MAX_CALLBACK_BYTES;
use super::pending::PendingStore;
use crate::error::ConfigError;

/// How the client authenticates at the token endpoint (OIDC Core §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic with the client secret. The default when a secret is set.
    SecretBasic,
    /// The secret in the form body.
    SecretPost,
    /// A public client: no secret; PKCE is the only binding (the default
    /// without a secret).
    None,
}

impl ClientAuth {
    /// The discovery name (`client_secret_basic`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::SecretBasic => "client_secret_basic",
            Self::SecretPost => "client_secret_post",
            Self::None => "none",
        }
    }
}

/// Which hint about the user stepping up goes to the issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserHint {
    /// `login_hint`: the user's `sub`. The default.
    #[default]
    LoginHint,
    /// `id_token_hint`: the user's current ID token (OIDC Core §3.1.2.1).
    /// The ID token is the session here: this puts a live session
    /// credential in the browser's history and the issuer's access logs.
    /// Use it only with an issuer that needs it to pick the account.
    IdToken,
    /// No hint.
    None,
}

/// Where pending step-ups are kept: always chosen (a builder without
/// either is refused by `build`, so there is no "unset" state here).
#[derive(Clone)]
pub(crate) enum Keep {
    /// Sealed in a cookie with `seal`; opened with it or an `earlier` key
    /// (kept for a rotation).
    Cookie {
        seal: cookie::Key,
        earlier: Vec<cookie::Key>,
    },
    /// In the app's store (with a browser-binding cookie).
    Store(Arc<dyn PendingStore>),
}

/// Every setting but where pending step-ups are kept (the builder's draft).
#[derive(Clone)]
pub struct Settings {
    pub(crate) client_id: String,
    pub(crate) client_secret: Option<String>,
    pub(crate) client_auth: ClientAuth,
    pub(crate) redirect_uri: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) prompt_login: bool,
    pub(crate) hint: UserHint,
    pub(crate) pending_lifetime: Duration,
    pub(crate) pending_cookie_prefix: String,
    pub(crate) session_cookie: String,
    pub(crate) browser_types: Vec<String>,
    pub(crate) max_callback_bytes: usize,
    pub(crate) max_tracked_states: usize,
    pub(crate) short_key: bool,
    /// `previous_cookie_key` came before `cookie_key`, or with a store.
    pub(crate) orphan_previous_key: bool,
}

/// A step-up client's settings, built by [`StepUpConfig::builder`]; where
/// pending step-ups are kept is always chosen.
#[derive(Clone)]
pub struct StepUpConfig {
    settings: Settings,
    pub(crate) keep: Keep,
}

impl std::ops::Deref for StepUpConfig {
    type Target = Settings;
    fn deref(&self) -> &Settings {
        &self.settings
    }
}

impl std::fmt::Debug for StepUpConfigBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.settings.fmt(f)
    }
}

impl std::fmt::Debug for StepUpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.settings.fmt(f)
    }
}

/// Never the secret or the cookie key.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepUpConfig")
            .field("client_id", &self.client_id)
            .field("client_auth", &self.client_auth)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl StepUpConfig {
    /// Starts a configuration for `client_id` whose callback is
    /// `redirect_uri` (absolute, https or loopback http; registered with
    /// the issuer).
    pub fn builder(
        client_id: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> StepUpConfigBuilder {
        StepUpConfigBuilder {
            keep: None,
            settings: Settings {
                client_id: client_id.into(),
                client_secret: None,
                client_auth: ClientAuth::None,
                redirect_uri: redirect_uri.into(),
                scopes: Vec::new(),
                prompt_login: true,
                hint: UserHint::default(),
                pending_lifetime: Duration::from_secs(600),
                pending_cookie_prefix: "reauth-stepup".to_owned(),
                session_cookie: "reauth_id_token".to_owned(),
                browser_types: vec!["text/html".to_owned()],
                max_callback_bytes: DEFAULT_MAX_CALLBACK_BYTES,
                max_tracked_states: 100_000,
                short_key: false,
                orphan_previous_key: false,
            },
        }
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// Builds a [`StepUpConfig`].
pub struct StepUpConfigBuilder {
    settings: Settings,
    keep: Option<Keep>,
}

impl StepUpConfigBuilder {
    /// The client secret, sent with `client_secret_basic` unless
    /// [`client_auth`](Self::client_auth) says otherwise. Defaults to none
    /// (a public client, PKCE only).
    pub fn client_secret(mut self, secret: impl Into<String>) -> Self {
        self.settings.client_secret = Some(secret.into());
        if self.settings.client_auth == ClientAuth::None {
            self.settings.client_auth = ClientAuth::SecretBasic;
        }
        self
    }

    /// How to authenticate at the token endpoint. Defaults to
    /// `client_secret_basic` with a secret, `none` without.
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.settings.client_auth = auth;
        self
    }

    /// Scopes to ask for besides `openid`. Defaults to none.
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.settings.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// Whether a step-up sends `prompt=login`. Defaults to **true**: a
    /// step-up must end in a new login, and an issuer whose own session is
    /// younger than `max_age` (the user signed in to another app a minute
    /// ago) would otherwise return that older login, which
    /// [`finish`](super::StepUp::finish) refuses. Plain sign-ins never send it.
    pub fn prompt_login(mut self, on: bool) -> Self {
        self.settings.prompt_login = on;
        self
    }

    /// Which hint about the user goes with a step-up. Defaults to
    /// [`UserHint::LoginHint`].
    pub fn user_hint(mut self, hint: UserHint) -> Self {
        self.settings.hint = hint;
        self
    }

    /// How long a step-up may take, from `begin` to the callback. Defaults
    /// to 10 minutes; at most one hour.
    pub fn pending_lifetime(mut self, lifetime: Duration) -> Self {
        self.settings.pending_lifetime = lifetime;
        self
    }

    /// Keeps pending step-ups in cookies sealed with a key derived (HKDF)
    /// from `master` (at least 32 random bytes, the same on every instance,
    /// kept secret like a session key).
    pub fn cookie_key(mut self, master: &[u8]) -> Self {
        // A short key is refused in `build`, never used weak.
        self.settings.short_key = master.len() < 32;
        if !self.settings.short_key {
            self.keep = Some(Keep::Cookie {
                seal: cookie::Key::derive_from(master),
                earlier: Vec::new(),
            });
        }
        self
    }

    /// An earlier cookie key, kept during a rotation: pending step-ups it
    /// sealed still open (for their lifetime, 10 minutes by default), new
    /// ones are sealed with [`cookie_key`](Self::cookie_key)'s. At least 32
    /// bytes, like it; call it after `cookie_key`.
    pub fn previous_cookie_key(mut self, master: &[u8]) -> Self {
        if master.len() < 32 {
            self.settings.short_key = true;
            return self;
        }
        match &mut self.keep {
            Some(Keep::Cookie { earlier, .. }) => earlier.push(cookie::Key::derive_from(master)),
            _ => self.settings.orphan_previous_key = true,
        }
        self
    }

    /// Keeps pending step-ups in `store` instead of sealed cookies (a
    /// small random cookie still binds each one to the browser that began
    /// it: a callback from another browser is refused).
    pub fn pending_store(mut self, store: Arc<dyn PendingStore>) -> Self {
        if matches!(&self.keep, Some(Keep::Cookie { earlier, .. }) if !earlier.is_empty()) {
            self.settings.orphan_previous_key = true;
        }
        self.keep = Some(Keep::Store(store));
        self
    }

    /// The name of the cookie holding the user's ID token (HttpOnly,
    /// SameSite=Lax, Path=/; when the redirect URI is https, Secure and
    /// prefixed `__Host-`, so no subdomain can plant or shadow it).
    /// Defaults to `reauth_id_token`.
    pub fn session_cookie(mut self, name: impl Into<String>) -> Self {
        self.settings.session_cookie = name.into();
        self
    }

    /// The prefix of the pending cookies (`<prefix>.<state>`). When the
    /// redirect URI is https they are named `__Host-<prefix>.<state>`,
    /// Secure, Path=/, like the session cookie (no subdomain can plant a
    /// pending step-up); on http their path is the callback's. Defaults to
    /// `reauth-stepup`.
    pub fn pending_cookie_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.settings.pending_cookie_prefix = prefix.into();
        self
    }

    /// The `Accept` media types that make a request a browser's (redirected
    /// rather than answered 401). Defaults to `text/html`.
    pub fn browser_types<I: IntoIterator<Item = S>, S: Into<String>>(mut self, types: I) -> Self {
        self.settings.browser_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// The longest callback query accepted. Defaults to 8 KiB.
    pub fn max_callback_bytes(mut self, bytes: usize) -> Self {
        self.settings.max_callback_bytes = bytes;
        self
    }

    /// With cookies: how many used `state`s this process remembers to
    /// refuse a replayed callback (per instance; the issuer's single-use
    /// code is the backstop across instances). Defaults to 100,000.
    pub fn max_tracked_states(mut self, n: usize) -> Self {
        self.settings.max_tracked_states = n;
        self
    }

    /// Checks and returns the configuration.
    pub fn build(self) -> Result<StepUpConfig, ConfigError> {
        let c = self.settings;
        let bad = |name, reason: &str| ConfigError::InvalidSetting {
            name,
            reason: reason.to_owned(),
        };
        if c.client_id.is_empty() {
            return Err(bad("client_id", "is empty"));
        }
        crate::config::check_url("redirect_uri", &c.redirect_uri)?;
        if c.client_secret.is_none() && c.client_auth != ClientAuth::None {
            return Err(bad(
                "client_auth",
                "a client secret method needs a client secret",
            ));
        }
        if c.client_secret.is_some() && c.client_auth == ClientAuth::None {
            return Err(bad(
                "client_auth",
                "a client secret was given but the method is none: choose one",
            ));
        }
        if c.short_key {
            return Err(bad("cookie_key", "must be at least 32 random bytes"));
        }
        if c.orphan_previous_key {
            return Err(bad(
                "previous_cookie_key",
                "an earlier cookie key needs the current one first (cookie_key), and no pending_store",
            ));
        }
        let Some(keep) = self.keep else {
            return Err(bad(
                "cookie_key",
                "pending step-ups need a cookie key of at least 32 random bytes (or a pending_store)",
            ));
        };
        if c.max_tracked_states == 0 {
            return Err(bad("max_tracked_states", "must be at least 1"));
        }
        if c.pending_lifetime.is_zero() || c.pending_lifetime > Duration::from_secs(3600) {
            return Err(bad("pending_lifetime", "must be between 1 s and 1 hour"));
        }
        let token = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if !token(&c.session_cookie) || !token(&c.pending_cookie_prefix) {
            return Err(bad(
                "session_cookie",
                "cookie names are letters, digits, '-', '_' and '.'",
            ));
        }
        if c.scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
            return Err(bad("scopes", "a scope is empty or holds a space"));
        }
        if c.browser_types.is_empty() {
            return Err(bad("browser_types", "name at least one media type"));
        }
        if c.max_callback_bytes < 256 {
            return Err(bad("max_callback_bytes", "must be at least 256"));
        }
        Ok(StepUpConfig { settings: c, keep })
    }
}
