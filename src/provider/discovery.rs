//! OpenID Provider metadata (OIDC Discovery 1.0): the request URL, and a pure
//! parser that enforces the issuer match of §4.3.

use jsonwebtoken::Algorithm;
use reqwest::Url;
use serde_json::Value;

use crate::config::check_url;
use crate::error::{ConfigError, InitError};
use crate::jwt::alg::SUPPORTED_ALGORITHMS;
use crate::jwt::json;

/// What we use of the discovery document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Discovery {
    pub jwks_uri: Url,
    /// `id_token_signing_alg_values_supported`, parsed (unknown names dropped).
    pub id_token_algs: Option<Vec<Algorithm>>,
    /// What the browser step-up uses (`reauth::stepup`), as published: a
    /// verifier does not need them, so they are checked only by a step-up
    /// client, at its start.
    pub authorization: AuthorizationMetadata,
}

/// The members of the discovery document (OIDC Discovery §3, RFC 8414 §2,
/// RFC 9207 §3) an authorization-code client needs, unchecked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct AuthorizationMetadata {
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    /// `token_endpoint_auth_methods_supported` (absent: `client_secret_basic`).
    pub token_auth_methods: Option<Vec<String>>,
    /// `code_challenge_methods_supported` (absent: unknown).
    pub code_challenge_methods: Option<Vec<String>>,
    /// `authorization_response_iss_parameter_supported`.
    pub iss_parameter: bool,
}

fn string_list(doc: &serde_json::Map<String, Value>, name: &str) -> Option<Vec<String>> {
    match doc.get(name)? {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .take(64)
                .collect(),
        ),
        _ => Some(Vec::new()),
    }
}

#[derive(Debug)]
pub(crate) enum DiscoveryError {
    Invalid(String),
    Init(InitError),
}

/// Parses a discovery document. §4.3: `issuer` MUST be identical to the
/// issuer we asked about; §3: `jwks_uri` is required, and we require it to
/// be https (or loopback http) like the issuer.
pub(crate) fn parse(body: &[u8], expected_issuer: &str) -> Result<Discovery, DiscoveryError> {
    let doc = json::parse_object(body)
        .map_err(|e| DiscoveryError::Invalid(format!("not a JSON object: {e}")))?;
    let issuer = match doc.get("issuer") {
        Some(Value::String(s)) => s,
        _ => {
            return Err(DiscoveryError::Invalid(
                "issuer is missing or not a string".into(),
            ));
        }
    };
    if issuer != expected_issuer {
        return Err(DiscoveryError::Init(InitError::IssuerMismatch {
            expected: expected_issuer.to_owned(),
            found: issuer.chars().take(200).collect(),
        }));
    }
    let jwks_uri = match doc.get("jwks_uri") {
        Some(Value::String(s)) => {
            check_url("jwks_uri", s).map_err(|e: ConfigError| DiscoveryError::Init(e.into()))?
        }
        _ => {
            return Err(DiscoveryError::Invalid(
                "jwks_uri is missing or not a string".into(),
            ));
        }
    };
    let id_token_algs = match doc.get("id_token_signing_alg_values_supported") {
        None => None,
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(|v| crate::jwt::alg::algorithm_named(v.as_str()?))
                .collect(),
        ),
        Some(_) => {
            return Err(DiscoveryError::Invalid(
                "id_token_signing_alg_values_supported is not an array".into(),
            ));
        }
    };
    let authorization = AuthorizationMetadata {
        authorization_endpoint: doc
            .get("authorization_endpoint")
            .and_then(Value::as_str)
            .map(str::to_owned),
        token_endpoint: doc
            .get("token_endpoint")
            .and_then(Value::as_str)
            .map(str::to_owned),
        token_auth_methods: string_list(&doc, "token_endpoint_auth_methods_supported"),
        code_challenge_methods: string_list(&doc, "code_challenge_methods_supported"),
        iss_parameter: doc.get("authorization_response_iss_parameter_supported")
            == Some(&Value::Bool(true)),
    };
    Ok(Discovery {
        jwks_uri,
        id_token_algs,
        authorization,
    })
}

/// The allow-list: configured, or the document's list ∩ [`SUPPORTED_ALGORITHMS`]
/// (RS256 when the document lists none; OIDC Discovery §3 makes it mandatory).
pub(crate) fn allowed_algorithms(
    configured: Option<&[Algorithm]>,
    discovered: Option<&[Algorithm]>,
) -> Result<Vec<Algorithm>, ConfigError> {
    if let Some(c) = configured {
        return Ok(c.to_vec());
    }
    let algs: Vec<Algorithm> = match discovered {
        None => vec![Algorithm::RS256],
        Some(list) => SUPPORTED_ALGORITHMS
            .iter()
            .copied()
            .filter(|a| list.contains(a))
            .collect(),
    };
    if algs.is_empty() {
        return Err(ConfigError::NoAlgorithms(
            "the issuer advertises no supported ID-token signing algorithm (HS* and none are never accepted)".into(),
        ));
    }
    Ok(algs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://id.example";

    #[test]
    fn issuer_must_match_exactly() {
        let ok = br#"{"issuer":"https://id.example","jwks_uri":"https://id.example/jwks"}"#;
        assert!(parse(ok, ISS).is_ok());
        let slash = br#"{"issuer":"https://id.example/","jwks_uri":"https://id.example/jwks"}"#;
        assert!(matches!(
            parse(slash, ISS),
            Err(DiscoveryError::Init(InitError::IssuerMismatch { .. }))
        ));
        let dup = br#"{"issuer":"https://evil","issuer":"https://id.example","jwks_uri":"https://id.example/jwks"}"#;
        assert!(matches!(parse(dup, ISS), Err(DiscoveryError::Invalid(_))));
    }

    #[test]
    fn jwks_uri_must_be_secure() {
        let http = br#"{"issuer":"https://id.example","jwks_uri":"http://id.example/jwks"}"#;
        assert!(matches!(
            parse(http, ISS),
            Err(DiscoveryError::Init(InitError::Config(_)))
        ));
        let none = br#"{"issuer":"https://id.example"}"#;
        assert!(matches!(parse(none, ISS), Err(DiscoveryError::Invalid(_))));
    }

    #[test]
    fn algorithm_defaults() {
        let d = [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256];
        assert_eq!(
            allowed_algorithms(None, Some(&d)).unwrap(),
            vec![Algorithm::RS256, Algorithm::ES256]
        );
        assert_eq!(
            allowed_algorithms(None, None).unwrap(),
            vec![Algorithm::RS256]
        );
        assert!(allowed_algorithms(None, Some(&[Algorithm::HS256])).is_err());
        assert_eq!(
            allowed_algorithms(Some(&[Algorithm::EdDSA]), Some(&d)).unwrap(),
            vec![Algorithm::EdDSA]
        );
    }
}
