//! The browser's side of a step-up: is this a browser, is it a cross-site
//! request, where does a refused navigation go, and the session cookie.

use crate::guard::GuardError;
use crate::guard::render::Redirect;
use crate::stepup::client::StepUp;
use crate::stepup::error::StepUpError;
use crate::stepup::outcome::StepUpUser;
use crate::stepup::pending;
use crate::stepup::return_to::return_place;
use crate::verify::requirement::Requirement;

/// Whether `accept` names one of `types` with a non-zero quality.
fn accepts(accept: &str, types: &[String]) -> bool {
    accept.split(',').any(|item| {
        let mut parts = item.split(';');
        let media = parts.next().unwrap_or_default().trim();
        let refused = parts.any(|p| {
            let p = p.trim();
            p.get(..2).is_some_and(|k| k.eq_ignore_ascii_case("q="))
                && p.get(2..)
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        !refused && types.iter().any(|t| t.eq_ignore_ascii_case(media))
    })
}

impl StepUp {
    /// Whether a request that would be authenticated by the session cookie
    /// comes from another site (CSRF): a state-changing method (not GET,
    /// HEAD, OPTIONS or TRACE) whose `Sec-Fetch-Site` is `cross-site` or
    /// `same-site` (a sibling subdomain), or, without it, whose `Origin` is
    /// not this app's (the redirect URI's origin). A request with neither
    /// header is not a modern browser's cross-site request (and SameSite=Lax
    /// keeps the cookie off older browsers' cross-site posts).
    pub fn cross_site(&self, method: &str, origin: Option<&str>, fetch_site: Option<&str>) -> bool {
        crate::guard::cross_site(method, origin, fetch_site, |origin| {
            origin == self.inner.redirect_uri.origin().ascii_serialization()
        })
    }

    /// Whether a request with this `Accept` header is a browser's (one of
    /// the configured media types, default `text/html`, with q > 0).
    pub fn is_browser(&self, accept: Option<&str>) -> bool {
        accept.is_some_and(|a| accepts(a, &self.inner.config.browser_types))
    }

    /// What a refused browser request gets instead of the 401: `Some`
    /// redirect to the issuer when `error` is a 401 (no token, expired, too
    /// old, `acr`/`amr` unmet, revoked...) and the request is a browser's;
    /// `None` otherwise (API clients keep the challenge; a 403 such as
    /// `reauthentication_unavailable` or a 5xx is never redirected, since a
    /// new login would not change it). When the token still verifies apart
    /// from freshness, its user must be the one who logs in (a step-up);
    /// otherwise it is a plain sign-in. `return_to` is the request's path
    /// and query (its path alone when the query makes it too long; `/`
    /// when it is not a path [`check_return_to`](crate::stepup::check_return_to) accepts).
    pub async fn challenge(
        &self,
        error: &GuardError,
        accept: Option<&str>,
        token: Option<&str>,
        requirement: &Requirement,
        return_to: &str,
    ) -> Option<Result<Redirect, StepUpError>> {
        if error.status() != 401 || !self.is_browser(accept) {
            return None;
        }
        Some(
            self.start(requirement, return_place(return_to), token)
                .await,
        )
    }

    /// Sends the browser to the issuer for a route that demands
    /// `requirement`, back to `return_to`: a step-up of the session's user
    /// when `token` (the session's ID token) still verifies apart from
    /// freshness, else a sign-in.
    pub async fn start(
        &self,
        requirement: &Requirement,
        return_to: &str,
        token: Option<&str>,
    ) -> Result<Redirect, StepUpError> {
        let mut user = None;
        if let Some(token) = token {
            if let Ok(v) = self
                .inner
                .verifier
                .verify(token, &Requirement::none())
                .await
            {
                user = Some(StepUpUser::of(&v, token));
            }
        }
        self.redirect(requirement, return_to, user.as_ref()).await
    }

    /// A plain sign-in returning to `return_to` (a "Log in" link).
    pub async fn sign_in(&self, return_to: &str) -> Result<Redirect, StepUpError> {
        self.redirect(&Requirement::none(), return_to, None).await
    }

    async fn redirect(
        &self,
        requirement: &Requirement,
        return_to: &str,
        user: Option<&StepUpUser>,
    ) -> Result<Redirect, StepUpError> {
        let begun = self.begin(requirement, return_to, user).await?;
        Ok(Redirect {
            location: begun.location,
            set_cookies: vec![begun.set_cookie],
        })
    }

    fn cookie(&self, value: &str) -> cookie::Cookie<'static> {
        pending::lax_cookie(
            self.inner.session_name.clone(),
            value.to_owned(),
            "/",
            self.inner.secure,
        )
    }

    /// The `Set-Cookie` value that makes `id_token` the session (HttpOnly,
    /// SameSite=Lax, Path=/; on https Secure and named `__Host-<name>`; a
    /// browser-session cookie: the token's own `exp` bounds its use).
    pub fn session_cookie(&self, id_token: &str) -> String {
        self.cookie(id_token).to_string()
    }

    /// The `Set-Cookie` value that ends the session (log out).
    pub fn session_removal(&self) -> String {
        let mut c = self.cookie("");
        c.make_removal();
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browsers_are_told_by_accept() {
        let html = ["text/html".to_owned()];
        assert!(accepts("text/html,application/xhtml+xml,*/*;q=0.8", &html));
        assert!(accepts("TEXT/HTML; q=0.9", &html));
        assert!(!accepts("application/json", &html));
        assert!(!accepts("*/*", &html));
        assert!(!accepts("text/html;q=0", &html));
        assert!(!accepts("text/html;q=0.0, application/json", &html));
        assert!(!accepts("text/html;\u{e9}", &["x".to_owned()]));
        assert!(accepts("text/html;\u{e9}\u{e9}", &html));
    }
}
