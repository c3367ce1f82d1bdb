//! The requirement keys of `[defaults]` and of a route: `max_age`,
//! `acr_values`, `amr`, `scopes`, `when_cannot_reauthenticate` and `dpop`.

use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::reader::{Parser, find};
use crate::config::{MAX_DURATION, ReauthPolicy};
use crate::gate::duration;
use crate::jwt::token_kind::TokenKind;
use crate::verify::requirement::{DpopPolicy, Requirement};

impl Parser<'_> {
    /// A requirement from `max_age`, `acr_values`, `amr`, `scopes` and
    /// `when_cannot_reauthenticate`; absent keys keep `base`'s values.
    /// `place` ("on route \"x\"", "in [defaults]") names it in errors.
    pub(super) fn requirement(
        &mut self,
        t: &DeTable<'_>,
        base: &Requirement,
        place: &str,
    ) -> Requirement {
        let mut r = base.clone();
        if let Some((_, v)) = find(t, "max_age") {
            let parsed = match v.get_ref() {
                DeValue::String(s) => duration::parse(s).map_err(|e| e.to_string()),
                DeValue::Integer(i) => i
                    .as_str()
                    .replace('_', "")
                    .parse::<u64>()
                    .ok()
                    .filter(|_| i.radix() == 10)
                    .map(Duration::from_secs)
                    .ok_or_else(|| "max_age is a non-negative number of seconds".to_owned()),
                _ => Err("max_age is a duration: \"5m\", \"300s\" or 300".to_owned()),
            };
            match parsed {
                Ok(d) if d.is_zero() => self.error(
                    v.span(),
                    "max_age = 0 rejects every login (write at least 1s)",
                ),
                Ok(d) if d > MAX_DURATION => {
                    self.error(v.span(), "max_age is longer than 100 years")
                }
                Ok(d) => r = r.with_max_age(Some(d)),
                Err(e) => self.error(v.span(), e),
            }
        }
        if let Some((_, v)) = find(t, "acr_values") {
            if let Some(list) = self.strings(v, "acr_values") {
                r = r.acr_values(list.into_iter().map(|(s, _)| s.to_owned()));
            }
        }
        if let Some((_, v)) = find(t, "amr") {
            if let Some(list) = self.strings(v, "amr") {
                r = r.require_amr(list.into_iter().map(|(s, _)| s.to_owned()));
            }
        }
        if let Some((k, v)) = find(t, "scopes") {
            // RFC 9068 §2.2.3: `scope` is an access token's claim; an ID
            // token (OIDC Core §2) has none, so the route would refuse all.
            if self.kind == Some(TokenKind::IdToken) {
                self.error(
                    k.span(),
                    format!(
                        "scopes {place}: this gate verifies ID tokens, which carry no scope, so \
                         every request would be refused (insufficient_scope): verify access \
                         tokens (reauth serve --token-kind access) or remove scopes"
                    ),
                );
            }
            if let Some(list) = self.strings(v, "scopes") {
                r = r.require_scopes(list.into_iter().map(|(s, _)| s.to_owned()));
            }
        }
        if let Some((_, v)) = find(t, "when_cannot_reauthenticate") {
            match self.string(v, "when_cannot_reauthenticate") {
                Some("deny") => r = r.when_cannot_reauthenticate(ReauthPolicy::Deny),
                Some("allow") => r = r.when_cannot_reauthenticate(ReauthPolicy::Allow),
                Some(other) => self.error(
                    v.span(),
                    format!("when_cannot_reauthenticate = {other:?}: use \"deny\" or \"allow\""),
                ),
                None => {}
            }
        }
        // RFC 9449 §7: `dpop = "required"` refuses bearer tokens.
        if let Some((_, v)) = find(t, "dpop") {
            match self.string(v, "dpop") {
                Some("allowed") => r = r.dpop(DpopPolicy::Allowed),
                Some("required") => r = r.dpop(DpopPolicy::Required),
                Some(other) => self.error(
                    v.span(),
                    format!("dpop = {other:?}: use \"allowed\" or \"required\""),
                ),
                None => {}
            }
        }
        r
    }
}
