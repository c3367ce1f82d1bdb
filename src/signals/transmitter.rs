//! The transmitter's configuration (SSF 1.0 §7.1): fetched once at start,
//! `issuer` checked against the configured one (§7.2.3), every endpoint
//! https (or loopback http).

use reqwest::Url;
use serde_json::Value;

use crate::config::{VerifierConfig, check_url};
use crate::error::{FetchError, InitError};
use crate::jwt::json;
use crate::provider::http::{HttpFetcher, OAuthHttp};
use crate::signals::config::configuration_url;

/// The RFC 8935 push delivery method URI (SSF 1.0 §6.1.1).
pub const PUSH: &str = "urn:ietf:rfc:8935";
/// The RFC 8936 poll delivery method URI (SSF 1.0 §6.1.2).
pub const POLL: &str = "urn:ietf:rfc:8936";

/// What a transmitter publishes about itself (SSF 1.0 §7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransmitterMetadata {
    /// `issuer`, equal to the configured transmitter.
    pub issuer: String,
    /// `spec_version` (absent: `1_0-ID1`).
    pub spec_version: Option<String>,
    /// `jwks_uri`: the SETs' keys. Required here (unsigned SETs are refused).
    pub jwks_uri: Url,
    /// `delivery_methods_supported`.
    pub delivery_methods_supported: Vec<String>,
    /// `configuration_endpoint`: streams are created, read and deleted there.
    pub configuration_endpoint: Option<Url>,
    /// `status_endpoint`.
    pub status_endpoint: Option<Url>,
    /// `verification_endpoint`.
    pub verification_endpoint: Option<Url>,
    /// `critical_subject_members`: complex-subject members a receiver
    /// must understand, or discard the event (SSF 1.0 §3.4).
    pub critical_subject_members: Vec<String>,
}

fn strings(doc: &serde_json::Map<String, Value>, name: &str) -> Result<Vec<String>, String> {
    match doc.get(name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) if items.len() <= 64 => items
            .iter()
            .map(|v| {
                v.as_str()
                    .filter(|s| s.len() <= 1024)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("{name} holds a member that is not a short string"))
            })
            .collect(),
        Some(_) => Err(format!("{name} is not an array of at most 64 strings")),
    }
}

fn endpoint(
    doc: &serde_json::Map<String, Value>,
    name: &'static str,
) -> Result<Option<Url>, String> {
    match doc.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => check_url(name, s).map(Some).map_err(|e| e.to_string()),
        Some(_) => Err(format!("{name} is not a string")),
    }
}

/// Parses the configuration document; `expected` is the configured issuer.
pub(crate) fn parse(
    body: &[u8],
    expected: &str,
    url: &str,
) -> Result<TransmitterMetadata, InitError> {
    let invalid = |reason: String| {
        InitError::Discovery(FetchError {
            what: "transmitter configuration",
            url: url.to_owned(),
            reason,
        })
    };
    let doc = json::parse_object(body).map_err(|e| invalid(format!("not a JSON object: {e}")))?;
    // SSF 1.0 §7.2.3: the issuer is identical to the one asked about.
    let issuer = match doc.get("issuer") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err(invalid("issuer is missing or not a string".into())),
    };
    if issuer != expected {
        return Err(InitError::IssuerMismatch {
            expected: expected.to_owned(),
            found: issuer.chars().take(200).collect(),
        });
    }
    // SSF 1.0 §7.1: jwks_uri is required of a transmitter that signs.
    let jwks_uri = endpoint(&doc, "jwks_uri")
        .map_err(invalid)?
        .ok_or_else(|| {
            invalid("jwks_uri is missing: this receiver accepts signed SETs only".into())
        })?;
    Ok(TransmitterMetadata {
        issuer,
        spec_version: doc
            .get("spec_version")
            .and_then(Value::as_str)
            .map(str::to_owned),
        jwks_uri,
        delivery_methods_supported: strings(&doc, "delivery_methods_supported").map_err(invalid)?,
        configuration_endpoint: endpoint(&doc, "configuration_endpoint").map_err(invalid)?,
        status_endpoint: endpoint(&doc, "status_endpoint").map_err(invalid)?,
        verification_endpoint: endpoint(&doc, "verification_endpoint").map_err(invalid)?,
        critical_subject_members: strings(&doc, "critical_subject_members").map_err(invalid)?,
    })
}

/// Fetches and parses `issuer`'s configuration (SSF 1.0 §7.2) with the
/// timeouts and caps of `http`: what the receiver and the stream client
/// both start from.
pub(crate) async fn fetch(
    http: &VerifierConfig,
    issuer: &str,
) -> Result<TransmitterMetadata, InitError> {
    let url = check_url("transmitter configuration", &configuration_url(issuer))?;
    let fetched = HttpFetcher::new(http)?
        .get("transmitter configuration", &url)
        .await
        .map_err(InitError::Discovery)?;
    parse(&fetched.body, issuer, url.as_str())
}

/// One request to a transmitter endpoint with `Authorization: Bearer`
/// (the poll endpoint, the stream management API): JSON in, the status
/// and the body out. `Err` only when no answer came.
pub(crate) async fn bearer_request(
    http: &OAuthHttp,
    what: &'static str,
    method: &str,
    url: &str,
    token: &str,
    body: Option<&serde_json::Value>,
) -> Result<(u16, Vec<u8>), FetchError> {
    let fail = |reason: String| FetchError {
        what,
        url: url.to_owned(),
        reason,
    };
    let mut request = http::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {token}"))
        .header("accept", "application/json");
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(
            body.map(|b| serde_json::to_vec(b).unwrap_or_default())
                .unwrap_or_default(),
        )
        .map_err(|e| fail(e.to_string()))?;
    let response = http.send(what, request).await?;
    Ok((response.status().as_u16(), response.into_body()))
}

/// The start of an error answer's body, for a message.
pub(crate) fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}
