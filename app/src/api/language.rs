//! The language switch: remembers the choice in a cookie and goes back to the page.

use leptos::prelude::*;

use crate::wire::ApiError;

/// How long the choice is remembered: a year.
#[cfg(feature = "ssr")]
const REMEMBER_SECONDS: u64 = 365 * 24 * 3600;

/// Sets the UI's language (`en` or `zh-TW`) and goes back to `next` (a path on this site).
#[server(endpoint = "language")]
pub async fn set_language(lang: String, next: Option<String>) -> Result<(), ApiError> {
    use crate::i18n::{COOKIE, Lang};
    let lang = Lang::parse(&lang).ok_or_else(|| {
        ApiError::Invalid(crate::domain::FieldError::coded(
            "lang",
            crate::domain::messages::LANGUAGE,
            &[],
        ))
    })?;
    let secure =
        use_context::<crate::backend::AppState>().is_some_and(|state| state.auth.secure_cookies);
    let cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age={REMEMBER_SECONDS}; HttpOnly; SameSite=Lax{}",
        lang.tag(),
        if secure { "; Secure" } else { "" }
    );
    super::edge::append_header(http::header::SET_COOKIE, &cookie)?;
    leptos_axum::redirect(&super::session::safe_next(next.as_deref()));
    Ok(())
}
