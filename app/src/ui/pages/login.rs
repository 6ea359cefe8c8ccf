//! The sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::session::Login;

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    // A failed sign-in comes back here with the server's answer.
    let error = login.value().get_untracked().and_then(Result::err);
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
                {error.map(|e| view! { <p class="form__error" role="alert">{e.to_string()}</p> })}
                <button type="submit" class="button button--primary">"Sign in"</button>
            </ActionForm>
        </section>
    }
}
