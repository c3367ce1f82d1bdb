//! The Redis revocation log against real `redis-server` processes: catch-up
//! after a dropped connection, a trimmed log forcing a snapshot, no keyspace
//! scans, bulk files, concurrent writers from several processes, and the
//! paused gate of the 0.1 outage.
#![cfg(feature = "cli")]

mod support;

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reauth::Verifier;
use reauth::revocation::{Namespace, RedisStore, RedisStoreConfig, RedisWriter};
use reauth::testing::TestIssuer;
use support::{Redis, get, redis_cli, serve};

const BIN: &str = env!("CARGO_BIN_EXE_reauth");

/// The app's own keys beside ours.
fn populate(port: u16, n: usize) {
    let script = "for i = 1, tonumber(ARGV[1]) do redis.call('SET', 'app:' .. i, i) end";
    redis_cli(port, &["EVAL", script, "0", &n.to_string()]);
    assert_eq!(redis_cli(port, &["DBSIZE"]), n.to_string());
}

fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

/// Waits (bounded) until `cond` holds; the bound is generous, the point is
/// that it happens, not how fast (speed is measured in scripts/).
async fn eventually(what: &str, bound: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn store(url: &str) -> Arc<RedisStore> {
    RedisStore::connect(RedisStoreConfig::new(url))
        .await
        .unwrap()
}

async fn writer(url: &str, log_max_len: u64) -> RedisWriter {
    let mut cfg = RedisStoreConfig::new(url);
    cfg.log_max_len = log_max_len;
    RedisWriter::connect(&cfg).await.unwrap()
}

/// A writer that compacts a bucket on every call.
async fn compacting_writer(url: &str) -> RedisWriter {
    let mut cfg = RedisStoreConfig::new(url);
    cfg.compact_every = 1;
    RedisWriter::connect(&cfg).await.unwrap()
}

#[tokio::test]
async fn catch_up_after_a_dropped_connection_reads_only_what_was_missed() {
    let Some(redis) = Redis::start() else { return };
    let a = store(&redis.url()).await;
    assert_eq!(a.sync_counts(), (0, 1), "one snapshot at start");
    // Redis drops every client connection (a failover, a proxy restart).
    redis_cli(redis.port, &["CLIENT", "KILL", "TYPE", "normal"]);
    let w = writer(&redis.url(), 1_000_000).await;
    let ns = Namespace::new("https://issuer.example");
    let now = chrono::Utc::now().timestamp();
    w.revoke_sessions(&ns, &ids("s", 1500), now + 3600, now, |_| {})
        .await
        .unwrap();
    eventually("all 1,500 applied", Duration::from_secs(20), || {
        a.mirror_len() == (0, 1500)
    })
    .await;
    let (applied, reloads) = a.sync_counts();
    assert_eq!(
        (applied, reloads),
        (1500, 1),
        "caught up from the log, no second snapshot"
    );
    assert!(a.staleness() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_trimmed_log_forces_a_snapshot() {
    let Some(redis) = Redis::start() else { return };
    let a = store(&redis.url()).await;
    // A writer that keeps ~10 entries: 3,000 writes in three atomic chunks
    // trim entries the follower never saw.
    let w = writer(&redis.url(), 10).await;
    let ns = Namespace::new("https://issuer.example");
    let now = chrono::Utc::now().timestamp();
    w.revoke_sessions(&ns, &ids("t", 3000), now + 3600, now, |_| {})
        .await
        .unwrap();
    eventually("all 3,000 in the mirror", Duration::from_secs(20), || {
        a.mirror_len() == (0, 3000)
    })
    .await;
    assert!(
        a.sync_counts().1 >= 2,
        "a snapshot was reloaded: {:?}",
        a.sync_counts()
    );
    let log_len: usize = redis_cli(redis.port, &["XLEN", "{reauth}:log"])
        .parse()
        .unwrap();
    assert!(log_len < 3000, "the log was trimmed ({log_len})");
}

#[tokio::test]
async fn state_never_comes_from_a_keyspace_scan() {
    let Some(redis) = Redis::start() else { return };
    // The app's own keys share this Redis.
    populate(redis.port, 20_000);
    redis_cli(redis.port, &["CONFIG", "RESETSTAT"]);
    let issuer = TestIssuer::start().await;
    let a = store(&redis.url()).await;
    let v = Verifier::discover(issuer.config().revocation_store(a.clone()).build().unwrap())
        .await
        .unwrap();
    v.revoke_user("alice", None).await.unwrap();
    v.revoke_session("s-1").await.unwrap();
    let trimming = writer(&redis.url(), 10).await;
    let now = chrono::Utc::now().timestamp();
    trimming
        .revoke_sessions(
            &Namespace::new(issuer.issuer()),
            &ids("x", 2000),
            now + 60,
            now,
            |_| {},
        )
        .await
        .unwrap();
    let b = store(&redis.url()).await;
    eventually(
        "both mirrors hold everything",
        Duration::from_secs(20),
        || a.mirror_len() == (1, 2001) && b.mirror_len() == (1, 2001),
    )
    .await;
    let stats = redis_cli(redis.port, &["INFO", "commandstats"]);
    for forbidden in ["cmdstat_scan:", "cmdstat_keys:"] {
        assert!(!stats.contains(forbidden), "{forbidden} in\n{stats}");
    }
    assert!(
        stats.contains("cmdstat_mget:"),
        "snapshots read our bucket strings:\n{stats}"
    );
}

async fn revoke_cli(args: &[&str], stdin: Option<&str>) -> (i32, serde_json::Value, String) {
    let mut child = tokio::process::Command::new(BIN)
        .arg("revoke")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        tokio::io::AsyncWriteExt::write_all(&mut pipe, input.as_bytes())
            .await
            .unwrap();
    }
    drop(pipe);
    let out = tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
        .await
        .expect("bounded")
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "one JSON line: {stdout:?}");
    (
        out.status.code().unwrap(),
        serde_json::from_str(&stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[tokio::test]
async fn bulk_files_are_validated_whole_before_anything_is_written() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let dir = std::env::temp_dir().join(format!("reauth-bulk-{}", redis.port));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.txt");
    let long = "x".repeat(1025);
    std::fs::write(
        &bad,
        format!("ok-1\nok-2\n\nok-4\nctl\u{7}x\n{long}\nok-7\n"),
    )
    .unwrap();
    // No gate has used this store yet: the explicit override.
    let base = [
        "--redis",
        &url,
        "--issuer",
        "https://issuer.example",
        "--allow-unknown-issuer",
    ];
    let (code, json, stderr) = revoke_cli(
        &[&base[..], &["--session-file", bad.to_str().unwrap()]].concat(),
        None,
    )
    .await;
    assert_eq!((code, json["error"].as_str()), (2, Some("invalid_request")));
    assert_eq!(json["bad_lines"], 3);
    for line in [
        ":3: empty line",
        ":5: contains a control character",
        ":6: longer than 1024 bytes",
    ] {
        assert!(stderr.contains(line), "{line} missing from {stderr}");
    }
    assert_eq!(
        redis_cli(redis.port, &["ZCARD", "{reauth}:sessions"]),
        "0",
        "nothing written"
    );
    assert_eq!(redis_cli(redis.port, &["EXISTS", "{reauth}:log"]), "0");

    // Good files and stdin: every line written, the count on stdout.
    let good = dir.join("good.txt");
    std::fs::write(&good, ids("g", 2500).join("\n")).unwrap();
    let (code, json, _) = revoke_cli(
        &[&base[..], &["--session-file", good.to_str().unwrap()]].concat(),
        None,
    )
    .await;
    assert_eq!((code, json["count"].as_u64()), (0, Some(2500)), "{json}");
    let users = ids("u", 300).join("\r\n") + "\r\n";
    let (code, json, _) =
        revoke_cli(&[&base[..], &["--user-file", "-"]].concat(), Some(&users)).await;
    assert_eq!(
        (code, json["count"].as_u64(), json["revoked"].as_str()),
        (0, Some(300), Some("user"))
    );
    assert_eq!(
        redis_cli(redis.port, &["ZCARD", "{reauth}:sessions"]),
        "2500"
    );
    assert_eq!(redis_cli(redis.port, &["HLEN", "{reauth}:users"]), "300");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn concurrent_writers_in_several_processes_leave_every_instance_equal_to_the_store() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let a = store(&url).await;
    let b = store(&url).await;
    let dir = std::env::temp_dir().join(format!("reauth-writers-{}", redis.port));
    std::fs::create_dir_all(&dir).unwrap();
    let mut jobs = Vec::new();
    for w in 0..4 {
        let file = dir.join(format!("w{w}.txt"));
        // Overlapping ids across writers: the same session written twice.
        std::fs::write(&file, ids("s", 3000)[w * 500..w * 500 + 1500].join("\n")).unwrap();
        let kind = if w % 2 == 0 {
            "--session-file"
        } else {
            "--user-file"
        };
        let url = url.clone();
        jobs.push(tokio::spawn(async move {
            revoke_cli(
                &[
                    "--redis",
                    &url,
                    "--issuer",
                    "https://issuer.example",
                    "--allow-unknown-issuer",
                    kind,
                    file.to_str().unwrap(),
                ],
                None,
            )
            .await
        }));
    }
    for job in jobs {
        let (code, json, _) = job.await.unwrap();
        assert_eq!(code, 0, "{json}");
    }
    let sessions: usize = redis_cli(redis.port, &["ZCARD", "{reauth}:sessions"])
        .parse()
        .unwrap();
    let users: usize = redis_cli(redis.port, &["HLEN", "{reauth}:users"])
        .parse()
        .unwrap();
    assert_eq!((users, sessions), (2500, 2500), "overlaps merged");
    let c = store(&url).await;
    eventually(
        "every instance equals the store",
        Duration::from_secs(20),
        || {
            [&a, &b, &c]
                .iter()
                .all(|s| s.mirror_len() == (users, sessions))
        },
    )
    .await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The 0.1 outage: a gate paused while Redis drops its connections and
/// revocations are written meanwhile. 0.1 enforced none of them 90 s later
/// and answered every /verify with an error; now the gate catches up from
/// the log when it resumes, and unaffected tokens are answered again.
#[tokio::test]
async fn a_paused_gate_enforces_what_it_missed_when_it_resumes() {
    let Some(redis) = Redis::start() else { return };
    let url = redis.url();
    let issuer = TestIssuer::start().await;
    let ns = Namespace::new(issuer.issuer());
    let now = chrono::Utc::now().timestamp();
    // A store with 20,000 revoked sessions beside 40,000 keys of the app.
    populate(redis.port, 40_000);
    writer(&url, 1_000_000)
        .await
        .revoke_sessions(&ns, &ids("old", 20_000), now + 3600, now, |_| {})
        .await
        .unwrap();
    let gate = serve(&issuer, &["--redis", &url]).await;
    let unaffected = issuer.token().claim("sid", "fine").sign();
    let missed: Vec<String> = (0..20)
        .map(|i| issuer.token().claim("sid", format!("new-{i}")).sign())
        .collect();
    assert_eq!(get(&gate, "/verify", Some(&unaffected)).await.status, 200);
    assert_eq!(get(&gate, "/verify", Some(&missed[0])).await.status, 200);
    let pid = gate.child.id().unwrap().to_string();
    let signal = |sig: &str| {
        assert!(
            std::process::Command::new("kill")
                .args([sig, &pid])
                .status()
                .unwrap()
                .success()
        )
    };
    signal("-STOP");
    redis_cli(redis.port, &["CLIENT", "KILL", "TYPE", "normal"]);
    writer(&url, 1_000_000)
        .await
        .revoke_sessions(&ns, &ids("new", 1000), now + 3600, now, |_| {})
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    signal("-CONT");
    let start = Instant::now();
    for token in &missed {
        loop {
            let status = get(&gate, "/verify", Some(token)).await.status;
            if status == 401 {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "not enforced: {status}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert_eq!(get(&gate, "/verify", Some(&unaffected)).await.status, 200);
    eprintln!(
        "all missed revocations enforced {:?} after resuming",
        start.elapsed()
    );
}

#[tokio::test]
async fn expired_and_superseded_records_never_reach_a_snapshot() {
    let Some(redis) = Redis::start() else { return };
    let w = writer(&redis.url(), 1_000_000).await;
    let ns = Namespace::new("https://issuer.example");
    let now = chrono::Utc::now().timestamp();
    w.revoke_sessions(&ns, &ids("short", 100), now + 1, now, |_| {})
        .await
        .unwrap();
    // The same sessions again, kept longer: two records each in the buckets.
    w.revoke_sessions(&ns, &ids("long", 100), now + 60, now, |_| {})
        .await
        .unwrap();
    w.revoke_sessions(&ns, &ids("long", 100), now + 3600, now, |_| {})
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let a = store(&redis.url()).await;
    assert_eq!(
        a.mirror_len(),
        (0, 100),
        "expired ones skipped, duplicates merged"
    );
    // Writes compact buckets round robin: after a full round (here one
    // bucket per write), each holds each live id once, no expired one.
    let count_records = || {
        let script = "local n = 0 for i = 0, tonumber(ARGV[1]) - 1 do \
            local t = redis.call('GET', '{reauth}:b:s:' .. i) \
            if t then n = n + select(2, string.gsub(t, '\\n', '')) end end return n";
        let buckets = reauth::revocation::BUCKETS.to_string();
        redis_cli(redis.port, &["EVAL", script, "0", &buckets])
            .parse::<usize>()
            .unwrap()
    };
    assert_eq!(
        count_records(),
        300,
        "100 expired + 2 x 100 long, before compaction"
    );
    let one = ["long-0".to_owned()];
    let now = chrono::Utc::now().timestamp();
    let compacting = compacting_writer(&redis.url()).await;
    for _ in 0..reauth::revocation::BUCKETS + 1 {
        compacting
            .revoke_sessions(&ns, &one, now + 3600, now, |_| {})
            .await
            .unwrap();
    }
    assert_eq!(count_records(), 100, "compacted to one record per live id");
    let b = store(&redis.url()).await;
    assert_eq!(b.mirror_len(), (0, 100));
}
