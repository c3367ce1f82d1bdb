//! Where "now" comes from.
//!
//! Every time-dependent decision (`exp`, `nbf`, `iat`, `auth_time`, the key
//! cache's TTL and cooldown) reads the [`Clock`] from the configuration, so
//! tests can move time without sleeping. Network timeouts are the exception:
//! they are real time by nature.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Cheap to clone; clones share the time.
///
/// ```
/// use reauth::{Clock, FakeClock};
/// use std::time::Duration;
///
/// let clock = FakeClock::at_unix(1_700_000_000);
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now().timestamp(), 1_700_000_060);
/// ```
#[derive(Debug, Clone)]
pub struct FakeClock {
    millis: Arc<AtomicI64>,
}

impl FakeClock {
    /// A clock stopped at `unix_seconds`.
    pub fn at_unix(unix_seconds: i64) -> Self {
        Self {
            millis: Arc::new(AtomicI64::new(unix_seconds.saturating_mul(1000))),
        }
    }

    /// A clock stopped at the current system time.
    pub fn now_system() -> Self {
        Self {
            millis: Arc::new(AtomicI64::new(Utc::now().timestamp_millis())),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(ms, Ordering::SeqCst);
    }

    /// Moves the clock backward.
    pub fn rewind(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_sub(ms, Ordering::SeqCst);
    }

    /// Sets the clock to `unix_seconds`.
    pub fn set_unix(&self, unix_seconds: i64) {
        self.millis
            .store(unix_seconds.saturating_mul(1000), Ordering::SeqCst);
    }
}

impl Clock for FakeClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.millis.load(Ordering::SeqCst))
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// A shared clock handle, as stored in the configuration.
pub type SharedClock = Arc<dyn Clock>;
