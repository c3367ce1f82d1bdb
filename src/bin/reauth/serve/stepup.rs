//! `--stepup-client-id` and its companions: the gate's browser step-up,
//! built and checked at start-up (a setting that cannot work stops the
//! gate with the fix, never a silent 401 loop).

use std::path::Path;

use reauth::Verifiers;
use reauth::gate::browser::GateBrowser;
use reauth::stepup::{StepUp, StepUpConfig};

use super::error::ServeError;
use crate::args::ServeArgs;

/// The most `--cookie-key-file`s: the key that seals and the one before it.
const MAX_COOKIE_KEYS: usize = 2;
/// A secret file's bytes, as they are.
fn secret(flag: &str, path: &Path) -> Result<Vec<u8>, ServeError> {
    crate::secret::read(flag, path).map_err(ServeError::StepUp)
}

/// The public URL: https, or http on a loopback host (a try-out: cookies
/// would cross the network in clear), and no path (the session cookie and
/// `/reauth/` live at the origin's root).
pub(super) fn public_url(raw: &str) -> Result<String, ServeError> {
    let fail = |reason: &str| ServeError::StepUp(format!("--public-url {raw:?}: {reason}"));
    let url = url::Url::parse(raw).map_err(|e| fail(&e.to_string()))?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(fail("must be https (http only on a loopback host)")),
        _ => return Err(fail("must be an https URL")),
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(fail(
            "must be the app's origin only (scheme, host, port): /reauth/ lives at its root",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(fail("must not hold credentials"));
    }
    Ok(url.origin().ascii_serialization())
}

/// The gate's browser step-up, or `None` without `--stepup-client-id`.
pub(super) async fn browser(
    args: &ServeArgs,
    verifiers: &Verifiers,
) -> Result<Option<GateBrowser>, ServeError> {
    let s = &args.stepup;
    let Some(client_id) = &s.stepup_client_id else {
        return Ok(None);
    };
    let fail = |m: &str| Err(ServeError::StepUp(m.to_owned()));
    let Some(raw_url) = &s.public_url else {
        return fail(
            "--stepup-client-id needs --public-url (the app's URL as browsers see it, where the \
             proxy routes /reauth/ to the gate)",
        );
    };
    let public = public_url(raw_url)?;
    if s.cookie_key_file.is_empty() {
        return fail(
            "--stepup-client-id needs --cookie-key-file (32+ secret random bytes, the same on \
             every instance: head -c 32 /dev/urandom > key)",
        );
    }
    if s.cookie_key_file.len() > MAX_COOKIE_KEYS {
        return fail("--cookie-key-file: at most two (the key that seals, then the one before it)");
    }
    let Verifiers::One(verifier) = verifiers else {
        return fail(
            "--stepup-client-id needs exactly one --issuer (a step-up client is registered at \
             one issuer), not --issuer-template or several --issuer",
        );
    };
    if !verifier.config().audiences().iter().any(|a| a == client_id) {
        return fail(&format!(
            "the step-up client's ID tokens are issued to {client_id:?}: add --audience {client_id}"
        ));
    }
    let redirect_uri = GateBrowser::redirect_uri(&public);
    let mut config = StepUpConfig::builder(client_id, &redirect_uri);
    for (i, path) in s.cookie_key_file.iter().enumerate() {
        let key = secret("--cookie-key-file", path)?;
        if key.len() < 32 {
            return Err(ServeError::StepUp(format!(
                "--cookie-key-file {}: {} bytes; at least 32 random bytes are needed \
                 (head -c 32 /dev/urandom > key)",
                path.display(),
                key.len()
            )));
        }
        config = if i == 0 {
            config.cookie_key(&key)
        } else {
            config.previous_cookie_key(&key)
        };
    }
    if let Some(path) = &s.stepup_client_secret_file {
        let bytes = secret("--stepup-client-secret-file", path)?;
        let text = String::from_utf8(bytes).map_err(|_| {
            ServeError::StepUp(format!(
                "--stepup-client-secret-file {}: not UTF-8 text",
                path.display()
            ))
        })?;
        // A text file: its line end (an editor or `echo` adds one) is not
        // part of the secret.
        if text.trim().is_empty() {
            return fail("--stepup-client-secret-file is empty");
        }
        config = config.client_secret(text.trim());
    }
    let step = config
        .build()
        .and_then(|c| StepUp::new(verifier.clone(), c))
        .map_err(|e| ServeError::StepUp(e.to_string()))?;
    let browser = GateBrowser::new(step, &public).map_err(|e| ServeError::StepUp(e.to_string()))?;
    tracing::info!(
        client_id,
        public_url = %public,
        redirect_uri,
        "reauth: browser step-up on; route {public}/reauth/ to this gate"
    );
    Ok(Some(browser))
}
