//! OpenID Connect Back-Channel Logout 1.0: the logout token's claims (§2.4)
//! and their validation (§2.6). Pure: the caller passes "now"; the signature
//! was already checked with the same keys and allow-list as ID tokens.

use serde_json::{Map, Value};

use crate::error::{Rejection, RejectionKind};
use crate::jwt::claim::{
    check_audience, check_exp, check_iat, check_issuer, id_claim, invalid, missing, opt_string,
};

/// The `events` member that makes a JWT a logout token (§2.4).
pub const BACKCHANNEL_LOGOUT_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// A validated logout request from the issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutEvent {
    /// The user, when given.
    pub sub: Option<String>,
    /// The session, when given.
    pub sid: Option<String>,
    /// The token's unique id (recorded against replay).
    pub jti: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
}

pub(crate) struct LogoutContext<'a> {
    pub issuer: &'a str,
    pub audiences: &'a [String],
    pub now: i64,
    pub leeway: i64,
    /// How old `iat` may be.
    pub max_age: i64,
}

/// §2.6 steps 3-6 (step 7, `jti` replay, needs the store: the caller does it).
pub(crate) fn validate(
    map: &Map<String, Value>,
    ctx: &LogoutContext<'_>,
) -> Result<LogoutEvent, Rejection> {
    // Step 3: iss, aud and iat as for an ID token (OIDC Core 3.1.3.7), plus exp.
    check_issuer(map, ctx.issuer)?;
    check_audience(map, ctx.audiences)?;
    let iat = check_iat(map, ctx.now, ctx.leeway)?;
    if ctx.now.saturating_sub(iat) > ctx.max_age.saturating_add(ctx.leeway) {
        return Err(Rejection::new(
            RejectionKind::Expired,
            "logout token is too old (iat)",
        ));
    }
    let exp = check_exp(map, ctx.now, ctx.leeway)?;
    // Step 4: a sub, a sid, or both.
    let sub = opt_string(map, "sub")?;
    let sid = opt_string(map, "sid")?;
    if sub.is_none() && sid.is_none() {
        return Err(missing("sub or sid"));
    }
    // They are revoked as ids (and `sub` may reach a header): the same rule
    // as in ID tokens (OIDC Core 2), checked before anything is written.
    for (name, value) in [("sub", &sub), ("sid", &sid)] {
        if let Some(value) = value {
            id_claim(name, value)?;
        }
    }
    // Step 5: events has the back-channel logout member, a JSON object.
    match map.get("events") {
        None => return Err(missing("events")),
        Some(Value::Object(events)) => match events.get(BACKCHANNEL_LOGOUT_EVENT) {
            Some(Value::Object(_)) => {}
            Some(_) => {
                return Err(invalid(
                    "events",
                    "backchannel-logout member must be a JSON object",
                ));
            }
            None => return Err(invalid("events", "has no backchannel-logout member")),
        },
        Some(_) => return Err(invalid("events", "must be a JSON object")),
    }
    // Step 6: a nonce means someone is replaying an ID token as a logout token.
    if map.contains_key("nonce") {
        return Err(invalid("nonce", "must not be present in a logout token"));
    }
    // §2.4: jti is REQUIRED (step 7 records it).
    let jti = opt_string(map, "jti")?.ok_or_else(|| missing("jti"))?;
    id_claim("jti", &jti)?;
    Ok(LogoutEvent {
        sub,
        sid,
        jti,
        iat,
        exp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn check(v: Value) -> Result<LogoutEvent, &'static str> {
        let auds = vec!["c".to_owned()];
        let ctx = LogoutContext {
            issuer: "https://i",
            audiences: &auds,
            now: NOW,
            leeway: 30,
            max_age: 300,
        };
        validate(v.as_object().unwrap(), &ctx).map_err(|r| r.code())
    }

    fn base() -> Value {
        json!({"iss":"https://i","aud":"c","iat":NOW,"exp":NOW+120,"jti":"j","sid":"s",
               "events":{BACKCHANNEL_LOGOUT_EVENT:{}}})
    }

    fn with(k: &str, v: Value) -> Value {
        let mut b = base();
        if v.is_null() {
            b.as_object_mut().unwrap().remove(k);
        } else {
            b[k] = v;
        }
        b
    }

    #[test]
    fn rules() {
        assert_eq!(check(base()).unwrap().sid.as_deref(), Some("s"));
        assert!(check(with("sub", json!("u"))).is_ok());
        assert_eq!(check(with("sid", Value::Null)), Err("missing_claim"));
        assert_eq!(check(with("events", Value::Null)), Err("missing_claim"));
        assert_eq!(
            check(with("events", json!({"http://other": {}}))),
            Err("invalid_claim")
        );
        assert_eq!(
            check(with("events", json!({BACKCHANNEL_LOGOUT_EVENT: true}))),
            Err("invalid_claim")
        );
        assert_eq!(check(with("nonce", json!("n"))), Err("invalid_claim"));
        assert_eq!(check(with("jti", Value::Null)), Err("missing_claim"));
        assert_eq!(check(with("iat", json!(NOW - 400))), Err("expired"));
        assert_eq!(check(with("exp", json!(NOW - 31))), Err("expired"));
        assert_eq!(
            check(with("iss", json!("https://x"))),
            Err("invalid_issuer")
        );
        assert_eq!(check(with("aud", json!("x"))), Err("invalid_audience"));
        // Ids are revoked as written: the id rule, like ID-token claims.
        for (k, v) in [
            ("sid", json!("s\r")),
            ("sid", json!("a\nb")),
            ("sid", json!("")),
            ("sid", json!("x".repeat(1025))),
            ("sub", json!("u\t")),
            ("sub", json!("")),
            ("jti", json!("j\n")),
        ] {
            assert_eq!(check(with(k, v.clone())), Err("invalid_claim"), "{k}={v}");
        }
    }
}
