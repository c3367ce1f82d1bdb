//! The freshness decision: is the login behind this token recent and strong
//! enough for this route? Pure: the caller passes "now".

use std::time::Duration;

use crate::config::ReauthPolicy;
use crate::error::{Rejection, RejectionKind};
use crate::jwt::claims::IdTokenClaims;
use crate::verify::requirement::{Freshness, Requirement};

pub(crate) struct FreshnessContext {
    pub now: i64,
    pub leeway: i64,
    pub default_policy: ReauthPolicy,
    pub max_session_age: Option<Duration>,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// `auth_time` must be present, not in the future, and no older than `max_age`.
fn check_age(
    claims: &IdTokenClaims,
    max_age: Duration,
    ctx: &FreshnessContext,
    what: &str,
) -> Result<(), Rejection> {
    let challenge_age = max_age.as_secs();
    let auth_time = claims.auth_time.ok_or_else(|| {
        Rejection::new(
            RejectionKind::MissingClaim,
            format!("auth_time claim is required by {what}"),
        )
        .with_max_age(challenge_age)
    })?;
    let age = ctx.now.saturating_sub(auth_time);
    if age > secs(max_age).saturating_add(ctx.leeway) {
        return Err(Rejection::new(
            RejectionKind::AuthenticationTooOld,
            format!("authentication is {age} s old; {what} allows {challenge_age} s"),
        )
        .with_max_age(challenge_age));
    }
    Ok(())
}

/// Applies the verifier-wide session limit, then the route's [`Requirement`].
pub(crate) fn evaluate(
    claims: &IdTokenClaims,
    req: &Requirement,
    ctx: &FreshnessContext,
) -> Result<Freshness, Rejection> {
    // OIDC Core 2: auth_time is a past instant; one in the future is forged or skewed.
    if claims
        .auth_time
        .is_some_and(|t| t > ctx.now.saturating_add(ctx.leeway))
    {
        return Err(Rejection::new(
            RejectionKind::InvalidClaim,
            "auth_time is in the future",
        ));
    }
    // Absolute session lifetime: applies on every route, whatever it demands.
    if let Some(max_session) = ctx.max_session_age {
        check_age(claims, max_session, ctx, "the session lifetime")?;
    }
    if !req.demands_login() {
        return Ok(Freshness::NotRequired);
    }
    let mut verdict = if req.max_age.is_some() {
        Freshness::Fresh
    } else {
        Freshness::NotRequired
    };
    if claims.can_reauthenticate == Some(false) {
        match req.policy.unwrap_or(ctx.default_policy) {
            ReauthPolicy::Deny => {
                return Err(Rejection::new(
                    RejectionKind::ReauthenticationUnavailable,
                    "this user cannot re-authenticate, and this operation requires it",
                ));
            }
            // The age check is waived; step-up demands (acr/amr) still hold.
            ReauthPolicy::Allow => verdict = Freshness::Unavailable,
        }
    } else if let Some(max_age) = req.max_age {
        // RFC 9470 §3 / OIDC Core 3.1.2.1 max_age: now - auth_time <= max_age (+ leeway).
        check_age(claims, max_age, ctx, "this operation")?;
    }
    // RFC 9470 §3: step-up by authentication context class ...
    let step_up = || {
        let r = Rejection::new(
            RejectionKind::InsufficientAuthentication,
            "a stronger authentication is required for this operation",
        )
        .with_acr_values(req.acr_values.clone());
        match req.max_age {
            Some(m) => r.with_max_age(m.as_secs()),
            None => r,
        }
    };
    if !req.acr_values.is_empty()
        && !claims
            .acr
            .as_ref()
            .is_some_and(|a| req.acr_values.contains(a))
    {
        return Err(step_up());
    }
    // ... and by authentication methods (RFC 8176 values such as `mfa`).
    if !req.amr.iter().all(|m| claims.amr.contains(m)) {
        return Err(step_up());
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn claims(auth_time: Option<i64>, can: Option<bool>) -> IdTokenClaims {
        IdTokenClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: vec!["a".into()],
            exp: NOW + 60,
            iat: NOW,
            nbf: None,
            auth_time,
            nonce: None,
            acr: Some("urn:loa:1".into()),
            amr: vec!["pwd".into()],
            azp: None,
            sid: None,
            jti: None,
            can_reauthenticate: can,
            client_id: None,
            scope: Vec::new(),
            cnf: Default::default(),
        }
    }

    fn ctx() -> FreshnessContext {
        FreshnessContext {
            now: NOW,
            leeway: 30,
            default_policy: ReauthPolicy::Deny,
            max_session_age: None,
        }
    }

    fn five_min() -> Requirement {
        Requirement::max_age(Duration::from_secs(300))
    }

    #[test]
    fn max_age_boundaries() {
        let c = ctx();
        assert_eq!(
            evaluate(&claims(Some(NOW - 330), None), &five_min(), &c),
            Ok(Freshness::Fresh)
        );
        let old = evaluate(&claims(Some(NOW - 331), None), &five_min(), &c).unwrap_err();
        assert_eq!(
            (old.code(), old.max_age()),
            ("authentication_too_old", Some(300))
        );
        let none = evaluate(&claims(None, None), &five_min(), &c).unwrap_err();
        assert_eq!((none.code(), none.max_age()), ("missing_claim", Some(300)));
        assert_eq!(
            evaluate(&claims(Some(NOW + 31), None), &five_min(), &c)
                .unwrap_err()
                .code(),
            "invalid_claim"
        );
        assert_eq!(
            evaluate(&claims(None, None), &Requirement::none(), &c),
            Ok(Freshness::NotRequired)
        );
        assert_eq!(
            evaluate(&claims(Some(0), None), &Requirement::none(), &c),
            Ok(Freshness::NotRequired)
        );
    }

    #[test]
    fn cannot_reauthenticate_policy() {
        let c = ctx();
        let cannot = claims(Some(NOW - 3600), Some(false));
        assert_eq!(
            evaluate(&cannot, &five_min(), &c).unwrap_err().code(),
            "reauthentication_unavailable"
        );
        let allow = five_min().when_cannot_reauthenticate(ReauthPolicy::Allow);
        assert_eq!(evaluate(&cannot, &allow, &c), Ok(Freshness::Unavailable));
        let allow_default = FreshnessContext {
            default_policy: ReauthPolicy::Allow,
            ..ctx()
        };
        assert_eq!(
            evaluate(&cannot, &five_min(), &allow_default),
            Ok(Freshness::Unavailable)
        );
        let deny_route = five_min().when_cannot_reauthenticate(ReauthPolicy::Deny);
        assert!(evaluate(&cannot, &deny_route, &allow_default).is_err());
        // `true` is an ordinary user: the age check applies.
        let can = claims(Some(NOW - 3600), Some(true));
        assert_eq!(
            evaluate(&can, &five_min(), &c).unwrap_err().code(),
            "authentication_too_old"
        );
    }

    #[test]
    fn step_up() {
        let c = ctx();
        let fresh = claims(Some(NOW), None);
        let acr = Requirement::none().acr_values(["urn:loa:2"]);
        let e = evaluate(&fresh, &acr, &c).unwrap_err();
        assert_eq!(
            (e.code(), e.acr_values().to_vec()),
            ("insufficient_authentication", vec!["urn:loa:2".to_owned()])
        );
        assert!(
            e.www_authenticate()
                .unwrap()
                .contains("acr_values=\"urn:loa:2\"")
        );
        assert!(
            evaluate(
                &fresh,
                &Requirement::none().acr_values(["urn:loa:1", "urn:loa:2"]),
                &c
            )
            .is_ok()
        );
        assert_eq!(
            evaluate(&fresh, &Requirement::none().require_amr(["mfa"]), &c)
                .unwrap_err()
                .code(),
            "insufficient_authentication"
        );
        assert!(evaluate(&fresh, &Requirement::none().require_amr(["pwd"]), &c).is_ok());
    }

    #[test]
    fn session_lifetime_applies_everywhere() {
        let c = FreshnessContext {
            max_session_age: Some(Duration::from_secs(86_400)),
            ..ctx()
        };
        let e = evaluate(&claims(Some(NOW - 90_000), None), &Requirement::none(), &c).unwrap_err();
        assert_eq!(
            (e.code(), e.max_age()),
            ("authentication_too_old", Some(86_400))
        );
        assert!(evaluate(&claims(Some(NOW - 3600), None), &Requirement::none(), &c).is_ok());
    }
}
