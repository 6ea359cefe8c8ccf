//! Signing in and out with a local account, and who the caller is as the UI shows them.

use super::audit::Change;
use super::{Call, OpResult};
use crate::backend::identity::AuthMode;
use crate::backend::{AppState, groups, passwords, sessions, throttle, users};
use crate::domain::{Actor, Role, UserName};
use crate::wire::ApiError;
use crate::wire::accounts::Me;

/// The signed-in user as the UI shows them; `None` for anyone else.
pub async fn me(call: &Call) -> OpResult<Option<Me>> {
    let Actor::User(user) = &call.actor else {
        return Ok(None);
    };
    let manages = if user.system_admin {
        groups::list(&call.state.db)
            .await?
            .into_iter()
            .map(|g| g.name)
            .collect()
    } else {
        user.memberships
            .iter()
            .filter(|m| m.role == Role::Admin)
            .map(|m| m.group.clone())
            .collect()
    };
    Ok(Some(Me {
        groups: user
            .memberships
            .iter()
            .map(|m| (m.group.clone(), m.role))
            .collect(),
        name: user.name.clone(),
        system_admin: user.system_admin,
        manages,
        via_proxy: call.state.auth.mode == AuthMode::Proxy,
    }))
}

/// Checks a local account's password and starts a session; answers the session's token.
/// Each attempt is counted for its name before the password is checked (and slows that
/// name down); failures are audited.
pub async fn sign_in(state: &AppState, username: &str, password: &str) -> OpResult<String> {
    if state.auth.mode == AuthMode::Proxy {
        return Err(ApiError::Forbidden(
            "Sign-in is handled by your organisation's identity proxy.".into(),
        ));
    }
    let username = username.trim();
    UserName::parse("username", username)?;
    if password.is_empty() {
        return Err(ApiError::invalid("password", "is required"));
    }
    let mut counting = state.db.begin().await?;
    let locked = throttle::attempt(&mut counting, username).await?;
    counting
        .commit()
        .await
        .map_err(crate::backend::BackendError::from)?;
    if let Some(ms) = locked {
        let secs = (ms as u64).div_ceil(1000);
        return Err(ApiError::TooManyAttempts {
            message: format!("Too many failed sign-ins for {username}. Try again in {secs} s."),
            retry_after_secs: secs,
        });
    }
    let user = users::find(&state.db, username).await?;
    let target = format!("user:{username}");
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let matched =
        passwords::verify(password.to_owned(), hash)
            .await
            .map_err(|passwords::Busy| ApiError::TooManyAttempts {
                message: "Kiln is busy checking other sign-ins. Try again in a second.".into(),
                retry_after_secs: 1,
            })?;
    if !matched {
        let change = Change::begin(&state.db, username.to_owned()).await?;
        change.commit("session.login_failed", &target, "").await?;
        return Err(ApiError::BadCredentials);
    }
    let user = user.ok_or(ApiError::Internal)?;
    let mut change = Change::begin(&state.db, user.name.clone()).await?;
    throttle::clear(change.conn(), username).await?;
    let token = sessions::create(change.conn(), user.id, state.auth.session_ttl).await?;
    change.commit("session.login", &target, "").await?;
    Ok(token)
}

/// Ends the session of this token.
pub async fn sign_out(state: &AppState, token: &str) -> OpResult<()> {
    Ok(sessions::delete(&state.db, token).await?)
}
