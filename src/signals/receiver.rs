//! [`Receiver`]: a Security Event Token in, a revocation out. The SET is
//! checked against the transmitter's keys (cached like a verifier's), its
//! claims and subject validated, its event applied to the target
//! verifiers' revocation store (the entries `reauth revoke` writes,
//! namespaced by each verifier's issuer), and its `jti` recorded against
//! replay.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use crate::config::VerifierConfig;
use crate::error::{InitError, SetError, SetErrorCode, VerifyError};
use crate::jwt::token::Expected;
use crate::provider::keys::KeyCache;
use crate::provider::keys::signed::signed_payload;
use crate::revocation::{Namespace, RevocationStore};
use crate::signals::config::ReceiverConfig;
use crate::signals::event::{self, EventKind, SecurityEvent, SetContext};
use crate::signals::subject::{Subject, SubjectId};
use crate::signals::transmitter::{self, TransmitterMetadata};
use crate::verify::issuers::Verifiers;
use crate::verify::verifier::Verifier;

/// What a SET did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// One session of an issuer is revoked.
    SessionRevoked {
        /// The verifier's issuer.
        issuer: String,
        /// The session (`sid`).
        sid: String,
    },
    /// Every login of a user at or before `cutoff` is revoked.
    UserCutOff {
        /// The verifier's issuer.
        issuer: String,
        /// The user (`sub`).
        sub: String,
        /// The cut-off (Unix seconds): the event's time, never later than now.
        cutoff: i64,
    },
    /// Recorded (a verification, a stream status): see [`ReceiverStats`].
    Recorded,
    /// Accepted and counted, nothing to do (another event type, an
    /// assurance level that went up).
    Ignored,
}

impl Action {
    fn outcome(&self) -> &'static str {
        match self {
            Self::SessionRevoked { .. } | Self::UserCutOff { .. } => "applied",
            Self::Recorded => "recorded",
            Self::Ignored => "ignored",
        }
    }
}

/// A SET that was accepted: the event and what it did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Received {
    /// The validated event.
    pub event: SecurityEvent,
    /// What it did.
    pub action: Action,
}

/// The last verification event received (SSF 1.0 §8.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationSeen {
    /// Its `state`.
    pub state: Option<String>,
    /// The stream it names (`sub_id`'s opaque id).
    pub stream_id: Option<String>,
    /// When it was received (Unix seconds).
    pub at: i64,
}

/// The last stream status a `stream-updated` event announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamStatusSeen {
    /// `enabled`, `paused` or `disabled`.
    pub status: String,
    /// Why, when given.
    pub reason: Option<String>,
    /// When it was received (Unix seconds).
    pub at: i64,
}

/// What a receiver has seen: for metrics and `/readyz`-free monitoring.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// SETs by (event short name or `unknown`, outcome: `applied`,
    /// `recorded`, `ignored`, an RFC 8935 code, or `unavailable`).
    pub sets: Vec<((&'static str, &'static str), u64)>,
    /// When the last SET was accepted (Unix seconds).
    pub last_event_at: Option<i64>,
    /// The last verification event.
    pub last_verification: Option<VerificationSeen>,
    /// The last stream status announced.
    pub stream_status: Option<StreamStatusSeen>,
    /// Poll requests that failed (RFC 8936 delivery).
    pub poll_failures: u64,
    /// When a poll request last succeeded (Unix seconds).
    pub last_poll_at: Option<i64>,
}

#[derive(Default)]
struct Stats {
    sets: Mutex<HashMap<(&'static str, &'static str), u64>>,
    last_event_at: AtomicI64,
    last_verification: Mutex<Option<VerificationSeen>>,
    stream_status: Mutex<Option<StreamStatusSeen>>,
    poll_failures: std::sync::atomic::AtomicU64,
    last_poll_at: AtomicI64,
}

/// A Shared Signals (SSF 1.0) receiver: takes SETs (pushed or polled) and
/// applies them. Cheap to clone.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

struct Inner {
    config: ReceiverConfig,
    metadata: TransmitterMetadata,
    keys: Arc<KeyCache>,
    /// The transmitter seen as an issuer of signed tokens (timeouts, caps).
    key_config: Arc<VerifierConfig>,
    targets: Verifiers,
    replay: Arc<dyn RevocationStore>,
    /// SET `jti`s live under the transmitter's namespace.
    replay_ns: Namespace,
    stats: Stats,
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver")
            .field("transmitter", &self.inner.metadata.issuer)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// Fetches the transmitter's configuration (its `issuer` must equal
    /// the configured one) and keys, for SETs applied to `targets`' store.
    pub async fn discover(
        config: ReceiverConfig,
        targets: impl Into<Verifiers>,
    ) -> Result<Self, InitError> {
        let targets = targets.into();
        let mut key_config = VerifierConfig::builder(config.transmitter.clone())
            .audiences(config.audiences.clone())
            .leeway(config.leeway)
            .clock(config.clock.clone())
            .http_timeout(config.http_timeout)
            .jwks_refresh_cooldown(config.jwks_refresh_cooldown)
            .max_token_bytes(config.max_set_bytes)
            // SSF metadata lists no algorithms (OIDC's RS256 default does
            // not apply): every asymmetric one `reauth` verifies.
            .algorithms(crate::jwt::alg::SUPPORTED_ALGORITHMS)
            .build()?;
        key_config.metadata_url = Some(config.configuration_url());
        let key_config = Arc::new(key_config);
        let metadata = transmitter::fetch(&key_config, &config.transmitter).await?;
        if let Some(m) = metadata
            .critical_subject_members
            .iter()
            .find(|m| !["user", "session"].contains(&m.as_str()))
        {
            tracing::warn!(member = %m, "reauth: the transmitter declares a complex-subject member critical that this receiver does not act on: every event whose subject has it is refused (SSF 1.0 §3.4)");
        }
        let keys = KeyCache::init(key_config.clone()).await?;
        let replay = match &config.replay_store {
            Some(s) => s.clone(),
            None => targets
                .known()
                .first()
                .map(|v| v.revocation_store().clone())
                .ok_or_else(|| {
                    InitError::Config(crate::error::ConfigError::InvalidSetting {
                        name: "targets",
                        reason: "a receiver needs at least one verifier to apply events to".into(),
                    })
                })?,
        };
        let replay_ns = Namespace::new(&format!("ssf:{}", config.transmitter));
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                metadata,
                keys,
                key_config,
                targets,
                replay,
                replay_ns,
                stats: Stats::default(),
            }),
        })
    }

    /// The transmitter's configuration, as fetched at start.
    pub fn metadata(&self) -> &TransmitterMetadata {
        &self.inner.metadata
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiverConfig {
        &self.inner.config
    }

    /// True when the transmitter's keys are loaded.
    pub fn keys_ready(&self) -> bool {
        self.inner.keys.keys_ready()
    }

    /// The shared store (the poller's lease) and the transmitter's
    /// HTTP settings (the poller's client).
    pub(crate) fn shared(&self) -> (&Arc<dyn RevocationStore>, &VerifierConfig) {
        (&self.inner.replay, &self.inner.key_config)
    }

    /// What this receiver has seen.
    pub fn stats(&self) -> ReceiverStats {
        let s = &self.inner.stats;
        let mut sets: Vec<_> = s
            .sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect();
        sets.sort();
        let last = s.last_event_at.load(Ordering::Relaxed);
        let polled = s.last_poll_at.load(Ordering::Relaxed);
        ReceiverStats {
            sets,
            last_event_at: (last != 0).then_some(last),
            last_verification: s
                .last_verification
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            poll_failures: s.poll_failures.load(Ordering::Relaxed),
            last_poll_at: (polled != 0).then_some(polled),
            stream_status: s
                .stream_status
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// A poll request's result (metrics: failures, last success).
    pub(super) fn record_poll(&self, ok: bool) {
        let s = &self.inner.stats;
        if ok {
            s.last_poll_at.store(self.now(), Ordering::Relaxed);
        } else {
            s.poll_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn count(&self, event: &'static str, outcome: &'static str) {
        *self
            .inner
            .stats
            .sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((event, outcome))
            .or_default() += 1;
    }

    fn now(&self) -> i64 {
        self.inner.config.clock.now().timestamp()
    }

    /// Validates one SET (compact JWS) and applies it. A refusal carries
    /// its RFC 8935 code; [`SetError::Unavailable`] decided nothing (the
    /// transmitter should retry).
    pub async fn receive(&self, set: &str) -> Result<Received, SetError> {
        let mut name = "unknown";
        let result = self.receive_inner(set, &mut name).await;
        match &result {
            Ok(r) => {
                self.count(name, r.action.outcome());
                self.inner
                    .stats
                    .last_event_at
                    .store(self.now(), Ordering::Relaxed);
                tracing::info!(event = name, jti = %r.event.jti, action = ?r.action, "reauth: security event applied");
            }
            Err(e) => {
                let outcome = e.code().map_or("unavailable", SetErrorCode::as_str);
                self.count(name, outcome);
                tracing::warn!(event = name, code = outcome, error = %e, "reauth: security event refused");
            }
        }
        result
    }

    async fn receive_inner(
        &self,
        set: &str,
        name: &mut &'static str,
    ) -> Result<Received, SetError> {
        let config = &self.inner.config;
        // RFC 8417 §2.3, SSF 1.0 §4.1.1 and §4.1.5: a compact JWS, typ
        // secevent+jwt, an allowed asymmetric alg, the transmitter's key.
        let keys = &self.inner.keys;
        let generation = keys.generation();
        let signed = match signed_payload(keys, set, config.max_set_bytes, Expected::SecEvent).await
        {
            Ok(s) => s,
            // An unknown kid is final only when the JWKS was just fetched
            // and still lacks it; while the refresh cooldown holds the
            // fetch back (a rotation seconds after the last fetch), or the
            // fetch failed, nothing is decided: the transmitter retries.
            Err(VerifyError::Rejected(r))
                if r.kind() == crate::error::RejectionKind::UnknownKey
                    && (keys.generation() == generation || keys.last_fetch_failed()) =>
            {
                return Err(SetError::Unavailable(format!(
                    "{r}; the transmitter's keys could not be refreshed just now (cooldown or a failed fetch): retry"
                )));
            }
            Err(e) => return Err(e.into()),
        };
        let now = self.now();
        let leeway = secs(config.leeway);
        let max_age = secs(config.max_set_age);
        let event = event::validate(
            &signed.map,
            &SetContext {
                transmitter: &config.transmitter,
                audience: &config.audiences,
                now,
                leeway,
                max_age,
            },
        )?;
        *name = event.kind.name();
        self.check_critical(&event.subject)?;
        let action = self.apply(&event, now).await?;
        // The revocation is written first, the jti after: a write that
        // fails answers 503 and the transmitter's retry (same jti) is not
        // taken for a replay. Applying a SET twice changes nothing (the
        // same session, the same cut-off).
        let keep = event.iat.saturating_add(max_age).saturating_add(leeway);
        let fresh = self
            .inner
            .replay
            .record_jti(&self.inner.replay_ns, &event.jti, now, keep)
            .await?;
        if !fresh {
            return Err(SetError::invalid(format!(
                "jti {:?} was already received (replay)",
                crate::jwt::token::truncate(&event.jti)
            )));
        }
        Ok(Received { event, action })
    }

    /// SSF 1.0 §3.4: an event whose complex subject has a critical member
    /// we do not act on is discarded.
    fn check_critical(&self, subject: &Subject) -> Result<(), SetError> {
        let Subject::Complex { others, .. } = subject else {
            return Ok(());
        };
        let critical = &self.inner.metadata.critical_subject_members;
        match others.iter().find(|m| critical.contains(m)) {
            Some(m) => Err(SetError::invalid(format!(
                "the subject's {m:?} member is critical and this receiver cannot act on it (SSF 1.0 §3.4)"
            ))),
            None => Ok(()),
        }
    }

    async fn apply(&self, event: &SecurityEvent, now: i64) -> Result<Action, SetError> {
        match &event.kind {
            EventKind::Verification { state } => {
                let stream_id = match &event.subject {
                    Subject::Simple(SubjectId::Opaque { id }) => Some(id.clone()),
                    _ => None,
                };
                tracing::info!(state = ?state, stream_id = ?stream_id, "reauth: SSF verification event received");
                *self
                    .inner
                    .stats
                    .last_verification
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(VerificationSeen {
                    state: state.clone(),
                    stream_id,
                    at: now,
                });
                return Ok(Action::Recorded);
            }
            EventKind::StreamUpdated { status, reason } => {
                if status != "enabled" {
                    tracing::warn!(%status, reason = ?reason, "reauth: the transmitter says the stream is no longer enabled: revocations from the identity provider stop arriving");
                }
                *self
                    .inner
                    .stats
                    .stream_status
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(StreamStatusSeen {
                    status: status.clone(),
                    reason: reason.clone(),
                    at: now,
                });
                return Ok(Action::Recorded);
            }
            EventKind::Other | EventKind::AssuranceLevelChange { decrease: false } => {
                return Ok(Action::Ignored);
            }
            _ => {}
        }
        let (user, session) = self.principals(event).await?;
        // CAEP `event_timestamp` (else the SET's iat), never in the future.
        let cutoff = event.event_timestamp.unwrap_or(event.iat).min(now);
        let prefer_session = matches!(event.kind, EventKind::SessionRevoked);
        match (user, session) {
            (_, Some((verifier, sid))) if prefer_session => {
                verifier.revoke_session(&sid).await?;
                Ok(Action::SessionRevoked {
                    issuer: verifier.config().issuer().to_owned(),
                    sid,
                })
            }
            (Some((verifier, sub)), _) => {
                verifier.revoke_user(&sub, Some(cutoff)).await?;
                Ok(Action::UserCutOff {
                    issuer: verifier.config().issuer().to_owned(),
                    sub,
                    cutoff,
                })
            }
            // A user-wide event that names only a session: that session.
            (None, Some((verifier, sid))) => {
                verifier.revoke_session(&sid).await?;
                Ok(Action::SessionRevoked {
                    issuer: verifier.config().issuer().to_owned(),
                    sid,
                })
            }
            (None, None) => Err(SetError::invalid("the subject names no user or session")),
        }
    }

    /// The user and the session an event names, each with the verifier of
    /// its issuer.
    #[allow(clippy::type_complexity)]
    async fn principals(
        &self,
        event: &SecurityEvent,
    ) -> Result<(Option<(Verifier, String)>, Option<(Verifier, String)>), SetError> {
        match &event.subject {
            // CAEP 1.0 §3.1: a simple opaque subject of session-revoked is the session.
            Subject::Simple(SubjectId::Opaque { id })
                if matches!(event.kind, EventKind::SessionRevoked) =>
            {
                Ok((None, Some((self.default_verifier().await?, id.clone()))))
            }
            Subject::Simple(id) => Ok((Some(self.user(id).await?), None)),
            Subject::Complex { user, session, .. } => {
                let user = match user {
                    Some(id) => Some(self.user(id).await?),
                    None => None,
                };
                let session = match session {
                    Some(SubjectId::Opaque { id }) => {
                        let v = match &user {
                            Some((v, _)) => v.clone(),
                            None => self.default_verifier().await?,
                        };
                        Some((v, id.clone()))
                    }
                    Some(SubjectId::IssSub { iss, sub }) => {
                        Some((self.verifier_of(iss).await?, sub.clone()))
                    }
                    Some(other) => {
                        return Err(SetError::invalid(format!(
                            "a session subject of format {} is not supported",
                            other.format()
                        )));
                    }
                    None => None,
                };
                Ok((user, session))
            }
        }
    }

    async fn user(&self, id: &SubjectId) -> Result<(Verifier, String), SetError> {
        match id {
            SubjectId::IssSub { iss, sub } => Ok((self.verifier_of(iss).await?, sub.clone())),
            SubjectId::Opaque { id } => Ok((self.default_verifier().await?, id.clone())),
            SubjectId::Email { email } => {
                let Some(map) = &self.inner.config.email_to_subject else {
                    return Err(SetError::invalid(
                        "an email subject is acted on only through a configured mapping (ReceiverConfigBuilder::email_to_subject)",
                    ));
                };
                match map(email) {
                    Some(sub) => Ok((self.default_verifier().await?, sub)),
                    None => Err(SetError::invalid("the email subject maps to no user")),
                }
            }
            SubjectId::Other { format } => Err(SetError::invalid(format!(
                "a user subject of format {format:?} is not supported (iss_sub, opaque, email)"
            ))),
        }
    }

    /// The verifier of `iss` (RFC 9493 `iss_sub`): the one, or one of the set.
    async fn verifier_of(&self, iss: &str) -> Result<Verifier, SetError> {
        let not_served = || {
            SetError::invalid(format!(
                "the subject's issuer {:?} is not an issuer this service verifies",
                crate::jwt::token::truncate(iss)
            ))
        };
        let config = &self.inner.config;
        match &self.inner.targets {
            Verifiers::One(v) if v.config().issuer() == iss => Ok(v.clone()),
            Verifiers::One(_) => Err(not_served()),
            // One provider's events never reach another's users.
            Verifiers::Set(_)
                if iss != config.transmitter
                    && config.subject_issuer.as_deref() != Some(iss)
                    && !config.allowed_subject_issuers.iter().any(|a| a == iss) =>
            {
                Err(SetError::invalid(format!(
                    "the subject's issuer {:?} is not one this transmitter may speak for (allow it with allowed_subject_issuers / --ssf-allowed-issuers)",
                    crate::jwt::token::truncate(iss)
                )))
            }
            Verifiers::Set(s) => s.verifier_for(iss).await.map_err(|e| match e {
                VerifyError::Rejected(_) => not_served(),
                other => other.into(),
            }),
        }
    }

    /// The verifier `opaque` and `email` subjects belong to.
    async fn default_verifier(&self) -> Result<Verifier, SetError> {
        if let Some(iss) = &self.inner.config.subject_issuer {
            return self.verifier_of(iss).await;
        }
        let known = self.inner.targets.known();
        if let Some(v) = known
            .iter()
            .find(|v| v.config().issuer() == self.inner.config.transmitter)
        {
            return Ok(v.clone());
        }
        match known.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(SetError::invalid(
                "an opaque or email subject cannot be placed: this service verifies several issuers and none is the transmitter (configure the subject issuer)",
            )),
        }
    }
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
