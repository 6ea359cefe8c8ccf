//! Pages for refusals and failures: 401 sends to sign-in, 403, 404, and the error boundary.

use crate::i18n::{said_message, t, use_lang};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use crate::api::ApiError;

/// Shows a server function's error the way its status asks for.
#[component]
pub fn ApiErrorView(error: ApiError) -> impl IntoView {
    let l = use_lang();
    let (code, title, message) = match error {
        ApiError::Unauthenticated => {
            let location = use_location();
            let here = format!(
                "{}{}",
                location.pathname.get_untracked(),
                location.search.get_untracked()
            );
            let to = if here.is_empty() || here == "/" {
                "/login".to_owned()
            } else {
                format!("/login?next={}", encode_component(&here))
            };
            return Either::Left(view! { <Redirect path=to/> });
        }
        ApiError::Forbidden(said) => (403, t(l, "Not allowed"), said_message(l, &said)),
        ApiError::NotFound(said) => (404, t(l, "Not found"), said_message(l, &said)),
        other => (
            other.status(),
            t(l, "Something went wrong"),
            other.to_string(),
        ),
    };
    Either::Right(view! { <StatusPage code title message/> })
}

/// The page for paths no route knows.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    let l = use_lang();
    view! { <StatusPage code=404 title=t(l, "Not found") message=t(l, "There is no page at this address.").to_owned()/> }
}

#[component]
pub fn StatusPage(
    /// The HTTP status, shown large.
    code: u16,
    /// A short heading.
    title: &'static str,
    /// What happened and what to do, in a sentence or two.
    message: String,
) -> impl IntoView {
    let l = use_lang();
    view! {
        <Title text=title/>
        <section class="status" data-status=code>
            <p class="status__code">{code}</p>
            <h1 class="status__title">{title}</h1>
            <p class="status__message" role="alert">{message}</p>
            <a class="button" href="/">{t(l, "Go to your start page")}</a>
        </section>
    }
}

/// The error boundary's fallback: errors that escaped a page.
#[component]
pub fn ErrorsView(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let messages = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, e)| view! { <li>{e.to_string()}</li> })
            .collect_view()
    };
    let l = use_lang();
    view! {
        <section class="status" data-status="500">
            <h1 class="status__title">{t(l, "Something went wrong")}</h1>
            <ul role="alert">{messages}</ul>
            <a class="button" href="/">{t(l, "Go to your start page")}</a>
        </section>
    }
}

/// Percent-encodes everything but unreserved characters and `/`.
pub fn encode_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn encoding_keeps_paths_readable_and_escapes_the_rest() {
        assert_eq!(
            super::encode_component("/groups/ml/images?q=a b&x"),
            "/groups/ml/images%3Fq%3Da%20b%26x"
        );
    }
}
