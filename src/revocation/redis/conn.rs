//! One Redis or a Redis Cluster, behind one connection type.
//!
//! A URL is a cluster when it starts with `redis+cluster://` (then it may
//! list several seed nodes, comma-separated: `redis+cluster://h1:7000,h2:7001`)
//! or when it is a comma-separated list of `redis://` URLs. The cluster
//! client of the `redis` crate follows `MOVED`/`ASK`, refreshes the slot map
//! after a failover and reconnects by itself.

use std::time::Duration;

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{Client, Cmd, Pipeline, RedisFuture, Value};

use crate::error::StoreError;
use crate::revocation::redis::keys::err;

/// Where the store lives.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    Single(String),
    Cluster(Vec<String>),
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("redis+cluster://") {
            let nodes: Vec<String> = rest
                .split(',')
                .map(|n| format!("redis://{}", n.trim().trim_end_matches('/')))
                .collect();
            if nodes.iter().any(|n| n == "redis://") {
                return Err(err(format!("empty node in cluster URL {url:?}")));
            }
            return Ok(Self::Cluster(nodes));
        }
        if url.contains(',') {
            return Ok(Self::Cluster(
                url.split(',').map(|n| n.trim().to_owned()).collect(),
            ));
        }
        Ok(Self::Single(url.to_owned()))
    }

    /// A connection for ordinary commands, with `timeout` on connect and
    /// on every response.
    pub async fn connect(&self, timeout: Duration) -> Result<Conn, StoreError> {
        match self {
            Self::Single(url) => {
                let client = Client::open(url.as_str()).map_err(err)?;
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(500));
                let cm = tokio::time::timeout(
                    timeout.saturating_mul(3),
                    client.get_connection_manager_with_config(cfg),
                )
                .await
                .map_err(|_| err("connect timed out"))?
                .map_err(err)?;
                Ok(Conn::Single(cm))
            }
            Self::Cluster(nodes) => Ok(Conn::Cluster(cluster(nodes, timeout).await?)),
        }
    }

    /// A connection of its own for blocking reads (`XREAD BLOCK` would hold
    /// up every other command sharing its connection).
    pub async fn connect_blocking(&self, timeout: Duration) -> Result<Conn, StoreError> {
        match self {
            Self::Single(url) => {
                let client = Client::open(url.as_str()).map_err(err)?;
                let cfg = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout));
                let c = tokio::time::timeout(
                    timeout.saturating_mul(2),
                    client.get_multiplexed_async_connection_with_config(&cfg),
                )
                .await
                .map_err(|_| err("connect timed out"))?
                .map_err(err)?;
                Ok(Conn::Plain(c))
            }
            Self::Cluster(nodes) => Ok(Conn::Cluster(cluster(nodes, timeout).await?)),
        }
    }
}

async fn cluster(nodes: &[String], timeout: Duration) -> Result<ClusterConnection, StoreError> {
    let client = ClusterClientBuilder::new(nodes.to_vec())
        .connection_timeout(timeout)
        .response_timeout(timeout)
        .retries(2)
        .build()
        .map_err(err)?;
    tokio::time::timeout(timeout.saturating_mul(3), client.get_async_connection())
        .await
        .map_err(|_| err("cluster connect timed out"))?
        .map_err(err)
}

/// A connection to one Redis (reconnecting, or plain for blocking reads)
/// or to a cluster.
#[derive(Clone)]
pub(crate) enum Conn {
    Single(ConnectionManager),
    Plain(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Self::Single(c) => c.req_packed_command(cmd),
            Self::Plain(c) => c.req_packed_command(cmd),
            Self::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Self::Single(c) => c.req_packed_commands(cmd, offset, count),
            Self::Plain(c) => c.req_packed_commands(cmd, offset, count),
            Self::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Self::Single(c) => c.get_db(),
            Self::Plain(c) => c.get_db(),
            Self::Cluster(c) => c.get_db(),
        }
    }
}

/// The cluster hash slot of a key (CRC16/XMODEM of its `{hash tag}`, mod
/// 16384), so keyless commands (`WAIT`, `INFO`) reach the node that holds
/// our keys. `crc16` is the crate the `redis` cluster client itself uses.
pub(crate) fn slot(key: &str) -> u16 {
    let bytes = key.as_bytes();
    let tagged = bytes
        .iter()
        .position(|b| *b == b'{')
        .and_then(|open| {
            let rest = &bytes[open + 1..];
            let close = rest.iter().position(|b| *b == b'}')?;
            (close > 0).then(|| &rest[..close])
        })
        .unwrap_or(bytes);
    crc16::State::<crc16::XMODEM>::calculate(tagged) % 16384
}

impl Conn {
    /// Sends a keyless command to the master that holds `key` (or to the
    /// one server).
    pub async fn on_master_of(&mut self, key: &str, cmd: Cmd) -> Result<Value, StoreError> {
        match self {
            Self::Cluster(c) => c
                .route_command(
                    cmd,
                    RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(
                        slot(key),
                        SlotAddr::Master,
                    ))),
                )
                .await
                .map_err(err),
            other => cmd.query_async(other).await.map_err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_slots() {
        assert!(matches!(
            Target::parse("redis://127.0.0.1:6379/").unwrap(),
            Target::Single(_)
        ));
        let Target::Cluster(nodes) =
            Target::parse("redis+cluster://127.0.0.1:7000,127.0.0.1:7001").unwrap()
        else {
            panic!("cluster")
        };
        assert_eq!(nodes, ["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"]);
        assert!(matches!(
            Target::parse("redis://a:1,redis://b:2").unwrap(),
            Target::Cluster(_)
        ));
        assert!(Target::parse("redis+cluster://a:1,,b:2").is_err());
        // The examples of the Redis Cluster specification.
        assert_eq!(slot("123456789"), 0x31C3);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
        assert_eq!(slot("{reauth}:log"), slot("reauth"));
    }
}
