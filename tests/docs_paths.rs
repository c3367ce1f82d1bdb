//! The public paths the README and the crate front page name, as imports:
//! moving or renaming one of them breaks this file's build, not silently
//! the user guide. `every_readme_import_is_listed_here` keeps the list
//! complete as the README's Rust blocks change.
#![allow(unused_imports)]

// The README's Rust blocks (`use reauth::...`).
use reauth::actix::Reauthenticated;
use reauth::signals::{PushRequest, Receiver, ReceiverConfig};
use reauth::stepup::{StepUp, StepUpConfig};
use reauth::testing::{DpopKey, TEST_CLIENT_ID, TEST_RESOURCE, TestIssuer, TestTransmitter};
use reauth::{
    ClaimsMap, DpopPolicy, DpopPresentation, Freshness, IssuerSet, ProtectedResourceMetadata,
    Requirement, TenantTemplate, TokenKind, Verifier, VerifierConfig,
};

// Paths the README's prose and the crate front page send readers to.
use reauth::actix::{
    FreshWithin, MaybeReauthenticated, backchannel_logout, request_token, require, sign_in,
    sign_out, stepup_callback,
};
use reauth::axum::{
    FreshWithin as AxumFreshWithin, MaybeReauthenticated as AxumMaybeReauthenticated,
    Reauthenticated as AxumReauthenticated,
};
use reauth::gate::forward::{ForwardRequest, Step, classify, identity};
use reauth::guard::{check, check_with};
use reauth::revocation::{MemoryStore, RedisStore, RedisWriter};
use reauth::signals::{PollConfig, Poller, StreamClient};
use reauth::stepup::RedisPendingStore;
use reauth::testing::{TestLogin, TokenBuilder};
use reauth::tower::{ReauthLayer, metadata_response};
use reauth::{
    ErrorBody, ErrorRenderer, GuardError, InitError, ReauthPolicy, Refused, Rejection, TokenSource,
    Verified, VerifierStats, Verifiers, VerifyError,
};
use reauth::{METADATA_PATH, actix::protected_resource_metadata};

/// The `use reauth::...` paths of README.md's Rust blocks, one a line
/// (`reauth::a::{B, C}` as `reauth::a::B` and `reauth::a::C`).
fn readme_imports() -> Vec<String> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut code = String::new();
    let mut in_rust = false;
    for line in readme.lines() {
        if line.starts_with("```rust") {
            in_rust = true;
        } else if line == "```" {
            in_rust = false;
        } else if in_rust {
            code.push_str(line);
            code.push('\n');
        }
    }
    let mut out = Vec::new();
    for stmt in code.split("use reauth::").skip(1) {
        let stmt: String = stmt.split(';').next().unwrap().split_whitespace().collect();
        match stmt.split_once('{') {
            Some((module, names)) => {
                for name in names.trim_end_matches('}').split(',') {
                    if !name.is_empty() {
                        out.push(format!("{module}{name}"));
                    }
                }
            }
            None => out.push(stmt),
        }
    }
    out
}

#[test]
fn every_readme_import_is_listed_here() {
    let imports = readme_imports();
    assert!(
        imports.len() >= 10,
        "the README's imports were not found: {imports:?}"
    );
    // This file's own imports, flattened the same way.
    let listed: String = include_str!("docs_paths.rs")
        .lines()
        .take_while(|l| !l.starts_with("/// The `use reauth"))
        .collect::<Vec<_>>()
        .join(" ");
    for path in imports {
        let (module, name) = path.rsplit_once("::").unwrap_or(("", &path));
        let module = module.trim_end_matches("::");
        let listed_here = listed.split("use reauth::").skip(1).any(|stmt| {
            let stmt: String = stmt
                .split(';')
                .next()
                .unwrap()
                .replace(" as ", "@")
                .split_whitespace()
                .collect();
            let (m, names) = stmt.split_once('{').unwrap_or_else(|| {
                let (m, n) = stmt.rsplit_once("::").unwrap_or(("", &stmt));
                (m, n)
            });
            m.trim_end_matches("::") == module
                && names
                    .trim_end_matches('}')
                    .split(',')
                    .any(|n| n.split('@').next() == Some(name))
        });
        assert!(
            listed_here,
            "README.md imports reauth::{path}: add it to tests/docs_paths.rs"
        );
    }
}
