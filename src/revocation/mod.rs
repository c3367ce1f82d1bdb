//! Revocation: per-user cut-offs ("log out all devices"), per-session
//! revocation, and the replay record of back-channel logout tokens, behind a
//! [`RevocationStore`] shared by every instance of an app.
//!
//! The check on the request path is synchronous and local: a store answers
//! from memory ([`MemoryStore`]) or from a local mirror it keeps in sync
//! (`RedisStore`, feature `redis`), so the
//! common case makes no network call. Writes go to the shared state.
//!
//! Every entry is namespaced by issuer ([`Namespace`]): a `sub`, `sid` or
//! `jti` of one issuer never matches another issuer's, even when several
//! verifiers share one store (or one Redis prefix).

mod ids;
mod memory;
#[cfg(feature = "redis")]
mod mirror;
mod namespace;
#[cfg(feature = "redis")]
pub(crate) mod redis;
mod store;
mod sync;

pub use crate::error::StoreError;
pub use ids::{IdError, IdListError, IdListLimits, MAX_ID_BYTES, check_id, parse_id_list};
pub use memory::{MAX_MEMORY_JTIS, MAX_MEMORY_PROOF_JTIS, MemoryStore};
pub use namespace::Namespace;
#[cfg(feature = "redis")]
pub use redis::{
    BUCKETS, BULK_CHUNK, Entry, Event, LogError, RedisStore, RedisStoreConfig, RedisWriter,
    RegisteredIssuers, ReplicaAcks, WhenUnreachable, parse_bucket, parse_bucket_bytes,
    parse_fields, parse_user_value, parse_xread,
};
pub use store::{BoxFuture, RevocationStore, Revoked};
pub use sync::RevocationSync;
