//! Property tests for the front door's header rules
//! (`reauth::gate::front`): whatever a client sends, the identity the app
//! receives is the decision's, forwarded headers are the gate's own unless
//! the peer is trusted, and nothing a `Connection` header names passes.
//! And `--trusted-proxies` parsing: any text, no panic.
#![cfg(feature = "gate")]

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use reauth::gate::front::{Peer, TrustedProxies, upstream_request_headers};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("x-reauth-subject".to_owned()),
        Just("x-reauth-route".to_owned()),
        Just("X-Reauth-Anything".to_owned()),
        Just("x-forwarded-for".to_owned()),
        Just("X-Forwarded-Host".to_owned()),
        Just("x-forwarded-proto".to_owned()),
        Just("forwarded".to_owned()),
        Just("connection".to_owned()),
        Just("keep-alive".to_owned()),
        Just("te".to_owned()),
        Just("upgrade".to_owned()),
        Just("host".to_owned()),
        "[a-z][a-z0-9-]{0,12}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,40}",
        Just("x-reauth-subject, x-custom".to_owned()),
        Just("upgrade".to_owned()),
        Just("for=6.6.6.6".to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn forged_headers_never_win(
        sent in proptest::collection::vec((name(), value()), 0..12),
        trusted_peer in any::<bool>(),
    ) {
        let mut headers = HeaderMap::new();
        for (n, v) in &sent {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(n.as_bytes()), HeaderValue::from_str(v)) {
                headers.append(n, v);
            }
        }
        let named_by_connection: Vec<String> = headers
            .get_all("connection")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
            .collect();
        let upgrade = reauth::gate::front::is_upgrade(&headers);
        let first = |name: &str| {
            (!named_by_connection.iter().any(|n| n == name))
                .then(|| headers.get(name).map(|h| h.to_str().unwrap().to_owned()))
                .flatten()
        };
        let sent_host = headers.get("host").map(|h| h.to_str().unwrap().to_owned());
        let (sent_xfh, sent_xfp) = (first("x-forwarded-host"), first("x-forwarded-proto"));
        let trusted = TrustedProxies::parse(if trusted_peer { "10.1.2.3" } else { "" }).unwrap();
        let addr: IpAddr = "10.1.2.3".parse().unwrap();
        let peer = Peer { addr, proto: "https", trusted: &trusted };
        let identity = vec![("x-reauth-subject", "user-1".to_owned()), ("x-reauth-route", "app".to_owned())];
        upstream_request_headers(&mut headers, &identity, &peer);

        // The identity is the decision's, and only it.
        let reauth: Vec<(String, String)> = headers
            .iter()
            .filter(|(n, _)| n.as_str().starts_with("x-reauth-"))
            .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
            .collect();
        prop_assert_eq!(reauth, vec![
            ("x-reauth-subject".to_owned(), "user-1".to_owned()),
            ("x-reauth-route".to_owned(), "app".to_owned()),
        ]);
        // The peer is the last X-Forwarded-For hop; without trust it is the only one.
        let xff: Vec<&str> = headers.get_all("x-forwarded-for").iter().map(|v| v.to_str().unwrap()).collect();
        prop_assert_eq!(xff.len(), 1);
        prop_assert!(xff[0].ends_with("10.1.2.3"));
        if !trusted_peer {
            prop_assert_eq!(xff[0], "10.1.2.3");
            prop_assert!(headers.get("forwarded").is_none());
            prop_assert_eq!(headers.get("x-forwarded-proto").unwrap(), "https");
            // The gate's own X-Forwarded-Host: the Host it was sent, or none.
            let xfh = headers.get("x-forwarded-host").map(|h| h.to_str().unwrap().to_owned());
            prop_assert_eq!(xfh, sent_host.clone());
        }
        if trusted_peer {
            // A trusted proxy's first X-Forwarded-Host and -Proto are kept.
            let xfh = headers.get("x-forwarded-host").map(|h| h.to_str().unwrap().to_owned());
            prop_assert_eq!(xfh, sent_xfh.or(sent_host));
            let xfp = headers.get("x-forwarded-proto").unwrap().to_str().unwrap();
            prop_assert_eq!(xfp, sent_xfp.as_deref().unwrap_or("https"));
        }
        prop_assert_eq!(headers.get_all("x-forwarded-proto").iter().count(), 1);
        prop_assert!(headers.get_all("x-forwarded-host").iter().count() <= 1);
        // Hop-by-hop headers and whatever Connection named are gone
        // (an upgrade keeps `Upgrade` and gets `Connection: upgrade`).
        for hop in ["keep-alive", "te", "transfer-encoding", "proxy-connection"] {
            prop_assert!(headers.get(hop).is_none(), "{}", hop);
        }
        for named in named_by_connection {
            let kept = named == "host"
                || named.starts_with("x-reauth-")
                || named.starts_with("x-forwarded-")
                || (upgrade && (named == "upgrade" || named == "connection"));
            if !kept {
                prop_assert!(headers.get(named.as_str()).is_none(), "{} survived", named);
            }
        }
        if upgrade {
            prop_assert_eq!(headers.get("connection").unwrap(), "upgrade");
            prop_assert!(headers.get("upgrade").is_some());
        } else {
            prop_assert!(headers.get("connection").is_none());
            prop_assert!(headers.get("upgrade").is_none());
        }
    }

    #[test]
    fn trusted_proxy_lists_never_panic(text in "[ -~]{0,200}") {
        if let Ok(list) = TrustedProxies::parse(&text) {
            let _ = list.contains("127.0.0.1".parse().unwrap());
            let _ = list.contains("::ffff:10.0.0.1".parse().unwrap());
        }
    }
}

#[test]
fn trusted_proxy_lists_read_cidrs_and_addresses() {
    let list = TrustedProxies::parse("10.0.0.0/8, 192.168.1.7 ,fd00::/8").unwrap();
    assert!(list.contains("10.200.0.1".parse().unwrap()));
    assert!(
        list.contains("::ffff:10.0.0.1".parse().unwrap()),
        "IPv4-mapped"
    );
    assert!(list.contains("192.168.1.7".parse().unwrap()));
    assert!(!list.contains("192.168.1.8".parse().unwrap()));
    assert!(list.contains("fd00::1".parse().unwrap()));
    assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    assert!(TrustedProxies::parse("example.com").is_err());
    assert!(TrustedProxies::parse("").unwrap().is_empty());
    let many = vec!["10.0.0.1"; 257].join(",");
    assert!(TrustedProxies::parse(&many).is_err());
}
