//! The revocation benchmark at a big customer's size (driven by
//! `scripts/bench_revocation.sh`, which starts a real `redis-server` holding
//! 2,000,000 unrelated keys and passes its URL). Loopback only; every loop
//! is bounded in count and time. Prints one line per figure.
//!
//! Usage: `bench_revocation REDIS_URL REDIS_PORT REAUTH_BIN WORKDIR`
//! Scale (env): `SESSIONS` (1,000,000), `USERS` (100,000), `PAUSE_SECS`
//! (15), `MISSED` (10,000), `TRIMMED` (1,000), `LOAD_SECS` (60),
//! `WRITES_PER_SEC` (1,000).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reauth::revocation::{Namespace, RedisStoreConfig, RedisWriter};
use reauth::testing::TestIssuer;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

struct Gate {
    child: Child,
    base: String,
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_gate(
    bin: &str,
    issuer: &str,
    redis: &str,
    http: &reqwest::Client,
    log: Option<&str>,
) -> (Gate, Duration) {
    let port = free_port();
    let started = Instant::now();
    // BENCH_GATE_LOG=FILE keeps the first gate's debug log there.
    let (level, stderr) = match log {
        Some(path) => (
            "reauth=debug,info",
            Stdio::from(std::fs::File::create(path).unwrap()),
        ),
        None => ("warn", Stdio::null()),
    };
    let child = Command::new(bin)
        .args(["serve", "--issuer", issuer, "--audience", "test-client"])
        .args([
            "--redis",
            redis,
            "--workers",
            "1",
            "--bind",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", level)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            if r.status() == 200 {
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "gate did not start"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (Gate { child, base }, started.elapsed())
}

async fn status(http: &reqwest::Client, gate: &str, token: &str) -> u16 {
    http.get(format!("{gate}/verify"))
        .bearer_auth(token)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Polls every gate until `token` is refused; the time each took.
async fn until_revoked(
    http: &reqwest::Client,
    gates: &[String],
    token: &str,
    bound: Duration,
) -> Vec<Duration> {
    let start = Instant::now();
    let mut out = Vec::new();
    for g in gates {
        while status(http, g, token).await != 401 {
            if start.elapsed() > bound {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        out.push(start.elapsed());
    }
    out
}

fn run_revoke(bin: &str, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(bin).arg("revoke").args(args).output().unwrap();
    assert!(out.status.success(), "reauth revoke failed: {out:?}");
    start.elapsed()
}

/// `/verify` with a repeated token from `conns` client tasks for `secs`;
/// requests per second over all gates.
async fn load(
    http: &reqwest::Client,
    gates: &[String],
    token: &str,
    conns: usize,
    secs: u64,
) -> f64 {
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..conns {
        let (http, gate, token) = (
            http.clone(),
            gates[c % gates.len()].clone(),
            token.to_owned(),
        );
        let (done, count) = (done.clone(), count.clone());
        tasks.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                if status(&http, &gate, &token).await == 200 {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    done.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    count.load(Ordering::Relaxed) as f64 / secs as f64
}

/// Four writers sharing `rate` revocations a second until `done`.
fn spawn_writers(
    writer: &RedisWriter,
    ns: &Namespace,
    rate: u64,
    done: &Arc<AtomicBool>,
) -> Vec<tokio::task::JoinHandle<u64>> {
    (0..4u64)
        .map(|w| {
            let (writer, ns, done) = (writer.clone(), ns.clone(), done.clone());
            tokio::spawn(async move {
                let per = rate / 4;
                let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / per.max(1)));
                let mut i = 0u64;
                while !done.load(Ordering::Relaxed) {
                    tick.tick().await;
                    let now = chrono::Utc::now().timestamp();
                    let _ = writer
                        .revoke_sessions(&ns, &[format!("load-{w}-{i}")], now + 3600, now, |_| {})
                        .await;
                    i += 1;
                }
                i
            })
        })
        .collect()
}

/// One paused-gate phase: SIGSTOP, Redis drops its connections, `count`
/// revocations `{prefix}-{i}` are written (and, with `trim`, the log is
/// trimmed past the gate's position, so it must load a snapshot), SIGCONT
/// after `pause` s; then an unaffected token is asked in a tight loop while
/// 50 probes among the missed ones are polled until enforced.
struct Paused<'a> {
    http: &'a reqwest::Client,
    issuer: &'a TestIssuer,
    ns: &'a Namespace,
    writer: &'a RedisWriter,
    gate: &'a str,
    pid: u32,
    port: &'a str,
    pause: u64,
    fine: &'a str,
}

struct PausedRun {
    enforced: Duration,
    worst: Duration,
    /// Answers other than 200.
    refused: u64,
    /// Requests that got no answer (connection closed).
    failed: u64,
    n: u64,
}

impl Paused<'_> {
    async fn run(&self, prefix: &str, count: u64, trim: bool) -> PausedRun {
        let pid = self.pid.to_string();
        Command::new("kill").args(["-STOP", &pid]).status().unwrap();
        let paused = Instant::now();
        let redis_cli = |a: &[&str]| {
            Command::new("redis-cli")
                .args(["-p", self.port])
                .args(a)
                .output()
                .unwrap()
        };
        redis_cli(&["CLIENT", "KILL", "TYPE", "normal"]);
        let ids: Vec<String> = (0..count).map(|i| format!("{prefix}-{i}")).collect();
        let now = chrono::Utc::now().timestamp();
        self.writer
            .revoke_sessions(self.ns, &ids, now + 3600, now, |_| {})
            .await
            .unwrap();
        if trim {
            redis_cli(&["XTRIM", "{reauth}:log", "MAXLEN", "10"]);
        }
        tokio::time::sleep(Duration::from_secs(self.pause).saturating_sub(paused.elapsed())).await;
        let step = (count as usize / 50).max(1);
        let probes: Vec<String> = (0..50.min(count as usize))
            .map(|k| {
                self.issuer
                    .token()
                    .claim("sid", format!("{prefix}-{}", k * step + step - 1))
                    .sign()
            })
            .collect();
        Command::new("kill").args(["-CONT", &pid]).status().unwrap();
        let resumed = Instant::now();
        // An unaffected token, asked continuously while the gate catches up.
        let stop = Arc::new(AtomicBool::new(false));
        let (h, g, f, s) = (
            self.http.clone(),
            self.gate.to_owned(),
            self.fine.to_owned(),
            stop.clone(),
        );
        let watcher = tokio::spawn(async move {
            let (mut worst, mut refused, mut failed, mut n) = (Duration::ZERO, 0u64, 0u64, 0u64);
            while !s.load(Ordering::Relaxed) {
                let t = Instant::now();
                match status(&h, &g, &f).await {
                    200 => {}
                    // The client's pooled connection closed by the gate
                    // (its keep-alive ran out during the pause): no answer.
                    0 => failed += 1,
                    _ => refused += 1,
                }
                worst = worst.max(t.elapsed());
                n += 1;
            }
            (worst, refused, failed, n)
        });
        let gates = [self.gate.to_owned()];
        for p in &probes {
            until_revoked(self.http, &gates, p, Duration::from_secs(30)).await;
        }
        let enforced = resumed.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::Relaxed);
        let (worst, refused, failed, n) = watcher.await.unwrap();
        PausedRun {
            enforced,
            worst,
            refused,
            failed,
            n,
        }
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, port, bin, work] = &args[..] else {
        panic!("usage: bench_revocation REDIS_URL REDIS_PORT REAUTH_BIN WORKDIR");
    };
    let (sessions, users) = (env("SESSIONS", 1_000_000), env("USERS", 100_000));
    let issuer = TestIssuer::start().await;
    let iss = issuer.issuer().to_owned();
    let ns = Namespace::new(&iss);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    // 1. Bulk load through the CLI.
    let sfile = format!("{work}/sessions.txt");
    let ufile = format!("{work}/users.txt");
    std::fs::write(
        &sfile,
        (0..sessions)
            .map(|i| format!("bulk-session-{i}\n"))
            .collect::<String>(),
    )
    .unwrap();
    std::fs::write(
        &ufile,
        (0..users)
            .map(|i| format!("bulk-user-{i}\n"))
            .collect::<String>(),
    )
    .unwrap();
    // Loaded before any gate has started (and so recorded the issuer).
    let base = [
        "--redis",
        url.as_str(),
        "--issuer",
        iss.as_str(),
        "--allow-unknown-issuer",
    ];
    let t_sessions = run_revoke(bin, &[&base[..], &["--session-file", &sfile]].concat());
    let t_users = run_revoke(bin, &[&base[..], &["--user-file", &ufile]].concat());
    println!(
        "bulk load: {sessions} sessions in {:.1} s, {users} user cut-offs in {:.1} s",
        t_sessions.as_secs_f64(),
        t_users.as_secs_f64()
    );

    // 2. Start to healthy, RSS.
    let log = std::env::var("BENCH_GATE_LOG").ok();
    let (g1, t_start) = start_gate(bin, &iss, url, &http, log.as_deref()).await;
    let pid1 = g1.child.id();
    println!(
        "serve --redis start to healthy: {:.0} ms; RSS after start {} MiB",
        ms(t_start),
        rss_kib(pid1, "VmRSS:") / 1024
    );
    let (g2, _) = start_gate(bin, &iss, url, &http, None).await;
    let (g3, _) = start_gate(bin, &iss, url, &http, None).await;
    let gates = vec![g1.base.clone(), g2.base.clone(), g3.base.clone()];
    let fine = issuer.token().claim("sid", "fine").sign();
    for g in &gates {
        assert_eq!(status(&http, g, &fine).await, 200);
    }

    // 3. One revocation, end to end, and its enforcement on every gate.
    let (mut t_write, mut t_enforce) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let sid = format!("single-{i}");
        let token = issuer.token().claim("sid", sid.as_str()).sign();
        t_write.push(ms(run_revoke(
            bin,
            &[&base[..], &["--session", &sid]].concat(),
        )));
        let each = until_revoked(&http, &gates, &token, Duration::from_secs(5)).await;
        t_enforce.push(ms(*each.last().unwrap()));
    }
    println!(
        "one reauth revoke --session: median {:.1} ms, max {:.1} ms (process start included); enforced on all 3 gates after it returned: median {:.1} ms, max {:.1} ms",
        percentile(&mut t_write, 0.5),
        percentile(&mut t_write, 1.0),
        percentile(&mut t_enforce, 0.5),
        percentile(&mut t_enforce, 1.0)
    );

    // 4. The paused gate: it resumes with the missed entries still in the
    // log (follows them), then again past the log's retention (a snapshot).
    let pause = env("PAUSE_SECS", 15);
    let missed_n = env("MISSED", 10_000);
    let mut cfg = RedisStoreConfig::new(url.clone());
    cfg.replica_acks = reauth::revocation::ReplicaAcks::None;
    let writer = RedisWriter::connect(&cfg).await.unwrap();
    let paused = Paused {
        http: &http,
        issuer: &issuer,
        ns: &ns,
        writer: &writer,
        gate: &gates[0],
        pid: pid1,
        port,
        pause,
        fine: &fine,
    };
    let r = paused.run("missed", missed_n, false).await;
    println!(
        "paused gate ({pause} s, Redis dropped its connections, {missed_n} revocations meanwhile): all enforced {:.0} ms after resuming; unaffected token: slowest /verify {:.1} ms, {} of {} answers not 200 ({} requests without an answer)",
        ms(r.enforced),
        ms(r.worst),
        r.refused,
        r.n,
        r.failed
    );
    println!(
        "RSS of serve: now {} MiB, peak {} MiB",
        rss_kib(pid1, "VmRSS:") / 1024,
        rss_kib(pid1, "VmHWM:") / 1024
    );
    let trimmed_n = env("TRIMMED", 1_000);
    let r = paused.run("trimmed", trimmed_n, true).await;
    println!(
        "paused gate again ({pause} s, {trimmed_n} revocations meanwhile, log trimmed past its position: a snapshot reload of {sessions} sessions): all enforced {:.0} ms after resuming; unaffected token: slowest /verify {:.1} ms, {} of {} answers not 200 ({} requests without an answer)",
        ms(r.enforced),
        ms(r.worst),
        r.refused,
        r.n,
        r.failed
    );
    println!(
        "RSS of serve: now {} MiB, peak {} MiB",
        rss_kib(pid1, "VmRSS:") / 1024,
        rss_kib(pid1, "VmHWM:") / 1024
    );

    // 5. Sustained writes while the gates serve.
    let secs = env("LOAD_SECS", 60);
    let rate = env("WRITES_PER_SEC", 1000);
    let conns = 12;
    let baseline = load(&http, &gates, &fine, conns, secs).await;
    // Control: the same writes under a prefix no gate follows (same Redis
    // work, same client CPU): what the machine loses to the writes alone.
    let mut other = cfg.clone();
    other.key_prefix = "bench-other".into();
    let unfollowed = RedisWriter::connect(&other).await.unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let control = spawn_writers(&unfollowed, &ns, rate, &done);
    let controlled = load(&http, &gates, &fine, conns, secs).await;
    done.store(true, Ordering::Relaxed);
    for w in control {
        let _ = w.await;
    }
    // Throughput with the followed writes (no probe traffic).
    let done = Arc::new(AtomicBool::new(false));
    let writers = spawn_writers(&writer, &ns, rate, &done);
    let loaded = load(&http, &gates, &fine, conns, secs).await;
    done.store(true, Ordering::Relaxed);
    let mut written = 0;
    for w in writers {
        written += w.await.unwrap();
    }
    println!(
        "{} writes/s from 4 writers for {secs} s ({written} written) while 3 gates serve /verify: {loaded:.0}/s vs {baseline:.0}/s without writes = {:.2}x; the same writes under a prefix no gate follows: {controlled:.0}/s = {:.2}x (following costs the gates {:.2}x)",
        written / secs,
        loaded / baseline,
        controlled / baseline,
        loaded / controlled
    );
    // Write-to-enforcement latency under the same writes: one probe every
    // 50 ms (tokens signed beforehand), watched on every gate.
    let probes: Vec<(String, String)> = (0..secs * 20)
        .map(|i| {
            let sid = format!("probe-{i}");
            let token = issuer.token().claim("sid", sid.as_str()).sign();
            (sid, token)
        })
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let writers = spawn_writers(&writer, &ns, rate, &done);
    let mut lat = Vec::new();
    let until = Instant::now() + Duration::from_secs(secs);
    for (sid, token) in &probes {
        if Instant::now() > until {
            break;
        }
        let now = chrono::Utc::now().timestamp();
        if writer
            .revoke_sessions(&ns, std::slice::from_ref(sid), now + 3600, now, |_| {})
            .await
            .is_ok()
        {
            let each = until_revoked(&http, &gates, token, Duration::from_secs(5)).await;
            lat.push(ms(*each.last().unwrap()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.await;
    }
    println!(
        "write-to-enforcement on all 3 gates under {rate} writes/s: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} probes)",
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.99),
        percentile(&mut lat, 1.0),
        lat.len()
    );
    println!(
        "RSS of serve at the end: {} MiB (peak {} MiB)",
        rss_kib(pid1, "VmRSS:") / 1024,
        rss_kib(pid1, "VmHWM:") / 1024
    );
    drop((g1, g2, g3));
}
