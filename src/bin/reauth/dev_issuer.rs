//! `reauth dev-issuer`: the embedded test issuer as a local development
//! issuer (for testing only), and its `token` and `login` clients.

use std::io::Write;
use std::time::{Duration, Instant};

use reauth::testing::{DevLogin, DevTokenRequest, TestIssuer, TestLogin};
use serde_json::Value;

use crate::args::{DevAction, DevIssuerArgs, DevLoginArgs, DevServeArgs, DevTokenArgs, LoginArgs};
use crate::verify::{ACCEPTED, UNDECIDED};

pub async fn run(args: DevIssuerArgs) -> i32 {
    match args.action {
        None => serve(args.serve).await,
        Some(DevAction::Token(t)) => report(token(t).await),
        Some(DevAction::Login(l)) => report(login(l).await),
    }
}

/// Prints the result on stdout (the token, or the login's JSON line), or
/// the reason on stderr with exit 2.
fn report(result: Result<String, String>) -> i32 {
    match result {
        Ok(out) => {
            println!("{out}");
            ACCEPTED
        }
        Err(message) => {
            eprintln!("reauth dev-issuer: {message}");
            UNDECIDED
        }
    }
}

impl LoginArgs {
    fn dev_login(&self) -> DevLogin {
        DevLogin::new(
            self.sub.clone(),
            self.auth_time_ago.map(secs),
            self.acr.clone(),
            self.amr.clone(),
        )
    }

    fn test_login(&self) -> TestLogin {
        let mut login = TestLogin::user(self.sub.as_deref().unwrap_or("user-1"));
        if let Some(ago) = self.auth_time_ago {
            login = login.auth_time_ago(secs(ago));
        }
        if let Some(acr) = &self.acr {
            login = login.acr(acr);
        }
        if let Some(amr) = &self.amr {
            login = login.amr(amr.iter().cloned());
        }
        login
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// Why the dev issuer does not start, before it listens.
fn check(args: &DevServeArgs) -> Result<(), String> {
    if !args.bind.ip().is_loopback() && !args.allow_non_loopback {
        return Err(format!(
            "--bind {} is not a loopback address: this issuer mints any token for anyone who \
             reaches it. Bind 127.0.0.1 or [::1], or pass --allow-non-loopback",
            args.bind
        ));
    }
    if let Some(url) = &args.issuer_url {
        let ok = url::Url::parse(url).is_ok_and(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && u.query().is_none()
                && u.fragment().is_none()
                && u.username().is_empty()
        });
        if !ok {
            return Err(format!(
                "--issuer-url {url:?} is not an http(s) URL without query, fragment or user"
            ));
        }
    }
    if let Some(bad) = args.tenants.iter().find(|t| !reauth::valid_tenant(t)) {
        return Err(format!(
            "--tenant {bad:?} is not a tenant name (1 to 63 of a-z, 0-9, -)"
        ));
    }
    if let Some(bad) = args
        .client_ids
        .iter()
        .find(|c| c.is_empty() || c.chars().any(char::is_control))
    {
        return Err(format!("--client-id {bad:?} is not a client id"));
    }
    // The same bounds as the /dev/login body.
    let body = serde_json::to_vec(&args.login.dev_login()).unwrap_or_default();
    DevLogin::from_json(&body)
        .map(drop)
        .map_err(|e| format!("the login options: {e}"))
}

async fn serve(args: DevServeArgs) -> i32 {
    if let Err(message) = check(&args) {
        tracing::error!("reauth dev-issuer: {message}");
        return UNDECIDED;
    }
    let stop = match Stop::catch() {
        Ok(stop) => stop,
        Err(e) => {
            tracing::error!(error = %e, "reauth dev-issuer: cannot catch SIGINT and SIGTERM");
            return UNDECIDED;
        }
    };
    let started = match &args.issuer_url {
        Some(url) => TestIssuer::start_on_as(args.bind, url).await,
        None => TestIssuer::start_on(args.bind).await,
    };
    let issuer = match started {
        Ok(issuer) => issuer,
        Err(error) => {
            tracing::error!(error = %error, bind = %args.bind, "reauth dev-issuer: cannot listen");
            return UNDECIDED;
        }
    };
    // New key ids on every start: a gate that cached the keys of an earlier
    // run looks the new ones up instead of failing on a reused `kid`.
    issuer.rotate();
    issuer.serve_dev_endpoints(args.client_ids.iter().cloned());
    issuer.set_login(args.login.test_login());
    let tenants: Vec<(String, TestIssuer)> = args
        .tenants
        .iter()
        .map(|name| {
            let t = issuer.tenant(name);
            t.rotate();
            t.set_login(args.login.test_login());
            (name.clone(), t)
        })
        .collect();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "issuer {}", issuer.issuer());
    for (name, t) in &tenants {
        let _ = writeln!(out, "tenant {name} {}", t.issuer());
    }
    let _ = out.flush();
    drop(out);
    tracing::warn!(
        issuer = issuer.issuer(),
        "reauth dev-issuer: FOR TESTING ONLY; it logs anyone in and mints any token on request"
    );
    let code = stop.stopped().await;
    drop(tenants);
    drop(issuer);
    code
}

/// SIGINT or SIGTERM, caught from the moment this returns (before the
/// ready line, so a stop sent right after it is never lost).
struct Stop {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Stop {
    fn catch() -> Result<Self, std::io::Error> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Waits for the signal: exit 0.
    async fn stopped(mut self) -> i32 {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("reauth dev-issuer: stopped");
        ACCEPTED
    }
}

/// The URL of `path` at the dev issuer (or its tenant).
fn endpoint(issuer: &str, tenant: Option<&str>, path: &str) -> Result<String, String> {
    let base = issuer.trim_end_matches('/');
    let url = match tenant {
        Some(t) if !reauth::valid_tenant(t) => {
            return Err(format!(
                "--tenant {t:?} is not a tenant name (1 to 63 of a-z, 0-9, -)"
            ));
        }
        Some(t) => format!("{base}/realms/{t}{path}"),
        None => format!("{base}{path}"),
    };
    match url::Url::parse(&url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(url),
        _ => Err(format!("--issuer {issuer:?} is not an http(s) URL")),
    }
}

/// POSTs `body` as JSON, retrying while the issuer refuses connections
/// (for at most `wait`); the answer's JSON, or what went wrong.
async fn post(url: &str, body: Vec<u8>, wait: Duration) -> Result<Value, String> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("HTTP client: {e}"))?;
    let deadline = Instant::now() + wait;
    let response = loop {
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(r) => break r,
            Err(e) if e.is_connect() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                return Err(format!(
                    "no dev issuer answers at {url} ({e}); start one with `reauth dev-issuer`"
                ));
            }
        }
    };
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| format!("reading the answer of {url}: {e}"))?;
    let json: Value = serde_json::from_str(&text)
        .map_err(|_| format!("{url} answered {status}, not a dev issuer's JSON"))?;
    if !status.is_success() {
        let why = json["error_description"]
            .as_str()
            .unwrap_or("no reason given");
        return Err(format!("{url} refused ({status}): {why}"));
    }
    Ok(json)
}

async fn token(args: DevTokenArgs) -> Result<String, String> {
    let url = endpoint(&args.at.issuer, args.at.tenant.as_deref(), "/dev/token")?;
    let mut request = DevTokenRequest::default();
    let login = &args.login;
    request.sub = login.sub.clone();
    request.auth_time_ago = login.auth_time_ago.map(secs);
    request.acr = login.acr.clone();
    request.amr = login.amr.clone();
    request.aud = (!args.aud.is_empty()).then(|| args.aud.clone());
    request.expires_in = Some(secs(args.expires_in));
    request.access_token = args.access_token;
    request.scope = args.scope.clone();
    let body = serde_json::to_vec(&request).map_err(|e| e.to_string())?;
    // The issuer's own checks, before anything is sent.
    DevTokenRequest::from_json(&body).map_err(|e| e.to_string())?;
    let answer = post(&url, body, args.at.wait).await?;
    answer["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("{url} answered without a token"))
}

async fn login(args: DevLoginArgs) -> Result<String, String> {
    let url = endpoint(&args.at.issuer, args.at.tenant.as_deref(), "/dev/login")?;
    let body = serde_json::to_vec(&args.login.dev_login()).map_err(|e| e.to_string())?;
    DevLogin::from_json(&body).map_err(|e| e.to_string())?;
    let answer = post(&url, body, args.at.wait).await?;
    Ok(answer.to_string())
}
