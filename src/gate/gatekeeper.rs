//! The gate's whole decision for one request, in both places a gate
//! stands: behind a proxy (`/verify`, [`Gatekeeper::verify`]) and in front
//! of the app (`reauth serve --upstream`, [`Gatekeeper::admit`]). Which
//! route, which token (a bearer token, or the browser session of the
//! step-up), the verification, and the answer: 200 with the identity
//! headers, or the refusal (a browser's redirect to log in included).

use crate::guard::render::{Answer, Refused};
use crate::guard::{GuardError, check_presented};
use crate::verify::issuers::Verifiers;
use crate::verify::requirement::Requirement;
use crate::verify::verifier::{ClaimsMap, DpopPresentation};

#[cfg(feature = "stepup")]
use super::browser::GateBrowser;
use super::credential::Credential;
use super::forward::{self, ForwardRequest, Judged, Outcome, Step};
use super::original::Original;
#[cfg(feature = "stepup")]
use super::policy::BrowserMode;
use super::policy::Policy;
use super::refusal::Refusal;

/// What a gate decides with: the verifier(s), the command line's
/// requirement (without a policy file) and, with a step-up client, the
/// browser step-up.
#[derive(Debug, Clone)]
pub struct Gatekeeper {
    /// The verifier, or the issuer set.
    pub verifiers: Verifiers,
    /// What a request demands without a policy file.
    pub requirement: Requirement,
    /// The browser step-up (`--stepup-client-id`).
    #[cfg(feature = "stepup")]
    pub browser: Option<GateBrowser>,
    /// The app's public origin (`--public-url`): the base of a DPoP
    /// proof's `htu`. Without it, the original request's
    /// `X-Forwarded-Proto` (else `http`) and host.
    pub public_origin: Option<String>,
    /// RFC 9728 metadata served at [`METADATA_PATH`](crate::METADATA_PATH)
    /// (with `--public-url`).
    pub metadata: Option<crate::guard::metadata::ProtectedResourceMetadata>,
}

impl Gatekeeper {
    /// `/verify` behind a proxy: the original request as the proxy
    /// describes it, the query overrides, and the decision.
    pub async fn verify<'p>(
        &'p self,
        req: &ForwardRequest<'_>,
        policy: Option<&'p Policy>,
    ) -> Outcome<'p> {
        named(match forward::classify(req, policy, &self.requirement) {
            Step::Answer(outcome) => outcome,
            Step::Verify { route, requirement } => {
                let original = forward::original(req).ok();
                let judged = Judged {
                    req,
                    original: original.as_ref(),
                    overrides: if req.path == "/verify" { req.query } else { "" },
                    front: false,
                };
                self.decide(&judged, route, &requirement, policy).await
            }
        })
    }

    /// In front of the app: `req` is the request itself (its method,
    /// path, query and headers), `original` what it reads as (its request
    /// line and `Host`). No query overrides: the query is the app's.
    pub async fn admit<'p>(
        &'p self,
        req: &ForwardRequest<'_>,
        original: &Result<Original, Refusal>,
        policy: Option<&'p Policy>,
    ) -> Outcome<'p> {
        let (route, requirement) = match policy {
            None => (forward::NO_FILE, &self.requirement),
            Some(policy) => match forward::route_for(original, policy) {
                Ok(chosen) => chosen,
                Err(outcome) => return named(outcome),
            },
        };
        let judged = Judged {
            req,
            original: original.as_ref().ok(),
            overrides: "",
            front: true,
        };
        named(self.decide(&judged, route, requirement, policy).await)
    }

    /// The token, its verification against `requirement`, and the answer.
    async fn decide<'p>(
        &'p self,
        judged: &Judged<'_>,
        route: &'p str,
        requirement: &Requirement,
        policy: Option<&'p Policy>,
    ) -> Outcome<'p> {
        let refused = |e: GuardError, credential: &Credential| {
            let answer = self.refusal(&e, judged, credential, (route, requirement), policy);
            Outcome {
                route,
                code: e.code(),
                answer,
            }
        };
        let credential = match self.credential(judged) {
            Ok(c) => c,
            Err(e) => return refused(e, &Credential::None),
        };
        let dpop = match self.dpop_presentation(judged, &credential) {
            Ok(d) => d,
            Err(e) => return refused(e, &credential),
        };
        match check_presented::<ClaimsMap>(
            Some(&self.verifiers),
            credential.token(),
            dpop.as_ref(),
            requirement,
        )
        .await
        {
            Ok(verified) => match forward::identity(&verified, policy.is_some().then_some(route)) {
                Ok(answer) => Outcome {
                    route,
                    code: "ok",
                    answer,
                },
                Err(unencodable) => Outcome {
                    route,
                    code: "server_error",
                    answer: unencodable.answer(),
                },
            },
            Err(e) => refused(e, &credential),
        }
    }

    /// `GET /.well-known/oauth-protected-resource`: the metadata, or 404
    /// when the gate has none (no `--public-url`).
    pub fn metadata_answer(&self) -> Answer {
        match &self.metadata {
            Some(m) => m.answer(),
            None => Answer {
                status: 404,
                headers: vec![("cache-control", "no-store".to_owned())],
                body: Vec::new(),
            },
        }
    }

    /// RFC 9449 §4.3 at the gate: the proofs, and the original request
    /// they must fit: its method and path as the proxy (or the front door)
    /// describes them, never guessed (a proof for `GET` must not pass for
    /// the `DELETE` the proxy did not name), and its URL's origin:
    /// `--public-url`, else the forwarded scheme and host.
    fn dpop_presentation(
        &self,
        judged: &Judged<'_>,
        credential: &Credential,
    ) -> Result<Option<DpopPresentation>, GuardError> {
        let Credential::Dpop { proofs, .. } = credential else {
            return Ok(None);
        };
        let original = judged.original;
        let (Some(method), Some(uri)) = (
            original.and_then(|o| o.method.clone()),
            original.and_then(|o| o.uri.as_deref()),
        ) else {
            return Err(GuardError::Misconfigured(
                "a DPoP request, but the proxy does not send the original method and URI \
                 (X-Original-Method/-URI or X-Forwarded-Method/-Uri): the proof cannot be checked",
            ));
        };
        let origin = match &self.public_origin {
            Some(o) => o.clone(),
            // In front of the app nobody vouches for X-Forwarded-Proto or
            // Host: a proof is compared with the configured URL only.
            None if judged.front => {
                return Err(GuardError::Misconfigured(
                    "a DPoP request at the front door without --public-url: the URL its proof \
                     names cannot be known (set --public-url)",
                ));
            }
            None => format!(
                "{}://{}",
                judged.req.text("x-forwarded-proto").unwrap_or("http"),
                original.and_then(|o| o.host.as_deref()).unwrap_or("")
            ),
        };
        Ok(Some(DpopPresentation {
            proofs: proofs.clone(),
            method,
            origin,
            path: crate::guard::path_of(uri).to_owned(),
        }))
    }

    /// Without a step-up client: `Authorization: Bearer` only. With one:
    /// that, else the session cookie (same-origin for a state change).
    fn credential(&self, judged: &Judged<'_>) -> Result<Credential, GuardError> {
        #[cfg(feature = "stepup")]
        if let Some(browser) = &self.browser {
            return browser.credential(judged);
        }
        Credential::from_authorization(judged.req).unwrap_or(Ok(Credential::None))
    }

    /// The refusal's answer: the challenge, or a browser's redirect to log
    /// in on a route whose browser mode is step-up.
    fn refusal(
        &self,
        e: &GuardError,
        judged: &Judged<'_>,
        credential: &Credential,
        (route, requirement): (&str, &Requirement),
        policy: Option<&Policy>,
    ) -> Answer {
        let answer = Refused::from(e.clone())
            .challenging(Some(&self.verifiers), requirement)
            .answer();
        #[cfg(feature = "stepup")]
        if let Some(browser) = &self.browser {
            let mode = policy.map_or(BrowserMode::StepUp, |p| {
                p.browser_of(route, BrowserMode::StepUp)
            });
            return browser.refused(answer, e, judged, credential, mode);
        }
        #[cfg(not(feature = "stepup"))]
        let _ = (judged, credential, route, policy);
        answer
    }
}

/// Every answer but a 200 names its code in `X-Reauth-Error` too: nginx's
/// `auth_request` drops the body, and the guides build the client's JSON
/// answer from this header.
fn named(mut outcome: Outcome<'_>) -> Outcome<'_> {
    if outcome.answer.status != 200 {
        outcome
            .answer
            .headers
            .push(("x-reauth-error", outcome.code.to_owned()));
    }
    outcome
}
