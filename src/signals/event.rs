//! Security Event Tokens (RFC 8417) as SSF 1.0 §4 profiles them: the
//! claims, the one event, and what kind of event it is (CAEP 1.0, RISC
//! 1.0, SSF's own). Pure: the signature was checked and the payload parsed
//! strictly before [`validate`] sees it; the caller passes "now".

use serde_json::{Map, Value};

use crate::error::{Rejection, SetError, VerifyError};
use crate::jwt::claim::{check_audience, check_iat, check_issuer, id_claim, numeric_date};
use crate::signals::subject::{self, Subject};

const CAEP: &str = "https://schemas.openid.net/secevent/caep/event-type/";
const RISC: &str = "https://schemas.openid.net/secevent/risc/event-type/";
const SSF: &str = "https://schemas.openid.net/secevent/ssf/event-type/";

/// The longest `jti` a SET may have, in bytes (it is a replay-cache key).
pub const MAX_JTI_BYTES: usize = 256;

/// What an event asks of a receiver, by its type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// CAEP `session-revoked`.
    SessionRevoked,
    /// CAEP `credential-change`.
    CredentialChange,
    /// CAEP `token-claims-change`: tokens issued before carry stale claims.
    TokenClaimsChange,
    /// CAEP `assurance-level-change`; `decrease` is true only for
    /// `change_direction: "decrease"`.
    AssuranceLevelChange {
        /// The level went down.
        decrease: bool,
    },
    /// RISC `account-disabled`.
    AccountDisabled,
    /// RISC `account-purged`.
    AccountPurged,
    /// RISC `sessions-revoked`.
    SessionsRevoked,
    /// RISC `credential-compromise`.
    CredentialCompromise,
    /// RISC `account-credential-change-required`.
    AccountCredentialChangeRequired,
    /// SSF `verification` (§8.1.4.1), with its `state`.
    Verification {
        /// The `state` the receiver asked for, when any.
        state: Option<String>,
    },
    /// SSF `stream-updated` (§8.1.5), with the stream's new status.
    StreamUpdated {
        /// `enabled`, `paused` or `disabled`.
        status: String,
        /// Why, when given.
        reason: Option<String>,
    },
    /// Any other type: accepted, counted and ignored.
    Other,
}

impl EventKind {
    /// The short name metrics and logs use: the type URI's last segment
    /// for the known types, `other` otherwise (a bounded label set).
    pub fn name(&self) -> &'static str {
        match self {
            Self::SessionRevoked => "session-revoked",
            Self::CredentialChange => "credential-change",
            Self::TokenClaimsChange => "token-claims-change",
            Self::AssuranceLevelChange { .. } => "assurance-level-change",
            Self::AccountDisabled => "account-disabled",
            Self::AccountPurged => "account-purged",
            Self::SessionsRevoked => "sessions-revoked",
            Self::CredentialCompromise => "credential-compromise",
            Self::AccountCredentialChangeRequired => "account-credential-change-required",
            Self::Verification { .. } => "verification",
            Self::StreamUpdated { .. } => "stream-updated",
            Self::Other => "other",
        }
    }

    /// Every short name [`name`](Self::name) may give.
    pub const NAMES: [&'static str; 12] = [
        "session-revoked",
        "credential-change",
        "token-claims-change",
        "assurance-level-change",
        "account-disabled",
        "account-purged",
        "sessions-revoked",
        "credential-compromise",
        "account-credential-change-required",
        "verification",
        "stream-updated",
        "other",
    ];
}

/// A validated Security Event Token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecurityEvent {
    /// The SET's unique id.
    pub jti: String,
    /// Issued at.
    pub iat: i64,
    /// The transaction id, when given (SSF 1.0 §4.1.9).
    pub txn: Option<String>,
    /// The event type URI.
    pub event_type: String,
    /// What kind of event it is.
    pub kind: EventKind,
    /// The primary subject (`sub_id`).
    pub subject: Subject,
    /// When the event happened (`event_timestamp`), when given.
    pub event_timestamp: Option<i64>,
}

pub(crate) struct SetContext<'a> {
    pub transmitter: &'a str,
    pub audience: &'a [String],
    pub now: i64,
    pub leeway: i64,
    /// How old `iat` may be: also how long a `jti` is remembered.
    pub max_age: i64,
}

fn rejected(r: Rejection) -> SetError {
    VerifyError::Rejected(r).into()
}

fn opt_str(obj: &Map<String, Value>, name: &str, max: usize) -> Result<Option<String>, SetError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() <= max => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(SetError::invalid(format!(
            "{name} is longer than {max} bytes"
        ))),
        Some(_) => Err(SetError::invalid(format!("{name} is not a string"))),
    }
}

/// RFC 8417 §2.2 and SSF 1.0 §4.1, in order.
pub(crate) fn validate(
    map: &Map<String, Value>,
    ctx: &SetContext<'_>,
) -> Result<SecurityEvent, SetError> {
    // SSF 1.0 §4.1.7: iss is the transmitter we asked for its configuration.
    check_issuer(map, ctx.transmitter).map_err(rejected)?;
    // RFC 8417 §2.2 / SSF 1.0 §4.1.8: aud names this receiver.
    check_audience(map, ctx.audience).map_err(rejected)?;
    // RFC 8417 §2.2: iat, not in the future beyond the leeway, and not
    // older than the replay window (a jti is remembered that long).
    // An iat ahead of our clock is a skewed clock, not a bad SET: nothing
    // is decided and the transmitter retries (a 503, or no ack).
    let iat = check_iat(map, ctx.now, ctx.leeway).map_err(|r| match r.kind() {
        crate::error::RejectionKind::NotYetValid => SetError::Unavailable(format!(
            "{r}: the transmitter's clock is ahead of ours; retry"
        )),
        _ => rejected(r),
    })?;
    if ctx.now.saturating_sub(iat) > ctx.max_age.saturating_add(ctx.leeway) {
        return Err(SetError::invalid(format!(
            "iat is more than {} s old: older than the replay window",
            ctx.max_age
        )));
    }
    // RFC 8417 §2.2: jti, unique; it is a replay-cache key, so an id.
    let jti = match map.get("jti") {
        Some(Value::String(j)) if !j.is_empty() && j.len() <= MAX_JTI_BYTES => j.clone(),
        Some(Value::String(_)) => {
            return Err(SetError::invalid(format!(
                "jti is empty or longer than {MAX_JTI_BYTES} bytes"
            )));
        }
        _ => return Err(SetError::invalid("jti claim is required")),
    };
    id_claim("jti", &jti).map_err(rejected)?;
    // SSF 1.0 §4.1.2 and §4.1.3: no `sub` (the subject is sub_id), no `exp`.
    if map.contains_key("sub") {
        return Err(SetError::invalid(
            "a SET must not have a sub claim (SSF 1.0 §4.1.2: the subject is sub_id)",
        ));
    }
    if map.contains_key("exp") {
        return Err(SetError::invalid(
            "a SET must not have an exp claim (SSF 1.0 §4.1.6)",
        ));
    }
    let txn = opt_str(map, "txn", MAX_JTI_BYTES)?;
    // SSF 1.0 §4.2.1: exactly one event (alternative URIs for one type are
    // not used by any type we act on, so two members are refused).
    let (event_type, event) = match map.get("events") {
        Some(Value::Object(events)) if events.len() == 1 => {
            let (t, e) = events
                .iter()
                .next()
                .ok_or_else(|| SetError::invalid("events is empty"))?;
            let Value::Object(e) = e else {
                return Err(SetError::invalid("the event is not a JSON object"));
            };
            (t.clone(), e)
        }
        Some(Value::Object(events)) => {
            return Err(SetError::invalid(format!(
                "events has {} members; a SET carries exactly one event",
                events.len()
            )));
        }
        Some(_) => return Err(SetError::invalid("events is not a JSON object")),
        None => return Err(SetError::invalid("events claim is required")),
    };
    // SSF 1.0 §3.1: the primary subject is the top-level sub_id.
    let subject = subject::parse(
        map.get("sub_id")
            .ok_or_else(|| SetError::invalid("sub_id claim is required (SSF 1.0 §3.1)"))?,
    )?;
    // CAEP 1.0 §2: event_timestamp, optional, a NumericDate.
    let event_timestamp = numeric_date(event, "event_timestamp").map_err(rejected)?;
    let kind = kind_of(&event_type, event)?;
    Ok(SecurityEvent {
        jti,
        iat,
        txn,
        event_type,
        kind,
        subject,
        event_timestamp,
    })
}

fn kind_of(event_type: &str, event: &Map<String, Value>) -> Result<EventKind, SetError> {
    if let Some(name) = event_type.strip_prefix(CAEP) {
        return Ok(match name {
            "session-revoked" => EventKind::SessionRevoked,
            "credential-change" => EventKind::CredentialChange,
            "token-claims-change" => EventKind::TokenClaimsChange,
            // CAEP 1.0 §3.4: change_direction, optional: increase | decrease.
            "assurance-level-change" => EventKind::AssuranceLevelChange {
                decrease: match opt_str(event, "change_direction", 16)?.as_deref() {
                    Some("decrease") => true,
                    None | Some("increase") => false,
                    Some(_) => {
                        return Err(SetError::invalid(
                            "change_direction is neither increase nor decrease",
                        ));
                    }
                },
            },
            _ => EventKind::Other,
        });
    }
    if let Some(name) = event_type.strip_prefix(RISC) {
        return Ok(match name {
            "account-disabled" => EventKind::AccountDisabled,
            "account-purged" => EventKind::AccountPurged,
            "sessions-revoked" => EventKind::SessionsRevoked,
            "credential-compromise" => EventKind::CredentialCompromise,
            "account-credential-change-required" => EventKind::AccountCredentialChangeRequired,
            _ => EventKind::Other,
        });
    }
    Ok(match event_type.strip_prefix(SSF) {
        // SSF 1.0 §8.1.4.1
        Some("verification") => EventKind::Verification {
            state: opt_str(event, "state", 1024)?,
        },
        // SSF 1.0 §8.1.5: status is required.
        Some("stream-updated") => EventKind::StreamUpdated {
            status: match opt_str(event, "status", 16)?.as_deref() {
                Some(s @ ("enabled" | "paused" | "disabled")) => s.to_owned(),
                _ => {
                    return Err(SetError::invalid(
                        "stream-updated needs a status of enabled, paused or disabled",
                    ));
                }
            },
            reason: opt_str(event, "reason", 1024)?,
        },
        _ => EventKind::Other,
    })
}

/// The full type URI of a short name of [`EventKind::NAMES`] (for stream
/// requests: `--events session-revoked,credential-change`), or `None`.
pub fn event_type_uri(name: &str) -> Option<String> {
    let base = match name {
        "session-revoked"
        | "credential-change"
        | "token-claims-change"
        | "assurance-level-change" => CAEP,
        "account-disabled"
        | "account-purged"
        | "sessions-revoked"
        | "credential-compromise"
        | "account-credential-change-required" => RISC,
        "verification" | "stream-updated" => SSF,
        _ => return None,
    };
    Some(format!("{base}{name}"))
}

/// The event types a receiver acts on (what a stream asks for by default).
pub fn actionable_event_types() -> Vec<String> {
    EventKind::NAMES[..9]
        .iter()
        .filter_map(|n| event_type_uri(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::{SetContext, validate};
    use crate::signals::subject;

    const NOW: i64 = 1_800_000_000;

    fn ctx() -> SetContext<'static> {
        static AUD: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
        SetContext {
            transmitter: "https://tr.example",
            audience: AUD.get_or_init(|| vec!["https://rp.example".to_owned()]),
            now: NOW,
            leeway: 30,
            max_age: 86_400,
        }
    }

    fn valid() -> Map<String, Value> {
        let Value::Object(m) = json!({
            "iss": "https://tr.example",
            "aud": "https://rp.example",
            "iat": NOW,
            "jti": "j-1",
            "sub_id": {"format": "complex",
                "user": {"format": "iss_sub", "iss": "https://idp.example", "sub": "u1"},
                "session": {"format": "opaque", "id": "s1"}},
            "events": {"https://schemas.openid.net/secevent/caep/event-type/session-revoked":
                {"event_timestamp": NOW - 5}},
        }) else {
            unreachable!()
        };
        m
    }

    /// Any JSON, a few levels deep.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[a-z_:/.\\-]{0,24}".prop_map(Value::String),
            Just(json!("complex")),
            Just(json!("opaque")),
            Just(json!("iss_sub")),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("format".to_owned()),
                        Just("id".to_owned()),
                        Just("user".to_owned()),
                        Just("session".to_owned()),
                        Just("iss".to_owned()),
                        Just("sub".to_owned()),
                        "[a-z_]{1,8}",
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The subject parser answers every JSON value without panicking,
        /// and what it accepts stays within its bounds.
        #[test]
        fn subjects_never_panic(v in json_value()) {
            if let Ok(subject::Subject::Complex { others, .. }) = subject::parse(&v) {
                prop_assert!(others.len() <= subject::MAX_MEMBERS);
            }
        }

        /// A valid SET with one claim replaced by anything: never a panic;
        /// accepted only with a jti, no sub, no exp, one event.
        #[test]
        fn sets_with_any_claim_replaced_never_panic(
            name in prop_oneof![
                Just("iss"), Just("aud"), Just("iat"), Just("jti"), Just("sub_id"),
                Just("events"), Just("sub"), Just("exp"), Just("txn"),
            ],
            value in json_value(),
        ) {
            let mut m = valid();
            m.insert(name.to_owned(), value);
            if let Ok(e) = validate(&m, &ctx()) {
                prop_assert!(!m.contains_key("sub") && !m.contains_key("exp"));
                prop_assert!(!e.jti.is_empty() && e.jti.len() <= super::MAX_JTI_BYTES);
                prop_assert!(e.iat <= NOW + 30);
            }
        }

        /// Claims removed at random: never a panic, and a SET missing any
        /// required claim is refused.
        #[test]
        fn sets_missing_claims_are_refused(mask in 0u8..64) {
            let names = ["iss", "aud", "iat", "jti", "sub_id", "events"];
            let mut m = valid();
            for (i, n) in names.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    m.remove(*n);
                }
            }
            prop_assert_eq!(validate(&m, &ctx()).is_ok(), mask == 0);
        }
    }

    #[test]
    fn the_valid_set_is_valid() {
        let e = validate(&valid(), &ctx()).unwrap();
        assert_eq!(e.event_timestamp, Some(NOW - 5));
        assert_eq!(e.kind, super::EventKind::SessionRevoked);
    }
}
