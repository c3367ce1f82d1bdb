//! The snapshot: the whole state, read from our own keys only (`MGET` of
//! the bucket strings the writes append to; never `SCAN` or `KEYS` over a
//! keyspace the app shares). Loaded at start, and when an
//! instance finds a gap in the log.
//!
//! The log position is read first, atomically with the sequence counter;
//! writes that land while the scan runs are in the log after that position
//! and are applied again when following it (every write is a max-merge, so
//! applying twice changes nothing).

use redis::Script;

use super::conn::Conn;
use super::log::check_scoped;
use super::writer::BUCKETS;
use super::{Keys, err};
use crate::revocation::StoreError;
use crate::revocation::mirror::{Mirror, Tables};

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

/// The records of one bucket string: `\n{id}\t{value}` each. A record
/// without its tab, or whose id breaks the id rule (the writers' rule, so
/// an id cannot hold the `\n` or `\t` that would forge a record), is
/// returned as `Err` (counted and skipped by the caller, never guessed at).
pub fn parse_bucket(text: &str) -> impl Iterator<Item = Result<(&str, &str), &str>> {
    text.split('\n')
        .skip(1)
        .map(|record| match record.split_once('\t') {
            Some((id, value)) if check_scoped(id).is_ok() => Ok((id, value)),
            _ => Err(record),
        })
}

/// Bucket keys fetched per `MGET`.
const MGET_KEYS: usize = 128;

/// Loads the whole state into new tables and swaps them into `mirror`;
/// returns the log position to follow from and how many records were
/// skipped as unreadable. Entries expired at `now`, and
/// records superseded by a later one for the same id, are merged away
/// (every merge keeps the higher value).
pub(crate) async fn load(
    conn: &mut Conn,
    keys: &Keys,
    mirror: &Mirror,
    now: i64,
) -> Result<(Position, u64), StoreError> {
    let started = std::time::Instant::now();
    let at = position(conn, keys).await?;
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
    let mut tables = Tables::with_capacity(users, sessions);
    let mut skipped = 0usize;
    for kind in ["u", "s"] {
        let names: Vec<String> = (0..BUCKETS)
            .map(|n| format!("{}{kind}:{n}", keys.bucket_prefix))
            .collect();
        for chunk in names.chunks(MGET_KEYS) {
            let texts: Vec<Option<String>> = redis::cmd("MGET")
                .arg(chunk)
                .query_async(conn)
                .await
                .map_err(err)?;
            for text in texts.iter().flatten() {
                for record in parse_bucket(text) {
                    let Ok((id, value)) = record else {
                        skipped += 1;
                        continue;
                    };
                    if kind == "u" {
                        match parse_user_value(value) {
                            Some((cutoff, keep)) if keep > now => {
                                tables.add_user(mirror.stored_id(id), cutoff, keep)
                            }
                            Some(_) => {}
                            None => skipped += 1,
                        }
                    } else {
                        match value.parse::<i64>() {
                            Ok(keep) if keep > now => {
                                tables.add_session(mirror.stored_id(id), keep)
                            }
                            Ok(_) => {}
                            Err(_) => skipped += 1,
                        }
                    }
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
    let (u, s) = tables.len();
    mirror.replace(tables);
    tracing::info!(
        users = u,
        sessions = s,
        n = at.n,
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
    }
}
