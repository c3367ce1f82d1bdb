//! The test issuer's authorization and token endpoints: a browser sent to
//! `/authorize` is logged in at once as the user the test chose (with the
//! `auth_time`, `acr` and `amr` it chose) and sent back with a code; the
//! code is exchanged once at `/token` (PKCE S256 checked) for an ID token.
//! Every request's parameters are recorded.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value, json};

/// Who the test issuer logs in, and how. The default: `user-1`, logged in
/// at the moment of the authorization request, `amr` `["pwd"]`, no `acr`.
#[derive(Debug, Clone, PartialEq)]
pub struct TestLogin {
    pub(crate) sub: String,
    auth_time: LoginTime,
    pub(crate) acr: Option<String>,
    pub(crate) amr: Vec<String>,
    error: Option<String>,
    nonce: Option<String>,
    claims: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LoginTime {
    Now,
    Ago(i64),
    At(i64),
}

impl Default for TestLogin {
    fn default() -> Self {
        Self::user("user-1")
    }
}

impl TestLogin {
    /// Logs `sub` in, now.
    pub fn user(sub: impl Into<String>) -> Self {
        Self {
            sub: sub.into(),
            auth_time: LoginTime::Now,
            acr: None,
            amr: vec!["pwd".to_owned()],
            error: None,
            nonce: None,
            claims: Map::new(),
        }
    }

    /// Answers every authorization request with `error=<code>` (e.g.
    /// `access_denied`, `login_required`).
    pub fn error(code: impl Into<String>) -> Self {
        Self {
            error: Some(code.into()),
            ..Self::default()
        }
    }

    /// `auth_time` is `secs` before the authorization request (an issuer
    /// that did not re-authenticate).
    pub fn auth_time_ago(mut self, secs: i64) -> Self {
        self.auth_time = LoginTime::Ago(secs);
        self
    }

    /// `auth_time` is exactly `at` (Unix seconds).
    pub fn auth_time(mut self, at: i64) -> Self {
        self.auth_time = LoginTime::At(at);
        self
    }

    /// The `acr` of the login.
    pub fn acr(mut self, acr: impl Into<String>) -> Self {
        self.acr = Some(acr.into());
        self
    }

    /// The `amr` of the login (empty: no `amr` claim).
    pub fn amr<I: IntoIterator<Item = S>, S: Into<String>>(mut self, amr: I) -> Self {
        self.amr = amr.into_iter().map(Into::into).collect();
        self
    }

    /// The ID token carries this `nonce` instead of the one requested.
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Another claim in the ID token.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }
}

impl TestLogin {
    /// The `auth_time` of a login that happens at `now`.
    pub(crate) fn auth_time_at(&self, now: i64) -> i64 {
        match self.auth_time {
            LoginTime::Now => now,
            LoginTime::Ago(secs) => now - secs,
            LoginTime::At(at) => at,
        }
    }

    /// This login changed by the members a development issuer's
    /// `/dev/login` or `/dev/token` body gives.
    pub(crate) fn with(mut self, dev: &super::dev::DevLogin) -> Self {
        if let Some(sub) = &dev.sub {
            self.sub = sub.clone();
        }
        if let Some(ago) = dev.auth_time_ago {
            self.auth_time = LoginTime::Ago(ago);
        }
        if let Some(acr) = &dev.acr {
            self.acr = Some(acr.clone());
        }
        if let Some(amr) = &dev.amr {
            self.amr = amr.clone();
        }
        self
    }

    /// The login as a `/dev/login` body would give it (`auth_time_ago`
    /// relative to `now`).
    pub(crate) fn describe(&self, now: i64) -> Value {
        json!({
            "sub": self.sub,
            "auth_time_ago": now - self.auth_time_at(now),
            "acr": self.acr,
            "amr": self.amr,
        })
    }
}

/// The parameters of one request the test issuer received, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Recorded(pub Vec<(String, String)>);

impl Recorded {
    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// How many times `name` appears.
    pub fn count(&self, name: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == name).count()
    }
}

/// An issued code, until it is exchanged.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    auth_time: i64,
    login: TestLogin,
}

/// What the endpoints share.
#[derive(Debug, Default)]
pub(crate) struct Logins {
    pub login: TestLogin,
    pub codes: HashMap<String, Grant>,
    pub authorizations: Vec<Recorded>,
    pub token_requests: Vec<Recorded>,
    pub client_secret: Option<String>,
    /// The only client ids accepted; `None` (the default): any.
    pub clients: Option<Vec<String>>,
}

/// An endpoint's answer, before it becomes an HTTP response.
pub(crate) enum Answer {
    Redirect(String),
    Json(u16, Value),
    /// A page (a development issuer's `GET /`).
    Html(String),
}

fn parse(query: &str) -> Recorded {
    Recorded(
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect(),
    )
}

fn oauth_error(status: u16, error: &str, description: &str) -> Answer {
    Answer::Json(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

/// `GET /authorize` (OIDC Core §3.1.2): logs the chosen user in at once.
pub(crate) fn authorize(logins: &mut Logins, issuer: &str, now: i64, query: &str) -> Answer {
    let req = parse(query);
    logins.authorizations.push(req.clone());
    let (Some(client_id), Some(redirect)) = (req.get("client_id"), req.get("redirect_uri")) else {
        return oauth_error(
            400,
            "invalid_request",
            "client_id and redirect_uri are required",
        );
    };
    // RFC 6749 §4.1.2.1: an unknown client is told so here, never
    // redirected to a `redirect_uri` nobody registered.
    if let Some(clients) = &logins.clients {
        if !clients.iter().any(|c| c == client_id) {
            return oauth_error(
                400,
                "invalid_request",
                "unknown client_id (the issuer accepts only the client ids it was given)",
            );
        }
    }
    let Ok(mut back) = url::Url::parse(redirect) else {
        return oauth_error(400, "invalid_request", "redirect_uri is not a URL");
    };
    let mut answer = |params: &[(&str, &str)]| {
        let mut q = back.query_pairs_mut();
        for (k, v) in params {
            q.append_pair(k, v);
        }
        if let Some(state) = req.get("state") {
            q.append_pair("state", state);
        }
        q.append_pair("iss", issuer);
        drop(q);
        Answer::Redirect(back.to_string())
    };
    let login = logins.login.clone();
    if let Some(error) = &login.error {
        return answer(&[
            ("error", error),
            ("error_description", "the test issuer was told to refuse"),
        ]);
    }
    if req.get("response_type") != Some("code") {
        return answer(&[("error", "unsupported_response_type")]);
    }
    let (Some(challenge), Some("S256")) =
        (req.get("code_challenge"), req.get("code_challenge_method"))
    else {
        return answer(&[
            ("error", "invalid_request"),
            ("error_description", "PKCE S256 is required"),
        ]);
    };
    let code = crate::testing::jws::rand_suffix() + &crate::testing::jws::rand_suffix();
    let auth_time = login.auth_time_at(now);
    logins.codes.insert(
        code.clone(),
        Grant {
            client_id: client_id.to_owned(),
            redirect_uri: redirect.to_owned(),
            challenge: challenge.to_owned(),
            nonce: login
                .nonce
                .clone()
                .or_else(|| req.get("nonce").map(str::to_owned)),
            auth_time,
            login,
        },
    );
    answer(&[("code", &code)])
}

/// The client's id and secret: HTTP Basic (RFC 6749 §2.3.1, each part
/// form-urlencoded) or the form body.
fn client_credentials(
    authorization: Option<&str>,
    form: &Recorded,
) -> (Option<String>, Option<String>) {
    let basic = authorization
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            let (id, secret) = s.split_once(':')?;
            let decode = |p: &str| {
                url::form_urlencoded::parse(format!("x={p}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
            };
            Some((decode(id), decode(secret)))
        });
    match basic {
        Some((id, secret)) => (id, secret),
        None => (
            form.get("client_id").map(str::to_owned),
            form.get("client_secret").map(str::to_owned),
        ),
    }
}

/// `POST /token` (OIDC Core §3.1.3): the code, once, for an ID token.
pub(crate) fn token(
    logins: &mut Logins,
    issuer: &str,
    now: i64,
    authorization: Option<&str>,
    body: &str,
    sign: impl FnOnce(Map<String, Value>) -> String,
) -> Answer {
    let form = parse(body);
    let mut recorded = form.clone();
    for (k, v) in &mut recorded.0 {
        if k == "client_secret" {
            *v = "***".to_owned();
        }
    }
    logins.token_requests.push(recorded);
    let (client_id, secret) = client_credentials(authorization, &form);
    if let Some(expected) = &logins.client_secret {
        if secret.as_deref() != Some(expected.as_str()) {
            return oauth_error(401, "invalid_client", "client authentication failed");
        }
    }
    if form.get("grant_type") != Some("authorization_code") {
        return oauth_error(400, "unsupported_grant_type", "only authorization_code");
    }
    let Some(grant) = form.get("code").and_then(|c| logins.codes.remove(c)) else {
        return oauth_error(400, "invalid_grant", "unknown or already used code");
    };
    if client_id.as_deref() != Some(grant.client_id.as_str())
        || form.get("redirect_uri") != Some(grant.redirect_uri.as_str())
    {
        return oauth_error(
            400,
            "invalid_grant",
            "client_id or redirect_uri does not match",
        );
    }
    let verifier = form.get("code_verifier").unwrap_or_default();
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    if URL_SAFE_NO_PAD.encode(digest.as_ref()) != grant.challenge {
        return oauth_error(400, "invalid_grant", "PKCE verification failed");
    }
    let login = &grant.login;
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(issuer));
    claims.insert("sub".into(), json!(login.sub));
    claims.insert("aud".into(), json!(grant.client_id));
    claims.insert("iat".into(), json!(now));
    claims.insert("exp".into(), json!(now + 3600));
    claims.insert("auth_time".into(), json!(grant.auth_time));
    if let Some(nonce) = &grant.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    if let Some(acr) = &login.acr {
        claims.insert("acr".into(), json!(acr));
    }
    if !login.amr.is_empty() {
        claims.insert("amr".into(), json!(login.amr));
    }
    claims.extend(login.claims.clone());
    Answer::Json(
        200,
        json!({
            "access_token": crate::testing::jws::rand_suffix(),
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": sign(claims),
        }),
    )
}
