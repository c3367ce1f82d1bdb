//! RFC 8936 poll delivery: [`Poller`] asks the transmitter's poll endpoint
//! for SETs, applies each through the [`Receiver`], and acknowledges it
//! (`ack`) or reports why not (`setErrs`) in its next request. Instances
//! sharing a store poll one at a time (a lease in the store), so no SET is
//! acknowledged twice; errors back off exponentially.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::error::{ConfigError, FetchError, SetError, StoreError};
use crate::jwt::json as strict;
use crate::provider::http::OAuthHttp;
use crate::signals::receiver::Receiver;
use crate::signals::transmitter;

/// How a [`Poller`] polls. Every setting has a default.
#[derive(Clone)]
pub struct PollConfig {
    pub(crate) endpoint: String,
    pub(crate) token: PollToken,
    pub(crate) max_events: u32,
    pub(crate) long_poll: bool,
    pub(crate) request_timeout: Duration,
    pub(crate) backoff_min: Duration,
    pub(crate) backoff_max: Duration,
    pub(crate) lease_ttl: Duration,
    pub(crate) max_response_bytes: usize,
}

impl std::fmt::Debug for PollConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PollConfig")
            .field("endpoint", &self.endpoint)
            .field("token", &"<redacted>")
            .field("max_events", &self.max_events)
            .field("long_poll", &self.long_poll)
            .field("request_timeout", &self.request_timeout)
            .finish_non_exhaustive()
    }
}

/// Where the poll request's bearer token comes from.
#[derive(Clone)]
pub(crate) enum PollToken {
    Fixed(String),
    /// Read again before every request: an OAuth access token rotated by
    /// another process (SSF 1.0 §7.1.1) is picked up without a restart.
    File(std::path::PathBuf),
}

/// The largest token file read.
const MAX_TOKEN_FILE_BYTES: u64 = 64 * 1024;

impl PollToken {
    fn get(&self) -> Result<String, PollError> {
        let path = match self {
            Self::Fixed(t) => return Ok(t.clone()),
            Self::File(p) => p,
        };
        let fail = |why: String| PollError::Token(format!("{}: {why}", path.display()));
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut std::io::Read::take(
                std::fs::File::open(path).map_err(|e| fail(e.to_string()))?,
                MAX_TOKEN_FILE_BYTES + 1,
            ),
            &mut bytes,
        )
        .map_err(|e| fail(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|_| fail("not UTF-8".into()))?;
        let token = text.trim();
        if token.is_empty()
            || token.len() as u64 > MAX_TOKEN_FILE_BYTES
            || token.contains(['\n', '\r'])
        {
            return Err(fail("must hold one non-empty line".into()));
        }
        Ok(token.to_owned())
    }
}

impl PollConfig {
    /// Polls `endpoint` (the stream's `delivery.endpoint_url`) with
    /// `Authorization: Bearer <token>`.
    pub fn new(endpoint: impl Into<String>, token: impl Into<String>) -> Self {
        Self::with(endpoint.into(), PollToken::Fixed(token.into()))
    }

    /// [`new`](Self::new), the token read from `path` before every
    /// request (a token another process rotates is picked up).
    pub fn with_token_file(
        endpoint: impl Into<String>,
        path: impl Into<std::path::PathBuf>,
    ) -> Self {
        Self::with(endpoint.into(), PollToken::File(path.into()))
    }

    fn with(endpoint: String, token: PollToken) -> Self {
        Self {
            endpoint,
            token,
            max_events: 100,
            long_poll: true,
            request_timeout: Duration::from_secs(60),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            lease_ttl: Duration::from_secs(90),
            max_response_bytes: 16 * 1024 * 1024,
        }
    }

    /// `maxEvents` per request. Default 100.
    pub fn max_events(mut self, n: u32) -> Self {
        self.max_events = n;
        self
    }

    /// Long polling (`returnImmediately: false`, the transmitter holds the
    /// request until SETs arrive). Default on.
    pub fn long_poll(mut self, on: bool) -> Self {
        self.long_poll = on;
        self
    }

    /// The longest a poll request may take (a long poll included).
    /// Default 60 s.
    pub fn request_timeout(mut self, d: Duration) -> Self {
        self.request_timeout = d;
        self
    }

    /// The first and the longest wait after a failed request (doubling in
    /// between). Default 1 s and 60 s.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff_min = min;
        self.backoff_max = max;
        self
    }

    /// How long one instance keeps the poller's lease without renewing it:
    /// after a crash (or a pause) another instance takes over after this.
    /// Must exceed the request timeout. Default 90 s.
    pub fn lease_ttl(mut self, d: Duration) -> Self {
        self.lease_ttl = d;
        self
    }

    /// The largest poll response read, in bytes. Default 16 MiB.
    pub fn max_response_bytes(mut self, n: usize) -> Self {
        self.max_response_bytes = n;
        self
    }

    fn check(&self) -> Result<(), ConfigError> {
        crate::config::check_url("poll endpoint", &self.endpoint)?;
        let bad = |name: &'static str, reason: &str| ConfigError::InvalidSetting {
            name,
            reason: reason.into(),
        };
        if let PollToken::Fixed(t) = &self.token {
            if t.is_empty() {
                return Err(bad("poll token", "is empty"));
            }
        }
        if self.max_events == 0 {
            return Err(bad("max_events", "must be greater than zero"));
        }
        if self.request_timeout.is_zero() || self.backoff_min.is_zero() {
            return Err(bad(
                "request_timeout",
                "timeouts and backoff must be greater than zero",
            ));
        }
        if self.backoff_max < self.backoff_min {
            return Err(bad("backoff", "the longest wait is shorter than the first"));
        }
        if self.lease_ttl <= self.request_timeout {
            return Err(bad("lease_ttl", "must be longer than the request timeout"));
        }
        if self.max_response_bytes == 0 {
            return Err(bad("max_response_bytes", "must be greater than zero"));
        }
        Ok(())
    }
}

/// A poll request that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PollError {
    /// The request could not be made, or timed out.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The transmitter answered with an error status.
    #[error("the poll endpoint answered HTTP {status}: {body}")]
    Status {
        /// The status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// The answer is not an RFC 8936 §2.5 response.
    #[error("the poll response is invalid: {0}")]
    Invalid(String),
    /// The shared store (the lease) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The token file could not be read.
    #[error("the poll token file {0}")]
    Token(String),
}

/// One round of polling.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PollRound {
    /// False when another instance holds the lease (nothing was asked).
    pub leader: bool,
    /// SETs in the response.
    pub received: usize,
    /// SETs applied (to be acknowledged in the next request).
    pub applied: usize,
    /// SETs refused (reported in `setErrs` in the next request).
    pub refused: usize,
    /// SETs left unacknowledged (nothing decided: the transmitter sends them again).
    pub deferred: usize,
    /// The transmitter has more (`moreAvailable`).
    pub more_available: bool,
}

/// Polls a transmitter (RFC 8936) for one [`Receiver`].
pub struct Poller {
    receiver: Receiver,
    config: PollConfig,
    http: OAuthHttp,
    holder: String,
    acks: Vec<String>,
    set_errs: Map<String, Value>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("config", &self.config)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

const LEASE: &str = "ssf-poll";

impl Poller {
    /// A poller for `receiver`; checks the configuration.
    pub fn new(receiver: Receiver, config: PollConfig) -> Result<Self, ConfigError> {
        config.check()?;
        let (_, http_config) = receiver.shared();
        let mut http_config = http_config.clone();
        http_config.http_timeout = config.request_timeout;
        http_config.max_response_bytes = config.max_response_bytes;
        let http = OAuthHttp::new(&http_config)?;
        let mut id = [0u8; 12];
        let _ = aws_lc_rs::rand::fill(&mut id);
        let holder = id.iter().map(|b| format!("{b:02x}")).collect();
        Ok(Self {
            receiver,
            config,
            http,
            holder,
            acks: Vec::new(),
            set_errs: Map::new(),
        })
    }

    /// SETs applied or refused whose acknowledgement is not sent yet.
    pub fn pending(&self) -> usize {
        self.acks.len() + self.set_errs.len()
    }

    /// One request: takes (or renews) the lease, sends the pending `ack`
    /// and `setErrs`, and applies the SETs returned. Without the lease,
    /// only pending acknowledgements are sent (`maxEvents: 0`).
    pub async fn poll_once(&mut self) -> Result<PollRound, PollError> {
        let (store, _) = self.receiver.shared();
        let store = store.clone();
        let leader = store
            .lease(
                &lease_name(&self.config.endpoint),
                &self.holder,
                self.config.lease_ttl,
            )
            .await?;
        if !leader && self.pending() == 0 {
            return Ok(PollRound::default());
        }
        // RFC 8936 §2.4: maxEvents, returnImmediately, ack, setErrs.
        let body = json!({
            "maxEvents": if leader { self.config.max_events } else { 0 },
            "returnImmediately": !leader || !self.config.long_poll,
            "ack": self.acks,
            "setErrs": self.set_errs,
        });
        let response = self.send(&body).await;
        self.receiver.record_poll(response.is_ok());
        let response = response?;
        // The acknowledgements reached the transmitter.
        self.acks.clear();
        self.set_errs.clear();
        let (sets, more_available) = parse_response(&response)?;
        let mut round = PollRound {
            leader,
            received: sets.len(),
            more_available,
            ..PollRound::default()
        };
        if !leader {
            return Ok(round);
        }
        for (jti, set) in sets.into_iter().take(self.config.max_events as usize) {
            let Value::String(set) = set else {
                self.set_errs
                    .insert(jti, SetError::invalid("the SET is not a string").body());
                round.refused += 1;
                continue;
            };
            match self.receiver.receive(&set).await {
                Ok(_) => {
                    self.acks.push(jti);
                    round.applied += 1;
                }
                Err(e @ SetError::Refused { .. }) => {
                    self.set_errs.insert(jti, e.body());
                    round.refused += 1;
                }
                // Nothing decided: left unacknowledged, sent again.
                Err(SetError::Unavailable(why)) => {
                    tracing::warn!(%why, "reauth: a polled SET could not be applied; it stays unacknowledged");
                    round.deferred += 1;
                }
            }
        }
        Ok(round)
    }

    /// Polls until the task is dropped: again at once while SETs arrive,
    /// after the backoff on errors (1 s, doubling to the maximum).
    pub async fn run(mut self) {
        let mut backoff = self.config.backoff_min;
        loop {
            match self.poll_once().await {
                Ok(round) => {
                    backoff = self.config.backoff_min;
                    if !round.leader {
                        // Another instance polls; check the lease again later.
                        tokio::time::sleep(self.config.lease_ttl / 3).await;
                    } else if round.received == 0 && !self.config.long_poll {
                        tokio::time::sleep(self.config.backoff_min).await;
                    } else if round.deferred > 0 {
                        tokio::time::sleep(backoff).await;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?backoff, "reauth: SSF poll failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(self.config.backoff_max);
                }
            }
        }
    }

    async fn send(&self, body: &Value) -> Result<Map<String, Value>, PollError> {
        let token = self.config.token.get()?;
        let (status, response) = transmitter::bearer_request(
            &self.http,
            "SSF poll endpoint",
            "POST",
            &self.config.endpoint,
            &token,
            Some(body),
        )
        .await?;
        if status != 200 {
            return Err(PollError::Status {
                status,
                body: transmitter::excerpt(&response),
            });
        }
        strict::parse_object(&response).map_err(|e| PollError::Invalid(e.to_string()))
    }
}

/// RFC 8936 §2.5: `sets` (jti -> SET) and `moreAvailable`.
fn parse_response(doc: &Map<String, Value>) -> Result<(Map<String, Value>, bool), PollError> {
    let sets = match doc.get("sets") {
        Some(Value::Object(sets)) => sets.clone(),
        None => Map::new(),
        Some(_) => return Err(PollError::Invalid("sets is not a JSON object".into())),
    };
    let more = match doc.get("moreAvailable") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(PollError::Invalid("moreAvailable is not a boolean".into())),
    };
    Ok((sets, more))
}

/// One lease per poll endpoint (several streams may be polled).
fn lease_name(endpoint: &str) -> String {
    crate::revocation::Namespace::new(endpoint).scoped(LEASE)
}
