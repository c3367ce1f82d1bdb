//! The snapshot: the whole state, read from our own keys only (`MGET` of
//! the bucket strings the writes append to; never `SCAN` or `KEYS` over a
//! keyspace the app shares). Loaded at start, and when an
//! instance finds a gap in the log.
//!
//! Memory: buckets are fetched [`MGET_KEYS`] at a time as raw bytes, and
//! each bucket's bytes are dropped as soon as its records are parsed, so a
//! load holds about one chunk of bucket strings (hundreds of KB at a
//! million entries), not the whole state. A load after a gap merges into
//! the live tables ([`Load::Merge`]: every entry only ever grows, so the
//! snapshot holds everything the mirror holds but what expired) instead of
//! building a second mirror beside the first.
//!
//! The log position is read first, atomically with the sequence counter;
//! writes that land while the scan runs are in the log after that position
//! and are applied again when following it (every write is a max-merge, so
//! applying twice changes nothing).

use redis::Script;

use super::conn::Conn;
use super::log::check_scoped;
use super::writer::BUCKETS;
use crate::error::StoreError;
use crate::revocation::mirror::{Mirror, Tables};
use crate::revocation::redis::keys::{Keys, err};

/// KEYS: seq, log. Returns `{n, last log id}`.
const POSITION: &str = r"
local n = redis.call('GET', KEYS[1]) or '0'
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
return {n, id}
";

/// Where the log stands: the last sequence number and entry id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub n: u64,
    pub id: String,
}

pub(crate) async fn position(conn: &mut Conn, keys: &Keys) -> Result<Position, StoreError> {
    let (n, id): (String, String) = Script::new(POSITION)
        .key(&keys.seq)
        .key(&keys.log)
        .invoke_async(conn)
        .await
        .map_err(err)?;
    let n = n
        .parse()
        .map_err(|_| err(format!("sequence counter {n:?} is not a number")))?;
    Ok(Position { n, id })
}

/// A stored user value, `"{cutoff}:{keep_until}"`.
pub fn parse_user_value(v: &str) -> Option<(i64, i64)> {
    let (c, k) = v.split_once(':')?;
    Some((c.parse().ok()?, k.parse().ok()?))
}

/// One record, `{id}\t{value}`, with the id by the id rule.
fn parse_record(record: &str) -> Result<(&str, &str), &str> {
    match record.split_once('\t') {
        Some((id, value)) if check_scoped(id).is_ok() => Ok((id, value)),
        _ => Err(record),
    }
}

/// The records of one bucket string: `\n{id}\t{value}` each. A record
/// without its tab, or whose id breaks the id rule (the writers' rule, so
/// an id cannot hold the `\n` or `\t` that would forge a record), is
/// returned as `Err` (counted and skipped by the caller, never guessed at).
pub fn parse_bucket(text: &str) -> impl Iterator<Item = Result<(&str, &str), &str>> {
    text.split('\n').skip(1).map(parse_record)
}

/// [`parse_bucket`] over a bucket's raw bytes, as `MGET` returns them: a
/// record that is not UTF-8 is one more `Err` (skipped), never a reason to
/// fail the whole snapshot.
pub fn parse_bucket_bytes(bytes: &[u8]) -> impl Iterator<Item = Result<(&str, &str), &[u8]>> {
    bytes
        .split(|b| *b == b'\n')
        .skip(1)
        .map(|record| match std::str::from_utf8(record) {
            Ok(text) => parse_record(text).map_err(|_| record),
            Err(_) => Err(record),
        })
}

/// Bucket keys fetched per `MGET`: at a million entries a bucket string is
/// about 50 KB, so one reply is under 1 MB (the connection's read buffer
/// keeps the size of the largest reply it has held).
const MGET_KEYS: usize = 16;

/// Where a snapshot goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// New tables, swapped in whole: at start (the mirror is empty), and
    /// after the store was reset (what the mirror holds may be gone).
    Replace,
    /// Merged into the live tables, bucket by bucket: after a gap in the
    /// log, the mirror having applied up to `applied`. Entries only ever
    /// grow (every write is a max-merge; nothing is removed before it
    /// expires), so the mirror is a subset of the snapshot at every step,
    /// and no second mirror is built beside it. A store whose sequence is
    /// below `applied` was reset before the snapshot was read (a gap seen,
    /// then a `FLUSHALL`): what the mirror holds may be gone, so the
    /// snapshot is loaded as [`Load::Replace`] instead.
    Merge { applied: u64 },
}

/// How many user cut-offs and revoked sessions the store holds (to size
/// the tables once).
async fn sizes(conn: &mut Conn, keys: &Keys) -> Result<(usize, usize), StoreError> {
    let users: usize = redis::cmd("HLEN")
        .arg(&keys.users)
        .query_async(conn)
        .await
        .map_err(err)?;
    let sessions: usize = redis::cmd("ZCARD")
        .arg(&keys.sessions)
        .query_async(conn)
        .await
        .map_err(err)?;
    Ok((users, sessions))
}

/// One bucket's live records into `records` (id hash, cut-off, keep
/// until); expired ones are left out; returns how many were unreadable.
fn read_bucket(
    bytes: &[u8],
    user: bool,
    now: i64,
    mirror: &Mirror,
    records: &mut Vec<(u64, i64, i64)>,
) -> usize {
    let mut skipped = 0;
    for record in parse_bucket_bytes(bytes) {
        let Ok((id, value)) = record else {
            skipped += 1;
            continue;
        };
        let parsed = if user {
            parse_user_value(value)
        } else {
            value.parse::<i64>().ok().map(|keep| (0, keep))
        };
        match parsed {
            Some((cutoff, keep)) if keep > now => {
                records.push((mirror.stored_id(id), cutoff, keep))
            }
            Some(_) => {}
            None => skipped += 1,
        }
    }
    skipped
}

/// Loads the whole state into `mirror` (new tables swapped in, or merged
/// into the live ones: `into`); returns the log position to follow from
/// and how many records were skipped as unreadable. Entries expired at
/// `now`, and records superseded by a later one for the same id, are merged
/// away (every merge keeps the higher value).
pub(crate) async fn load(
    conn: &mut Conn,
    keys: &Keys,
    mirror: &Mirror,
    now: i64,
    into: Load,
) -> Result<(Position, u64), StoreError> {
    let started = std::time::Instant::now();
    let at = position(conn, keys).await?;
    let into = match into {
        Load::Merge { applied } if at.n < applied => {
            tracing::warn!(
                applied,
                n = at.n,
                "reauth: the revocation store was reset before its snapshot; replacing the mirror"
            );
            Load::Replace
        }
        into => into,
    };
    let (users, sessions) = sizes(conn, keys).await?;
    let mut fresh = match into {
        Load::Replace => Some(Tables::with_capacity(users, sessions)),
        Load::Merge { .. } => {
            mirror.reserve(users, sessions);
            None
        }
    };
    let mut skipped = 0usize;
    // One bucket's records at a time: (id hash, cut-off, keep until).
    let mut records: Vec<(u64, i64, i64)> = Vec::new();
    for kind in ["u", "s"] {
        let user = kind == "u";
        let names: Vec<String> = (0..BUCKETS)
            .map(|n| format!("{}{kind}:{n}", keys.bucket_prefix))
            .collect();
        for chunk in names.chunks(MGET_KEYS) {
            let buckets: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                .arg(chunk)
                .query_async(conn)
                .await
                .map_err(err)?;
            // Each bucket's bytes are dropped once its records are read.
            for bytes in buckets.into_iter().flatten() {
                records.clear();
                skipped += read_bucket(&bytes, user, now, mirror, &mut records);
                drop(bytes);
                match fresh.as_mut() {
                    Some(tables) => tables.add_all(user, &records),
                    None => mirror.merge(user, &records),
                }
            }
        }
    }
    if skipped > 0 {
        tracing::warn!(
            skipped,
            "reauth: unreadable revocation records skipped in the snapshot (a writer broke the id rule?)"
        );
    }
    if let Some(tables) = fresh {
        mirror.replace(tables);
    }
    let (u, s) = mirror.len();
    tracing::info!(
        users = u,
        sessions = s,
        n = at.n,
        merged = into != Load::Replace,
        ms = started.elapsed().as_millis() as u64,
        "reauth: revocation snapshot loaded"
    );
    Ok((at, skipped as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_buckets() {
        assert_eq!(parse_user_value("10:20"), Some((10, 20)));
        assert_eq!(parse_user_value("-1:20"), Some((-1, 20)));
        for bad in ["", "10", "a:b", "10:", ":20", "1:2:3"] {
            assert_eq!(parse_user_value(bad), None, "{bad}");
        }
        let records: Vec<_> = parse_bucket(
            "\n0123456789abcdef:a\t1\n0123456789abcdef:b\t2:3\nbroken\n\tx\nt:short\t1\n0123456789abcdef:\r\t1",
        )
        .collect();
        assert_eq!(
            records,
            vec![
                Ok(("0123456789abcdef:a", "1")),
                Ok(("0123456789abcdef:b", "2:3")),
                Err("broken"),
                Err("\tx"),
                Err("t:short\t1"),
                Err("0123456789abcdef:\r\t1"),
            ]
        );
        assert_eq!(parse_bucket("").count(), 0);
        // The same over raw bytes; a record that is not UTF-8 is one Err.
        let bytes =
            b"\n0123456789abcdef:a\t1\n0123456789abcdef:\xff\t1\n\xc3\n0123456789abcdef:b\t2:3";
        let records: Vec<_> = parse_bucket_bytes(bytes).collect();
        assert_eq!(
            records,
            vec![
                Ok(("0123456789abcdef:a", "1")),
                Err(&b"0123456789abcdef:\xff\t1"[..]),
                Err(&b"\xc3"[..]),
                Ok(("0123456789abcdef:b", "2:3")),
            ]
        );
    }
}
