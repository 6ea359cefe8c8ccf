//! Signing in and out, and who the browser is signed in as.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::ApiError;
use crate::domain::Role;

/// The signed-in user as the UI shows them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub name: String,
    pub system_admin: bool,
    /// Every group the user is in, with their role.
    pub groups: Vec<(String, Role)>,
    /// The groups whose Images page they may open: those they administer, or all for a system admin.
    pub manages: Vec<String>,
    /// Signed in by an identity proxy: there is no Kiln sign-out.
    pub via_proxy: bool,
}

/// `None` when nobody is signed in.
#[server(endpoint = "me")]
pub async fn current_user() -> Result<Option<Me>, ApiError> {
    use super::context::{actor, fail, state};
    use crate::backend::{groups, identity::AuthMode};
    use crate::domain::Actor;

    let state = state();
    let Actor::User(user) = actor(&state).await? else {
        return Ok(None);
    };
    let manages = if user.system_admin {
        groups::list(&state.db)
            .await
            .map_err(fail)?
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
            .into_iter()
            .map(|m| (m.group, m.role))
            .collect(),
        name: user.name,
        system_admin: user.system_admin,
        manages,
        via_proxy: state.auth.mode == AuthMode::Proxy,
    }))
}

/// Signs in with a local account and goes to `next` (a path on this site).
#[server(endpoint = "login")]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), ApiError> {
    use super::context::{fail, state};
    use super::error::respond;
    use crate::backend::{audit, identity::AuthMode, passwords, sessions, throttle, users};
    use crate::domain::UserName;

    let state = state();
    if state.auth.mode == AuthMode::Proxy {
        return Err(respond(ApiError::Forbidden(
            "Sign-in is handled by your organisation's identity proxy.".into(),
        )));
    }
    let username = username.trim();
    UserName::parse("username", username).map_err(|e| respond(e.into()))?;
    if password.is_empty() {
        return Err(respond(ApiError::invalid("password", "is required")));
    }
    if let Some(ms) = throttle::locked_for(&state.db, username)
        .await
        .map_err(fail)?
    {
        let secs = (ms as u64).div_ceil(1000);
        return Err(respond(ApiError::TooManyAttempts {
            message: format!("Too many failed sign-ins for {username}. Try again in {secs} s."),
            retry_after_secs: secs,
        }));
    }
    let user = users::find(&state.db, username).await.map_err(fail)?;
    if !passwords::verify(
        password,
        user.as_ref().and_then(|u| u.password_hash.clone()),
    )
    .await
    {
        throttle::record_failure(&state.db, username)
            .await
            .map_err(fail)?;
        audit::record(
            &state.db,
            username,
            "session.login_failed",
            &format!("user:{username}"),
            "",
        )
        .await
        .map_err(fail)?;
        return Err(respond(ApiError::BadCredentials));
    }
    let user = user.ok_or(ApiError::Internal)?;
    throttle::clear(&state.db, username).await.map_err(fail)?;
    let token = sessions::create(&state.db, user.id, state.auth.session_ttl)
        .await
        .map_err(fail)?;
    audit::record(
        &state.db,
        &user.name,
        "session.login",
        &format!("user:{}", user.name),
        "",
    )
    .await
    .map_err(fail)?;

    let options = expect_context::<leptos_axum::ResponseOptions>();
    let cookie = sessions::cookie(
        Some(&token),
        state.auth.session_ttl,
        state.auth.secure_cookies,
    );
    options.append_header(
        http::header::SET_COOKIE,
        cookie.parse().map_err(|_| ApiError::Internal)?,
    );
    leptos_axum::redirect(&safe_next(next.as_deref()));
    Ok(())
}

/// Ends the session and goes to the sign-in page.
#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), ApiError> {
    use super::context::{fail, state};
    use crate::backend::sessions;

    let state = state();
    let parts = use_context::<http::request::Parts>().ok_or(ApiError::Internal)?;
    let token = sessions::token_from_headers(&parts.headers);
    if let Some(token) = token {
        sessions::delete(&state.db, token).await.map_err(fail)?;
    }
    let options = expect_context::<leptos_axum::ResponseOptions>();
    let cookie = sessions::cookie(None, state.auth.session_ttl, state.auth.secure_cookies);
    options.append_header(
        http::header::SET_COOKIE,
        cookie.parse().map_err(|_| ApiError::Internal)?,
    );
    leptos_axum::redirect("/login");
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
