//! Signing in and out, and who the browser is signed in as.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::edge::run;
use crate::wire::ApiError;
use crate::wire::accounts::{Me, SignInMode};

/// `None` when nobody is signed in.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<Me>, ApiError> {
    run(|call| async move { crate::ops::sessions::me(&call).await }).await
}

/// How people sign in to this Kiln: the sign-in page's form or link.
#[server(endpoint = "how_to_sign_in")]
pub async fn how_to_sign_in() -> Result<SignInMode, ApiError> {
    let state = use_context::<crate::backend::AppState>().ok_or(ApiError::Internal)?;
    Ok(crate::ops::sessions::mode(&state))
}

/// Signs in with a local account and goes to `next` (a path on this site).
#[server(endpoint = "login")]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), ApiError> {
    use crate::backend::identity::{client_address, peer_of};
    use crate::backend::sessions;
    let parts = use_context::<http::request::Parts>().ok_or(ApiError::Internal)?;
    run(|call| async move {
        let client =
            peer_of(&parts).map(|peer| client_address(&call.state.auth, &parts.headers, peer));
        let token =
            crate::ops::sessions::sign_in(&call.state, &username, &password, client).await?;
        let auth = &call.state.auth;
        let cookie = sessions::cookie(Some(&token), auth.session_ttl, auth.secure_cookies);
        super::edge::append_header(http::header::SET_COOKIE, &cookie)
    })
    .await?;
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Ends the session and goes to the sign-in page; after an OpenID Connect sign-in, by way
/// of the provider's end-session endpoint, which signs the browser out there too.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ApiError> {
    use crate::backend::sessions;
    let parts = use_context::<http::request::Parts>().ok_or(ApiError::Internal)?;
    let next = run(|call| async move {
        if let Some(token) = sessions::token_from_headers(&parts.headers) {
            crate::ops::sessions::sign_out(&call.state, token).await?;
        }
        let auth = &call.state.auth;
        let cookie = sessions::cookie(None, auth.session_ttl, auth.secure_cookies);
        super::edge::append_header(http::header::SET_COOKIE, &cookie)?;
        Ok(match &auth.oidc {
            Some(provider) => provider.logout_url().await,
            None => None,
        })
    })
    .await?;
    leptos_axum::redirect(next.as_deref().unwrap_or("/login"));
    Ok(())
}

/// Where to go after signing in: a path on this site, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_owned(),
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next(Some("/groups/ml/images?sort=name")),
            "/groups/ml/images?sort=name"
        );
        for evil in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(Some(evil)), "/", "{evil}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
