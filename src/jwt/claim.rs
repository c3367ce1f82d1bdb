//! Reading and checking single claims, shared by ID tokens, access tokens
//! and logout tokens: typed readers (strings, NumericDates), the checks
//! every kind makes (`iss`, `aud`, `exp`, `iat`, ids), and refusals that
//! name their values. Pure: the caller passes "now".

use serde_json::{Map, Value};

use crate::error::{Rejection, RejectionKind};
use crate::jwt::token::truncate;

pub(crate) fn reject(
    kind: RejectionKind,
    msg: impl Into<std::borrow::Cow<'static, str>>,
) -> Rejection {
    Rejection::new(kind, msg)
}

pub(crate) fn missing(name: &str) -> Rejection {
    reject(
        RejectionKind::MissingClaim,
        format!("{name} claim is required"),
    )
}

pub(crate) fn invalid(name: &str, what: &str) -> Rejection {
    reject(RejectionKind::InvalidClaim, format!("{name} claim {what}"))
}

pub(crate) fn opt_string(
    map: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, Rejection> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(name, "must be a string")),
    }
}

/// RFC 7519 §2 NumericDate: a JSON number (never a string). Fractions are
/// floored; values outside the `i64` range are invalid.
pub(crate) fn numeric_date(map: &Map<String, Value>, name: &str) -> Result<Option<i64>, Rejection> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                return Ok(Some(i));
            }
            match n.as_f64() {
                Some(f) if (-9.0e15..=9.0e15).contains(&f) => Ok(Some(f.floor() as i64)),
                _ => Err(invalid(name, "is out of range")),
            }
        }
        Some(_) => Err(invalid(name, "must be a JSON number (NumericDate)")),
    }
}

/// OIDC Core 3.1.3.7 step 2: `iss` MUST exactly match the issuer.
pub(crate) fn check_issuer(map: &Map<String, Value>, issuer: &str) -> Result<String, Rejection> {
    let iss = opt_string(map, "iss")?.ok_or_else(|| missing("iss"))?;
    if iss != issuer {
        return Err(reject(
            RejectionKind::InvalidIssuer,
            format!("iss {:?} is not the expected issuer", truncate(&iss)),
        ));
    }
    Ok(iss)
}

/// OIDC Core 3.1.3.7 step 3: `aud` (a string or an array of strings) MUST
/// contain one of our client ids.
pub(crate) fn check_audience(
    map: &Map<String, Value>,
    audiences: &[String],
) -> Result<Vec<String>, Rejection> {
    let aud: Vec<String> = match map.get("aud") {
        None => return Err(missing("aud")),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| invalid("aud", "must be a string or an array of strings"))?,
        Some(_) => return Err(invalid("aud", "must be a string or an array of strings")),
    };
    if !aud.iter().any(|a| audiences.contains(a)) {
        return Err(reject(
            RejectionKind::InvalidAudience,
            format!(
                "aud {} does not contain an accepted audience ({})",
                some_of(&aud),
                some_of(audiences)
            ),
        ));
    }
    Ok(aud)
}

/// Up to three values, each truncated, for a message: `["a", "b", +2 more]`.
fn some_of(values: &[String]) -> String {
    let mut shown: Vec<String> = values
        .iter()
        .take(3)
        .map(|v| format!("{:?}", truncate(v)))
        .collect();
    if values.len() > 3 {
        shown.push(format!("+{} more", values.len() - 3));
    }
    format!("[{}]", shown.join(", "))
}

/// "expired 120 s ago" style offsets, with the leeway that was allowed:
/// a refusal by time names both, so a skewed clock is seen at once.
fn too_late(what: &str, secs: i64, leeway: i64) -> String {
    format!("{what} {secs} s ago (leeway {leeway} s; is a clock skewed?)")
}

pub(crate) fn too_early(what: &str, secs: i64, leeway: i64) -> String {
    format!("{what} {secs} s in the future, beyond the {leeway} s leeway (is a clock skewed?)")
}

/// RFC 7519 §4.1.4 / OIDC Core 3.1.3.7 step 9: `exp` required, not passed.
pub(crate) fn check_exp(map: &Map<String, Value>, now: i64, leeway: i64) -> Result<i64, Rejection> {
    let exp = numeric_date(map, "exp")?.ok_or_else(|| missing("exp"))?;
    if now >= exp.saturating_add(leeway) {
        return Err(expired(exp, now, leeway));
    }
    Ok(exp)
}

/// OIDC Core 3.1.3.7 step 10: `iat` required, not in the future.
pub(crate) fn check_iat(map: &Map<String, Value>, now: i64, leeway: i64) -> Result<i64, Rejection> {
    let iat = numeric_date(map, "iat")?.ok_or_else(|| missing("iat"))?;
    if iat > now.saturating_add(leeway) {
        return Err(reject(
            RejectionKind::NotYetValid,
            too_early("token is issued (iat)", iat.saturating_sub(now), leeway),
        ));
    }
    Ok(iat)
}

pub(crate) fn expired(exp: i64, now: i64, leeway: i64) -> Rejection {
    reject(
        RejectionKind::Expired,
        too_late("token expired (exp)", now.saturating_sub(exp), leeway),
    )
}

pub(crate) fn not_before(nbf: i64, now: i64, leeway: i64) -> Rejection {
    reject(
        RejectionKind::NotYetValid,
        too_early("token is valid from (nbf)", nbf.saturating_sub(now), leeway),
    )
}

/// A claim that ends up in an HTTP header must hold no control character.
pub(crate) fn no_control_chars(name: &str, value: &str) -> Result<(), Rejection> {
    if value.chars().any(char::is_control) {
        return Err(invalid(name, "must not contain control characters"));
    }
    Ok(())
}

/// A `sub` or `sid`: forwarded as a header value and revocable, so it
/// follows the revocation id rule
/// ([`check_id`](crate::jwt::id::check_id): 1 to 1,024 bytes, no control
/// character), in ID tokens, access tokens and logout tokens alike.
pub(crate) fn id_claim(name: &str, value: &str) -> Result<(), Rejection> {
    use crate::error::IdError;
    match crate::jwt::id::check_id(value) {
        Ok(()) => Ok(()),
        Err(IdError::Empty) => Err(invalid(name, "must not be empty")),
        Err(IdError::ControlCharacter { .. }) => {
            Err(invalid(name, "must not contain control characters"))
        }
        Err(e @ IdError::TooLong { .. }) => Err(Rejection::new(
            RejectionKind::InvalidClaim,
            format!("{name} is invalid: {e}"),
        )),
    }
}
