//! The Shared Signals receiver through the public API, against a real
//! test transmitter and a real test issuer on loopback: what each event
//! does to the verifier's tokens (the README's table), and which SETs are
//! refused with which RFC 8935 code.
#![cfg(all(feature = "signals", feature = "testing"))]

mod support;

use std::sync::Arc;

use reauth::Verifier;
use reauth::signals::{Action, EventKind, Receiver, ReceiverConfig};
use reauth::testing::{TestIssuer, TestKey, TestTransmitter};
use serde_json::json;
use support::code;

const AUD: &str = "https://app.example/ssf";

struct World {
    issuer: TestIssuer,
    verifier: Verifier,
    transmitter: TestTransmitter,
    receiver: Receiver,
}

async fn world() -> World {
    world_with(|b| b).await
}

async fn world_with(
    f: impl FnOnce(reauth::signals::ReceiverConfigBuilder) -> reauth::signals::ReceiverConfigBuilder,
) -> World {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let transmitter = TestTransmitter::start(AUD).await;
    let config = f(ReceiverConfig::builder(transmitter.issuer(), AUD))
        .build()
        .unwrap();
    let receiver = Receiver::discover(config, verifier.clone()).await.unwrap();
    World {
        issuer,
        verifier,
        transmitter,
        receiver,
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn session_revoked_ends_that_session_only() {
    let w = world().await;
    let phone = w
        .issuer
        .token()
        .claim("sub", "alice")
        .claim("sid", "phone")
        .sign();
    let laptop = w
        .issuer
        .token()
        .claim("sub", "alice")
        .claim("sid", "laptop")
        .sign();
    let set = w
        .transmitter
        .event("session-revoked")
        .user(w.issuer.issuer(), "alice")
        .session("phone")
        .sign();
    let got = w.receiver.receive(&set).await.unwrap();
    assert_eq!(
        got.action,
        Action::SessionRevoked {
            issuer: w.issuer.issuer().to_owned(),
            sid: "phone".into()
        }
    );
    assert_eq!(code(&w.verifier, &phone).await, "revoked");
    assert_eq!(code(&w.verifier, &laptop).await, "accepted");
    // CAEP 1.0 §3.1's first example: a simple opaque subject is the session.
    let set = w
        .transmitter
        .event("session-revoked")
        .sub_id(json!({"format": "opaque", "id": "laptop"}))
        .sign();
    assert!(matches!(
        w.receiver.receive(&set).await.unwrap().action,
        Action::SessionRevoked { .. }
    ));
    assert_eq!(code(&w.verifier, &laptop).await, "revoked");
}

#[tokio::test]
async fn user_events_cut_off_every_older_login_of_that_user_and_no_other() {
    for event in [
        "session-revoked",
        "credential-change",
        "token-claims-change",
        "account-disabled",
        "account-purged",
        "sessions-revoked",
        "credential-compromise",
        "account-credential-change-required",
    ] {
        let w = world().await;
        let alice = w
            .issuer
            .token()
            .claim("sub", "alice")
            .auth_time_ago(60)
            .sign();
        let bob = w
            .issuer
            .token()
            .claim("sub", "bob")
            .auth_time_ago(60)
            .sign();
        let at = now() - 10;
        let set = w
            .transmitter
            .event(event)
            .user(w.issuer.issuer(), "alice")
            .event_timestamp(at)
            .sign();
        let got = w.receiver.receive(&set).await.unwrap();
        assert_eq!(
            got.action,
            Action::UserCutOff {
                issuer: w.issuer.issuer().to_owned(),
                sub: "alice".into(),
                cutoff: at
            },
            "{event}"
        );
        assert_eq!(code(&w.verifier, &alice).await, "revoked", "{event}");
        assert_eq!(
            code(&w.verifier, &bob).await,
            "accepted",
            "{event}: another user"
        );
        let later = w
            .issuer
            .token()
            .claim("sub", "alice")
            .auth_time_ago(0)
            .sign();
        assert_eq!(
            code(&w.verifier, &later).await,
            "accepted",
            "{event}: a login after the event"
        );
    }
}

#[tokio::test]
async fn the_cut_off_is_never_in_the_future_and_defaults_to_iat() {
    let w = world().await;
    let set = w
        .transmitter
        .event("credential-change")
        .opaque_user("alice")
        .event_timestamp(now() + 86_400)
        .sign();
    let Action::UserCutOff { cutoff, .. } = w.receiver.receive(&set).await.unwrap().action else {
        panic!("a cut-off")
    };
    assert!(cutoff <= now(), "clamped to now: {cutoff}");
    let iat = now() - 30;
    let set = w
        .transmitter
        .event("credential-change")
        .opaque_user("bob")
        .claim("iat", json!(iat))
        .sign();
    let Action::UserCutOff { cutoff, .. } = w.receiver.receive(&set).await.unwrap().action else {
        panic!("a cut-off")
    };
    assert_eq!(cutoff, iat);
}

#[tokio::test]
async fn assurance_decrease_cuts_off_and_increase_is_ignored() {
    let w = world().await;
    let alice = w
        .issuer
        .token()
        .claim("sub", "alice")
        .auth_time_ago(60)
        .sign();
    let up = w
        .transmitter
        .event("assurance-level-change")
        .opaque_user("alice")
        .event_member("change_direction", json!("increase"))
        .sign();
    assert_eq!(
        w.receiver.receive(&up).await.unwrap().action,
        Action::Ignored
    );
    assert_eq!(code(&w.verifier, &alice).await, "accepted");
    let down = w
        .transmitter
        .event("assurance-level-change")
        .opaque_user("alice")
        .event_member("change_direction", json!("decrease"))
        .sign();
    assert!(matches!(
        w.receiver.receive(&down).await.unwrap().action,
        Action::UserCutOff { .. }
    ));
    assert_eq!(code(&w.verifier, &alice).await, "revoked");
}

#[tokio::test]
async fn other_events_are_counted_and_ignored_verification_and_stream_updates_recorded() {
    let w = world().await;
    let other = w
        .transmitter
        .event("https://schemas.openid.net/secevent/caep/event-type/session-presented")
        .opaque_user("alice")
        .sign();
    let got = w.receiver.receive(&other).await.unwrap();
    assert_eq!(
        (got.event.kind, got.action),
        (EventKind::Other, Action::Ignored)
    );
    let verification = w
        .transmitter
        .event("verification")
        .sub_id(json!({"format": "opaque", "id": "stream-1"}))
        .event_member("state", json!("s-123"))
        .sign();
    assert_eq!(
        w.receiver.receive(&verification).await.unwrap().action,
        Action::Recorded
    );
    let paused = w
        .transmitter
        .event("stream-updated")
        .sub_id(json!({"format": "opaque", "id": "stream-1"}))
        .event_member("status", json!("paused"))
        .sign();
    assert_eq!(
        w.receiver.receive(&paused).await.unwrap().action,
        Action::Recorded
    );
    let stats = w.receiver.stats();
    let seen = stats.last_verification.unwrap();
    assert_eq!(
        (seen.state.as_deref(), seen.stream_id.as_deref()),
        (Some("s-123"), Some("stream-1"))
    );
    assert_eq!(stats.stream_status.unwrap().status, "paused");
    assert!(
        stats.sets.contains(&(("other", "ignored"), 1)),
        "{:?}",
        stats.sets
    );
    assert!(stats.sets.contains(&(("verification", "recorded"), 1)));
    assert!(stats.last_event_at.is_some());
}

#[tokio::test]
async fn email_subjects_need_a_mapping() {
    let w = world().await;
    let set = w
        .transmitter
        .event("credential-change")
        .email_user("alice@example.com")
        .sign();
    let e = w.receiver.receive(&set).await.unwrap_err();
    assert_eq!(e.code().unwrap().as_str(), "invalid_request");
    let w = world_with(|b| {
        b.email_to_subject(Arc::new(|email: &str| {
            (email == "alice@example.com").then(|| "alice".to_owned())
        }))
    })
    .await;
    let alice = w
        .issuer
        .token()
        .claim("sub", "alice")
        .auth_time_ago(60)
        .sign();
    let set = w
        .transmitter
        .event("credential-change")
        .email_user("alice@example.com")
        .sign();
    assert!(
        matches!(w.receiver.receive(&set).await.unwrap().action, Action::UserCutOff { ref sub, .. } if sub == "alice")
    );
    assert_eq!(code(&w.verifier, &alice).await, "revoked");
    let unknown = w
        .transmitter
        .event("credential-change")
        .email_user("eve@example.com")
        .sign();
    assert!(w.receiver.receive(&unknown).await.is_err());
}

#[tokio::test]
async fn a_rotated_transmitter_key_is_fetched_on_first_sight() {
    let w = world_with(|b| b.jwks_refresh_cooldown(std::time::Duration::ZERO)).await;
    w.transmitter.rotate();
    let set = w
        .transmitter
        .event("credential-change")
        .opaque_user("alice")
        .sign();
    w.receiver.receive(&set).await.unwrap();
}

/// Each bad SET aims at alice; none may change anything, each gets its code.
#[tokio::test]
async fn bad_sets_change_nothing_and_get_their_rfc8935_code() {
    // No refresh cooldown: an unknown kid is then final at once.
    let w = world_with(|b| b.jwks_refresh_cooldown(std::time::Duration::ZERO)).await;
    let alice = w
        .issuer
        .token()
        .claim("sub", "alice")
        .claim("sid", "phone")
        .auth_time_ago(60)
        .sign();
    let t = &w.transmitter;
    let base = || {
        t.event("session-revoked")
            .user(w.issuer.issuer(), "alice")
            .session("phone")
    };
    let two_events = base().claim(
        "events",
        json!({
            "https://schemas.openid.net/secevent/caep/event-type/session-revoked": {},
            "https://schemas.openid.net/secevent/caep/event-type/credential-change": {},
        }),
    );
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown key",
            base().key(TestKey::ec("rogue")).sign(),
            "invalid_key",
        ),
        (
            "known kid, other key",
            base().key(TestKey::ec("ssf-key-1")).sign(),
            "invalid_key",
        ),
        (
            "another audience",
            base().claim("aud", json!("https://other.example")).sign(),
            "invalid_audience",
        ),
        (
            "another issuer",
            base().claim("iss", json!("https://evil.example")).sign(),
            "invalid_issuer",
        ),
        (
            "typ missing",
            base().header("typ", serde_json::Value::Null).sign(),
            "invalid_request",
        ),
        (
            "typ JWT",
            base().header("typ", json!("JWT")).sign(),
            "invalid_request",
        ),
        (
            "alg none",
            {
                let s = base().sign();
                let mut parts: Vec<&str> = s.split('.').collect();
                let none = base64_url(r#"{"alg":"none","typ":"secevent+jwt"}"#);
                parts[0] = &none;
                format!("{}.{}.", parts[0], parts[1])
            },
            "invalid_request",
        ),
        ("two events", two_events.sign(), "invalid_request"),
        (
            "a sub claim",
            base().claim("sub", json!("alice")).sign(),
            "invalid_request",
        ),
        (
            "an exp claim",
            base().claim("exp", json!(now() + 60)).sign(),
            "invalid_request",
        ),
        (
            "no sub_id",
            base().sub_id(serde_json::Value::Null).sign(),
            "invalid_request",
        ),
        (
            "a subject of another issuer",
            t.event("session-revoked")
                .user("https://other.example", "alice")
                .session("phone")
                .sign(),
            "invalid_request",
        ),
        (
            "iat older than the replay window",
            base().claim("iat", json!(now() - 8 * 86_400)).sign(),
            "invalid_request",
        ),
        (
            "no jti",
            base().claim("jti", serde_json::Value::Null).sign(),
            "invalid_request",
        ),
        (
            "a jti with a newline",
            base().claim("jti", json!("a\nb")).sign(),
            "invalid_request",
        ),
        (
            "nested complex subject",
            base()
                .sub_id(json!({"format": "complex", "user": {"format": "complex"}}))
                .sign(),
            "invalid_request",
        ),
        (
            "unsupported user format",
            base()
                .sub_id(json!({"format": "phone_number", "phone_number": "+1"}))
                .sign(),
            "invalid_request",
        ),
        ("not a JWS", "not.a.set".to_owned(), "invalid_request"),
    ];
    for (what, set, expected) in cases {
        let e = match w.receiver.receive(&set).await {
            Ok(got) => panic!("{what}: accepted: {got:?}"),
            Err(e) => e,
        };
        assert_eq!(e.code().map(|c| c.as_str()), Some(expected), "{what}: {e}");
        assert!(matches!(e.status(), 400), "{what}");
        assert_eq!(
            code(&w.verifier, &alice).await,
            "accepted",
            "{what} changed something"
        );
    }
    // What a retry can fix decides nothing (503, never a final 400): an
    // iat ahead of our clock.
    let ahead = base().claim("iat", json!(now() + 3600)).sign();
    let e = w.receiver.receive(&ahead).await.unwrap_err();
    assert_eq!((e.code(), e.status()), (None, 503), "{e}");
    assert_eq!(code(&w.verifier, &alice).await, "accepted");
    // A replay: the first is applied, the second refused.
    let set = t.event("credential-change").opaque_user("bob").sign();
    w.receiver.receive(&set).await.unwrap();
    let e = w.receiver.receive(&set).await.unwrap_err();
    assert_eq!(e.code().unwrap().as_str(), "invalid_request");
    assert!(e.description().contains("replay"), "{e}");
}

fn base64_url(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[tokio::test]
async fn the_transmitter_configuration_must_name_the_configured_issuer() {
    let issuer = TestIssuer::start().await;
    let verifier = issuer.verifier().await;
    let transmitter = TestTransmitter::start(AUD).await;
    let config = ReceiverConfig::builder(format!("{}/", transmitter.issuer()), AUD)
        .build()
        .unwrap();
    let e = Receiver::discover(config, verifier).await.unwrap_err();
    assert_eq!(e.code(), "discovery_failed", "{e}");
}

#[tokio::test]
async fn bad_receiver_settings_are_refused_at_build() {
    assert!(
        ReceiverConfig::builder("http://example.com", AUD)
            .build()
            .is_err(),
        "http off loopback"
    );
    assert!(
        ReceiverConfig::builder("https://t.example", AUD)
            .push_token("short")
            .build()
            .is_err()
    );
    assert!(
        ReceiverConfig::builder("https://t.example", AUD)
            .max_set_bytes(0)
            .build()
            .is_err()
    );
    assert!(
        ReceiverConfig::builder("https://t.example", "")
            .build()
            .is_err()
    );
}

#[tokio::test]
async fn a_rotation_within_the_refresh_cooldown_is_retried_not_refused() {
    let w = world().await; // the default 30 s cooldown
    w.transmitter.rotate();
    let alice = w
        .issuer
        .token()
        .claim("sub", "alice")
        .auth_time_ago(60)
        .sign();
    let set = w
        .transmitter
        .event("credential-change")
        .opaque_user("alice")
        .sign();
    let e = w.receiver.receive(&set).await.unwrap_err();
    assert_eq!((e.code(), e.status()), (None, 503), "{e}");
    assert_eq!(
        code(&w.verifier, &alice).await,
        "accepted",
        "nothing applied yet"
    );
}

#[tokio::test]
async fn one_poller_holds_the_lease_and_a_stalled_one_is_taken_over() {
    use reauth::revocation::{RedisStore, RedisStoreConfig};
    use reauth::signals::{Delivery, PollConfig, Poller, StreamClient};
    use std::time::Duration;
    let Some(redis) = support::Redis::start() else {
        return;
    };
    let issuer = TestIssuer::start().await;
    let store: Arc<dyn reauth::revocation::RevocationStore> =
        RedisStore::connect(RedisStoreConfig::new(redis.url()))
            .await
            .unwrap();
    let verifier = Verifier::discover(issuer.config().revocation_store(store).build().unwrap())
        .await
        .unwrap();
    let transmitter = TestTransmitter::start(AUD).await;
    transmitter.set_poll_wait(Duration::from_millis(100));
    transmitter.set_redeliver_after(Duration::from_millis(500));
    let client = StreamClient::discover(
        transmitter.issuer(),
        transmitter.management_token(),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    let stream = client.create(&Delivery::Poll, &[], None).await.unwrap();
    let endpoint = stream["delivery"]["endpoint_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let receiver = Receiver::discover(
        ReceiverConfig::builder(transmitter.issuer(), AUD)
            .build()
            .unwrap(),
        verifier,
    )
    .await
    .unwrap();
    let config = PollConfig::new(endpoint, transmitter.management_token())
        .request_timeout(Duration::from_secs(1))
        .lease_ttl(Duration::from_secs(2));
    let mut a = Poller::new(receiver.clone(), config.clone()).unwrap();
    let mut b = Poller::new(receiver.clone(), config).unwrap();
    let sets: Vec<String> = ["u1", "u2"]
        .iter()
        .map(|u| transmitter.event("credential-change").opaque_user(u).sign())
        .collect();
    sets.iter().for_each(|s| transmitter.enqueue(s));
    let ra = a.poll_once().await.unwrap();
    assert!(ra.leader);
    assert_eq!(ra.applied, 2);
    assert!(!b.poll_once().await.unwrap().leader, "the lease is a's");
    // a stalls past its lease without acknowledging: b takes over; the
    // SETs come again and are reported as replays, never applied twice.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let mut reported = 0;
    for _ in 0..10 {
        let rb = b.poll_once().await.unwrap();
        assert!(rb.leader, "b holds the lease now");
        reported += rb.refused;
        if reported >= 2 && b.pending() == 0 {
            break;
        }
    }
    assert_eq!(reported, 2, "the redelivered SETs are replays");
    assert!(
        transmitter.acks().is_empty(),
        "nothing acknowledged twice: a never sent its acks"
    );
    // a comes back without the lease: it only flushes what it applied.
    let ra = a.poll_once().await.unwrap();
    assert!(!ra.leader);
    let mut acks = transmitter.acks();
    acks.sort();
    acks.dedup();
    assert_eq!(
        acks.len(),
        transmitter.acks().len(),
        "no SET acknowledged twice"
    );
}
