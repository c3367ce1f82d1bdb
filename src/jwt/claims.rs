//! ID-token claims: typed standard claims and their checks
//! (OIDC Core 3.1.3.7, RFC 7519 §4.1). Pure: the caller passes "now".

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Rejection, RejectionKind};

/// All claims of a verified token, as the JSON object they came in, shared
/// (a memo hit hands out the same object without copying it).
pub type ClaimsMap = std::sync::Arc<Map<String, Value>>;
use crate::jwt::claim::{
    check_audience, check_exp, check_iat, check_issuer, expired, id_claim, invalid, missing,
    no_control_chars, not_before, numeric_date, opt_string, reject, too_early,
};

/// The standard claims of a verified ID token. Times are Unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct IdTokenClaims {
    /// `iss`: equals the configured issuer.
    pub iss: String,
    /// `sub`: the user.
    pub sub: String,
    /// `aud`, always as a list.
    pub aud: Vec<String>,
    /// `exp`.
    pub exp: i64,
    /// `iat`.
    pub iat: i64,
    /// `nbf`, if present.
    pub nbf: Option<i64>,
    /// `auth_time`: when the user last actually authenticated (OIDC Core 2).
    /// Refreshing an ID token keeps it (OIDC Core 12.2).
    pub auth_time: Option<i64>,
    /// `nonce`, if present.
    pub nonce: Option<String>,
    /// `acr`, if present.
    pub acr: Option<String>,
    /// `amr`, empty when absent.
    pub amr: Vec<String>,
    /// `azp`, if present.
    pub azp: Option<String>,
    /// `sid` (session id), if present.
    pub sid: Option<String>,
    /// `jti`, if present.
    pub jti: Option<String>,
    /// The configured can-reauthenticate claim, if present.
    pub can_reauthenticate: Option<bool>,
    /// `client_id` (RFC 9068 §2.2: required in access tokens), if present.
    pub client_id: Option<String>,
    /// `scope` (RFC 9068 §2.2.3), split on spaces; empty when absent.
    pub scope: Vec<String>,
    /// `cnf` (RFC 7800): the key the token is bound to, if any.
    pub cnf: Confirmation,
}

/// A token's `cnf` claim (RFC 7800 §3.1): which key its presenter must prove.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum Confirmation {
    /// No `cnf`: a bearer token.
    #[default]
    None,
    /// `cnf.jkt` (RFC 9449 §6.1): bound to the DPoP key with this RFC 7638
    /// SHA-256 thumbprint (base64url).
    Jkt(String),
    /// A `cnf` of another kind (mTLS `x5t#S256`, RFC 8705...): bound to a
    /// proof `reauth` cannot check, so never accepted as a bearer token.
    Other,
}

impl IdTokenClaims {
    /// `auth_time` as a date.
    pub fn auth_time_utc(&self) -> Option<DateTime<Utc>> {
        self.auth_time
            .and_then(|t| Utc.timestamp_opt(t, 0).single())
    }

    /// `exp` as a date.
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        Utc.timestamp_opt(self.exp, 0).single()
    }
}

/// What the claims are checked against.
pub(crate) struct ClaimContext<'a> {
    pub issuer: &'a str,
    pub audiences: &'a [String],
    pub now: i64,
    pub leeway: i64,
    pub can_reauthenticate_claim: &'a str,
    pub kind: crate::jwt::token_kind::TokenKind,
}

/// The time-dependent checks again, on claims validated earlier (a memo hit):
/// `exp`, `nbf`, `iat`, with the same rules and codes as [`validate`].
pub(crate) fn check_times(c: &IdTokenClaims, now: i64, leeway: i64) -> Result<(), Rejection> {
    if now >= c.exp.saturating_add(leeway) {
        return Err(expired(c.exp, now, leeway));
    }
    if let Some(nbf) = c.nbf.filter(|nbf| *nbf > now.saturating_add(leeway)) {
        return Err(not_before(nbf, now, leeway));
    }
    if c.iat > now.saturating_add(leeway) {
        return Err(reject(
            RejectionKind::NotYetValid,
            too_early("token is issued (iat)", c.iat.saturating_sub(now), leeway),
        ));
    }
    Ok(())
}

/// Checks the claims in OIDC Core 3.1.3.7 order and returns them typed.
/// Each step is its own function below, called in this order (the first
/// failing step gives the rejection's code).
pub(crate) fn validate(
    map: &Map<String, Value>,
    ctx: &ClaimContext<'_>,
) -> Result<IdTokenClaims, Rejection> {
    let is_access = ctx.kind == crate::jwt::token_kind::TokenKind::AccessToken;
    // OIDC Core 3.1.3.7 steps 2-5: iss, aud, azp.
    let (iss, aud, azp) = check_recipients(map, ctx, is_access)?;
    // Steps 9-10 and RFC 7519 §4.1.5: exp, nbf, iat.
    let (exp, nbf, iat) = check_validity(map, ctx)?;
    // RFC 8725 §3.11-3.12: not a logout token.
    reject_logout_token(map)?;
    // OIDC Core 2: sub, sid.
    let (sub, sid) = check_subject(map)?;
    // OIDC Core 2: auth_time, when present, is a NumericDate. Whether it is
    // required, and how old it may be, is the route's freshness decision.
    let auth_time = numeric_date(map, "auth_time")?;
    let amr = read_amr(map)?;
    // RFC 9068 §2.2: client_id and jti.
    let (client_id, jti) = check_access_token_ids(map, is_access)?;
    let scope = read_scope(map)?;
    let can_reauthenticate = read_can_reauthenticate(map, ctx.can_reauthenticate_claim)?;
    let cnf = read_cnf(map)?;
    Ok(IdTokenClaims {
        iss,
        sub,
        aud,
        exp,
        iat,
        nbf,
        auth_time,
        nonce: opt_string(map, "nonce")?,
        acr: opt_string(map, "acr")?,
        amr,
        azp,
        sid,
        jti,
        can_reauthenticate,
        client_id,
        scope,
        cnf,
    })
}

/// RFC 7800 §3.1: `cnf` is a JSON object; RFC 9449 §6.1: its `jkt` is the
/// proof key's base64url SHA-256 thumbprint (43 characters).
fn read_cnf(map: &Map<String, Value>) -> Result<Confirmation, Rejection> {
    match map.get("cnf") {
        None => Ok(Confirmation::None),
        Some(Value::Object(cnf)) => match cnf.get("jkt") {
            Some(Value::String(jkt))
                if jkt.len() == 43
                    && jkt
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Ok(Confirmation::Jkt(jkt.clone()))
            }
            Some(_) => Err(invalid("cnf", "jkt is not a base64url SHA-256 thumbprint")),
            None => Ok(Confirmation::Other),
        },
        Some(_) => Err(invalid("cnf", "is not a JSON object")),
    }
}

/// OIDC Core 3.1.3.7 steps 2-5: who the token is from and for.
fn check_recipients(
    map: &Map<String, Value>,
    ctx: &ClaimContext<'_>,
    is_access: bool,
) -> Result<(String, Vec<String>, Option<String>), Rejection> {
    // OIDC Core 3.1.3.7 steps 2-3: iss exact, aud contains our client id.
    let iss = check_issuer(map, ctx.issuer)?;
    let aud = check_audience(map, ctx.audiences)?;
    // Steps 4-5: when azp is present, it must be one of our client ids
    // (ID tokens; an access token's audience is a resource, not a client).
    let azp = opt_string(map, "azp")?;
    if let Some(azp) = azp.as_ref().filter(|_| !is_access) {
        if !ctx.audiences.contains(azp) {
            return Err(reject(
                RejectionKind::InvalidAudience,
                "azp is not an accepted client id",
            ));
        }
    }
    Ok((iss, aud, azp))
}

/// OIDC Core 3.1.3.7 steps 9-10 and RFC 7519 §4.1.5: the validity window
/// (`exp`, `nbf`, `iat`) against the current time.
fn check_validity(
    map: &Map<String, Value>,
    ctx: &ClaimContext<'_>,
) -> Result<(i64, Option<i64>, i64), Rejection> {
    // Step 9: the current time MUST be before exp (plus leeway).
    let exp = check_exp(map, ctx.now, ctx.leeway)?;
    // RFC 7519 §4.1.5: not before nbf (minus leeway).
    let nbf = numeric_date(map, "nbf")?;
    if let Some(nbf) = nbf.filter(|nbf| *nbf > ctx.now.saturating_add(ctx.leeway)) {
        return Err(not_before(nbf, ctx.now, ctx.leeway));
    }
    // Step 10: iat is required; one in the future means a skewed or forged token.
    let iat = check_iat(map, ctx.now, ctx.leeway)?;
    Ok((exp, nbf, iat))
}

/// RFC 8725 §3.11-3.12 (cross-JWT confusion): a back-channel logout
/// token (its `events` names the logout event) is never an ID token,
/// even without `typ: logout+jwt`.
fn reject_logout_token(map: &Map<String, Value>) -> Result<(), Rejection> {
    if let Some(Value::Object(events)) = map.get("events") {
        if events.contains_key(crate::jwt::logout::BACKCHANNEL_LOGOUT_EVENT) {
            return Err(reject(
                RejectionKind::InvalidTokenType,
                "a back-channel logout token is not an ID token",
            ));
        }
    }
    Ok(())
}

/// OIDC Core 2: sub is REQUIRED, a non-empty string. It and `sid` are
/// forwarded as header values byte for byte, so control characters (CR,
/// LF, NUL, DEL...) are a bad claim here, never a 5xx later.
fn check_subject(map: &Map<String, Value>) -> Result<(String, Option<String>), Rejection> {
    let sub = opt_string(map, "sub")?.ok_or_else(|| missing("sub"))?;
    id_claim("sub", &sub)?;
    let sid = opt_string(map, "sid")?;
    if let Some(sid) = &sid {
        id_claim("sid", sid)?;
    }
    Ok((sub, sid))
}

/// OIDC Core 2: `amr`, when present, is an array of strings.
fn read_amr(map: &Map<String, Value>) -> Result<Vec<String>, Rejection> {
    match map.get("amr") {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid("amr", "must be an array of strings")),
        Some(_) => Err(invalid("amr", "must be an array of strings")),
    }
}

/// RFC 9068 §2.2: client_id and jti are REQUIRED in access tokens.
fn check_access_token_ids(
    map: &Map<String, Value>,
    is_access: bool,
) -> Result<(Option<String>, Option<String>), Rejection> {
    let client_id = opt_string(map, "client_id")?;
    let jti = opt_string(map, "jti")?;
    if is_access {
        match &client_id {
            None => return Err(missing("client_id")),
            Some(c) if c.is_empty() => return Err(invalid("client_id", "must not be empty")),
            Some(c) => no_control_chars("client_id", c)?,
        }
        if jti.as_deref().is_none_or(str::is_empty) {
            return Err(missing("jti"));
        }
    }
    Ok((client_id, jti))
}

/// RFC 9068 §2.2.3 / RFC 8693 §4.2: scope is a space-separated string.
fn read_scope(map: &Map<String, Value>) -> Result<Vec<String>, Rejection> {
    Ok(match opt_string(map, "scope")? {
        None => Vec::new(),
        Some(s) => {
            no_control_chars("scope", &s)?;
            s.split(' ')
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect()
        }
    })
}

/// The configured can-reauthenticate claim, when present, is a boolean.
fn read_can_reauthenticate(
    map: &Map<String, Value>,
    claim: &str,
) -> Result<Option<bool>, Rejection> {
    match map.get(claim) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(invalid("can_reauthenticate", "must be a boolean")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn check(claims: Value) -> Result<IdTokenClaims, &'static str> {
        let auds = vec!["client".to_owned()];
        let ctx = ClaimContext {
            issuer: "https://id.example",
            audiences: &auds,
            now: NOW,
            leeway: 30,
            can_reauthenticate_claim: "can",
            kind: crate::jwt::token_kind::TokenKind::IdToken,
        };
        validate(claims.as_object().unwrap(), &ctx).map_err(|r| r.code())
    }

    fn base() -> Value {
        json!({"iss":"https://id.example","aud":"client","sub":"u","exp":NOW+60,"iat":NOW})
    }

    fn with(k: &str, v: Value) -> Value {
        let mut b = base();
        b[k] = v;
        b
    }

    #[test]
    fn accepts_the_basics() {
        let c = check(base()).unwrap();
        assert_eq!(
            (c.sub.as_str(), c.aud.clone()),
            ("u", vec!["client".to_owned()])
        );
        assert!(check(with("aud", json!(["other", "client"]))).is_ok());
        assert!(check(with("exp", json!(NOW - 29))).is_ok(), "within leeway");
        assert!(
            check(with("exp", json!(1_700_000_060.9))).is_ok(),
            "fractional NumericDate"
        );
    }

    #[test]
    fn each_claim_rule() {
        assert_eq!(
            check(with("iss", json!("https://id.example/"))),
            Err("invalid_issuer")
        );
        assert_eq!(check(with("aud", json!("other"))), Err("invalid_audience"));
        assert_eq!(check(with("aud", json!([]))), Err("invalid_audience"));
        assert_eq!(check(with("aud", json!([1]))), Err("invalid_claim"));
        assert_eq!(check(with("azp", json!("other"))), Err("invalid_audience"));
        assert_eq!(check(with("exp", json!(NOW - 30))), Err("expired"));
        assert_eq!(
            check(with("exp", json!("9999999999"))),
            Err("invalid_claim")
        );
        assert_eq!(check(with("exp", json!(1e300))), Err("invalid_claim"));
        assert_eq!(check(with("exp", json!(u64::MAX))), Err("invalid_claim"));
        assert_eq!(check(with("nbf", json!(NOW + 31))), Err("not_yet_valid"));
        assert_eq!(check(with("iat", json!(NOW + 31))), Err("not_yet_valid"));
        assert_eq!(check(with("sub", json!(""))), Err("invalid_claim"));
        assert_eq!(check(with("sub", json!(5))), Err("invalid_claim"));
        assert_eq!(check(with("auth_time", json!("1"))), Err("invalid_claim"));
        assert_eq!(check(with("amr", json!("pwd"))), Err("invalid_claim"));
        assert_eq!(check(with("can", json!("false"))), Err("invalid_claim"));
        for bad in ["a\r\nX-Evil: 1", "a\u{0}", "a\u{7f}", "\t"] {
            assert_eq!(
                check(with("sub", json!(bad))),
                Err("invalid_claim"),
                "{bad:?}"
            );
            assert_eq!(
                check(with("sid", json!(bad))),
                Err("invalid_claim"),
                "{bad:?}"
            );
        }
        assert!(check(with("sub", json!(" leading space"))).is_ok());
        assert_eq!(
            check(with(
                "events",
                json!({"http://schemas.openid.net/event/backchannel-logout": {}})
            )),
            Err("invalid_token_type")
        );
        assert!(check(with("events", json!({"https://other/event": {}}))).is_ok());
        for k in ["iss", "aud", "exp", "iat", "sub"] {
            let mut b = base();
            b.as_object_mut().unwrap().remove(k);
            assert_eq!(check(b), Err("missing_claim"), "{k}");
        }
    }
}
