//! The HTTP side of a development issuer: its home page and the local
//! endpoints `POST /dev/token` and `GET|POST /dev/login`.

use std::sync::Mutex;

use serde_json::{Map, Value, json};

use super::dev::{
    DEV_MARKER_CLAIM, DevLogin, DevMode, DevRequestError, DevTokenRequest, FOR_TESTING_ONLY,
    home_page, host_allowed,
};
use super::login::{Answer, Logins, TestLogin};
use super::names::TEST_RESOURCE;

/// Whether `path` is one of a development issuer's own paths.
pub(crate) fn is_dev_path(path: &str) -> bool {
    matches!(path, "/" | "/dev/token" | "/dev/login")
}

/// One request to a development issuer's own path, as the server read it.
pub(crate) struct DevCall<'a> {
    pub path: &'a str,
    pub method: &'a str,
    pub host: Option<&'a str>,
    pub content_type: Option<&'a str>,
    /// The body; `None` when it was larger than
    /// [`MAX_DEV_BODY_BYTES`](super::dev::MAX_DEV_BODY_BYTES).
    pub body: Option<&'a [u8]>,
}

/// Signs a header and claims into a compact JWS.
pub(crate) type Sign<'a> = &'a dyn Fn(&Map<String, Value>, Map<String, Value>) -> String;

/// What signs a development issuer's tokens, and when "now" is.
pub(crate) struct Signer<'a> {
    pub issuer: &'a str,
    pub now: i64,
    pub sign: Sign<'a>,
}

fn refuse(status: u16, error: &str, description: &str) -> Answer {
    Answer::Json(
        status,
        json!({ "error": error, "error_description": description, DEV_MARKER_CLAIM: FOR_TESTING_ONLY }),
    )
}

/// The answer of `GET /`, `POST /dev/token` or `GET|POST /dev/login`.
pub(crate) fn handle(
    call: &DevCall<'_>,
    logins: &Mutex<Logins>,
    mode: &DevMode,
    signer: &Signer<'_>,
) -> Answer {
    if call.path == "/" {
        return Answer::Html(home_page(signer.issuer));
    }
    if !host_allowed(call.host, signer.issuer) {
        return refuse(
            403,
            "access_denied",
            "the Host header must be an IP address, localhost or the issuer's host",
        );
    }
    if call.path == "/dev/login" && call.method == "GET" {
        let login = logins.lock().expect("lock").login.clone();
        return Answer::Json(200, marked(login.describe(signer.now)));
    }
    if call.method != "POST" {
        return refuse(405, "invalid_request", "POST a JSON object");
    }
    // A JSON content type: a cross-site page cannot send one without a
    // CORS preflight, which this issuer never answers.
    let json_type = call
        .content_type
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json_type {
        return refuse(
            415,
            "invalid_request",
            "the body must be Content-Type: application/json",
        );
    }
    let Some(body) = call.body else {
        let e = DevRequestError::TooLarge;
        return refuse(413, e.code(), &e.to_string());
    };
    if call.path == "/dev/login" {
        return match DevLogin::from_json(body) {
            Ok(dev) => {
                let mut logins = logins.lock().expect("lock");
                logins.login = logins.login.clone().with(&dev);
                Answer::Json(200, marked(logins.login.describe(signer.now)))
            }
            Err(e) => refuse(400, e.code(), &e.to_string()),
        };
    }
    match DevTokenRequest::from_json(body) {
        Ok(request) => {
            let current = logins.lock().expect("lock").login.clone();
            Answer::Json(200, mint(&request, &current, mode, signer))
        }
        Err(e) => refuse(400, e.code(), &e.to_string()),
    }
}

fn marked(mut doc: Value) -> Value {
    doc[DEV_MARKER_CLAIM] = json!(FOR_TESTING_ONLY);
    doc
}

/// `POST /dev/token`: an ID token (OIDC Core §2) or an RFC 9068 access
/// token for the current login changed by the request.
fn mint(
    request: &DevTokenRequest,
    current: &TestLogin,
    mode: &DevMode,
    signer: &Signer<'_>,
) -> Value {
    let now = signer.now;
    let login = current.clone().with(&request.login());
    let expires_in = request.expires_in.unwrap_or(3600);
    let client = mode.clients.first().cloned().unwrap_or_default();
    let default_aud = if request.access_token {
        TEST_RESOURCE.to_owned()
    } else {
        client.clone()
    };
    let aud = match request.aud.as_deref() {
        Some([one]) => json!(one),
        Some(many) => json!(many),
        None => json!(default_aud),
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(signer.issuer));
    claims.insert("sub".into(), json!(login.sub));
    claims.insert("aud".into(), aud);
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + expires_in));
    claims.insert("auth_time".into(), json!(login.auth_time_at(now)));
    if let Some(acr) = &login.acr {
        claims.insert("acr".into(), json!(acr));
    }
    if !login.amr.is_empty() {
        claims.insert("amr".into(), json!(login.amr));
    }
    claims.insert(DEV_MARKER_CLAIM.into(), json!(FOR_TESTING_ONLY));
    let mut header = Map::new();
    if request.access_token {
        // RFC 9068 §2.1: `typ: at+jwt`; §2.2: `client_id` and `jti`.
        header.insert("typ".into(), json!("at+jwt"));
        claims.insert("client_id".into(), json!(client));
        claims.insert(
            "jti".into(),
            json!(format!("at-{}", super::jws::rand_suffix())),
        );
        if let Some(scope) = &request.scope {
            claims.insert("scope".into(), json!(scope));
        }
    }
    json!({
        "token": (signer.sign)(&header, claims),
        "token_type": if request.access_token { "access_token" } else { "id_token" },
        "expires_in": expires_in,
        DEV_MARKER_CLAIM: FOR_TESTING_ONLY,
    })
}
