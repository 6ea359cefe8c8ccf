//! The sign-in page: the password form, or the way to the organisation's identity provider.

use leptos::either::EitherOf3;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::session::{Login, how_to_sign_in};
use crate::i18n::{error_message, t, use_lang};
use crate::ui::components::status::encode_component;
use crate::wire::accounts::{SignInFailure, SignInMode};

#[component]
pub fn LoginPage() -> impl IntoView {
    let mode = Resource::new(|| (), |_| how_to_sign_in());
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    // A sign-in at the identity provider that failed comes back with a code, never with
    // text of the provider's (or an attacker's) choosing.
    let failed = query
        .read_untracked()
        .get("failed")
        .and_then(|code| SignInFailure::from_code(&code));
    // After a password change every session ends: the page says why one signs in again.
    let changed = query.read_untracked().get("changed").as_deref() == Some("password");
    let l = use_lang();
    view! {
        <Title text=t(l, "Sign in")/>
        <section class="card card--narrow">
            <h1>{t(l, "Sign in to Kiln")}</h1>
            {failed.map(|f| view! { <p class="form__error" role="alert">{t(l, f.message().en)}</p> })}
            {changed.then(|| view! { <p class="form__notice" role="status">{t(l, "Your password was changed. Sign in with the new one.")}</p> })}
            <Suspense fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
                {move || Suspend::new(async move {
                    match mode.await {
                        Ok(SignInMode::Provider) => EitherOf3::A(view! {
                            <p>{t(l, "This Kiln signs you in with your organisation's account.")}</p>
                            <a class="button button--primary" rel="external"
                                href=format!("/auth/oidc/login?next={}", encode_component(&next()))>
                                {t(l, "Sign in with your organisation's account")}
                            </a>
                        }),
                        Ok(SignInMode::Proxy) => EitherOf3::B(view! {
                            <p>{t(l, "Your organisation's sign-in service signs you in before you reach Kiln. Open Kiln from your platform's address to be signed in.")}</p>
                        }),
                        _ => EitherOf3::C(view! { <PasswordForm next=next()/> }),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn PasswordForm(next: String) -> impl IntoView {
    let login = ServerAction::<Login>::new();
    // A failed sign-in comes back here with the server's answer.
    let error = login.value().get_untracked().and_then(Result::err);
    let l = use_lang();
    view! {
        <ActionForm action=login attr:class="form" attr:aria-label=t(l, "Sign in")>
            <input type="hidden" name="next" value=next/>
            <div class="form__field">
                <label for="username">{t(l, "User name")}</label>
                <input id="username" name="username" autocomplete="username" required autofocus/>
            </div>
            <div class="form__field">
                <label for="password">{t(l, "Password")}</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required/>
            </div>
            {error.map(|e| view! { <p class="form__error" role="alert">{error_message(l, &e)}</p> })}
            <button type="submit" class="button button--primary">{t(l, "Sign in")}</button>
        </ActionForm>
    }
}
