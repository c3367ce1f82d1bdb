//! What one endpoint demands of the login behind a token.

use std::time::Duration;

pub use crate::config::ReauthPolicy;

/// The freshness verdict of an accepted token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// The route demanded a recent login and `auth_time` satisfies it.
    Fresh,
    /// The route demanded nothing about the login's age.
    NotRequired,
    /// The user cannot re-authenticate and the policy is [`ReauthPolicy::Allow`].
    Unavailable,
}

impl Freshness {
    /// `fresh`, `not_required` or `unavailable`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::NotRequired => "not_required",
            Self::Unavailable => "unavailable",
        }
    }
}

/// What one endpoint demands. The default demands nothing beyond a valid,
/// correctly signed ID token.
///
/// ```
/// use reauth::{ReauthPolicy, Requirement};
/// use std::time::Duration;
///
/// // Account deletion: a login no older than five minutes, and MFA.
/// let delete = Requirement::max_age(Duration::from_secs(300)).require_amr(["mfa"]);
/// // Payouts: same, but users who cannot re-authenticate may proceed.
/// let payout = Requirement::max_age(Duration::from_secs(300))
///     .when_cannot_reauthenticate(ReauthPolicy::Allow);
/// assert_eq!(delete.max_age_secs(), Some(300));
/// # let _ = payout;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirement {
    pub(crate) max_age: Option<Duration>,
    pub(crate) policy: Option<ReauthPolicy>,
    pub(crate) acr_values: Vec<String>,
    pub(crate) amr: Vec<String>,
    pub(crate) scopes: Vec<String>,
    pub(crate) dpop: DpopPolicy,
}

/// Whether a route takes bearer tokens (RFC 9449 §7).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum DpopPolicy {
    /// Unbound tokens as `Bearer`; DPoP-bound ones only with their proof
    /// (`Authorization: DPoP` and a `DPoP` header). The default.
    #[default]
    Allowed,
    /// Only DPoP-bound tokens with their proof: a bearer token is refused.
    Required,
}

impl DpopPolicy {
    /// `allowed` or `required` (the policy file's `dpop` values).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Required => "required",
        }
    }
}

impl Requirement {
    /// Signature and claims only: no freshness, no step-up.
    pub fn none() -> Self {
        Self::default()
    }

    /// `auth_time` must be no older than `max_age` (plus the leeway).
    pub fn max_age(max_age: Duration) -> Self {
        Self {
            max_age: Some(max_age),
            ..Self::default()
        }
    }

    /// Replaces the `max_age`.
    pub fn with_max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// Whether this route takes bearer tokens ([`DpopPolicy`]; default
    /// `Allowed`).
    pub fn dpop(mut self, policy: DpopPolicy) -> Self {
        self.dpop = policy;
        self
    }

    /// The route's [`DpopPolicy`].
    pub fn dpop_policy(&self) -> DpopPolicy {
        self.dpop
    }

    /// Overrides the verifier-wide [`ReauthPolicy`] for this route.
    pub fn when_cannot_reauthenticate(mut self, policy: ReauthPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The token's `acr` must be one of these (e.g. `urn:okta:loa:2fa:any`);
    /// otherwise `insufficient_authentication` with an RFC 9470 `acr_values`
    /// challenge. Empty = no requirement.
    pub fn acr_values<I, S>(mut self, acr_values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.acr_values = acr_values.into_iter().map(Into::into).collect();
        self
    }

    /// The token's `amr` must contain every one of these methods (e.g. `mfa`).
    pub fn require_amr<I, S>(mut self, methods: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.amr = methods.into_iter().map(Into::into).collect();
        self
    }

    /// The `max_age`, if any.
    pub fn max_age_value(&self) -> Option<Duration> {
        self.max_age
    }

    /// The `max_age` in whole seconds, as sent in the challenge.
    pub fn max_age_secs(&self) -> Option<u64> {
        self.max_age.map(|d| d.as_secs())
    }

    /// The policy override, if any.
    pub fn policy(&self) -> Option<ReauthPolicy> {
        self.policy
    }

    /// The accepted `acr` values.
    pub fn acr(&self) -> &[String] {
        &self.acr_values
    }

    /// The required `amr` methods.
    pub fn amr(&self) -> &[String] {
        &self.amr
    }

    /// The access token's `scope` must contain every one of these;
    /// otherwise **403 `insufficient_scope`** with the RFC 6750 §3.1
    /// challenge `Bearer error="insufficient_scope", scope="..."`. Checked
    /// before freshness (a new login would not add a scope). An ID token
    /// carries no `scope`: use this with [`TokenKind::AccessToken`](crate::TokenKind).
    pub fn require_scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The required scopes.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// This requirement made stricter by per-request overrides (the
    /// `reauth serve` query, a policy file): an override may only tighten.
    /// `max_age` may only shrink (or be added), `acr_values` may only narrow
    /// to a non-empty subset of the accepted values (or be added when any
    /// `acr` was accepted), `amr` may only add methods. Anything that would
    /// weaken what is configured is an error naming the override.
    pub fn tightened(
        &self,
        max_age: Option<Duration>,
        acr_values: Option<Vec<String>>,
        amr: Option<Vec<String>>,
    ) -> Result<Requirement, String> {
        let mut r = self.clone();
        if let Some(m) = max_age {
            if self.max_age.is_some_and(|configured| m > configured) {
                return Err(format!(
                    "max_age {} s is longer than the configured {} s: overrides may only tighten",
                    m.as_secs(),
                    self.max_age_secs().unwrap_or_default()
                ));
            }
            r.max_age = Some(m);
        }
        if let Some(acr) = acr_values {
            if acr.is_empty() && !self.acr_values.is_empty() {
                return Err(
                    "an empty acr_values would accept any acr: overrides may only tighten".into(),
                );
            }
            if !self.acr_values.is_empty() {
                if let Some(extra) = acr.iter().find(|a| !self.acr_values.contains(a)) {
                    return Err(format!(
                        "acr_values {extra:?} is not among the configured ones: overrides may only tighten"
                    ));
                }
            }
            if !acr.is_empty() {
                r.acr_values = acr;
            }
        }
        if let Some(methods) = amr {
            for m in methods {
                if !r.amr.contains(&m) {
                    r.amr.push(m);
                }
            }
        }
        Ok(r)
    }

    /// True when the route demands anything of the login itself.
    pub fn demands_login(&self) -> bool {
        self.max_age.is_some() || !self.acr_values.is_empty() || !self.amr.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(items: &[&str]) -> Option<Vec<String>> {
        Some(items.iter().map(|s| (*s).to_owned()).collect())
    }

    #[test]
    fn overrides_only_tighten() {
        let base = Requirement::max_age(Duration::from_secs(300))
            .acr_values(["urn:loa:2", "urn:loa:3"])
            .require_amr(["mfa"]);
        let secs = |s| Some(Duration::from_secs(s));
        // Tighter: accepted.
        let t = base
            .tightened(secs(60), v(&["urn:loa:3"]), v(&["hwk"]))
            .unwrap();
        assert_eq!(t.max_age_secs(), Some(60));
        assert_eq!(t.acr(), ["urn:loa:3"]);
        assert_eq!(t.amr(), ["mfa", "hwk"]);
        assert_eq!(base.tightened(None, None, None).unwrap(), base);
        assert_eq!(
            base.tightened(None, None, v(&[])).unwrap(),
            base,
            "amr= adds nothing"
        );
        // Weaker: refused.
        assert!(base.tightened(secs(301), None, None).is_err());
        assert!(base.tightened(secs(99_999_999), None, None).is_err());
        assert!(base.tightened(None, v(&[]), None).is_err());
        assert!(base.tightened(None, v(&["urn:loa:1"]), None).is_err());
        assert!(
            base.tightened(None, v(&["urn:loa:2", "urn:loa:1"]), None)
                .is_err()
        );
        // Nothing configured: any demand is a tightening.
        let none = Requirement::none();
        let t = none.tightened(secs(99), v(&["a"]), v(&["b"])).unwrap();
        assert_eq!(
            (t.max_age_secs(), t.acr(), t.amr()),
            (Some(99), &["a".to_owned()][..], &["b".to_owned()][..])
        );
        assert_eq!(none.tightened(None, v(&[]), None).unwrap(), none);
    }
}
