//! RFC 8935 push delivery: one `POST` with a SET, its credentials and
//! media type checked before the SET is read. The framework (the gate's
//! `POST /ssf/events`, your own route) only passes the request's parts in
//! and sends [`SetError::status`] and [`SetError::body`] back, or 202.

use crate::error::{SetError, SetErrorCode};
use crate::signals::receiver::{Received, Receiver};

/// The RFC 8935 §2 media type of a pushed SET.
pub const SECEVENT_MEDIA_TYPE: &str = "application/secevent+jwt";

/// One push request, as received.
#[derive(Debug, Clone, Copy)]
pub struct PushRequest<'a> {
    /// The `Authorization` header, when there is one.
    pub authorization: Option<&'a str>,
    /// The `Content-Type` header, when there is one.
    pub content_type: Option<&'a str>,
    /// The body: read at most [`ReceiverConfig::max_set_bytes`](super::ReceiverConfig::max_set_bytes)
    /// plus one byte of it (more is refused).
    pub body: &'a [u8],
}

impl Receiver {
    /// Answers one RFC 8935 push: the bearer secret
    /// ([`push_token`](super::ReceiverConfigBuilder::push_token)) compared
    /// in constant time (missing: 401 `authentication_failed`; wrong: 403
    /// `access_denied`), the media type `application/secevent+jwt`, the
    /// size; then [`receive`](Self::receive). `Ok` is answered 202.
    pub async fn receive_push(&self, push: PushRequest<'_>) -> Result<Received, SetError> {
        let result = self.check_push(&push);
        if let Err(e) = result {
            self.count(
                "unknown",
                e.code().map_or("unavailable", SetErrorCode::as_str),
            );
            // Unauthenticated: counted, logged at debug (no log flood).
            tracing::debug!(error = %e, "reauth: SET push refused");
            return Err(e);
        }
        let set = std::str::from_utf8(push.body).unwrap_or_default().trim();
        self.receive(set).await
    }

    fn check_push(&self, push: &PushRequest<'_>) -> Result<(), SetError> {
        let config = self.config();
        let Some(expected) = config.push_token.as_deref() else {
            return Err(SetError::refused(
                SetErrorCode::AccessDenied,
                "this receiver takes no pushed SETs (no push token is configured)",
            ));
        };
        // RFC 8935 §2.3: the push is authenticated (RFC 6750 bearer here).
        let presented = push.authorization.and_then(|h| {
            let (scheme, token) = h.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
        let Some(presented) = presented else {
            return Err(SetError::refused(
                SetErrorCode::AuthenticationFailed,
                "the push has no bearer credentials",
            ));
        };
        // Digests of equal length, compared in constant time: neither the
        // secret's bytes nor its length show in the timing.
        let digest = |b: &[u8]| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b);
        if aws_lc_rs::constant_time::verify_slices_are_equal(
            digest(presented.as_bytes()).as_ref(),
            digest(expected.as_bytes()).as_ref(),
        )
        .is_err()
        {
            return Err(SetError::refused(
                SetErrorCode::AccessDenied,
                "the push's bearer credentials are not this receiver's",
            ));
        }
        // RFC 8935 §2: Content-Type application/secevent+jwt.
        let media = push
            .content_type
            .map(|c| c.split(';').next().unwrap_or("").trim());
        if !media.is_some_and(|m| m.eq_ignore_ascii_case(SECEVENT_MEDIA_TYPE)) {
            return Err(SetError::invalid(format!(
                "the push's Content-Type must be {SECEVENT_MEDIA_TYPE}"
            )));
        }
        if push.body.len() > config.max_set_bytes {
            return Err(SetError::invalid(format!(
                "the SET is larger than {} bytes",
                config.max_set_bytes
            )));
        }
        if std::str::from_utf8(push.body).is_err() {
            return Err(SetError::invalid("the SET is not UTF-8"));
        }
        Ok(())
    }
}
