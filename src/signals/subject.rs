//! Subjects of Security Event Tokens: RFC 9493 subject identifiers and the
//! SSF 1.0 §3 complex subject (`user`, `session`, ...). Pure and bounded:
//! at most [`MAX_MEMBERS`] members, no nesting, strings of at most
//! [`MAX_STRING_BYTES`].

use serde_json::{Map, Value};

use crate::error::SetError;

/// The most members a complex subject may have (SSF 1.0 §3.3 names seven).
pub const MAX_MEMBERS: usize = 16;
/// The longest string a subject identifier may carry, in bytes.
pub const MAX_STRING_BYTES: usize = 1024;

/// One subject identifier (RFC 9493 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubjectId {
    /// `iss_sub` (RFC 9493 §3.2.5): a user (or session) of an issuer.
    IssSub {
        /// The issuer.
        iss: String,
        /// Its subject.
        sub: String,
    },
    /// `opaque` (RFC 9493 §3.2.4): an id the parties agree on.
    Opaque {
        /// The id.
        id: String,
    },
    /// `email` (RFC 9493 §3.2.2).
    Email {
        /// The address, as sent.
        email: String,
    },
    /// Any other format (`account`, `phone_number`, `did`, `uri`,
    /// `aliases`, a proprietary one): understood as "not actionable here".
    Other {
        /// The `format` member.
        format: String,
    },
}

impl SubjectId {
    /// The identifier's `format`.
    pub fn format(&self) -> &str {
        match self {
            Self::IssSub { .. } => "iss_sub",
            Self::Opaque { .. } => "opaque",
            Self::Email { .. } => "email",
            Self::Other { format } => format,
        }
    }
}

/// A SET's `sub_id` (SSF 1.0 §3.1): one identifier, or a complex subject.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Subject {
    /// A simple subject (SSF 1.0 §3.2).
    Simple(SubjectId),
    /// A complex subject (SSF 1.0 §3.3): members describing one principal.
    Complex {
        /// The `user` member.
        user: Option<SubjectId>,
        /// The `session` member.
        session: Option<SubjectId>,
        /// Every other member's name (`device`, `tenant`...), in order.
        others: Vec<String>,
    },
}

fn string(obj: &Map<String, Value>, name: &str, format: &str) -> Result<String, SetError> {
    match obj.get(name) {
        Some(Value::String(s)) if s.len() <= MAX_STRING_BYTES && !s.is_empty() => Ok(s.clone()),
        Some(Value::String(s)) if s.is_empty() => Err(SetError::invalid(format!(
            "subject of format {format} has an empty {name}"
        ))),
        Some(Value::String(_)) => Err(SetError::invalid(format!(
            "subject of format {format}: {name} is longer than {MAX_STRING_BYTES} bytes"
        ))),
        Some(_) => Err(SetError::invalid(format!(
            "subject of format {format}: {name} is not a string"
        ))),
        None => Err(SetError::invalid(format!(
            "subject of format {format} has no {name}"
        ))),
    }
}

/// Parses one subject identifier (RFC 9493 §3): an object with a string
/// `format` and that format's members.
pub(crate) fn parse_id(value: &Value) -> Result<SubjectId, SetError> {
    let Value::Object(obj) = value else {
        return Err(SetError::invalid(
            "a subject identifier is not a JSON object",
        ));
    };
    let format = match obj.get("format") {
        Some(Value::String(f)) if f.len() <= 64 => f.as_str(),
        Some(Value::String(_)) => return Err(SetError::invalid("subject format is too long")),
        _ => return Err(SetError::invalid("subject identifier has no string format")),
    };
    Ok(match format {
        // RFC 9493 §3.2.5
        "iss_sub" => SubjectId::IssSub {
            iss: string(obj, "iss", format)?,
            sub: string(obj, "sub", format)?,
        },
        // RFC 9493 §3.2.4
        "opaque" => SubjectId::Opaque {
            id: string(obj, "id", format)?,
        },
        // RFC 9493 §3.2.2
        "email" => SubjectId::Email {
            email: string(obj, "email", format)?,
        },
        "complex" => {
            return Err(SetError::invalid(
                "a complex subject cannot be nested in another",
            ));
        }
        other => SubjectId::Other {
            format: other.to_owned(),
        },
    })
}

/// Parses a `sub_id` (SSF 1.0 §3.1-§3.3). A complex subject's members are
/// each a simple identifier, each name at most once (JSON objects here have
/// no duplicate members: the payload parser refuses them).
pub(crate) fn parse(value: &Value) -> Result<Subject, SetError> {
    let Value::Object(obj) = value else {
        return Err(SetError::invalid("sub_id is not a JSON object"));
    };
    if obj.get("format").and_then(Value::as_str) != Some("complex") {
        return parse_id(value).map(Subject::Simple);
    }
    // SSF 1.0 §3.3: "format": "complex" and one or more simple members.
    let members = obj.len() - 1;
    if members == 0 {
        return Err(SetError::invalid("a complex subject has no member"));
    }
    if members > MAX_MEMBERS {
        return Err(SetError::invalid(format!(
            "a complex subject has more than {MAX_MEMBERS} members"
        )));
    }
    let (mut user, mut session, mut others) = (None, None, Vec::new());
    for (name, member) in obj.iter().filter(|(k, _)| k.as_str() != "format") {
        if name.len() > 64 {
            return Err(SetError::invalid(
                "a complex subject member name is too long",
            ));
        }
        let id = parse_id(member)?;
        match name.as_str() {
            "user" => user = Some(id),
            "session" => session = Some(id),
            _ => others.push(name.clone()),
        }
    }
    Ok(Subject::Complex {
        user,
        session,
        others,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn simple_and_complex_subjects() {
        assert_eq!(
            parse(&json!({"format": "opaque", "id": "s1"})).unwrap(),
            Subject::Simple(SubjectId::Opaque { id: "s1".into() })
        );
        let complex = json!({"format": "complex",
            "session": {"format": "opaque", "id": "sid-1"},
            "user": {"format": "iss_sub", "iss": "https://i", "sub": "u1"},
            "tenant": {"format": "opaque", "id": "t"}});
        assert_eq!(
            parse(&complex).unwrap(),
            Subject::Complex {
                user: Some(SubjectId::IssSub {
                    iss: "https://i".into(),
                    sub: "u1".into()
                }),
                session: Some(SubjectId::Opaque { id: "sid-1".into() }),
                others: vec!["tenant".into()],
            }
        );
    }

    #[test]
    fn malformed_subjects_are_refused() {
        for bad in [
            json!("u1"),
            json!({"id": "x"}),
            json!({"format": 3, "id": "x"}),
            json!({"format": "opaque"}),
            json!({"format": "opaque", "id": ""}),
            json!({"format": "opaque", "id": 7}),
            json!({"format": "iss_sub", "sub": "u"}),
            json!({"format": "complex"}),
            json!({"format": "complex", "user": "u"}),
            json!({"format": "complex", "user": {"format": "complex", "x": {"format": "opaque", "id": "1"}}}),
            json!({"format": "opaque", "id": "x".repeat(MAX_STRING_BYTES + 1)}),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
    }
}
