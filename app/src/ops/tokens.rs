//! Service tokens. System admins and the operator list, create (the secret is answered
//! once) and revoke every token; each user lists and revokes the tokens bound to them.
//! Revoking works at once on every replica; a token may expire.

use super::{Call, OpResult};
use crate::backend::tokens::{self, NewToken, TokenRow};
use crate::backend::{now_ms, users};
use crate::domain::{Action, Actor, Said, Target, messages};
use crate::wire::ApiError;
use crate::wire::accounts::{TokenView, TokensPage};

/// Whether the caller may manage service tokens.
pub fn may_manage(call: &Call) -> OpResult<()> {
    call.check(Action::ManageAccounts, Target::System)
}

/// Every token, live ones first, newest first; never a secret.
pub async fn list(call: &Call) -> OpResult<Vec<TokenRow>> {
    may_manage(call)?;
    Ok(tokens::list(&call.state.db, None).await?)
}

/// The tokens page: every token as the page lists it.
pub async fn overview(call: &Call) -> OpResult<TokensPage> {
    Ok(page_of(list(call).await?))
}

/// The tokens bound to the signed-in user (by a session or one of those tokens).
pub async fn mine(call: &Call) -> OpResult<TokensPage> {
    let user = own_user(call)?;
    Ok(page_of(tokens::list(&call.state.db, Some(user)).await?))
}

/// Revokes a live token bound to the caller; another's token is not found. A read token
/// changes nothing, this included.
pub async fn revoke_mine(call: &Call, name: &str) -> OpResult<()> {
    let user = own_user(call)?;
    if let Actor::User(u) = &call.actor
        && u.token == Some(crate::domain::TokenScope::Read)
    {
        return Err(ApiError::Forbidden(Said::coded(
            messages::READ_TOKEN_REVOKES,
            &[],
        )));
    }
    let mut change = call.change().await?;
    tokens::revoke(change.conn(), name, Some(user)).await?;
    change
        .commit("token.revoke", &format!("token:{name}"), "by its user")
        .await
}

/// The id of the user whose own tokens the caller may see: the signed-in user.
fn own_user(call: &Call) -> OpResult<i64> {
    match &call.actor {
        Actor::User(user) => Ok(user.id),
        Actor::Anonymous => Err(ApiError::Unauthenticated),
        _ => Err(ApiError::Forbidden(Said::coded(
            messages::NO_OWN_TOKENS,
            &[],
        ))),
    }
}

fn page_of(rows: Vec<TokenRow>) -> TokensPage {
    let now = now_ms();
    let tokens = rows
        .into_iter()
        .map(|t| TokenView {
            expired: t.revoked_at.is_none() && t.expires_at.is_some_and(|at| at <= now),
            name: t.name,
            scope: t.scope,
            user: t.user_name,
            created_by: t.created_by,
            created_at: t.created_at,
            revoked: t.revoked_at.is_some(),
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
        })
        .collect();
    TokensPage { tokens }
}

/// Creates a token acting as `user` (or, read only, as nobody) for `expires_in` (`90d`,
/// `12h`, `30m`; empty: until revoked) and answers its secret: the only time anyone sees it.
pub async fn create(
    call: &Call,
    name: &str,
    scope: &str,
    user: Option<&str>,
    expires_in: &str,
) -> OpResult<String> {
    may_manage(call)?;
    let user_id = match user {
        Some(user) => Some(users::require(&call.state.db, user).await?.id),
        None => None,
    };
    let new = NewToken::check(name, scope, user_id, expires_in)?;
    let mut change = call.change().await?;
    let by = change.actor().to_owned();
    let secret = tokens::create(change.conn(), &by, &new).await?;
    let mut detail = match user {
        Some(user) => format!("{} as {user}", new.scope.as_str()),
        None => new.scope.as_str().to_owned(),
    };
    if !expires_in.trim().is_empty() {
        detail.push_str(&format!(", expires in {}", expires_in.trim()));
    }
    change
        .commit("token.create", &format!("token:{}", new.name), &detail)
        .await?;
    Ok(secret)
}

/// Revokes the live token with this name.
pub async fn revoke(call: &Call, name: &str) -> OpResult<()> {
    may_manage(call)?;
    let mut change = call.change().await?;
    tokens::revoke(change.conn(), name, None).await?;
    change
        .commit("token.revoke", &format!("token:{name}"), "")
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::secret_hash;
    use crate::backend::tokens::PREFIX;
    use crate::domain::TokenScope;
    use crate::ops::{accounts, testing::operator};

    #[tokio::test]
    async fn a_token_works_until_it_is_revoked_and_only_its_hash_is_stored() {
        let call = operator().await;
        let db = &call.state.db;
        accounts::add_user(&call, "alice", "alice-password", false)
            .await
            .unwrap();
        let secret = create(&call, "notebooks", "write", Some("alice"), "")
            .await
            .unwrap();
        assert!(secret.starts_with(PREFIX) && secret.len() == PREFIX.len() + 64);
        let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM service_tokens")
            .fetch_all(&db.pool)
            .await
            .unwrap();
        assert_eq!(stored, vec![secret_hash(&secret)]);
        assert!(!stored[0].contains(&secret[PREFIX.len()..]));

        let grant = tokens::grant(db, &secret)
            .await
            .unwrap()
            .expect("live token");
        assert_eq!(grant.scope, TokenScope::Write);
        assert!(grant.user_id.is_some());
        assert_eq!(tokens::grant(db, "kiln_wrong").await.unwrap(), None);

        revoke(&call, "notebooks").await.unwrap();
        assert_eq!(tokens::grant(db, &secret).await.unwrap(), None);
        // The name is free again once its token is revoked.
        create(&call, "notebooks", "read", None, "").await.unwrap();
        let listed = list(&call).await.unwrap();
        assert_eq!(listed.len(), 2);
        assert!(listed[0].revoked_at.is_none() && listed[1].revoked_at.is_some());
        assert_eq!(listed[0].created_by, crate::domain::Actor::OPERATOR);
    }

    #[tokio::test]
    async fn bad_token_requests_name_the_field_and_store_nothing() {
        let call = operator().await;
        let err = |e: ApiError| e.to_string();
        assert_eq!(
            err(create(&call, "Bad Name", "read", None, "")
                .await
                .unwrap_err()),
            "name: may contain only lowercase letters, digits, '-', '_' and '.'"
        );
        assert_eq!(
            err(create(&call, "hub", "admin", None, "").await.unwrap_err()),
            "scope: must be read or write"
        );
        assert_eq!(
            err(create(&call, "hub", "write", None, "").await.unwrap_err()),
            "user: is required for a write token: it acts as that user"
        );
        assert_eq!(
            err(create(&call, "hub", "read", Some("nobody"), "")
                .await
                .unwrap_err()),
            "There is no user nobody."
        );
        create(&call, "hub", "read", None, "").await.unwrap();
        assert_eq!(
            err(create(&call, "hub", "read", None, "").await.unwrap_err()),
            "There is a token hub already."
        );
        assert_eq!(
            err(revoke(&call, "other").await.unwrap_err()),
            "There is no token other."
        );
        assert_eq!(list(&call).await.unwrap().len(), 1);
    }
}
