//! OpenID Connect sign-in (`KILN_AUTH_MODE=oidc`): the authorization code flow with PKCE
//! and a nonce. The provider is found by discovery; its ID tokens are checked against its
//! JWKS (signature, issuer, audience, expiry, nonce), which is fetched again when a token
//! names a key Kiln has not seen (the provider rotated its keys).
//!
//! The flow's secrets (state, nonce, PKCE verifier) live in a short-lived, HttpOnly cookie
//! of the browser that started it: nothing is stored on the server for anonymous visitors,
//! any replica can finish a flow, and a callback from another browser has no cookie.

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreResponseType,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AdditionalClaims, AuthenticationFlow, AuthorizationCode, ClaimsVerificationError, ClientId,
    ClientSecret, CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    IdTokenFields, IssuerUrl, LogoutRequest, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, Scope,
    SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use crate::wire::accounts::SignInFailure;

/// The cookie that carries a sign-in flow from Kiln to the provider and back.
pub const FLOW_COOKIE: &str = "kiln_oidc";
/// Where the provider sends the browser back, under `KILN_PUBLIC_URL`.
pub const CALLBACK_PATH: &str = "/auth/oidc/callback";
/// Where a sign-in starts.
pub const LOGIN_PATH: &str = "/auth/oidc/login";
/// How long a started sign-in may take at the provider.
const FLOW_TTL: Duration = Duration::from_secs(600);
/// Discovery, JWKS and token requests to the provider give up after this.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// A token naming an unknown key fetches the provider's keys again, at most this often.
const KEYS_REFRESH_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The provider's issuer URL; discovery reads `ISSUER/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// Kiln's public URL (`KILN_PUBLIC_URL`), without a trailing slash.
    pub public_url: String,
    /// Scopes asked for besides `openid`.
    pub scopes: Vec<String>,
    /// The claim that names the user in Kiln (`preferred_username` unless told).
    pub username_claim: String,
    /// The claim listing the user's groups; none: Kiln owns memberships.
    pub groups_claim: Option<String>,
    /// A value of the groups claim that makes its holders system admins.
    pub admin_group: Option<String>,
}

/// Claims beyond the standard ones (the groups claim among them), as the provider sent them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}
impl AdditionalClaims for OtherClaims {}

type IdFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponse = StandardTokenResponse<IdFields, CoreTokenType>;
type Claims = openidconnect::IdTokenClaims<OtherClaims, CoreGenderClaim>;
type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A started sign-in, kept in the browser's [`FLOW_COOKIE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flow {
    state: String,
    nonce: String,
    verifier: String,
    /// Where to go once signed in (already checked to be a path on this site).
    pub next: String,
}

impl Flow {
    pub fn to_cookie_value(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn from_cookie_value(value: &str) -> Option<Flow> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(value).ok()?).ok()
    }
}

/// The `Set-Cookie` value that carries a flow, or (with `None`) ends it. `SameSite=Lax`:
/// the provider's redirect back is a top-level navigation, which Lax cookies go with.
pub fn flow_cookie(flow: Option<&Flow>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    let (value, age) = match flow {
        Some(f) => (f.to_cookie_value(), FLOW_TTL.as_secs()),
        None => (String::new(), 0),
    };
    format!("{FLOW_COOKIE}={value}; Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={age}{secure}")
}

/// Who the provider says signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The issuer and `sub`: what the account is bound to.
    pub subject: String,
    /// The username claim's value.
    pub name: String,
    /// The groups claim's values; `None` when no groups claim is configured.
    pub groups: Option<Vec<String>>,
    pub system_admin: bool,
}

/// Why a sign-in failed: the code the sign-in page explains, and what the log says.
#[derive(Debug)]
pub struct Failed {
    pub failure: SignInFailure,
    pub detail: String,
}

fn failed(failure: SignInFailure, detail: impl std::fmt::Display) -> Failed {
    Failed {
        failure,
        detail: detail.to_string(),
    }
}

struct Discovered {
    metadata: ProviderMetadataWithLogout,
    fetched: Instant,
}

/// The provider as Kiln knows it: its settings, an HTTP client and its discovered metadata.
pub struct Provider {
    settings: OidcSettings,
    http: reqwest::Client,
    discovered: Mutex<Option<Discovered>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("issuer", &self.settings.issuer)
            .field("client_id", &self.settings.client_id)
            .finish_non_exhaustive()
    }
}

impl Provider {
    pub fn new(settings: OidcSettings) -> Result<Provider, String> {
        IssuerUrl::new(settings.issuer.clone())
            .map_err(|e| format!("KILN_OIDC_ISSUER is not a URL: {e}"))?;
        // No redirects: discovery and token requests go where the issuer says, nowhere else.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(PROVIDER_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot make the HTTP client for the OIDC provider: {e}"))?;
        Ok(Provider {
            settings,
            http,
            discovered: Mutex::new(None),
        })
    }

    pub fn settings(&self) -> &OidcSettings {
        &self.settings
    }

    /// The provider's metadata and keys: fetched on first use (Kiln starts while the
    /// provider is down), and again when `refresh` asks and the last fetch is not recent.
    async fn metadata(&self, refresh: bool) -> Result<ProviderMetadataWithLogout, Failed> {
        let mut discovered = self.discovered.lock().await;
        if let Some(d) = discovered.as_ref()
            && !(refresh && d.fetched.elapsed() >= KEYS_REFRESH_AFTER)
        {
            return Ok(d.metadata.clone());
        }
        let issuer = IssuerUrl::new(self.settings.issuer.clone())
            .map_err(|e| failed(SignInFailure::Unreachable, e))?;
        let metadata = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| failed(SignInFailure::Unreachable, error_chain(&e)))?;
        *discovered = Some(Discovered {
            metadata: metadata.clone(),
            fetched: Instant::now(),
        });
        Ok(metadata)
    }

    fn client(&self, metadata: ProviderMetadataWithLogout) -> Result<Client, Failed> {
        let redirect = RedirectUrl::new(format!("{}{CALLBACK_PATH}", self.settings.public_url))
            .map_err(|e| failed(SignInFailure::Unreachable, e))?;
        Ok(Client::from_provider_metadata(
            metadata,
            ClientId::new(self.settings.client_id.clone()),
            self.settings.client_secret.clone().map(ClientSecret::new),
        )
        .set_redirect_uri(redirect))
    }

    /// Starts a sign-in: the provider's URL to send the browser to, and the flow for its cookie.
    pub async fn begin(&self, next: String) -> Result<(String, Flow), Failed> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client
            .authorize_url(
                AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        for scope in &self.settings.scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let flow = Flow {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            verifier: verifier.secret().clone(),
            next,
        };
        Ok((url.to_string(), flow))
    }

    /// Finishes a sign-in: the callback's `state` must be the flow's, the code is exchanged
    /// (with the PKCE verifier) and the ID token checked; answers who signed in.
    pub async fn finish(&self, flow: &Flow, code: &str, state: &str) -> Result<Identity, Failed> {
        if !constant_time_eq(flow.state.as_bytes(), state.as_bytes()) {
            return Err(failed(
                SignInFailure::State,
                "state differs from the flow's",
            ));
        }
        let client = self.client(self.metadata(false).await?)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| failed(SignInFailure::Unreachable, e))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| failed(SignInFailure::Token, error_chain(&e)))?;
        let id_token = response
            .extra_fields()
            .id_token()
            .ok_or_else(|| failed(SignInFailure::Token, "no ID token in the token response"))?;
        let nonce = Nonce::new(flow.nonce.clone());
        let claims = match id_token.claims(&client.id_token_verifier(), &nonce) {
            Ok(claims) => claims.clone(),
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // A key Kiln has not seen: the provider may have rotated; fetch its keys again.
                let client = self.client(self.metadata(true).await?)?;
                id_token
                    .claims(&client.id_token_verifier(), &nonce)
                    .map_err(|e| failed(SignInFailure::Token, error_chain(&e)))?
                    .clone()
            }
            Err(e) => return Err(failed(SignInFailure::Token, error_chain(&e))),
        };
        self.identity(&claims)
    }

    /// The user the checked claims describe, by the configured claims.
    fn identity(&self, claims: &Claims) -> Result<Identity, Failed> {
        let name = claim_text(claims, &self.settings.username_claim).ok_or_else(|| {
            failed(
                SignInFailure::Name,
                format!("the ID token has no {} claim", self.settings.username_claim),
            )
        })?;
        let groups = self
            .settings
            .groups_claim
            .as_ref()
            .map(|claim| group_values(claims.additional_claims().claims.get(claim)));
        let system_admin = match (&self.settings.admin_group, &groups) {
            (Some(admin), Some(groups)) => groups.iter().any(|g| g == admin),
            _ => false,
        };
        Ok(Identity {
            subject: format!("{} {}", claims.issuer().as_str(), claims.subject().as_str()),
            name,
            groups,
            system_admin,
        })
    }

    /// Where signing out sends the browser: the provider's end-session endpoint (RP-initiated
    /// logout), back to Kiln's sign-in page afterwards; `None` when the provider has none.
    pub async fn logout_url(&self) -> Option<String> {
        let metadata = self.metadata(false).await.ok()?;
        let endpoint = metadata
            .additional_metadata()
            .end_session_endpoint
            .clone()?;
        let back =
            PostLogoutRedirectUrl::new(format!("{}/login", self.settings.public_url)).ok()?;
        Some(
            LogoutRequest::from(endpoint)
                .set_client_id(ClientId::new(self.settings.client_id.clone()))
                .set_post_logout_redirect_uri(back)
                .http_get_url()
                .to_string(),
        )
    }
}

/// A claim's value as text: the standard claims Kiln may name users by, else any other
/// claim that is a string.
fn claim_text(claims: &Claims, name: &str) -> Option<String> {
    let text = match name {
        "sub" => Some(claims.subject().to_string()),
        "preferred_username" => claims.preferred_username().map(|u| u.to_string()),
        "email" => claims.email().map(|e| e.to_string()),
        other => claims
            .additional_claims()
            .claims
            .get(other)
            .and_then(|v| v.as_str())
            .map(str::to_owned),
    };
    text.filter(|t| !t.trim().is_empty())
}

/// The groups claim's values: a list of strings (or one string); Keycloak's full group
/// paths (`/ml`) lose their leading slash. Anything else counts as no groups.
fn group_values(value: Option<&serde_json::Value>) -> Vec<String> {
    let strip = |g: &str| g.strip_prefix('/').unwrap_or(g).to_owned();
    match value {
        Some(serde_json::Value::Array(items)) => {
            items.iter().filter_map(|v| v.as_str()).map(strip).collect()
        }
        Some(serde_json::Value::String(one)) => vec![strip(one)],
        _ => Vec::new(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An error and its causes in one line, for the log.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_flow_survives_its_cookie_and_a_tampered_cookie_is_no_flow() {
        let flow = Flow {
            state: "s".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            next: "/groups/ml/images".into(),
        };
        assert_eq!(
            Flow::from_cookie_value(&flow.to_cookie_value()),
            Some(flow.clone())
        );
        assert_eq!(Flow::from_cookie_value("not base64 json"), None);
        let cookie = flow_cookie(Some(&flow), true);
        assert!(cookie.starts_with("kiln_oidc="));
        assert!(cookie.contains("Path=/auth/oidc; HttpOnly; SameSite=Lax; Max-Age=600; Secure"));
        assert!(flow_cookie(None, false).contains("Max-Age=0"));
    }

    #[test]
    fn groups_come_as_a_list_or_one_string_and_lose_keycloaks_slash() {
        assert_eq!(
            group_values(Some(&json!(["/ml", "cv", 7]))),
            vec!["ml", "cv"]
        );
        assert_eq!(group_values(Some(&json!("ml"))), vec!["ml"]);
        assert_eq!(
            group_values(Some(&json!({"ml": true}))),
            Vec::<String>::new()
        );
        assert_eq!(group_values(None), Vec::<String>::new());
    }

    #[test]
    fn states_compare_whole() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
