//! The OAuth 2.0 plumbing of the step-up: the authorization request URL
//! (with PKCE S256) and the code exchange at the token endpoint. Both are
//! the `oauth2` crate's (request encoding, RFC 6749 §2.3.1 client
//! authentication, token and error response parsing); the HTTP exchange
//! itself is ours ([`OAuthHttp`]: timeout, body cap, no redirects).

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken,
    EndpointNotSet, EndpointSet, ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RequestTokenError, Scope, StandardRevocableToken, StandardTokenResponse,
    TokenResponse as _, TokenUrl,
};
use reqwest::Url;
use serde::{Deserialize, Serialize};

use super::config::{ClientAuth, StepUpConfig};
use super::error::StepUpError;
use crate::provider::http::OAuthHttp;

/// The OpenID Connect member of the token response (OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct IdTokenField {
    #[serde(default)]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

pub(crate) type OidcClient = Client<
    BasicErrorResponse,
    StandardTokenResponse<IdTokenField, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The issuer's endpoints, checked at start-up.
#[derive(Debug, Clone)]
pub(crate) struct Endpoints {
    pub authorization: Url,
    pub token: Url,
}

pub(crate) fn client(config: &StepUpConfig, endpoints: &Endpoints, redirect: &Url) -> OidcClient {
    let client = Client::new(ClientId::new(config.client_id.clone()))
        .set_auth_uri(AuthUrl::from_url(endpoints.authorization.clone()))
        .set_token_uri(TokenUrl::from_url(endpoints.token.clone()))
        .set_redirect_uri(RedirectUrl::from_url(redirect.clone()))
        .set_auth_type(match config.client_auth {
            ClientAuth::SecretPost => AuthType::RequestBody,
            ClientAuth::SecretBasic | ClientAuth::None => AuthType::BasicAuth,
        });
    match &config.client_secret {
        Some(secret) => client.set_client_secret(ClientSecret::new(secret.clone())),
        None => client,
    }
}

/// The authorization request URL (`response_type=code`, `client_id`,
/// `redirect_uri`, `scope`, `state`, PKCE S256, plus `extra`), and the
/// PKCE verifier to keep.
pub(crate) fn authorization_url(
    client: &OidcClient,
    state: &str,
    scopes: &[String],
    extra: Vec<(&'static str, String)>,
) -> (Url, String) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = state.to_owned();
    let mut request = client
        .authorize_url(move || CsrfToken::new(state))
        .add_scope(Scope::new("openid".to_owned()))
        .add_scopes(scopes.iter().cloned().map(Scope::new))
        .set_pkce_challenge(challenge);
    for (name, value) in extra {
        request = request.add_extra_param(name, value);
    }
    (request.url().0, verifier.secret().clone())
}

/// Printable ASCII, at most 256 bytes: what of an issuer's text reaches a
/// message.
fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(256)
        .collect()
}

/// oauth2's HTTP client, as a named type rather than a closure: a closure
/// returning a borrowing future is not `Send` for every lifetime (a
/// higher-ranked bound the compiler cannot prove), and axum and tower need
/// [`StepUp::complete`](crate::stepup::StepUp::complete)'s future to be `Send`.
struct TokenEndpoint<'h>(&'h OAuthHttp);

impl<'c> oauth2::AsyncHttpClient<'c> for TokenEndpoint<'_> {
    type Error = crate::error::FetchError;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = Result<oauth2::HttpResponse, Self::Error>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.0.send("token endpoint", request))
    }
}

/// Exchanges `code` (RFC 6749 §4.1.3, RFC 7636 §4.5) and returns the ID token.
pub(crate) async fn exchange(
    client: &OidcClient,
    http: &OAuthHttp,
    code: &str,
    pkce_verifier: &str,
) -> Result<String, StepUpError> {
    let response = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
        .request_async(&TokenEndpoint(http))
        .await
        .map_err(|e| match e {
            RequestTokenError::ServerResponse(e) => StepUpError::TokenEndpoint {
                error: printable(e.error().as_ref()),
                description: e.error_description().map(|d| printable(d)),
            },
            RequestTokenError::Request(fetch) => StepUpError::TokenEndpointFailed {
                reason: fetch.to_string(),
                transient: true,
            },
            RequestTokenError::Parse(e, _) => StepUpError::TokenEndpointFailed {
                reason: format!(
                    "not a token response ({})",
                    printable(&e.path().to_string())
                ),
                transient: false,
            },
            RequestTokenError::Other(reason) => StepUpError::TokenEndpointFailed {
                reason: printable(&reason),
                transient: false,
            },
        })?;
    // OIDC Core §3.1.3.3: an OpenID token response carries `id_token`.
    response
        .extra_fields()
        .id_token
        .clone()
        .filter(|_| matches!(response.token_type(), BasicTokenType::Bearer))
        .ok_or_else(|| StepUpError::TokenEndpointFailed {
            reason: "the token response has no id_token (or its token_type is not Bearer)".into(),
            transient: false,
        })
}
