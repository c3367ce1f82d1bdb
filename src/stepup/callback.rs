//! The callback's query (RFC 6749 §4.1.2, §4.1.2.1; RFC 9207 §2), parsed
//! strictly: bounded, no repeated parameter, exactly one of `code` and
//! `error`. Pure: no I/O, no state.

use super::error::AuthorizationErrorKind;
use super::error::StepUpError;

/// The longest callback query accepted by default, in bytes.
pub const DEFAULT_MAX_CALLBACK_BYTES: usize = 8 * 1024;

/// At most this many parameters (issuers add a few of their own, like
/// `session_state` or `scope`).
const MAX_PARAMETERS: usize = 32;
const MAX_STATE: usize = 256;
const MAX_CODE: usize = 2048;
const MAX_ERROR: usize = 64;
const MAX_DESCRIPTION: usize = 256;

/// What the issuer sent back to the redirect URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// `state`, as sent (our own random value when genuine).
    pub state: String,
    /// The authorization code, or the issuer's error.
    pub outcome: Outcome,
    /// `iss` (RFC 9207), when present.
    pub iss: Option<String>,
}

/// The code, or the error.
#[derive(Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `code`: to be exchanged once at the token endpoint.
    Code(String),
    /// `error` (and `error_description`).
    Error {
        /// The error.
        kind: AuthorizationErrorKind,
        /// The description, printable ASCII only.
        description: Option<String>,
    },
}

/// The code is a credential: never in a log line.
impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(_) => f.write_str("Code(..)"),
            Self::Error { kind, description } => f
                .debug_struct("Error")
                .field("kind", kind)
                .field("description", description)
                .finish(),
        }
    }
}

fn invalid(msg: impl Into<String>) -> StepUpError {
    StepUpError::InvalidCallback(msg.into())
}

/// RFC 6749 §4.1.2.1 / Appendix A.7-A.8: `error` is %x20-21 / %x23-5B /
/// %x5D-7E, `error_description` the same set.
fn oauth_text(s: &str) -> bool {
    s.bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5b | 0x5d..=0x7e))
}

impl Callback {
    /// Parses the query of a callback request (without the leading `?`).
    /// Refuses more than `max_bytes`, more than 32 parameters, a repeated
    /// `state`, `code`, `error`, `error_description` or `iss` (RFC 6749
    /// §3.1: parameters MUST NOT appear more than once), a missing or empty
    /// `state`, both or neither of `code` and `error`, and values over their
    /// caps (state 256, code 2048, error 64 bytes).
    pub fn parse(query: &str, max_bytes: usize) -> Result<Self, StepUpError> {
        if query.len() > max_bytes {
            return Err(invalid(format!(
                "the query is longer than {max_bytes} bytes"
            )));
        }
        let mut state = None;
        let mut code = None;
        let mut error = None;
        let mut description = None;
        let mut iss = None;
        for (i, (name, value)) in url::form_urlencoded::parse(query.as_bytes()).enumerate() {
            if i >= MAX_PARAMETERS {
                return Err(invalid("more than 32 parameters"));
            }
            let (slot, cap) = match &*name {
                "state" => (&mut state, MAX_STATE),
                "code" => (&mut code, MAX_CODE),
                "error" => (&mut error, MAX_ERROR),
                "error_description" => (&mut description, MAX_DESCRIPTION),
                "iss" => (&mut iss, MAX_CODE),
                _ => continue,
            };
            if slot.is_some() {
                return Err(invalid(format!("{name} appears more than once")));
            }
            if value.len() > cap {
                return Err(invalid(format!("{name} is longer than {cap} bytes")));
            }
            *slot = Some(value.into_owned());
        }
        let state = state
            .filter(|s| !s.is_empty())
            .ok_or_else(|| invalid("state is missing"))?;
        let outcome = match (code, error) {
            (Some(c), None) if !c.is_empty() => Outcome::Code(c),
            (None, Some(e)) if !e.is_empty() && oauth_text(&e) => Outcome::Error {
                kind: AuthorizationErrorKind::from_code(&e),
                description: description.filter(|d| oauth_text(d)),
            },
            (None, Some(_)) => return Err(invalid("error is empty or not RFC 6749 text")),
            (Some(_), Some(_)) => return Err(invalid("both code and error are present")),
            _ => return Err(invalid("neither a code nor an error is present")),
        };
        Ok(Self {
            state,
            outcome,
            iss,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(q: &str) -> Result<Callback, StepUpError> {
        Callback::parse(q, DEFAULT_MAX_CALLBACK_BYTES)
    }

    #[test]
    fn codes_and_errors() {
        let c = parse("code=abc&state=xyz&iss=https%3A%2F%2Fid.example&session_state=1").unwrap();
        assert_eq!(c.state, "xyz");
        assert_eq!(c.outcome, Outcome::Code("abc".into()));
        assert_eq!(c.iss.as_deref(), Some("https://id.example"));
        let e = parse("error=access_denied&error_description=User+said+no&state=s").unwrap();
        assert_eq!(
            e.outcome,
            Outcome::Error {
                kind: AuthorizationErrorKind::AccessDenied,
                description: Some("User said no".into())
            }
        );
        for bad in [
            "",
            "code=a",
            "state=s",
            "state=&code=a",
            "state=s&code=",
            "state=s&state=s&code=a",
            "state=s&code=a&code=b",
            "state=s&code=a&error=access_denied",
            "state=s&error=bad%0Aline",
            "state=s&error=",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert!(Callback::parse("state=s&code=a", 5).is_err());
        let many: String = (0..40).map(|i| format!("p{i}=1&")).collect();
        assert!(parse(&format!("{many}state=s&code=a")).is_err());
    }

    proptest::proptest! {
        /// Whatever `error` and `error_description` an issuer (or a forged
        /// callback) sends, the code is from the fixed vocabulary and the
        /// page carries no markup of theirs.
        #[test]
        fn an_issuers_error_never_reaches_the_page_raw(
            error in "[ -~]{1,64}",
            description in "[ -~]{0,256}",
        ) {
            let q = format!(
                "state=s&error={}&error_description={}",
                url::form_urlencoded::byte_serialize(error.as_bytes()).collect::<String>(),
                url::form_urlencoded::byte_serialize(description.as_bytes()).collect::<String>(),
            );
            let Ok(Callback { outcome: Outcome::Error { kind, description }, .. }) = parse(&q)
            else {
                return Ok(());
            };
            let code = kind.code();
            proptest::prop_assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            proptest::prop_assert!(code == error || code == "authorization_failed");
            let page = StepUpError::Authorization { kind, description }.to_html();
            let fixed = StepUpError::Store(String::new()).to_html();
            for c in ['<', '>', '"', '\''] {
                proptest::prop_assert_eq!(page.matches(c).count(), fixed.matches(c).count());
            }
        }
    }

    #[test]
    fn the_code_is_not_in_debug_output() {
        let c = parse("code=secret-code&state=s").unwrap();
        assert!(!format!("{c:?}").contains("secret-code"));
    }
}
