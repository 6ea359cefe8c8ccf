//! Server functions for service tokens (system admins): list, create (the secret is
//! answered once, to the page that asked), revoke.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::edge::run;
use crate::wire::ApiError;
use crate::wire::accounts::TokensPage;

#[server(endpoint = "tokens_overview")]
pub async fn tokens_overview() -> Result<TokensPage, ApiError> {
    run(|call| async move { crate::ops::tokens::overview(&call).await }).await
}

/// Creates a token and answers its secret: the only time anyone sees it.
#[server(endpoint = "create_token")]
pub async fn create_token(
    name: String,
    scope: String,
    #[server(default)] user: String,
    #[server(default)] expires_in: String,
) -> Result<String, ApiError> {
    use super::edge::is_plain_form_post;
    run(|call| async move {
        crate::ops::tokens::may_manage(&call)?;
        // A plain form post is answered with a redirect, which would lose the secret: the
        // token would exist with nobody knowing it. (The page's button waits for JavaScript.)
        if is_plain_form_post() {
            return Err(ApiError::Conflict(crate::domain::Said::coded(
                crate::domain::messages::TOKEN_NEEDS_JAVASCRIPT,
                &[],
            )));
        }
        let user = Some(user.trim()).filter(|u| !u.is_empty());
        crate::ops::tokens::create(&call, name.trim(), &scope, user, &expires_in).await
    })
    .await
}

/// Revokes a token: any token for a system admin, or (`own`) one of the signed-in user's
/// own; back to the page it was revoked on.
#[server(endpoint = "revoke_token")]
pub async fn revoke_token(name: String, #[server(default)] own: bool) -> Result<(), ApiError> {
    run(|call| async move {
        if own {
            crate::ops::tokens::revoke_mine(&call, &name).await
        } else {
            crate::ops::tokens::revoke(&call, &name).await
        }
    })
    .await?;
    leptos_axum::redirect(if own { "/me/tokens" } else { "/admin/tokens" });
    Ok(())
}

/// The tokens bound to the signed-in user.
#[server(endpoint = "my_tokens")]
pub async fn my_tokens() -> Result<TokensPage, ApiError> {
    run(|call| async move { crate::ops::tokens::mine(&call).await }).await
}
