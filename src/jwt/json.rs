//! Strict JSON: objects with duplicate member names are refused at every
//! depth (RFC 8725 §3.9 / RFC 7515 §5.2: a later duplicate must never win
//! over a value that was checked), nesting is bounded by serde_json's
//! recursion limit (128).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `bytes` as one JSON object, refusing duplicate member names.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Strict>(bytes) {
        Ok(Strict(Value::Object(map))) => Ok(map),
        Ok(_) => Err("not a JSON object".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format_args!(
        "duplicate member name {:?}",
        key.chars().take(64).collect::<String>()
    ))
}

/// A JOSE header: the members we act on, borrowed from the input where it
/// has no escapes (the hot path allocates nothing for them). Every other
/// member is still parsed strictly (and then ignored), and duplicate names
/// are refused like everywhere else.
#[derive(Debug, Default)]
pub(crate) struct Header<'a> {
    pub alg: Option<Member<'a>>,
    pub kid: Option<Member<'a>>,
    pub typ: Option<Member<'a>>,
    pub crit: bool,
}

/// A header member's value: a string (borrowed when possible) or anything else.
#[derive(Debug)]
pub(crate) enum Member<'a> {
    Str(Cow<'a, str>),
    Other,
}

pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header<'_>, String> {
    serde_json::from_slice::<HeaderVisit<'_>>(bytes)
        .map(|h| h.0)
        .map_err(|e| e.to_string())
}

struct HeaderVisit<'a>(Header<'a>);

impl<'de> Deserialize<'de> for HeaderVisit<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(HeaderVisitor).map(HeaderVisit)
    }
}

struct HeaderVisitor;

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Header<'de>, A::Error> {
        let mut header = Header::default();
        let mut seen: Vec<CowStr<'de>> = Vec::new();
        while let Some(CowStr(key)) = access.next_key::<CowStr<'de>>()? {
            if seen.iter().any(|k| k.0 == key) {
                return Err(duplicate(&key));
            }
            let slot = match &*key {
                "alg" => Some(&mut header.alg),
                "kid" => Some(&mut header.kid),
                "typ" => Some(&mut header.typ),
                _ => None,
            };
            match slot {
                Some(slot) => *slot = Some(access.next_value::<MemberVisit<'de>>()?.0),
                None => {
                    header.crit |= key == "crit";
                    access.next_value::<Strict>()?;
                }
            }
            seen.push(CowStr(key));
        }
        Ok(header)
    }
}

struct CowStr<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(CowStrVisitor).map(CowStr)
    }
}

struct CowStrVisitor;

impl<'de> Visitor<'de> for CowStrVisitor {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

struct MemberVisit<'a>(Member<'a>);

impl<'de> Deserialize<'de> for MemberVisit<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Strict::deserialize_borrowed(d)? {
            Borrowed::Str(s) => Ok(MemberVisit(Member::Str(s))),
            Borrowed::Other => Ok(MemberVisit(Member::Other)),
        }
    }
}

enum Borrowed<'a> {
    Str(Cow<'a, str>),
    Other,
}

impl Strict {
    /// Strictly parses any value; strings come back borrowed when possible.
    fn deserialize_borrowed<'de, D: Deserializer<'de>>(d: D) -> Result<Borrowed<'de>, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Borrowed<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Borrowed::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Borrowed::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Borrowed::Str(Cow::Owned(v)))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Borrowed::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Borrowed::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Borrowed::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Borrowed::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Borrowed::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                StrictVisitor.visit_seq(seq).map(|_| Borrowed::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                StrictVisitor.visit_map(map).map(|_| Borrowed::Other)
            }
        }
        d.deserialize_any(V)
    }
}

struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let Strict(value) = access.next_value()?;
            match map.entry(key) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                serde_json::map::Entry::Occupied(slot) => return Err(duplicate(slot.key())),
            }
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::parse_object;

    #[test]
    fn refuses_duplicates_at_any_depth() {
        assert!(parse_object(br#"{"a":1,"b":{"c":1}}"#).is_ok());
        assert!(
            parse_object(br#"{"exp":1,"exp":9999999999}"#)
                .unwrap_err()
                .contains("duplicate")
        );
        assert!(
            parse_object(br#"{"x":[{"c":1,"c":2}]}"#)
                .unwrap_err()
                .contains("duplicate")
        );
    }

    #[test]
    fn refuses_non_objects_and_trailing_data() {
        for bad in [&b"[]"[..], b"1", b"\"s\"", b"{} x", b"", b"{\"a\":1e999}"] {
            assert!(
                parse_object(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn header_members_borrowed_or_escaped() {
        let h =
            super::parse_header(br#"{"alg":"RS256","kid":"a\/b","x":{"y":[1,{"z":2}]},"crit":[]}"#)
                .unwrap();
        assert!(matches!(
            h.alg,
            Some(super::Member::Str(std::borrow::Cow::Borrowed("RS256")))
        ));
        assert!(matches!(h.kid, Some(super::Member::Str(ref k)) if k == "a/b"));
        assert!(h.crit && h.typ.is_none());
        for bad in [
            &br#"{"alg":"RS256","alg":"none"}"#[..],
            br#"{"alg":"RS256","alg":"none"}"#,
            br#"{"alg":"RS256","x":{"a":1,"a":2}}"#,
            br#"{"alg":"RS256","x":1,"x":1}"#,
            br#"[]"#,
            br#"{"alg":"RS256"} x"#,
        ] {
            assert!(
                super::parse_header(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            super::parse_header(br#"{"alg":1}"#).unwrap().alg,
            Some(super::Member::Other)
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_object(deep.as_bytes()).is_err());
    }
}
