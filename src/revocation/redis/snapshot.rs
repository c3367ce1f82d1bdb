//! The snapshot: the whole state, read from our own keys only (`HSCAN` of
//! the users hash, `ZSCAN` of the sessions sorted set; never `SCAN` or
//! `KEYS` over a keyspace the app shares). Loaded at start, and when an
//! instance finds a gap in the log.
//!
//! The log position is read first, atomically with the sequence counter;
//! writes that land while the scan runs are in the log after that position
//! and are applied again when following it (every write is a max-merge, so
//! applying twice changes nothing).

use redis::{Script, Value};

use super::conn::Conn;
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

/// Entries asked for per `HSCAN`/`ZSCAN` page.
const PAGE: usize = 10_000;

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

/// A sorted-set score as sent by Redis (an integer, or a float for values
/// written by hand); `None` when it is neither.
pub fn parse_score(v: &str) -> Option<i64> {
    v.parse::<i64>().ok().or_else(|| {
        let f = v.parse::<f64>().ok()?;
        (f.is_finite() && f.abs() < 9.0e15).then_some(f as i64)
    })
}

fn bytes(v: &Value) -> Option<&str> {
    match v {
        Value::BulkString(b) => std::str::from_utf8(b).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}

/// One page of a scan: the next cursor, and (member, value) pairs.
pub type Page<'a> = (u64, Vec<(&'a str, &'a str)>);

/// One `HSCAN`/`ZSCAN` reply: `[cursor, [member, value, ...]]`.
pub fn parse_page(reply: &Value) -> Result<Page<'_>, String> {
    let Value::Array(parts) = reply else {
        return Err("a scan reply is not an array".into());
    };
    let [cursor, Value::Array(flat)] = parts.as_slice() else {
        return Err("a scan reply is not [cursor, items]".into());
    };
    let cursor = bytes(cursor)
        .and_then(|c| c.parse().ok())
        .ok_or("a scan cursor is not a number")?;
    let mut items = Vec::with_capacity(flat.len() / 2);
    for pair in flat.chunks(2) {
        match pair {
            [m, v] => items.push((
                bytes(m).ok_or("a member is not UTF-8")?,
                bytes(v).ok_or("a value is not UTF-8")?,
            )),
            _ => return Err("a scan reply has an odd number of items".into()),
        }
    }
    Ok((cursor, items))
}

async fn count(conn: &mut Conn, cmd: &str, key: &str) -> Result<usize, StoreError> {
    redis::cmd(cmd)
        .arg(key)
        .query_async(conn)
        .await
        .map_err(err)
}

/// Scans one key page by page, handing each (member, value) to `each`.
async fn scan(
    conn: &mut Conn,
    cmd: &str,
    key: &str,
    mut each: impl FnMut(&str, &str),
) -> Result<(), StoreError> {
    let mut cursor = 0u64;
    loop {
        let reply: Value = redis::cmd(cmd)
            .arg(key)
            .arg(cursor)
            .arg("COUNT")
            .arg(PAGE)
            .query_async(conn)
            .await
            .map_err(err)?;
        let (next, items) = parse_page(&reply).map_err(err)?;
        for (member, value) in items {
            each(member, value);
        }
        if next == 0 {
            return Ok(());
        }
        cursor = next;
    }
}

/// Loads the whole state into new tables and swaps them into `mirror`;
/// returns the log position to follow from. Entries expired at `now` are
/// skipped.
pub(crate) async fn load(
    conn: &mut Conn,
    keys: &Keys,
    mirror: &Mirror,
    now: i64,
) -> Result<Position, StoreError> {
    let at = position(conn, keys).await?;
    let users = count(conn, "HLEN", &keys.users).await?;
    let sessions = count(conn, "ZCARD", &keys.sessions).await?;
    let mut tables = Tables::with_capacity(users, sessions);
    let mut skipped = 0usize;
    scan(
        conn,
        "HSCAN",
        &keys.users,
        |member, value| match parse_user_value(value) {
            Some((cutoff, keep)) if keep > now => {
                tables.add_user(mirror.stored_id(member), cutoff, keep)
            }
            Some(_) => {}
            None => skipped += 1,
        },
    )
    .await?;
    scan(
        conn,
        "ZSCAN",
        &keys.sessions,
        |member, score| match parse_score(score) {
            Some(keep) if keep > now => tables.add_session(mirror.stored_id(member), keep),
            Some(_) => {}
            None => skipped += 1,
        },
    )
    .await?;
    if skipped > 0 {
        tracing::warn!(
            skipped,
            "reauth: unreadable revocation entries skipped in the snapshot"
        );
    }
    let (u, s) = tables.len();
    mirror.replace(tables);
    tracing::info!(
        users = u,
        sessions = s,
        n = at.n,
        "reauth: revocation snapshot loaded"
    );
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_scores_and_pages() {
        assert_eq!(parse_user_value("10:20"), Some((10, 20)));
        assert_eq!(parse_user_value("-1:20"), Some((-1, 20)));
        for bad in ["", "10", "a:b", "10:", ":20", "1:2:3"] {
            assert_eq!(parse_user_value(bad), None, "{bad}");
        }
        assert_eq!(parse_score("1795464806"), Some(1_795_464_806));
        assert_eq!(parse_score("1.795464806e9"), Some(1_795_464_806));
        assert_eq!(parse_score("inf"), None);
        assert_eq!(parse_score("nan"), None);
        let b = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let page = Value::Array(vec![
            b("17"),
            Value::Array(vec![b("a"), b("1"), b("b"), b("2")]),
        ]);
        assert_eq!(
            parse_page(&page).unwrap(),
            (17, vec![("a", "1"), ("b", "2")])
        );
        let odd = Value::Array(vec![b("0"), Value::Array(vec![b("a")])]);
        assert!(parse_page(&odd).is_err());
        assert!(parse_page(&Value::Nil).is_err());
    }
}
