//! The JWKS lifetime from `Cache-Control` (RFC 9111 §5.2.2), clamped.

use std::time::Duration;

/// The TTL for a response with this `Cache-Control` value: `max-age`,
/// clamped to `[min, max]`; `no-store`, `no-cache` and `max-age=0` give `min`;
/// no usable directive gives `default` (clamped too).
pub(crate) fn ttl(
    header: Option<&str>,
    default: Duration,
    min: Duration,
    max: Duration,
) -> Duration {
    let mut ttl = None;
    for directive in header.unwrap_or("").split(',') {
        let directive = directive.trim();
        let (name, value) = directive.split_once('=').unwrap_or((directive, ""));
        let name = name.trim();
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return min;
        }
        if name.eq_ignore_ascii_case("max-age") {
            match value.trim().trim_matches('"').parse::<u64>() {
                Ok(secs) => ttl = Some(Duration::from_secs(secs)),
                // RFC 9111 §4.2.1: an invalid max-age means "stale": refresh soon.
                Err(_) => return min,
            }
        }
    }
    ttl.unwrap_or(default).clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn t(h: Option<&str>) -> u64 {
        ttl(h, S(600), S(300), S(86_400)).as_secs()
    }

    #[test]
    fn clamps_and_defaults() {
        assert_eq!(t(None), 600);
        assert_eq!(t(Some("public")), 600);
        assert_eq!(t(Some("public, max-age=3600")), 3600);
        assert_eq!(t(Some("Max-Age=\"1000\"")), 1000);
        assert_eq!(t(Some("max-age=10")), 300);
        assert_eq!(t(Some("max-age=0")), 300);
        assert_eq!(t(Some("max-age=99999999999")), 86_400);
        assert_eq!(t(Some("no-store")), 300);
        assert_eq!(t(Some("max-age=3600, no-cache")), 300);
        assert_eq!(t(Some("max-age=-5")), 300);
    }
}
