//! The event log: a Redis Stream that every write appends to, and that each
//! instance follows with a blocking `XREAD` from the last entry it applied.
//!
//! Each entry carries a sequence number `n` (one counter, incremented in the
//! same script). An instance applies entry `n` only right after `n - 1`; any
//! other number means entries were trimmed away while it was not looking
//! (or the store was reset), and it reloads a snapshot instead. So a lost
//! message cannot exist: either the next entry is there, or the gap is seen.

use redis::Value;

/// One parsed log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The stream entry id (`ms-seq`).
    pub id: String,
    /// The sequence number.
    pub n: u64,
    /// `true` for a user cut-off, `false` for a session.
    pub user: bool,
    /// The scoped id (`{issuer tag}:{sub or sid}`).
    pub key: String,
    /// The user cut-off (0 for sessions).
    pub cutoff: i64,
    /// Kept until.
    pub keep: i64,
}

/// Why a reply or an entry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable revocation log: {0}")]
pub struct LogError(pub String);

fn bad(what: impl Into<String>) -> LogError {
    LogError(what.into())
}

/// Largest id or field accepted from the log: ids are validated to 1 KiB
/// on write; anything larger is not ours.
const MAX_FIELD: usize = 4096;

fn text(v: &Value) -> Result<&str, LogError> {
    match v {
        Value::BulkString(b) if b.len() <= MAX_FIELD => {
            std::str::from_utf8(b).map_err(|_| bad("a field is not UTF-8"))
        }
        Value::SimpleString(s) if s.len() <= MAX_FIELD => Ok(s),
        Value::BulkString(_) | Value::SimpleString(_) => Err(bad("a field is too long")),
        _ => Err(bad("a field is not a string")),
    }
}

/// Parses one entry's fields (`n`, `k`, `i`, `c`, `e`, in any order; other
/// fields are ignored, each known one must appear once).
pub fn parse_fields(id: &str, fields: &[(&str, &str)]) -> Result<Event, LogError> {
    let (mut n, mut k, mut i, mut c, mut e) = (None, None, None, None, None);
    for (name, value) in fields {
        let slot = match *name {
            "n" => &mut n,
            "k" => &mut k,
            "i" => &mut i,
            "c" => &mut c,
            "e" => &mut e,
            _ => continue,
        };
        if slot.replace(*value).is_some() {
            return Err(bad(format!("field {name} appears twice")));
        }
    }
    fn field<'v>(v: Option<&'v str>, name: &str) -> Result<&'v str, LogError> {
        v.ok_or_else(|| bad(format!("field {name} is missing")))
    }
    let user = match field(k, "k")? {
        "u" => true,
        "s" => false,
        other => return Err(bad(format!("unknown kind {other:?}"))),
    };
    let key = field(i, "i")?;
    if key.is_empty() || key.chars().any(|ch| ch.is_control()) {
        return Err(bad("an id is empty or has control characters"));
    }
    let num = |v: &str, name: &str| {
        v.parse::<i64>()
            .map_err(|_| bad(format!("field {name} is not an integer")))
    };
    let n: u64 = field(n, "n")?
        .parse()
        .map_err(|_| bad("field n is not a sequence number"))?;
    Ok(Event {
        id: id.to_owned(),
        n,
        user,
        key: key.to_owned(),
        cutoff: num(field(c, "c")?, "c")?,
        keep: num(field(e, "e")?, "e")?,
    })
}

/// One stream entry: `[id, [field, value, ...]]`.
fn parse_entry(v: &Value) -> Result<Event, LogError> {
    let Value::Array(parts) = v else {
        return Err(bad("an entry is not an array"));
    };
    let [id, Value::Array(flat)] = parts.as_slice() else {
        return Err(bad("an entry is not [id, fields]"));
    };
    if flat.len() % 2 != 0 || flat.len() > 64 {
        return Err(bad("an entry has an odd or excessive number of fields"));
    }
    let mut fields = Vec::with_capacity(flat.len() / 2);
    for pair in flat.chunks(2) {
        fields.push((text(&pair[0])?, text(&pair[1])?));
    }
    parse_fields(text(id)?, &fields)
}

/// The reply of `XREAD ... STREAMS key id` (RESP2 array or RESP3 map):
/// the entries, in order; none when the read timed out.
pub fn parse_xread(reply: &Value) -> Result<Vec<Event>, LogError> {
    let entries = match reply {
        Value::Nil => return Ok(Vec::new()),
        Value::Array(streams) => match streams.as_slice() {
            [] => return Ok(Vec::new()),
            [Value::Array(stream)] => match stream.as_slice() {
                [_, Value::Array(entries)] => entries,
                _ => return Err(bad("a stream is not [name, entries]")),
            },
            _ => return Err(bad("expected exactly one stream")),
        },
        Value::Map(streams) => match streams.as_slice() {
            [] => return Ok(Vec::new()),
            [(_, Value::Array(entries))] => entries,
            _ => return Err(bad("expected exactly one stream")),
        },
        _ => return Err(bad("unexpected XREAD reply")),
    };
    entries.iter().map(parse_entry).collect()
}

/// What to do with entries read after `applied`.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Apply the first `usize` entries (all of them when nothing is wrong).
    Apply(usize),
    /// Apply the first `usize`, then reload: the next one is not `n + 1`.
    ApplyThenReload(usize),
}

/// Checks the sequence: entry `k` must be `applied + 1 + k`.
pub fn in_sequence(applied: u64, events: &[Event]) -> Next {
    for (k, e) in events.iter().enumerate() {
        if e.n != applied.saturating_add(1 + k as u64) {
            return Next::ApplyThenReload(k);
        }
    }
    Next::Apply(events.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: &str) -> Value {
        Value::BulkString(s.as_bytes().to_vec())
    }

    fn entry(id: &str, fields: &[(&str, &str)]) -> Value {
        Value::Array(vec![
            bulk(id),
            Value::Array(
                fields
                    .iter()
                    .flat_map(|(k, v)| [bulk(k), bulk(v)])
                    .collect(),
            ),
        ])
    }

    #[test]
    fn parses_resp2_and_resp3_replies() {
        let e = entry(
            "1-0",
            &[
                ("n", "7"),
                ("k", "s"),
                ("i", "ab:sid"),
                ("c", "0"),
                ("e", "99"),
            ],
        );
        let resp2 = Value::Array(vec![Value::Array(vec![
            bulk("{p}:log"),
            Value::Array(vec![e.clone()]),
        ])]);
        let resp3 = Value::Map(vec![(bulk("{p}:log"), Value::Array(vec![e]))]);
        let want = Event {
            id: "1-0".into(),
            n: 7,
            user: false,
            key: "ab:sid".into(),
            cutoff: 0,
            keep: 99,
        };
        assert_eq!(parse_xread(&resp2).unwrap(), vec![want.clone()]);
        assert_eq!(parse_xread(&resp3).unwrap(), vec![want]);
        assert_eq!(parse_xread(&Value::Nil).unwrap(), vec![]);
    }

    #[test]
    fn rejects_bad_entries() {
        let ok = [
            ("n", "1"),
            ("k", "u"),
            ("i", "t:alice"),
            ("c", "5"),
            ("e", "9"),
        ];
        assert!(parse_fields("1-0", &ok).is_ok());
        for (i, _) in ok.iter().enumerate() {
            let mut missing = ok.to_vec();
            missing.remove(i);
            assert!(parse_fields("1-0", &missing).is_err(), "{missing:?}");
        }
        let mut twice = ok.to_vec();
        twice.push(("n", "2"));
        assert!(parse_fields("1-0", &twice).is_err());
        for (k, v) in [
            ("k", "x"),
            ("n", "-1"),
            ("c", "1.5"),
            ("e", ""),
            ("i", ""),
            ("i", "a\nb"),
        ] {
            let mut f = ok.to_vec();
            f.retain(|(n, _)| *n != k);
            f.push((k, v));
            assert!(parse_fields("1-0", &f).is_err(), "{k}={v:?}");
        }
    }

    #[test]
    fn sequence_gaps_are_seen() {
        let ev = |n| Event {
            id: String::new(),
            n,
            user: true,
            key: "k".into(),
            cutoff: 0,
            keep: 0,
        };
        assert_eq!(in_sequence(4, &[ev(5), ev(6)]), Next::Apply(2));
        assert_eq!(in_sequence(4, &[ev(5), ev(8)]), Next::ApplyThenReload(1));
        assert_eq!(in_sequence(4, &[ev(3)]), Next::ApplyThenReload(0));
        assert_eq!(in_sequence(4, &[]), Next::Apply(0));
    }
}
