//! A Redis store's mirror that is stale only because its log reader is
//! catching up (a paused process, Redis answering late) makes a check wait,
//! bounded by `RedisStoreConfig::catch_up_wait`, instead of answering 503 at
//! once; a Redis that stays unreachable still gets 503 (fail closed). Against
//! real `redis-server` processes and, for the gate, a real `reauth serve`.
#![cfg(feature = "redis")]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reauth::Verifier;
use reauth::revocation::{RedisStore, RedisStoreConfig};
use reauth::testing::TestIssuer;
use support::{Redis, code, redis_cli};

/// A store that goes stale quickly: confirmed every 200 ms, trusted for
/// 500 ms, a response timeout long enough that a paused Redis is not an
/// error for the reader.
fn quick(url: &str, catch_up_wait: Duration) -> RedisStoreConfig {
    let mut cfg = RedisStoreConfig::new(url);
    cfg.max_staleness = Duration::from_millis(500);
    cfg.block = Duration::from_millis(200);
    cfg.command_timeout = Duration::from_secs(5);
    cfg.catch_up_wait = catch_up_wait;
    cfg
}

async fn verifier(issuer: &TestIssuer, cfg: RedisStoreConfig) -> (Verifier, Arc<RedisStore>) {
    let store = RedisStore::connect(cfg).await.unwrap();
    let v = Verifier::discover(
        issuer
            .config()
            .revocation_store(store.clone())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    (v, store)
}

/// `CLIENT PAUSE ms` in the background (redis-cli returns at once; the
/// pause holds every client's commands, the reader's `XREAD` included).
fn pause_redis(port: u16, ms: u64) {
    assert_eq!(redis_cli(port, &["CLIENT", "PAUSE", &ms.to_string()]), "OK");
}

/// Today's 503 during a catch-up: while Redis holds the reader's reads for
/// 1.5 s, the mirror passes `max_staleness` (0.5 s). A check then waits for
/// the reader's next confirmation and answers from the mirror, right both
/// ways: the unaffected token accepted, the revoked one still revoked.
#[tokio::test]
async fn a_check_while_the_reader_catches_up_waits_and_answers() {
    let Some(redis) = Redis::start() else { return };
    let issuer = TestIssuer::start().await;
    let (v, store) = verifier(&issuer, quick(&redis.url(), Duration::from_secs(2))).await;
    let fine = issuer.token().claim("sid", "fine").sign();
    let gone = issuer.token().claim("sid", "gone").sign();
    v.revoke_session("gone").await.unwrap();
    assert_eq!(code(&v, &fine).await, "accepted");

    pause_redis(redis.port, 1500);
    let paused = Instant::now();
    // Past max_staleness: the mirror cannot vouch for itself any more.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert!(store.staleness() > Duration::from_millis(500), "stale now");
    let (a, b) = tokio::join!(code(&v, &fine), code(&v, &gone));
    let waited = paused.elapsed();
    assert_eq!(
        (a, b),
        ("accepted", "revoked"),
        "answered after the catch-up, not revocation_unavailable"
    );
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_millis(3500),
        "the checks waited for the reader (Redis paused until 1.5 s): {waited:?}"
    );
    eprintln!("checks answered {waited:?} after the pause began");
    assert_eq!(store.skipped(), 0);
}

/// No silent fail-open: a Redis that does not answer for longer than the
/// bound gets 503 once the wait is over, and a Redis that is gone gets 503
/// without waiting (the reader is failing; nothing to wait for). With the
/// wait disabled (zero), a stale check fails at once.
#[tokio::test]
async fn redis_that_stays_away_still_gets_503() {
    let Some(mut redis) = Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let (v, _) = verifier(&issuer, quick(&redis.url(), Duration::from_secs(1))).await;
    let (no_wait, _) = verifier(&issuer, quick(&redis.url(), Duration::ZERO)).await;
    let fine = issuer.token().sign();
    assert_eq!(code(&v, &fine).await, "accepted");

    // Paused for 4 s: the wait (1 s) runs out first.
    pause_redis(redis.port, 4000);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let start = Instant::now();
    let (waiting, at_once) = tokio::join!(code(&v, &fine), async {
        let t = Instant::now();
        (code(&no_wait, &fine).await, t.elapsed())
    });
    let waited = start.elapsed();
    assert_eq!(waiting, "revocation_unavailable");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_millis(2500),
        "503 after the 1 s bound: {waited:?}"
    );
    assert_eq!(at_once.0, "revocation_unavailable");
    assert!(at_once.1 < Duration::from_millis(300), "{:?}", at_once.1);
    // Back: answers resume.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(code(&v, &fine).await, "accepted");

    // Gone: the reader's reconnects fail, so a check does not wait.
    redis.kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let t = Instant::now();
    assert_eq!(code(&v, &fine).await, "revocation_unavailable");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "no wait for a reader that cannot reach Redis: {:?}",
        t.elapsed()
    );
}

/// A snapshot reads buckets as raw bytes: a record that is not UTF-8 (a
/// hostile or broken writer) is skipped and counted; it no longer fails the
/// whole snapshot (the `MGET` reply was read as UTF-8 strings, so one such
/// byte made every instance fail to start, or to reload).
#[tokio::test]
async fn a_bucket_that_is_not_utf8_costs_one_record_not_the_snapshot() {
    let Some(redis) = Redis::start() else { return };
    let ns = reauth::revocation::Namespace::new("https://issuer.example");
    let keep = chrono::Utc::now().timestamp() + 3600;
    let mut bucket = format!("\n{}\t{keep}\n", ns.scoped("good")).into_bytes();
    bucket.extend_from_slice(ns.scoped("bad").as_bytes());
    bucket.extend_from_slice(b"\xff\xfe\t1\n");
    bucket.extend_from_slice(format!("{}\t{keep}", ns.scoped("also-good")).as_bytes());
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("SET")
        .arg("{reauth}:b:s:7")
        .arg(bucket)
        .query_async(&mut conn)
        .await
        .unwrap();
    let store = RedisStore::connect(RedisStoreConfig::new(redis.url()))
        .await
        .expect("the snapshot loads despite the bad record");
    assert_eq!(store.mirror_len(), (0, 2));
    assert_eq!(store.skipped(), 1);
}

/// A reload after a gap merges into the live mirror only when the log was
/// trimmed; when the sequence goes back (the store was reset while the
/// reader kept its connection), what the mirror held is gone from Redis and
/// new tables replace it, as on a fresh instance.
#[tokio::test]
async fn a_reset_store_replaces_the_mirror_a_trimmed_log_merges_into_it() {
    use reauth::revocation::RedisWriter;
    let Some(redis) = Redis::start() else { return };
    let (store, ns, now) = following(&redis).await;
    let mut short = RedisStoreConfig::new(redis.url());
    short.log_max_len = 10;
    let trimming = RedisWriter::connect(&short).await.unwrap();
    trimming
        .revoke_sessions(&ns, &ids("old", 3000), now + 3600, now, |_| {})
        .await
        .unwrap();
    eventually(|| store.mirror_len() == (0, 3000)).await;
    let reloads = store.sync_counts().1;
    assert!(reloads >= 2, "the trimmed log made a snapshot");
    // Reset: the sequence starts again at 1, the reader's connection stays.
    assert_eq!(redis_cli(redis.port, &["FLUSHALL"]), "OK");
    let writer = RedisWriter::connect(&RedisStoreConfig::new(redis.url()))
        .await
        .unwrap();
    writer
        .revoke_sessions(&ns, &ids("new", 2), now + 3600, now, |_| {})
        .await
        .unwrap();
    eventually(|| store.mirror_len() == (0, 2)).await;
    assert!(store.sync_counts().1 > reloads);
}

/// A reset seen through a snapshot, not through the log: after the
/// `FLUSHALL` the first entry the reader meets has no readable number (a
/// gap that reads as "trimmed", so the snapshot would be merged in), and
/// the snapshot's position is below what the mirror applied. What the
/// mirror held is gone from Redis, so new tables replace it; merged, the
/// old sessions stayed revoked and the new entries numbered from 1 again
/// were applied on top (a race CI once hit in the test above).
#[tokio::test]
async fn a_reset_seen_by_a_snapshot_replaces_the_mirror() {
    use reauth::revocation::RedisWriter;
    let Some(redis) = Redis::start() else { return };
    let (store, ns, now) = following(&redis).await;
    let writer = RedisWriter::connect(&RedisStoreConfig::new(redis.url()))
        .await
        .unwrap();
    writer
        .revoke_sessions(&ns, &ids("old", 5), now + 3600, now, |_| {})
        .await
        .unwrap();
    eventually(|| store.mirror_len() == (0, 5)).await;
    let reloads = store.sync_counts().1;
    assert_eq!(redis_cli(redis.port, &["FLUSHALL"]), "OK");
    // An entry without its number, first in the new log.
    let id = redis_cli(redis.port, &["XADD", "{reauth}:log", "*", "x", "y"]);
    assert!(id.contains('-'), "XADD: {id}");
    writer
        .revoke_sessions(&ns, &ids("new", 2), now + 3600, now, |_| {})
        .await
        .unwrap();
    eventually(|| store.sync_counts().1 > reloads).await;
    eventually(|| store.mirror_len() == (0, 2)).await;
}

/// A store following `redis`'s log, the namespace its writers use, now.
async fn following(redis: &Redis) -> (Arc<RedisStore>, reauth::revocation::Namespace, i64) {
    let store = RedisStore::connect(RedisStoreConfig::new(redis.url()))
        .await
        .unwrap();
    let ns = reauth::revocation::Namespace::new("https://issuer.example");
    (store, ns, chrono::Utc::now().timestamp())
}

/// `n` session ids starting with `p`.
fn ids(p: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{p}-{i}")).collect()
}

async fn eventually(mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < Duration::from_secs(20), "not within 20 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

    /// Any bytes: no panic; what is accepted is a well-formed record, and
    /// the records of a well-formed bucket all come back, in order.
    #[test]
    fn raw_buckets_never_panic_and_round_trip(
        junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
        ids in proptest::collection::vec("[a-zA-Z0-9._-]{1,12}", 0..8),
    ) {
        for (id, value) in reauth::revocation::parse_bucket_bytes(&junk).flatten() {
            proptest::prop_assert!(!id.contains(['\n', '\t']) && !value.contains('\n'));
        }
        let bucket: String = ids
            .iter()
            .map(|id| format!("\n0123456789abcdef:{id}\t9"))
            .collect();
        let mut bytes = bucket.clone().into_bytes();
        bytes.extend_from_slice(b"\n\xff");
        let read: Vec<_> = reauth::revocation::parse_bucket_bytes(&bytes).collect();
        proptest::prop_assert_eq!(read.len(), ids.len() + 1);
        proptest::prop_assert!(read.last().unwrap().is_err());
        let text: Vec<_> = reauth::revocation::parse_bucket(&bucket).collect();
        proptest::prop_assert_eq!(
            read[..ids.len()].iter().map(|r| r.ok()).collect::<Vec<_>>(),
            text.iter().map(|r| r.ok()).collect::<Vec<_>>()
        );
    }
}

/// The bench's paused gate, in small: `reauth serve --redis` stopped
/// (SIGSTOP) for longer than `max_staleness` (5 s) while Redis drops its
/// connections and 5,000 revocations are written. Requests for an
/// unaffected token are already waiting when it resumes, and keep coming
/// for 1.5 s: every answer is 200 (they were 503 until the reader had
/// caught up), and the missed revocations apply.
#[cfg(feature = "cli")]
#[tokio::test]
async fn a_resumed_gate_answers_unaffected_tokens_while_it_catches_up() {
    use reauth::revocation::{Namespace, RedisWriter};
    use support::{get, serve};

    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let issuer = TestIssuer::start().await;
    let ns = Namespace::new(issuer.issuer());
    let gate = Arc::new(serve(&issuer, &["--redis", &url]).await);
    let fine = issuer.token().claim("sid", "fine").sign();
    let missed = issuer.token().claim("sid", "missed-4999").sign();
    assert_eq!(get(&gate, "/verify", Some(&fine)).await.status, 200);
    let pid = gate.child.id().unwrap().to_string();
    let signal = |sig: &str| {
        let ok = std::process::Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    };
    signal("-STOP");
    let stopped = Instant::now();
    redis_cli(redis.port, &["CLIENT", "KILL", "TYPE", "normal"]);
    let writer = RedisWriter::connect(&RedisStoreConfig::new(url.clone()))
        .await
        .unwrap();
    let ids: Vec<String> = (0..5000).map(|i| format!("missed-{i}")).collect();
    let now = chrono::Utc::now().timestamp();
    writer
        .revoke_sessions(&ns, &ids, now + 3600, now, |_| {})
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(6).saturating_sub(stopped.elapsed())).await;
    // Four clients whose requests wait in the stopped gate's backlog.
    let until = Instant::now() + Duration::from_millis(1700);
    let clients: Vec<_> = (0..4)
        .map(|_| {
            let (gate, fine) = (gate.clone(), fine.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while Instant::now() < until {
                    statuses.push(get(&gate, "/verify", Some(&fine)).await.status);
                }
                statuses
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    signal("-CONT");
    let mut statuses = Vec::new();
    for c in clients {
        statuses.extend(c.await.unwrap());
    }
    let refused = statuses.iter().filter(|s| **s != 200).count();
    assert_eq!(
        refused,
        0,
        "{refused} of {} answers for an unaffected token were not 200 while the gate caught up",
        statuses.len()
    );
    assert_eq!(get(&gate, "/verify", Some(&missed)).await.status, 401);
}

/// `reauth serve --revocation-catch-up-wait`: the wait is the operator's to
/// set (0s answers at once), and a value past the documented cap is a
/// start-up error, never silently clamped.
#[tokio::test]
async fn the_gate_takes_the_catch_up_wait_and_refuses_one_past_the_cap() {
    let Some(redis) = Redis::start() else { return };
    let issuer = TestIssuer::start().await;
    let url = redis.url();
    let gate = support::serve(
        &issuer,
        &["--redis", &url, "--revocation-catch-up-wait", "0s"],
    )
    .await;
    let token = issuer.token().sign();
    assert_eq!(
        support::get(&gate, "/verify", Some(&token)).await.status,
        200
    );
    let out = tokio::process::Command::new(support::BIN)
        .args([
            "serve",
            "--issuer",
            issuer.issuer(),
            "--audience",
            "test-client",
        ])
        .args(["--bind", "127.0.0.1:0", "--redis", &url])
        .args(["--revocation-catch-up-wait", "2m"])
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("catch_up_wait must be at most 60 s"),
        "{stderr}"
    );
}
