//! The browser step-up as the guard's [`BrowserHook`]: every adapter that
//! finds a [`StepUp`] in its wiring sends refused browser navigations to
//! the issuer through the shared refusal path, without knowing what it is.

use crate::guard::render::Redirect;
use crate::guard::{BrowserHook, GuardError, TokenSource};
use crate::revocation::BoxFuture;
use crate::stepup::client::StepUp;
use crate::verify::requirement::Requirement;

impl BrowserHook for StepUp {
    /// With a step-up registered the ID token is its session cookie: a
    /// different [`TokenSource`] would let a browser sign in and never be
    /// seen as signed in (a redirect loop), so it is refused.
    fn token_source(&self, found: Option<TokenSource>) -> Result<TokenSource, GuardError> {
        let cookie = StepUp::token_source(self);
        match found {
            None => Ok(cookie),
            Some(s) if s == cookie => Ok(s),
            Some(_) => Err(GuardError::Misconfigured(
                "a StepUp and a TokenSource other than its session cookie reach this route, so a \
                 browser would sign in and never be seen as signed in: remove the TokenSource \
                 (the StepUp's cookie is used) or register StepUp::token_source()",
            )),
        }
    }

    fn cross_site(&self, method: &str, origin: Option<&str>, fetch_site: Option<&str>) -> bool {
        StepUp::cross_site(self, method, origin, fetch_site)
    }

    fn redirect<'a>(
        &'a self,
        error: &'a GuardError,
        accept: Option<&'a str>,
        token: Option<&'a str>,
        requirement: &'a Requirement,
        return_to: &'a str,
    ) -> BoxFuture<'a, Option<Redirect>> {
        Box::pin(async move {
            match self
                .challenge(error, accept, token, requirement, return_to)
                .await
            {
                Some(Ok(redirect)) => Some(redirect),
                Some(Err(e)) => {
                    tracing::error!(
                        code = e.code(),
                        error = %e,
                        "reauth: could not start a browser step-up; answering with the refusal instead"
                    );
                    None
                }
                None => None,
            }
        })
    }
}
