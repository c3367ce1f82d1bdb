//! The step-up's own routes as framework-neutral answers: the callback,
//! a "Log in" link and a "Log out" form. The actix and axum adapters and
//! the gate's `/reauth/` endpoints only read the request and write the
//! [`Answer`]: every decision is here.

use crate::guard::GuardError;
use crate::guard::render::{Answer, Redirect, Refused};
use crate::stepup::client::StepUp;
use crate::stepup::error::StepUpError;
use crate::verify::requirement::Requirement;

/// Every `Cookie` header value of a request as one header (HTTP/2 sends
/// one per cookie); `None` when there is none. Values that are not text
/// are skipped.
pub fn joined_cookies<'a>(values: impl Iterator<Item = &'a [u8]>) -> Option<String> {
    let all: Vec<&str> = values.filter_map(|v| std::str::from_utf8(v).ok()).collect();
    (!all.is_empty()).then(|| all.join("; "))
}

/// The `return_to` query parameter of a sign-in link (`/login?return_to=`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SignIn {
    /// Where to go once signed in: a path of this app (default `/`).
    pub return_to: Option<String>,
}

impl StepUp {
    /// A refused step-up: an HTML page for a browser, JSON otherwise, with
    /// `set_cookies` (the pending cookie's removal).
    fn refused(&self, e: &StepUpError, set_cookies: &[String], accept: Option<&str>) -> Answer {
        e.answer(set_cookies, self.is_browser(accept))
    }

    /// The callback route's answer ([`StepUp::complete`]): on success the
    /// session cookie and a 302 back to where the browser was (a path of
    /// this app); a forged, replayed or expired callback is 400, another
    /// user 403 (the old session cookie is left as it was).
    pub async fn callback_answer(
        &self,
        query: &str,
        cookie_header: Option<&str>,
        accept: Option<&str>,
    ) -> Answer {
        let done = self.complete(query, cookie_header).await;
        match done.result {
            Ok(finished) => Answer::redirect(&Redirect {
                location: finished.return_to,
                set_cookies: done.set_cookies,
            }),
            Err(e) => self.refused(&e, &done.set_cookies, accept),
        }
    }

    /// A "Log in" link's answer: a plain sign-in returning to `return_to`
    /// (a path of this app; anything else is 400 `invalid_return_to`,
    /// never an open redirect).
    pub async fn sign_in_answer(&self, return_to: &str, accept: Option<&str>) -> Answer {
        match self.sign_in(return_to).await {
            Ok(redirect) => Answer::redirect(&redirect),
            Err(e) => self.refused(&e, &[], accept),
        }
    }

    /// A step-up's start for a route that demands `requirement`, returning
    /// to `return_to`: a step-up of the user whose session cookie is
    /// `token` when it still verifies apart from freshness (the same user
    /// must log in), else a sign-in that still proves a new login when the
    /// route demands one.
    pub async fn start_answer(
        &self,
        requirement: &Requirement,
        return_to: &str,
        token: Option<&str>,
        accept: Option<&str>,
    ) -> Answer {
        match self.start(requirement, return_to, token).await {
            Ok(redirect) => Answer::redirect(&redirect),
            Err(e) => self.refused(&e, &[], accept),
        }
    }

    /// A "Log out" form's answer (POST): the session cookie removed and a
    /// `303 See Other` to `after`; a cross-site request is 403
    /// `cross_site_request` (a forged log-out is CSRF too). It ends this
    /// app's session only, not the issuer's.
    pub fn sign_out_answer(
        &self,
        method: &str,
        origin: Option<&str>,
        fetch_site: Option<&str>,
        after: &str,
    ) -> Answer {
        if self.cross_site(method, origin, fetch_site) {
            return Refused::from(GuardError::CrossSiteRequest).answer();
        }
        Answer {
            status: 303,
            headers: vec![
                ("location", after.to_owned()),
                ("cache-control", "no-store".to_owned()),
                ("set-cookie", self.session_removal()),
            ],
            body: Vec::new(),
        }
    }
}
