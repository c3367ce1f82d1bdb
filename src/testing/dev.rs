//! The development issuer's additions (`reauth dev-issuer`, or
//! [`TestIssuer::serve_dev_endpoints`](crate::testing::TestIssuer::serve_dev_endpoints)):
//! the "for testing only" marks, and the bodies of the local endpoints
//! `POST /dev/token` (mint a token) and `POST /dev/login` (choose who the
//! authorization endpoint logs in).
//!
//! Both bodies are JSON objects read strictly: unknown or repeated members,
//! wrong types and values past the documented bounds are a typed
//! [`DevRequestError`], never a default.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The claim every token of a development issuer carries, and the member
/// every JSON document it serves carries, with [`FOR_TESTING_ONLY`].
pub const DEV_MARKER_CLAIM: &str = "reauth_dev_issuer";

/// The value of the marks: [`DEV_MARKER_CLAIM`] and [`DEV_MARKER_HEADER`].
pub const FOR_TESTING_ONLY: &str = "for testing only";

/// The response header on every answer of a development issuer.
pub const DEV_MARKER_HEADER: &str = "x-reauth-dev-issuer";

/// Largest body `/dev/token` and `/dev/login` read: 16 KiB.
pub const MAX_DEV_BODY_BYTES: usize = 16 * 1024;

/// Longest `sub`, `acr`, `scope`, `amr` or `aud` value: 255 bytes.
pub const MAX_DEV_STRING_BYTES: usize = 255;

/// Most `amr` or `aud` values: 16.
pub const MAX_DEV_LIST_LEN: usize = 16;

/// Largest `auth_time_ago`: ten years, in seconds.
pub const MAX_DEV_AUTH_TIME_AGO: i64 = 10 * 366 * 24 * 3600;

/// Largest `expires_in`: 30 days, in seconds (the default is one hour).
pub const MAX_DEV_EXPIRES_IN: i64 = 30 * 24 * 3600;

/// Who logs in, and how: the body of `POST /dev/login`, and the part of
/// `POST /dev/token` that says whose login the token is. Every member is
/// optional; a missing one keeps the issuer's current choice (`sub`
/// `user-1`, `auth_time` now, `amr` `["pwd"]`, no `acr` unless set).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DevLogin {
    /// The subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// `auth_time` is this many seconds before the request (0 to
    /// [`MAX_DEV_AUTH_TIME_AGO`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time_ago: Option<i64>,
    /// The `acr` of the login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// The `amr` of the login (empty: no `amr` claim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
}

/// The body of `POST /dev/token`: a login (the members of [`DevLogin`])
/// and what to mint for it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DevTokenRequest {
    /// As [`DevLogin::sub`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// As [`DevLogin::auth_time_ago`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time_ago: Option<i64>,
    /// As [`DevLogin::acr`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// As [`DevLogin::amr`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
    /// The audiences. Default: the issuer's first client id for an ID
    /// token, [`TEST_RESOURCE`](crate::testing::TEST_RESOURCE) for an access token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Vec<String>>,
    /// Lifetime in seconds (1 to [`MAX_DEV_EXPIRES_IN`]). Default: 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<i64>,
    /// An RFC 9068 access token (`typ: at+jwt`, `client_id`, `jti`)
    /// rather than an ID token.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub access_token: bool,
    /// The access token's `scope` (only with `access_token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Why a `/dev/` body was refused (answered `400 invalid_request` with
/// this message).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DevRequestError {
    /// The body is larger than [`MAX_DEV_BODY_BYTES`].
    TooLarge,
    /// The body is not a JSON object of the documented members (unknown or
    /// repeated member, wrong type, not UTF-8...).
    NotAccepted(String),
    /// A member is outside its bounds.
    OutOfBounds {
        /// The member.
        member: &'static str,
        /// What it must be.
        must: &'static str,
    },
}

impl DevRequestError {
    /// The OAuth error code it is answered with: `invalid_request`.
    pub fn code(&self) -> &'static str {
        "invalid_request"
    }
}

impl fmt::Display for DevRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => write!(f, "the body is larger than {MAX_DEV_BODY_BYTES} bytes"),
            Self::NotAccepted(why) => write!(f, "the body is not accepted: {why}"),
            Self::OutOfBounds { member, must } => write!(f, "`{member}` must be {must}"),
        }
    }
}

impl std::error::Error for DevRequestError {}

fn check_string(member: &'static str, s: &str) -> Result<(), DevRequestError> {
    if s.is_empty() || s.len() > MAX_DEV_STRING_BYTES || s.chars().any(char::is_control) {
        return Err(DevRequestError::OutOfBounds {
            member,
            must: "1 to 255 bytes without control characters",
        });
    }
    Ok(())
}

fn check_list(member: &'static str, list: &[String]) -> Result<(), DevRequestError> {
    if list.len() > MAX_DEV_LIST_LEN {
        return Err(DevRequestError::OutOfBounds {
            member,
            must: "at most 16 values",
        });
    }
    list.iter().try_for_each(|s| check_string(member, s))
}

fn read<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, DevRequestError> {
    if body.len() > MAX_DEV_BODY_BYTES {
        return Err(DevRequestError::TooLarge);
    }
    // An empty body is the empty object: every default.
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    // An object only: serde would also read a struct from an array.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(DevRequestError::NotAccepted("not a JSON object".to_owned()));
    }
    serde_json::from_slice(body).map_err(|e| DevRequestError::NotAccepted(e.to_string()))
}

impl DevLogin {
    /// Reads a `POST /dev/login` body (an empty body is `{}`).
    pub fn from_json(body: &[u8]) -> Result<Self, DevRequestError> {
        let login: Self = read(body)?;
        login.check()?;
        Ok(login)
    }

    /// A login with the given members.
    pub fn new(
        sub: Option<String>,
        auth_time_ago: Option<i64>,
        acr: Option<String>,
        amr: Option<Vec<String>>,
    ) -> Self {
        Self {
            sub,
            auth_time_ago,
            acr,
            amr,
        }
    }

    fn check(&self) -> Result<(), DevRequestError> {
        if let Some(sub) = &self.sub {
            check_string("sub", sub)?;
        }
        if let Some(acr) = &self.acr {
            check_string("acr", acr)?;
        }
        if let Some(amr) = &self.amr {
            check_list("amr", amr)?;
        }
        match self.auth_time_ago {
            Some(t) if !(0..=MAX_DEV_AUTH_TIME_AGO).contains(&t) => {
                Err(DevRequestError::OutOfBounds {
                    member: "auth_time_ago",
                    must: "0 to 316224000 seconds",
                })
            }
            _ => Ok(()),
        }
    }
}

impl DevTokenRequest {
    /// The login part of the request.
    pub fn login(&self) -> DevLogin {
        DevLogin::new(
            self.sub.clone(),
            self.auth_time_ago,
            self.acr.clone(),
            self.amr.clone(),
        )
    }

    /// Reads a `POST /dev/token` body (an empty body is `{}`).
    pub fn from_json(body: &[u8]) -> Result<Self, DevRequestError> {
        let req: Self = read(body)?;
        req.login().check()?;
        if let Some(aud) = &req.aud {
            check_list("aud", aud)?;
            if aud.is_empty() {
                return Err(DevRequestError::OutOfBounds {
                    member: "aud",
                    must: "at least one value",
                });
            }
        }
        if let Some(scope) = &req.scope {
            check_string("scope", scope)?;
            if !req.access_token {
                return Err(DevRequestError::OutOfBounds {
                    member: "scope",
                    must: "given only with `access_token: true` (ID tokens carry no scope)",
                });
            }
        }
        match req.expires_in {
            Some(t) if !(1..=MAX_DEV_EXPIRES_IN).contains(&t) => {
                Err(DevRequestError::OutOfBounds {
                    member: "expires_in",
                    must: "1 to 2592000 seconds",
                })
            }
            _ => Ok(req),
        }
    }
}

/// The development issuer's settings, shared by its tenants.
#[derive(Debug, Clone)]
pub(crate) struct DevMode {
    /// The client ids the issuer accepts; the first is the default `aud`.
    pub clients: Vec<String>,
}

/// The page `GET /` of a development issuer.
pub(crate) fn home_page(issuer: &str) -> String {
    let issuer = html_escape(issuer);
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>reauth dev-issuer: for testing only</title></head>\n\
         <body><h1>reauth dev-issuer</h1>\n\
         <p><strong>For testing only.</strong> This issuer logs anyone in at once and mints any token \
         on request; never trust it outside a test.</p>\n\
         <ul><li>issuer: <code>{issuer}</code></li>\n\
         <li><a href=\"{issuer}/.well-known/openid-configuration\">discovery</a>, \
         <a href=\"{issuer}/jwks\">keys</a></li>\n\
         <li><code>POST {issuer}/dev/token</code>, <code>POST {issuer}/dev/login</code> \
         (JSON; see <code>reauth dev-issuer --help</code>)</li></ul></body></html>\n"
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Whether a `/dev/` request's `Host` may reach the endpoints: an IP
/// literal, `localhost`, or the issuer's own host. A name that a web page
/// made resolve to this machine (DNS rebinding) is refused.
pub(crate) fn host_allowed(host: Option<&str>, issuer: &str) -> bool {
    let Some(host) = host else {
        return false;
    };
    let Ok(url) = url::Url::parse(&format!("http://{host}/")) else {
        return false;
    };
    match url.host() {
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || url::Url::parse(issuer)
                    .ok()
                    .and_then(|i| i.host_str().map(|h| h.eq_ignore_ascii_case(d)))
                    .unwrap_or(false)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_read_strictly() {
        assert_eq!(
            DevTokenRequest::from_json(b"").unwrap(),
            DevTokenRequest::default()
        );
        let r = DevTokenRequest::from_json(br#"{"sub":"alice","auth_time_ago":3600}"#).unwrap();
        assert_eq!(r.sub.as_deref(), Some("alice"));
        assert_eq!(r.auth_time_ago, Some(3600));
        for bad in [
            &br#"{"sub":"a","sub":"b"}"#[..],
            br#"{"subject":"a"}"#,
            br#"{"auth_time_ago":-1}"#,
            br#"{"auth_time_ago":"3600"}"#,
            br#"{"expires_in":0}"#,
            br#"{"aud":[]}"#,
            br#"{"scope":"read"}"#,
            br#"{"sub":""}"#,
            br#"[]"#,
            br#"["alice", 3600]"#,
            b"\xff",
        ] {
            assert!(DevTokenRequest::from_json(bad).is_err(), "{bad:?}");
        }
        assert!(DevLogin::from_json(br#"{"aud":["x"]}"#).is_err());
        assert_eq!(
            DevTokenRequest::from_json(&vec![b' '; MAX_DEV_BODY_BYTES + 1]),
            Err(DevRequestError::TooLarge)
        );
    }

    #[test]
    fn dev_endpoints_refuse_rebound_names() {
        let issuer = "http://127.0.0.1:9000";
        assert!(host_allowed(Some("127.0.0.1:9000"), issuer));
        assert!(host_allowed(Some("[::1]:9000"), issuer));
        assert!(host_allowed(Some("localhost:9000"), issuer));
        assert!(!host_allowed(Some("evil.example:9000"), issuer));
        assert!(!host_allowed(None, issuer));
        assert!(host_allowed(
            Some("dev-issuer.test"),
            "https://dev-issuer.test"
        ));
    }
}
