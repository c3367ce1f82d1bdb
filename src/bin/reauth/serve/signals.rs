//! `--ssf-*`: the Shared Signals receiver at the gate. Start-up (the
//! transmitter's configuration and keys; a missing delivery is an error),
//! the poller's task, and `POST /ssf/events`: the actix glue around
//! [`Receiver::receive_push`], which decides everything.

use actix_web::{HttpRequest, HttpResponse, web};
use reauth::Verifiers;
use reauth::signals::{PollConfig, Poller, PushRequest, Receiver, ReceiverConfig};

use super::error::ServeError;
use crate::args::SignalArgs;
use crate::state::Gate;

/// The receiver, when `--ssf-transmitter` is given; its poller runs on
/// the current runtime with `--ssf-poll`.
pub(super) async fn start(
    args: &SignalArgs,
    verifiers: &Verifiers,
    jwks_cooldown: std::time::Duration,
) -> Result<Option<Receiver>, ServeError> {
    let (Some(transmitter), Some(audience)) = (&args.ssf_transmitter, &args.ssf_audience) else {
        return Ok(None);
    };
    let fail = |e: String| ServeError::Signals(e);
    if args.ssf_push_token_file.is_none() && args.ssf_poll.is_none() {
        return Err(fail(
            "--ssf-transmitter needs a delivery: --ssf-push-token-file FILE (push to POST /ssf/events) or --ssf-poll URL with --ssf-poll-token-file FILE".into(),
        ));
    }
    let mut config = ReceiverConfig::builder(transmitter, audience)
        .max_set_age(args.ssf_max_set_age)
        .jwks_refresh_cooldown(jwks_cooldown)
        .allowed_subject_issuers(args.ssf_allowed_issuers.iter().cloned());
    if let Some(path) = &args.ssf_push_token_file {
        config =
            config.push_token(crate::secret::token("--ssf-push-token-file", path).map_err(fail)?);
    }
    if let Some(path) = &args.ssf_email_map {
        config = config.email_to_subject(email_map(path).map_err(fail)?);
    }
    if let Some(issuer) = &args.ssf_subject_issuer {
        config = config.subject_issuer(issuer);
    }
    let config = config.build().map_err(|e| fail(format!("--ssf-*: {e}")))?;
    let receiver = Receiver::discover(config, verifiers.clone())
        .await
        .map_err(|e| fail(format!("--ssf-transmitter {transmitter}: {e}")))?;
    if let (Some(url), Some(path)) = (&args.ssf_poll, &args.ssf_poll_token_file) {
        // Checked now; read again before every poll (a rotated token).
        crate::secret::token("--ssf-poll-token-file", path).map_err(fail)?;
        let poller = Poller::new(receiver.clone(), PollConfig::with_token_file(url, path))
            .map_err(|e| fail(format!("--ssf-poll {url}: {e}")))?;
        tokio::spawn(poller.run());
        tracing::info!(poll = %url, transmitter = %transmitter, "reauth: polling the identity provider's security events");
    }
    if args.ssf_push_token_file.is_some() {
        tracing::info!(transmitter = %transmitter, "reauth: receiving the identity provider's security events at POST /ssf/events");
    }
    Ok(Some(receiver))
}

/// The largest `--ssf-email-map` read (a million addresses fit).
const MAX_EMAIL_MAP_BYTES: u64 = 256 * 1024 * 1024;

/// `--ssf-email-map FILE`: a JSON object of address -> `sub`, every
/// value a valid id (checked now, not when an event arrives).
fn email_map(path: &std::path::Path) -> Result<reauth::signals::EmailToSubject, String> {
    let fail = |why: String| format!("--ssf-email-map {}: {why}", path.display());
    let len = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if len > MAX_EMAIL_MAP_BYTES {
        return Err(fail(format!("larger than {MAX_EMAIL_MAP_BYTES} bytes")));
    }
    let text = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let map: std::collections::HashMap<String, String> = serde_json::from_slice(&text)
        .map_err(|e| fail(format!("not a JSON object of strings: {e}")))?;
    if let Some((email, sub)) = map
        .iter()
        .find(|(_, sub)| reauth::revocation::check_id(sub).is_err())
    {
        return Err(fail(format!(
            "the sub of {email:?} is not a valid id: {sub:?}"
        )));
    }
    tracing::info!(entries = map.len(), "reauth: email subjects mapped");
    Ok(std::sync::Arc::new(move |email: &str| {
        map.get(email).cloned()
    }))
}

/// `POST /ssf/events` (RFC 8935): 202, or the error's status and JSON.
pub(super) async fn events(
    req: HttpRequest,
    body: web::Payload,
    gate: web::Data<Gate>,
) -> HttpResponse {
    let Some(receiver) = &gate.signals else {
        return HttpResponse::NotFound().finish();
    };
    // The receiver refuses a SET over its limit: no more is read.
    let limit = receiver.config().max_set_bytes();
    let bytes = match body.to_bytes_limited(limit).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => vec![0u8; limit + 1].into(),
        Err(_) => return HttpResponse::BadRequest().finish(),
    };
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let push = PushRequest {
        authorization: header("authorization"),
        content_type: header("content-type"),
        body: &bytes,
    };
    match receiver.receive_push(push).await {
        Ok(_) => HttpResponse::Accepted().finish(),
        Err(e) => {
            let mut answer = HttpResponse::build(
                actix_web::http::StatusCode::from_u16(e.status())
                    .unwrap_or(actix_web::http::StatusCode::BAD_REQUEST),
            );
            answer.insert_header(("cache-control", "no-store"));
            if e.status() == 401 {
                answer.insert_header(("www-authenticate", "Bearer"));
            }
            if e.status() == 503 {
                answer.insert_header(("retry-after", "5"));
            }
            answer.json(e.body())
        }
    }
}
