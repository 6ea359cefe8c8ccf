//! Signing in and out with a local account, and who the caller is as the UI shows them.

use std::net::IpAddr;
use std::time::Duration;

use super::audit::Change;
use super::{Call, OpResult};
use crate::backend::identity::AuthMode;
use crate::backend::oidc::Identity;
use crate::backend::{AppState, groups, passwords, sessions, throttle, users};
use crate::domain::{Actor, FieldError, GroupName, Role, Said, UserName, messages};
use crate::wire::ApiError;
use crate::wire::accounts::{Me, SignInFailure, SignInMode};

/// How people sign in here, for the sign-in page.
pub fn mode(state: &AppState) -> SignInMode {
    match state.auth.mode {
        AuthMode::Local => SignInMode::Password,
        AuthMode::Oidc => SignInMode::Provider,
        AuthMode::Proxy => SignInMode::Proxy,
    }
}

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
        has_password: call.state.auth.mode == AuthMode::Local,
    }))
}

/// Whether `password` is the one `hash` was made from (none: no password matches); when
/// too many checks run at once, 429 with a retry in a second.
pub(crate) async fn password_matches(password: &str, hash: Option<String>) -> OpResult<bool> {
    passwords::verify(password.to_owned(), hash)
        .await
        .map_err(|passwords::Busy| ApiError::TooManyAttempts {
            message: Said::coded(messages::BUSY_CHECKING_SIGN_INS, &[]),
            retry_after_secs: 1,
        })
}

/// Checks a local account's password and starts a session; answers the session's token.
/// Each attempt is counted for its client address and its name before the password is
/// checked (and slows both down); failures are audited.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
    client: Option<IpAddr>,
) -> OpResult<String> {
    match state.auth.mode {
        AuthMode::Local => {}
        AuthMode::Proxy => {
            return Err(ApiError::Forbidden(Said::coded(
                messages::SIGN_IN_BY_PROXY,
                &[],
            )));
        }
        AuthMode::Oidc => {
            return Err(ApiError::Forbidden(Said::coded(
                messages::SIGN_IN_BY_OIDC,
                &[],
            )));
        }
    }
    let username = username.trim();
    UserName::parse("username", username)?;
    if password.is_empty() {
        return Err(FieldError::coded("password", messages::REQUIRED, &[]).into());
    }
    let addresses = &state.auth.sign_in_addresses;
    if let Some(secs) = client.and_then(|ip| addresses.attempt(ip)) {
        return Err(ApiError::TooManyAttempts {
            message: Said::coded(
                messages::SIGN_INS_FROM_ADDRESS,
                &[("seconds", &secs.to_string())],
            ),
            retry_after_secs: secs,
        });
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
            message: Said::coded(
                messages::SIGN_INS_FOR_USER,
                &[("user", username), ("seconds", &secs.to_string())],
            ),
            retry_after_secs: secs,
        });
    }
    let user = users::find(&state.db, username).await?;
    let target = format!("user:{username}");
    let hash = user.as_ref().and_then(|u| u.password_hash.clone());
    let matched = password_matches(password, hash).await?;
    if !matched {
        let change = Change::begin(&state.db, username.to_owned()).await?;
        change.commit("session.login_failed", &target, "").await?;
        return Err(ApiError::BadCredentials);
    }
    let user = user.ok_or(ApiError::Internal)?;
    if user.is_disabled() {
        return Err(crate::backend::BackendError::Disabled { user: user.name }.into());
    }
    let mut change = Change::begin(&state.db, user.name.clone()).await?;
    throttle::clear(change.conn(), username).await?;
    if let Some(ip) = client {
        addresses.succeeded(ip);
    }
    let token = sessions::create(change.conn(), user.id, state.auth.session_ttl).await?;
    change.commit("session.login", &target, "").await?;
    Ok(token)
}

/// Starts a session for the person an OpenID Connect provider vouched for: their account
/// (bound to the provider's subject), their system-admin standing and groups as the
/// provider says now; audited. Answers the session's token.
pub async fn sign_in_external(
    state: &AppState,
    identity: &Identity,
) -> Result<String, (SignInFailure, String)> {
    let internal = |e: crate::backend::BackendError| (SignInFailure::Internal, e.to_string());
    let api = |e: ApiError| (SignInFailure::Internal, format!("{e:?}"));
    let name = UserName::parse("user", identity.name.trim())
        .map_err(|e| (SignInFailure::Name, format!("{:?}: {e}", identity.name)))?;
    let mut binding = state.db.begin().await.map_err(internal)?;
    let user = users::bind_external(&mut binding, &identity.subject, &name)
        .await
        .map_err(internal)?
        .map_err(|users::NameTaken| {
            let detail = format!(
                "{name} is bound to another subject than {}",
                identity.subject
            );
            (SignInFailure::Taken, detail)
        })?;
    binding.commit().await.map_err(|e| internal(e.into()))?;
    if user.is_disabled() {
        return Err((SignInFailure::Disabled, format!("{name} is disabled")));
    }
    users::confirm_external(&state.db, user.id, identity.system_admin, Duration::ZERO)
        .await
        .map_err(internal)?;
    if let Some(reported) = &identity.groups {
        let groups: Vec<GroupName> = reported
            .iter()
            .filter_map(|g| GroupName::parse("group", g).ok())
            .collect();
        groups::sync_proxy_memberships(&state.db, user.id, &groups)
            .await
            .map_err(internal)?;
    }
    let mut change = Change::begin(&state.db, user.name.clone())
        .await
        .map_err(api)?;
    let token = sessions::create(change.conn(), user.id, state.auth.session_ttl)
        .await
        .map_err(internal)?;
    change
        .commit("session.login", &format!("user:{}", user.name), "oidc")
        .await
        .map_err(api)?;
    Ok(token)
}

/// Ends the session of this token.
pub async fn sign_out(state: &AppState, token: &str) -> OpResult<()> {
    Ok(sessions::delete(&state.db, token).await?)
}
