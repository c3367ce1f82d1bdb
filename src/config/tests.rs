//! Unit tests of the builder's validation and of the URL rule.

use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::config::builder::VerifierConfigBuilder;
use crate::config::limits::{MAX_DURATION, MAX_LEEWAY};
use crate::config::verifier_config::VerifierConfig;
use crate::error::ConfigError;

fn build(issuer: &str) -> Result<VerifierConfig, ConfigError> {
    VerifierConfig::builder(issuer).audience("c").build()
}

#[test]
fn https_required_except_loopback() {
    assert!(build("https://id.example.com").is_ok());
    assert!(build("http://127.0.0.1:8080").is_ok());
    assert!(build("http://127.9.9.9").is_ok());
    assert!(build("http://[::1]:9").is_ok());
    assert!(build("http://localhost:3000").is_ok());
    for bad in [
        "http://id.example.com",
        "http://10.0.0.1",
        "http://localhost.evil.com",
        "ftp://127.0.0.1",
        "not a url",
        "https://u:p@id.example.com",
    ] {
        assert!(build(bad).is_err(), "{bad}");
    }
    assert!(matches!(
        build("https://a.example?x=1"),
        Err(ConfigError::IssuerShape(_))
    ));
}

#[test]
fn rejects_hmac_and_missing_audience() {
    let e = VerifierConfig::builder("https://a.example")
        .audience("c")
        .algorithms([Algorithm::HS256])
        .build()
        .unwrap_err();
    assert!(matches!(e, ConfigError::UnsupportedAlgorithm(_)));
    assert_eq!(
        VerifierConfig::builder("https://a.example")
            .build()
            .unwrap_err(),
        ConfigError::NoAudience
    );
}

/// Security review finding 8: extreme durations are a config error,
/// never a panic later.
#[test]
fn every_duration_is_range_checked() {
    type Set = fn(VerifierConfigBuilder, Duration) -> VerifierConfigBuilder;
    let setters: [(&str, Set); 11] = [
        ("leeway", |b, d| b.leeway(d)),
        ("http_timeout", |b, d| b.http_timeout(d)),
        ("jwks_default_ttl", |b, d| b.jwks_default_ttl(d)),
        ("jwks_min_ttl", |b, d| b.jwks_min_ttl(d)),
        ("jwks_max_ttl", |b, d| b.jwks_max_ttl(d)),
        ("jwks_refresh_cooldown", |b, d| b.jwks_refresh_cooldown(d)),
        ("stale_if_error", |b, d| b.stale_if_error(d)),
        ("discovery_refresh_interval", |b, d| {
            b.discovery_refresh_interval(d)
        }),
        ("max_session_age", |b, d| b.max_session_age(Some(d))),
        ("revocation_retention", |b, d| b.revocation_retention(d)),
        ("logout_token_max_age", |b, d| b.logout_token_max_age(d)),
    ];
    for (name, set) in setters {
        for extreme in [
            Duration::MAX,
            Duration::from_secs(u64::MAX),
            MAX_DURATION + Duration::from_secs(1),
        ] {
            let b = set(
                VerifierConfig::builder("https://a.example").audience("c"),
                extreme,
            );
            let err = b.build().expect_err(name);
            assert!(
                matches!(err, ConfigError::InvalidSetting { name: n, .. } if n == name || n == "jwks_min_ttl"),
                "{name}: {err}"
            );
        }
        let ok = set(
            VerifierConfig::builder("https://a.example").audience("c"),
            Duration::from_secs(600),
        );
        assert!(ok.build().is_ok(), "{name} = 600 s");
    }
    let c = VerifierConfig::builder("https://a.example")
        .audience("c")
        .leeway(MAX_LEEWAY)
        .max_session_age(Some(MAX_DURATION))
        .build()
        .unwrap();
    assert_eq!(c.revocation_keep(), MAX_DURATION + MAX_LEEWAY);
}

#[test]
fn discovery_url_drops_trailing_slash() {
    let c = build("https://a.example/tenant/").unwrap();
    assert_eq!(
        c.discovery_url(),
        "https://a.example/tenant/.well-known/openid-configuration"
    );
}
