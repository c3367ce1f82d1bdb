//! The bounds every configured duration is checked against.

use std::time::Duration;

/// The longest any configured duration may be: 100 years.
pub const MAX_DURATION: Duration = Duration::from_secs(100 * 365 * 86_400);
/// The largest leeway: 1 h (more would make `max_age` meaningless).
pub const MAX_LEEWAY: Duration = Duration::from_secs(3600);
/// The longest HTTP fetch timeout: 1 h.
pub const MAX_HTTP_TIMEOUT: Duration = Duration::from_secs(3600);
