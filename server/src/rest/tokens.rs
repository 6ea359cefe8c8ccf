//! The caller's own service tokens: list them (when each expires and was last used) and
//! revoke one. Creating tokens is for system admins, in the UI or with `kiln token create`.

use app::ops;
use app::wire::accounts::TokenView;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::types::ErrorBody;
use super::{Caller, Reply};

/// A token bound to the caller; never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    pub name: String,
    /// `read` or `write`.
    pub scope: String,
    pub created_by: String,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When it stops working (ms since the epoch); absent: until revoked.
    pub expires_at: Option<i64>,
    /// When it was last used (ms since the epoch; written at most once a minute).
    pub last_used_at: Option<i64>,
    /// `live`, `expired` or `revoked`.
    pub state: String,
}

impl From<TokenView> for Token {
    fn from(t: TokenView) -> Self {
        let state = if t.revoked {
            "revoked"
        } else if t.expired {
            "expired"
        } else {
            "live"
        };
        Token {
            name: t.name,
            scope: t.scope,
            created_by: t.created_by,
            created_at: t.created_at,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            state: state.to_owned(),
        }
    }
}

/// The tokens bound to the caller, live ones first, newest first.
#[utoipa::path(get, path = "/api/v1/me/tokens", tag = "tokens",
    responses((status = 200, body = Vec<Token>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn mine(caller: Caller) -> Reply<Json<Vec<Token>>> {
    let page = ops::tokens::mine(&caller.call).await?;
    Ok(Json(page.tokens.into_iter().map(Token::from).collect()))
}

/// Revokes one of the caller's live tokens: it stops working at once, on every replica.
#[utoipa::path(delete, path = "/api/v1/me/tokens/{name}", tag = "tokens",
    params(("name" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn revoke_mine(caller: Caller, Path(name): Path<String>) -> Reply<StatusCode> {
    ops::tokens::revoke_mine(&caller.call, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
