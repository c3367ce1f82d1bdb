//! [`StreamClient`]: the receiver's side of SSF 1.0 §8 stream management
//! (create, read, status, verification, delete), for operators
//! (`reauth signals stream ...`). Every stream configuration the
//! transmitter returns must name it as `iss` (§8.1.1.1, §8.1.1.2).

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::VerifierConfig;
use crate::error::{ConfigError, FetchError, InitError};
use crate::provider::http::OAuthHttp;
use crate::signals::transmitter::{self, POLL, PUSH, TransmitterMetadata};

/// How SETs are to be delivered (SSF 1.0 §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// RFC 8935 push to `endpoint`; the transmitter sends
    /// `authorization_header` with each SET when given.
    Push {
        /// The receiver's URL (`reauth serve`'s `/ssf/events`).
        endpoint: String,
        /// E.g. `Bearer <the --ssf-push-token-file secret>`.
        authorization_header: Option<String>,
    },
    /// RFC 8936 poll: the transmitter names the endpoint.
    Poll,
}

/// A stream management request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// The transmitter's configuration could not be read.
    #[error(transparent)]
    Init(#[from] InitError),
    /// The request could not be made.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The transmitter publishes no such endpoint.
    #[error("the transmitter publishes no {0}")]
    NoEndpoint(&'static str),
    /// The transmitter answered with an error status.
    #[error("the transmitter answered HTTP {status}: {body}")]
    Status {
        /// The status.
        status: u16,
        /// The start of its body.
        body: String,
    },
    /// The answer is not what SSF 1.0 says it is.
    #[error("the transmitter's answer is invalid: {0}")]
    Invalid(String),
}

/// Manages streams at one transmitter, with a bearer token.
#[derive(Debug, Clone)]
pub struct StreamClient {
    metadata: TransmitterMetadata,
    http: OAuthHttp,
    token: String,
}

impl StreamClient {
    /// Reads `transmitter`'s configuration (its `issuer` must equal
    /// `transmitter`); requests carry `Authorization: Bearer <token>`.
    pub async fn discover(
        transmitter: &str,
        token: impl Into<String>,
        timeout: Duration,
    ) -> Result<Self, StreamError> {
        let config = VerifierConfig::builder(transmitter)
            .audience("reauth-stream-client")
            .http_timeout(timeout)
            .build()
            .map_err(InitError::from)?;
        let metadata = transmitter::fetch(&config, transmitter).await?;
        let token = token.into();
        if token.is_empty() {
            return Err(InitError::Config(ConfigError::InvalidSetting {
                name: "token",
                reason: "the bearer token is empty".into(),
            })
            .into());
        }
        Ok(Self {
            metadata,
            http: OAuthHttp::new(&config).map_err(InitError::from)?,
            token,
        })
    }

    /// The transmitter's configuration.
    pub fn metadata(&self) -> &TransmitterMetadata {
        &self.metadata
    }

    /// SSF 1.0 §8.1.1.1: creates a stream; the new stream's configuration.
    pub async fn create(
        &self,
        delivery: &Delivery,
        events_requested: &[String],
        description: Option<&str>,
    ) -> Result<Value, StreamError> {
        let method = match delivery {
            Delivery::Push { .. } => PUSH,
            Delivery::Poll => POLL,
        };
        let supported = &self.metadata.delivery_methods_supported;
        if !supported.is_empty() && !supported.iter().any(|m| m == method) {
            return Err(StreamError::Invalid(format!(
                "the transmitter does not support {method} (it lists {supported:?})"
            )));
        }
        let delivery = match delivery {
            Delivery::Push {
                endpoint,
                authorization_header,
            } => {
                let mut d = json!({"method": PUSH, "endpoint_url": endpoint});
                if let Some(h) = authorization_header {
                    d["authorization_header"] = json!(h);
                }
                d
            }
            Delivery::Poll => json!({"method": POLL}),
        };
        let mut body = json!({"delivery": delivery, "events_requested": events_requested});
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        let config = self
            .send("POST", self.configuration()?, None, Some(body), 201)
            .await?;
        self.check_stream(&config)?;
        Ok(config)
    }

    /// SSF 1.0 §8.1.1.2: one stream's configuration, or (without an id)
    /// the list of this receiver's streams.
    pub async fn get(&self, stream_id: Option<&str>) -> Result<Value, StreamError> {
        let query = stream_id.map(|id| ("stream_id", id));
        let config = self
            .send("GET", self.configuration()?, query, None, 200)
            .await?;
        match &config {
            Value::Array(streams) => streams.iter().try_for_each(|s| self.check_stream(s))?,
            other => self.check_stream(other)?,
        }
        Ok(config)
    }

    /// SSF 1.0 §8.1.2.1: a stream's status.
    pub async fn status(&self, stream_id: &str) -> Result<Value, StreamError> {
        let url = self
            .metadata
            .status_endpoint
            .clone()
            .ok_or(StreamError::NoEndpoint("status_endpoint"))?;
        let status = self
            .send("GET", url, Some(("stream_id", stream_id)), None, 200)
            .await?;
        match status.get("status").and_then(Value::as_str) {
            Some("enabled" | "paused" | "disabled") => Ok(status),
            _ => Err(StreamError::Invalid(
                "status is not enabled, paused or disabled".into(),
            )),
        }
    }

    /// SSF 1.0 §8.1.4.2: asks for a verification event carrying `state`.
    pub async fn verify(&self, stream_id: &str, state: Option<&str>) -> Result<(), StreamError> {
        let url = self
            .metadata
            .verification_endpoint
            .clone()
            .ok_or(StreamError::NoEndpoint("verification_endpoint"))?;
        let mut body = json!({"stream_id": stream_id});
        if let Some(s) = state {
            body["state"] = json!(s);
        }
        self.send("POST", url, None, Some(body), 204)
            .await
            .map(drop)
    }

    /// SSF 1.0 §8.1.1.5: deletes a stream.
    pub async fn delete(&self, stream_id: &str) -> Result<(), StreamError> {
        self.send(
            "DELETE",
            self.configuration()?,
            Some(("stream_id", stream_id)),
            None,
            204,
        )
        .await
        .map(drop)
    }

    fn configuration(&self) -> Result<reqwest::Url, StreamError> {
        self.metadata
            .configuration_endpoint
            .clone()
            .ok_or(StreamError::NoEndpoint("configuration_endpoint"))
    }

    /// A stream configuration names this transmitter as `iss`.
    fn check_stream(&self, config: &Value) -> Result<(), StreamError> {
        match config.get("iss").and_then(Value::as_str) {
            Some(iss) if iss == self.metadata.issuer => Ok(()),
            Some(iss) => Err(StreamError::Invalid(format!(
                "the stream's iss {iss:?} is not the transmitter {:?}",
                self.metadata.issuer
            ))),
            None => Err(StreamError::Invalid(
                "the stream configuration has no iss".into(),
            )),
        }
    }

    async fn send(
        &self,
        method: &str,
        mut url: reqwest::Url,
        query: Option<(&str, &str)>,
        body: Option<Value>,
        expected: u16,
    ) -> Result<Value, StreamError> {
        if let Some((k, v)) = query {
            url.query_pairs_mut().append_pair(k, v);
        }
        let (status, body) = transmitter::bearer_request(
            &self.http,
            "SSF stream management",
            method,
            url.as_str(),
            &self.token,
            body.as_ref(),
        )
        .await?;
        if status != expected {
            return Err(StreamError::Status {
                status,
                body: transmitter::excerpt(&body),
            });
        }
        if expected == 204 {
            return Ok(Value::Null);
        }
        // An object (or, for a read without a stream id, a list of them).
        serde_json::from_slice(&body).map_err(|e| StreamError::Invalid(format!("not JSON: {e}")))
    }
}
