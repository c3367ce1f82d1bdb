//! The names the test issuer's tokens carry by default.

/// The audience (client id) the test issuer's tokens carry by default.
pub const TEST_CLIENT_ID: &str = "test-client";

/// The resource identifier ([`TestIssuer::access_token`](super::TestIssuer::access_token)'s `aud`).
pub const TEST_RESOURCE: &str = "https://api.test.example";
