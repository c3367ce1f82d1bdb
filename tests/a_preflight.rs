//! Runs before the other integration tests (cargo runs them in name
//! order): checks every program and module the suite drives (redis-server,
//! openssl, nginx and its headers-more module, Caddy, HAProxy, Node and the
//! oidc-provider fixture, headless Chromium and chromedriver) and fails listing **all** that are missing, each
//! with its install command, instead of a later test failing on the first
//! with the program's own error (nginx's `unknown directive`) and cargo
//! stopping before the rest ran.

mod support;

#[test]
fn every_program_the_suite_needs_is_installed() {
    let missing = support::preflight::missing();
    assert!(
        missing.is_empty(),
        "the test suite drives real programs on 127.0.0.1; missing:\n{}\n\
         (.ci/run installs all of it; the README's \"Tests\" table says which tests need what)",
        missing.join("\n")
    );
}
