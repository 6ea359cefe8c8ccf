//! Service tokens. System admins: who has one, revoke it, create one. A new token's secret
//! is shown once, on this page only, so creating one is an island: without JavaScript the
//! page says to use `kiln token create` instead (a redirect would lose the secret). Every
//! user: the tokens bound to them, when each expires and was last used, revoke one.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::tokens::{CreateToken, RevokeToken, my_tokens, tokens_overview};
use crate::domain::time::utc_minute;
use crate::i18n::{Lang, error_message, t, tf, use_lang};
use crate::ui::components::status::ApiErrorView;
use crate::wire::accounts::{TokenView, TokensPage};

#[component]
pub fn TokensAdminPage() -> impl IntoView {
    let revoke = ServerAction::<RevokeToken>::new();
    let page = Resource::new(move || revoke.version().get(), |_| tokens_overview());
    let l = use_lang();
    view! {
        <Title text=t(l, "Service tokens")/>
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => Either::Left(view! { <Tokens page revoke/> }),
                    Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn Tokens(page: TokensPage, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let error = revoke
        .value()
        .get_untracked()
        .and_then(Result::err)
        .map(|e| error_message(use_lang(), &e));
    let l = use_lang();
    view! {
        <section class="images">
            <h1>{t(l, "Service tokens")}</h1>
            <p class="form__hint">
                {t(l, "For scripts and launch pages: send ")}<code>"Authorization: Bearer <token>"</code>
                {t(l, ". A token bound to a user acts as that user; a read token may also read any user's launchable images, and bound to no user that is all it may do.")}
            </p>
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            {if page.tokens.is_empty() {
                Either::Left(view! { <p class="empty">{t(l, "No service tokens yet.")}</p> })
            } else {
                Either::Right(token_table(l, page.tokens, true, move |name| revoke_form(l, revoke, name, false)))
            }}
            <h2>{t(l, "New token")}</h2>
            <NewToken/>
        </section>
    }
}

/// The Revoke button of a live token; `own`: one of the signed-in user's own.
fn revoke_form(l: Lang, revoke: ServerAction<RevokeToken>, name: String, own: bool) -> AnyView {
    let (label, form_label) = (
        tf(l, "Revoke {name}", &[("name", &name)]),
        tf(l, "Revoke token {name}", &[("name", &name)]),
    );
    view! {
        <ActionForm action=revoke attr:class="inline-form" attr:aria-label=form_label>
            <input type="hidden" name="name" value=name/>
            {own.then(|| view! { <input type="hidden" name="own" value="true"/> })}
            <button type="submit" class="button button--danger" aria-label=label>{t(l, "Revoke")}</button>
        </ActionForm>
    }
    .into_any()
}

/// A table of tokens (with whom each acts as, for admins); `revoke` makes a live one's form.
fn token_table(
    l: Lang,
    tokens: Vec<TokenView>,
    with_user: bool,
    revoke: impl Fn(String) -> AnyView,
) -> impl IntoView {
    let rows = tokens
        .into_iter()
        .map(|token| {
            let status = match (token.revoked, token.expired) {
                (true, _) => view! { <span class="muted">{t(l, "revoked")}</span> }.into_any(),
                (false, true) => view! { <span class="muted">{t(l, "expired")}</span> }.into_any(),
                (false, false) => revoke(token.name.clone()),
            };
            let user = with_user.then(|| {
                let user = token
                    .user
                    .unwrap_or_else(|| t(l, "nobody: reads launch lists only").into());
                view! { <td>{user}</td> }
            });
            view! {
                <tr>
                    <td class="table__name">{token.name}</td>
                    <td>{token.scope}</td>
                    {user}
                    <td>{token.created_by}</td>
                    <td>{token.expires_at.map_or(t(l, "never").into(), utc_minute)}</td>
                    <td>{token.last_used_at.map_or(t(l, "never").into(), utc_minute)}</td>
                    <td>{status}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="table">
            <thead><tr>
                <th scope="col">{t(l, "Name")}</th><th scope="col">{t(l, "Scope")}</th>
                {with_user.then(|| view! { <th scope="col">{t(l, "Acts as")}</th> })}
                <th scope="col">{t(l, "Created by")}</th><th scope="col">{t(l, "Expires")}</th>
                <th scope="col">{t(l, "Last used")}</th><th scope="col">{t(l, "Status")}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

/// The tokens bound to the signed-in user: when each expires and was last used; revoke one.
#[component]
pub fn MyTokensPage() -> impl IntoView {
    let revoke = ServerAction::<RevokeToken>::new();
    let page = Resource::new(move || revoke.version().get(), |_| my_tokens());
    let error = revoke
        .value()
        .get_untracked()
        .and_then(Result::err)
        .map(|e| error_message(use_lang(), &e));
    let l = use_lang();
    view! {
        <Title text=t(l, "Your tokens")/>
        <section class="images">
            <h1>{t(l, "Your tokens")}</h1>
            <p class="form__hint">
                {t(l, "Tokens that act as you, for scripts and launch pages. A system admin creates them; revoke one you no longer use, or that may have leaked: it stops working at once.")}
            </p>
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) if page.tokens.is_empty() => {
                            Either::Left(Either::Left(view! { <p class="empty">{t(l, "No tokens act as you.")}</p> }))
                        }
                        Ok(page) => Either::Left(Either::Right(token_table(l, page.tokens, false, move |name| revoke_form(l, revoke, name, true)))),
                        Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Creates a token and shows its secret once. The button works only once hydrated.
#[island]
fn NewToken() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let answer = move || create.value().get();
    let l = use_lang();
    view! {
        <ActionForm action=create attr:class="form card" attr:aria-label=t(l, "New token")>
            <div class="form__field">
                <label for="token-name">{t(l, "Name")}</label>
                <input id="token-name" name="name" required placeholder="jupyterhub"/>
            </div>
            <div class="form__field">
                <label for="token-scope">{t(l, "Scope")}</label>
                <select id="token-scope" name="scope">
                    <option value="read">{t(l, "read: list images and launchable images")}</option>
                    <option value="write">{t(l, "write: also change them (needs a user)")}</option>
                </select>
            </div>
            <div class="form__field">
                <label for="token-user">{t(l, "Acts as user")}</label>
                <input id="token-user" name="user" placeholder=t(l, "(none)") autocomplete="off"/>
                <p class="form__hint">{t(l, "Leave empty for a launch page's token: it may read any user's launchable images, nothing else.")}</p>
            </div>
            <div class="form__field">
                <label for="token-expires">{t(l, "Expires in")}</label>
                <input id="token-expires" name="expires_in" placeholder=t(l, "never") autocomplete="off"/>
                <p class="form__hint">{t(l, "Days, hours or minutes, like 90d, 12h or 30m. Leave empty for a token that works until it is revoked.")}</p>
            </div>
            {move || match answer() {
                Some(Ok(secret)) => Either::Left(view! {
                    <div class="token-secret" role="status">
                        <p>{t(l, "The token, shown only now. Copy it to where it is used:")}</p>
                        <output id="token-secret"><code>{secret}</code></output>
                        <p class="form__hint">{t(l, "Reload the page to see it in the list.")}</p>
                    </div>
                }),
                Some(Err(e)) => Either::Right(Some(view! { <p class="form__error" role="alert">{error_message(use_lang(), &e)}</p> })),
                None => Either::Right(None),
            }}
            {move || (!hydrated.get()).then(|| view! {
                <p class="form__hint">{t(l, "Creating a token needs JavaScript, so its secret is shown only here, once. Without it, use ")}<code>"kiln token create"</code>{t(l, ".")}</p>
            })}
            <div class="form__actions">
                <button type="submit" class="button button--primary" disabled=move || !hydrated.get()>{t(l, "Create token")}</button>
            </div>
        </ActionForm>
    }
}
