//! A real Redis Cluster on loopback: six `redis-server --cluster-enabled
//! yes` (three masters with a replica each), made into a cluster by
//! `redis-cli --cluster create --cluster-replicas 1`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Cluster {
    nodes: Vec<(u16, Option<Child>)>,
    dir: PathBuf,
}

/// A port whose cluster bus port (port + 10000) is free too, and neither
/// of which is one of the ports `taken` by the other nodes (which may not
/// have bound theirs yet: a node that finds its port taken would leave
/// another node's bus answering in its place).
fn free_port_pair(taken: &mut Vec<u16>) -> u16 {
    loop {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = l.local_addr().unwrap().port();
        if p < 50_000
            && !taken.contains(&p)
            && !taken.contains(&(p + 10_000))
            && std::net::TcpListener::bind(("127.0.0.1", p + 10_000)).is_ok()
        {
            taken.extend([p, p + 10_000]);
            return p;
        }
    }
}

pub use super::redis_cli as cli;

impl Cluster {
    /// Starts the six nodes and creates the cluster; `None` (after saying
    /// so) when redis-server is not installed, like `Redis::start`.
    pub fn start() -> Option<Self> {
        super::Redis::available()?;
        let dir = std::env::temp_dir().join(format!("reauth-cluster-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut nodes = Vec::new();
        let mut taken = Vec::new();
        for _ in 0..6 {
            let port = free_port_pair(&mut taken);
            let child = Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--cluster-enabled", "yes", "--cluster-node-timeout", "1000"])
                .args(["--cluster-config-file", &format!("nodes-{port}.conf")])
                .args(["--save", "", "--appendonly", "no", "--dir"])
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            nodes.push((port, Some(child)));
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        for (port, child) in &mut nodes {
            while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
                assert!(Instant::now() < deadline, "cluster node did not start");
                std::thread::sleep(Duration::from_millis(20));
            }
            // Something answers: it must be our node, not a stranger on its port.
            while !cli(*port, &["PING"]).contains("PONG") {
                let exited = child.as_mut().and_then(|c| c.try_wait().ok().flatten());
                assert!(
                    exited.is_none(),
                    "cluster node on {port} exited: {exited:?}"
                );
                assert!(
                    Instant::now() < deadline,
                    "cluster node on {port} does not answer"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|(p, _)| format!("127.0.0.1:{p}"))
            .collect();
        let out = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addrs)
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .output()
            .unwrap();
        assert!(out.status.success(), "cluster create: {out:?}");
        let cluster = Self { nodes, dir };
        cluster.wait_ok(Duration::from_secs(30));
        Some(cluster)
    }

    /// Waits until every live node says `cluster_state:ok` and agrees on
    /// one master per slot range.
    pub fn wait_ok(&self, bound: Duration) {
        let deadline = Instant::now() + bound;
        for port in self.live_ports() {
            while !cli(port, &["CLUSTER", "INFO"]).contains("cluster_state:ok") {
                assert!(Instant::now() < deadline, "cluster not ok on {port}");
                std::thread::sleep(Duration::from_millis(100));
            }
            // Replicas have finished their first sync.
            loop {
                let info = cli(port, &["INFO", "replication"]);
                if info.contains("role:master") || info.contains("master_link_status:up") {
                    break;
                }
                assert!(Instant::now() < deadline, "replica {port} not in sync");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    pub fn live_ports(&self) -> Vec<u16> {
        self.nodes
            .iter()
            .filter(|(_, c)| c.is_some())
            .map(|(p, _)| *p)
            .collect()
    }

    /// `redis+cluster://` URL naming every node as a seed.
    pub fn url(&self) -> String {
        let seeds: Vec<String> = self
            .nodes
            .iter()
            .map(|(p, _)| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis+cluster://{}", seeds.join(","))
    }

    /// The port of the healthy master serving `key`'s slot, as the first
    /// live node sees it (none in the middle of a failover).
    pub fn master_of(&self, key: &str) -> Option<u16> {
        let port = self.live_ports()[0];
        let slot: u16 = cli(port, &["CLUSTER", "KEYSLOT", key]).parse().unwrap();
        for line in cli(port, &["CLUSTER", "NODES"]).lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if !f[2].contains("master") || f[2].contains("fail") {
                continue;
            }
            for range in &f[8..] {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                if let (Ok(a), Ok(b)) = (a.parse::<u16>(), b.parse::<u16>()) {
                    if (a..=b).contains(&slot) {
                        let addr = f[1].split('@').next().unwrap();
                        return addr.rsplit(':').next().unwrap().parse().ok();
                    }
                }
            }
        }
        None
    }

    /// Kills one node (a crash: no shutdown).
    pub fn kill(&mut self, port: u16) {
        for (p, child) in &mut self.nodes {
            if *p == port {
                if let Some(mut c) = child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                }
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            if let Some(c) = child.as_mut() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
