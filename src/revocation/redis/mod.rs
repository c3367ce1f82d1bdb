//! Revocations shared by every instance through Redis (feature `redis`):
//! a log plus a snapshot.
//!
//! **Layout.** Every key sits under the `{prefix}` hash tag (default
//! `{reauth}`), so all of them live in one hash slot and the scripts and the
//! stream work on a Redis Cluster. Ids are `{issuer tag}:{sub or sid}`
//! ([`Namespace`]).
//! - `{p}:users`: hash, id → `"{cutoff}:{keep_until}"`;
//!   `{p}:users:exp`: sorted set, id → `keep_until` (expiry);
//! - `{p}:sessions`: sorted set, id → `keep_until`;
//! - `{p}:b:u:{n}` and `{p}:b:s:{n}` (n < [`BUCKETS`](writer::BUCKETS)):
//!   strings of records `\n{id}\t{value}`, what a snapshot reads (a few
//!   `MGET`s of large strings, not a million scan replies); each write
//!   compacts one bucket per kind (`{p}:sweep`, round robin);
//! - `{p}:log`: stream, one entry per write (`n`, `k`, `i`, `c`, `e`),
//!   trimmed with `MAXLEN ~` [`RedisStoreConfig::log_max_len`];
//! - `{p}:seq`: the entries' sequence counter;
//! - `{p}:retention`: the longest keep period any verifier registered;
//! - `{p}:issuers`: hash, issuer → when a verifier last registered it (Unix
//!   seconds): the issuers the gates serve, which `reauth revoke` checks
//!   its `--issuer` against;
//! - `{p}:jti:{tag}:{jti}`: logout-token and SET replay records (`SET NX EXAT`).
//! - `{p}:lease:{name}`: which instance does a shared job (the Shared
//!   Signals poller), with a TTL.
//!
//! **Writes** ([`RedisWriter`]) are one Lua script that updates the state
//! and appends to the log atomically; they never read the state into the
//! process. **Reads** are local: each instance holds a compact mirror,
//! loaded from a snapshot at start, then follows the log with a blocking
//! `XREAD` from the last entry it applied. See the README's Revocation
//! section for delivery, catch-up, staleness and memory figures.

mod config;
pub(crate) mod conn;
mod follow;
mod keys;
mod log;
mod scripts;
mod shared;
mod snapshot;
mod store;
mod writer;

pub use config::{RedisStoreConfig, ReplicaAcks, WhenUnreachable};
pub use log::{Entry, Event, LogError, parse_fields, parse_xread};
pub use snapshot::{parse_bucket, parse_bucket_bytes, parse_user_value};
pub use store::RedisStore;
pub use writer::{BUCKETS, BULK_CHUNK, RedisWriter, RegisteredIssuers};
