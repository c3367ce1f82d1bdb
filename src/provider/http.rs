//! The only place that does network I/O: a GET with a total timeout, a body
//! cap and same-host-only redirects.

use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_LENGTH};
use reqwest::{Client, Url, redirect};

use crate::config::VerifierConfig;
use crate::error::{ConfigError, FetchError};

/// A fetched body, with the header the key cache needs.
pub(crate) struct Fetched {
    pub body: Vec<u8>,
    pub cache_control: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct HttpFetcher {
    client: Client,
    timeout: Duration,
    max_body: usize,
}

impl HttpFetcher {
    pub fn new(config: &VerifierConfig) -> Result<Self, ConfigError> {
        let max_redirects = config.max_redirects;
        // Redirects stay on the same scheme, host and port, a bounded number of times.
        let policy = redirect::Policy::custom(move |attempt| {
            let same_origin = attempt
                .previous()
                .first()
                .is_some_and(|first| first.origin() == attempt.url().origin());
            if attempt.previous().len() > max_redirects || !same_origin {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        Ok(Self {
            client: client(config, policy)?,
            timeout: config.http_timeout,
            max_body: config.max_response_bytes,
        })
    }

    /// GETs `url`; the whole exchange (connect, headers, body) is bounded by
    /// the configured timeout, and the body by the configured size.
    pub async fn get(&self, what: &'static str, url: &Url) -> Result<Fetched, FetchError> {
        let fail = |reason: String| FetchError {
            what,
            url: url.to_string(),
            reason,
        };
        // reqwest's own timeout covers the body too; this outer bound also
        // covers anything it might not (DNS, a slow body cut into tiny chunks).
        match tokio::time::timeout(self.timeout, self.get_inner(url)).await {
            Ok(result) => result.map_err(fail),
            Err(_) => Err(fail(format!("timed out after {:?}", self.timeout))),
        }
    }

    async fn get_inner(&self, url: &Url) -> Result<Fetched, String> {
        let mut resp = self
            .client
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(describe)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(if status.is_redirection() {
                format!("HTTP {status}: redirect refused (other host, or too many)")
            } else {
                format!("HTTP {status}")
            });
        }
        let cache_control = resp
            .headers()
            .get_all(CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ");
        let body = read_capped(&mut resp, self.max_body).await?;
        Ok(Fetched {
            body,
            cache_control: (!cache_control.is_empty()).then_some(cache_control),
        })
    }
}

/// A client with the configured timeouts and this redirect policy.
fn client(config: &VerifierConfig, policy: redirect::Policy) -> Result<Client, ConfigError> {
    Client::builder()
        .timeout(config.http_timeout)
        .connect_timeout(config.http_timeout)
        .redirect(policy)
        .user_agent(concat!("reauth/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConfigError::HttpClient(e.to_string()))
}

/// Reads a whole body, refusing one over `max_body` bytes (declared or streamed).
async fn read_capped(resp: &mut reqwest::Response, max_body: usize) -> Result<Vec<u8>, String> {
    let too_large = || format!("body exceeds {max_body} bytes");
    let declared = resp
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > max_body as u64) {
        return Err(too_large());
    }
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(64 * 1024) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(describe)? {
        if body.len() + chunk.len() > max_body {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The back channel that sends credentials: the browser step-up's token
/// endpoint, a Shared Signals transmitter's stream management and poll
/// endpoints. Any method, the same timeout and body cap as
/// [`HttpFetcher`], and no redirects at all (an endpoint that redirects is
/// refused, never followed with the code or the bearer token).
#[cfg(any(feature = "stepup", feature = "signals"))]
#[derive(Debug, Clone)]
pub(crate) struct OAuthHttp {
    client: Client,
    timeout: Duration,
    max_body: usize,
}

#[cfg(any(feature = "stepup", feature = "signals"))]
impl OAuthHttp {
    pub fn new(config: &VerifierConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            client: client(config, redirect::Policy::none())?,
            timeout: config.http_timeout,
            max_body: config.max_response_bytes,
        })
    }

    /// Sends `request` (oauth2's) and returns the whole response, whatever
    /// its status (the caller reads OAuth error bodies).
    pub async fn send(
        &self,
        what: &'static str,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, FetchError> {
        let url = request.uri().to_string();
        let fail = |reason: String| FetchError {
            what,
            url: url.clone(),
            reason,
        };
        let exchange = async {
            let request = reqwest::Request::try_from(request).map_err(describe)?;
            let mut resp = self.client.execute(request).await.map_err(describe)?;
            let mut out = http::Response::builder().status(resp.status().as_u16());
            for (name, value) in resp.headers() {
                out = out.header(name.as_str(), value.as_bytes());
            }
            let body = read_capped(&mut resp, self.max_body).await?;
            out.body(body).map_err(|e| e.to_string())
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result.map_err(fail),
            Err(_) => Err(fail(format!("timed out after {:?}", self.timeout))),
        }
    }
}

fn describe(e: reqwest::Error) -> String {
    // reqwest's Display includes the URL; the source chain has the cause.
    let mut chain = Vec::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        format!("connection failed: {}", connect_cause(&chain))
    } else if e.is_redirect() {
        "too many redirects".to_owned()
    } else {
        std::iter::once(e.to_string())
            .chain(chain)
            .collect::<Vec<_>>()
            .join(": ")
    }
}

/// Why a connection failed, in words an operator can act on: rustls names
/// certificate problems by enum variant (`UnknownIssuer`, `NotValidForName`...).
fn connect_cause(chain: &[String]) -> String {
    let all = chain.join(": ");
    // rustls/webpki spell these as enum variants or, with context, as words.
    let tls: [(&[&str], &str); 7] = [
        (
            &["UnknownIssuer"],
            "the TLS certificate is not trusted (unknown issuer: self-signed, or a private CA not in the system's trust store)",
        ),
        (
            &["CaUsedAsEndEntity"],
            "the TLS certificate is not trusted (a self-signed CA certificate used as the server's)",
        ),
        (
            &["NotValidForName", "not valid for name"],
            "the TLS certificate does not match the host name",
        ),
        (
            &["Expired", "certificate expired"],
            "the TLS certificate has expired",
        ),
        (
            &[
                "NotValidYet",
                "certificate not valid yet",
                "certificate not valid before",
            ],
            "the TLS certificate is not valid yet (check the clock)",
        ),
        (
            &["Revoked", "certificate revoked"],
            "the TLS certificate is revoked",
        ),
        (
            &["InvalidPurpose"],
            "the TLS certificate is not for a server",
        ),
    ];
    if let Some((_, words)) = tls
        .iter()
        .find(|(spellings, _)| spellings.iter().any(|v| all.contains(v)))
    {
        return format!("{words} ({all})");
    }
    if all.contains("invalid peer certificate") {
        return format!("the TLS certificate was refused ({all})");
    }
    // The innermost cause is the most specific ("Connection refused (os error 111)").
    chain
        .last()
        .cloned()
        .unwrap_or_else(|| "unknown cause".to_owned())
}
