//! Server functions for service tokens (system admins): list, create (the secret is
//! answered once, to the page that asked), revoke.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenView {
    pub name: String,
    pub scope: String,
    /// The user it acts as; none for a read token that only reads launch lists.
    pub user: Option<String>,
    pub created_by: String,
    pub created_at: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokensPage {
    pub tokens: Vec<TokenView>,
}

/// The signed-in system admin's name.
#[cfg(feature = "ssr")]
async fn system_admin() -> Result<(crate::backend::AppState, String), ApiError> {
    use super::context::{authorize, caller};
    use crate::domain::{Action, Actor, Target};
    let (state, actor) = caller().await?;
    authorize(
        &actor,
        Action::ManageAccounts,
        Target::System,
        "service tokens",
    )?;
    let Actor::User(user) = actor else {
        return Err(ApiError::Unauthenticated);
    };
    Ok((state, user.name))
}

#[server(endpoint = "tokens_overview")]
pub async fn tokens_overview() -> Result<TokensPage, ApiError> {
    use super::context::fail;
    let (state, _) = system_admin().await?;
    let tokens = crate::backend::tokens::list(&state.db)
        .await
        .map_err(fail)?
        .into_iter()
        .map(|t| TokenView {
            name: t.name,
            scope: t.scope,
            user: t.user_name,
            created_by: t.created_by,
            created_at: t.created_at,
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    Ok(TokensPage { tokens })
}

/// Creates a token and answers its secret: the only time anyone sees it.
#[server(endpoint = "create_token")]
pub async fn create_token(
    name: String,
    scope: String,
    #[server(default)] user: String,
) -> Result<String, ApiError> {
    use super::context::fail;
    let (state, admin) = system_admin().await?;
    // A plain form post is answered with a redirect, which would lose the secret: the token
    // would exist with nobody knowing it. (The page's button waits for JavaScript too.)
    if super::error::is_plain_form_post() {
        return Err(super::error::respond(ApiError::Conflict(
            "Creating a token needs JavaScript, so that its secret can be shown once; \
             or use `kiln token create`."
                .into(),
        )));
    }
    let user = Some(user.trim()).filter(|u| !u.is_empty());
    crate::backend::tokens::create(&state.db, &admin, name.trim(), &scope, user)
        .await
        .map_err(fail)
}

#[server(endpoint = "revoke_token")]
pub async fn revoke_token(name: String) -> Result<(), ApiError> {
    use super::context::fail;
    let (state, admin) = system_admin().await?;
    crate::backend::tokens::revoke(&state.db, &admin, &name)
        .await
        .map_err(fail)?;
    leptos_axum::redirect("/admin/tokens");
    Ok(())
}
