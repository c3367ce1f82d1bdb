//! The event log: a Redis Stream that every write appends to, and that each
//! instance follows with a blocking `XREAD` from the last entry it applied.
//!
//! Each entry carries a sequence number `n` (one counter, incremented in the
//! same script). An instance applies entry `n` only right after `n - 1`; any
//! other number means entries were trimmed away while it was not looking
//! (or the store was reset), and it reloads a snapshot instead. So a lost
//! message cannot exist: either the next entry is there, or the gap is seen.
//!
//! An entry that cannot be read (a bad id from an old or hostile writer, a
//! field too long) is one [`Entry::Skipped`]: counted, logged and passed
//! over, never a reason to stop following the log. Only a reply that is not
//! a stream reply at all fails the read.

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

/// Largest field accepted from the log: ids are validated to 1 KiB on
/// write; anything larger is not ours (and is skipped, not read).
const MAX_FIELD: usize = 4096;

/// One entry of a read: an event to apply, or one that is passed over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A well-formed event.
    Event(Event),
    /// An entry that could not be read. Its sequence number, when readable,
    /// still counts (so the entries after it apply in order); without one,
    /// the reader cannot tell what it missed and reloads a snapshot.
    Skipped {
        /// The stream entry id (the read position moves past it).
        id: String,
        /// Its sequence number, when that field was readable.
        n: Option<u64>,
        /// Why it was skipped.
        why: LogError,
    },
}

impl Entry {
    /// The stream entry id.
    pub fn id(&self) -> &str {
        match self {
            Self::Event(e) => &e.id,
            Self::Skipped { id, .. } => id,
        }
    }

    /// The sequence number, when known.
    pub fn n(&self) -> Option<u64> {
        match self {
            Self::Event(e) => Some(e.n),
            Self::Skipped { n, .. } => *n,
        }
    }
}

/// A stored id, `{16 hex digits}:{id}`, with the id by the writers' rule
/// ([`check_id`](crate::revocation::check_id)): what the log and the
/// snapshot accept back.
pub(crate) fn check_scoped(key: &str) -> Result<(), LogError> {
    let rule = match key.split_once(':') {
        Some((tag, id)) if tag.len() == 16 && tag.bytes().all(|b| b.is_ascii_hexdigit()) => {
            crate::jwt::id::check_id(id).map_err(|e| e.to_string())
        }
        _ => Err("not {issuer tag}:{id}".to_owned()),
    };
    rule.map_err(|why| bad(format!("id {:?}: {why}", crate::jwt::token::truncate(key))))
}

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
    check_scoped(key)?;
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

/// One stream entry: `[id, [field, value, ...]]`. Only an entry without a
/// readable stream id is an error (the read cannot move past it; Redis
/// never sends one); anything wrong after that is [`Entry::Skipped`].
fn parse_entry(v: &Value) -> Result<Entry, LogError> {
    let Value::Array(parts) = v else {
        return Err(bad("an entry is not an array"));
    };
    let [id, rest] = parts.as_slice() else {
        return Err(bad("an entry is not [id, fields]"));
    };
    let id = text(id)?;
    let skipped = |n: Option<u64>, why: LogError| Entry::Skipped {
        id: id.to_owned(),
        n,
        why,
    };
    let Value::Array(flat) = rest else {
        return Ok(skipped(None, bad("an entry's fields are not an array")));
    };
    if flat.len() % 2 != 0 || flat.len() > 64 {
        return Ok(skipped(
            None,
            bad("an entry has an odd or excessive number of fields"),
        ));
    }
    // The sequence number first, on its own: an entry skipped for another
    // field still keeps its place in the sequence.
    let n = flat
        .chunks(2)
        .find(|pair| text(&pair[0]).is_ok_and(|name| name == "n"))
        .and_then(|pair| text(&pair[1]).ok()?.parse::<u64>().ok());
    let mut fields = Vec::with_capacity(flat.len() / 2);
    for pair in flat.chunks(2) {
        match (text(&pair[0]), text(&pair[1])) {
            (Ok(name), Ok(value)) => fields.push((name, value)),
            (Err(e), _) | (_, Err(e)) => return Ok(skipped(n, e)),
        }
    }
    Ok(match parse_fields(id, &fields) {
        Ok(event) => Entry::Event(event),
        Err(why) => skipped(n, why),
    })
}

/// The reply of `XREAD ... STREAMS key id` (RESP2 array or RESP3 map):
/// the entries, in order; none when the read timed out. An unreadable
/// entry is an [`Entry::Skipped`]; only a reply that is not a stream reply
/// is an error.
pub fn parse_xread(reply: &Value) -> Result<Vec<Entry>, LogError> {
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

/// Checks the sequence: entry `k` must be `applied + 1 + k` (a skipped
/// entry without a readable number breaks it).
pub fn in_sequence(applied: u64, entries: &[Entry]) -> Next {
    for (k, e) in entries.iter().enumerate() {
        if e.n() != Some(applied.saturating_add(1 + k as u64)) {
            return Next::ApplyThenReload(k);
        }
    }
    Next::Apply(entries.len())
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
                ("i", "00000000000000ab:sid"),
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
            key: "00000000000000ab:sid".into(),
            cutoff: 0,
            keep: 99,
        };
        assert_eq!(
            parse_xread(&resp2).unwrap(),
            vec![Entry::Event(want.clone())]
        );
        assert_eq!(parse_xread(&resp3).unwrap(), vec![Entry::Event(want)]);
        assert_eq!(parse_xread(&Value::Nil).unwrap(), vec![]);
    }

    #[test]
    fn rejects_bad_entries() {
        let ok = [
            ("n", "1"),
            ("k", "u"),
            ("i", "0123456789abcdef:alice"),
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
            ("i", "0123456789abcdef:a\nb"),
            ("i", "0123456789abcdef:a\rb"),
            ("i", "0123456789abcdef:"),
            ("i", "short:alice"),
        ] {
            let mut f = ok.to_vec();
            f.retain(|(n, _)| *n != k);
            f.push((k, v));
            assert!(parse_fields("1-0", &f).is_err(), "{k}={v:?}");
        }
    }

    #[test]
    fn bad_entries_are_skipped_not_fatal() {
        let good = |n: &str| {
            entry(
                "1-0",
                &[
                    ("n", n),
                    ("k", "s"),
                    ("i", "0123456789abcdef:ok"),
                    ("c", "0"),
                    ("e", "9"),
                ],
            )
        };
        let long = format!("0123456789abcdef:{}", "x".repeat(5000));
        let bad_id = entry(
            "2-0",
            &[
                ("n", "2"),
                ("k", "s"),
                ("i", "0123456789abcdef:a\r"),
                ("c", "0"),
                ("e", "9"),
            ],
        );
        let too_long = entry(
            "3-0",
            &[("n", "3"), ("k", "s"), ("i", &long), ("c", "0"), ("e", "9")],
        );
        let no_n = entry("4-0", &[("k", "s"), ("i", "\u{0}")]);
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("{p}:log"),
            Value::Array(vec![good("1"), bad_id, too_long, good("4"), no_n]),
        ])]);
        let entries = parse_xread(&reply).unwrap();
        assert_eq!(entries.len(), 5);
        assert!(matches!(entries[0], Entry::Event(_)));
        assert!(matches!(&entries[1], Entry::Skipped { n: Some(2), id, .. } if id == "2-0"));
        assert!(matches!(entries[2], Entry::Skipped { n: Some(3), .. }));
        assert!(matches!(entries[3], Entry::Event(_)));
        assert!(matches!(entries[4], Entry::Skipped { n: None, .. }));
        // Skipped entries with a number keep their place; one without
        // breaks the sequence (a snapshot follows).
        assert_eq!(in_sequence(0, &entries), Next::ApplyThenReload(4));
        assert_eq!(in_sequence(0, &entries[..4]), Next::Apply(4));
    }

    #[test]
    fn sequence_gaps_are_seen() {
        let ev = |n| {
            Entry::Event(Event {
                id: String::new(),
                n,
                user: true,
                key: "k".into(),
                cutoff: 0,
                keep: 0,
            })
        };
        assert_eq!(in_sequence(4, &[ev(5), ev(6)]), Next::Apply(2));
        assert_eq!(in_sequence(4, &[ev(5), ev(8)]), Next::ApplyThenReload(1));
        assert_eq!(in_sequence(4, &[ev(3)]), Next::ApplyThenReload(0));
        assert_eq!(in_sequence(4, &[]), Next::Apply(0));
    }
}
