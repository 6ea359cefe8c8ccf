//! The sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::session::Login;
use crate::ui::Session;

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = expect_context::<Session>();
    let login = ServerAction::<Login>::new();
    // Signed in: the header and pages ask again who is signed in.
    Effect::new(move |_| {
        if login.version().get() > 0 && matches!(login.value().get(), Some(Ok(()))) {
            session.me.refetch();
        }
    });
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    let error = move || login.value().get().and_then(Result::err);
    let pending = login.pending();
    view! {
        <Title text="Sign in"/>
        <section class="card card--narrow">
            <h1>"Sign in to Kiln"</h1>
            <ActionForm action=login attr:class="form" attr:aria-label="Sign in">
                <input type="hidden" name="next" value=next/>
                <div class="form__field">
                    <label for="username">"User name"</label>
                    <input id="username" name="username" autocomplete="username" required autofocus/>
                </div>
                <div class="form__field">
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required/>
                </div>
                {move || error().map(|e| view! { <p class="form__error" role="alert">{e.to_string()}</p> })}
                <button type="submit" class="button button--primary" disabled=pending>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
        </section>
    }
}
