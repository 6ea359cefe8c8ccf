//! Service tokens (system admins): who has one, revoke it, create one. A new token's secret
//! is shown once, on this page only, so creating one is an island: without JavaScript the
//! page says to use `kiln token create` instead (a redirect would lose the secret).

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::tokens::{CreateToken, RevokeToken, tokens_overview};
use crate::ui::components::status::ApiErrorView;
use crate::wire::accounts::{TokenView, TokensPage};

#[component]
pub fn TokensAdminPage() -> impl IntoView {
    let revoke = ServerAction::<RevokeToken>::new();
    let page = Resource::new(move || revoke.version().get(), |_| tokens_overview());
    view! {
        <Title text="Service tokens"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
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
        .map(|e| e.to_string());
    view! {
        <section class="images">
            <h1>"Service tokens"</h1>
            <p class="form__hint">
                "For scripts and launch pages: send "<code>"Authorization: Bearer <token>"</code>
                ". A token bound to a user acts as that user; a read token may also read any user's launchable images, and bound to no user that is all it may do."
            </p>
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            {if page.tokens.is_empty() {
                Either::Left(view! { <p class="empty">"No service tokens yet."</p> })
            } else {
                Either::Right(view! {
                    <table class="table">
                        <thead><tr>
                            <th scope="col">"Name"</th><th scope="col">"Scope"</th>
                            <th scope="col">"Acts as"</th><th scope="col">"Created by"</th>
                            <th scope="col">"Status"</th>
                        </tr></thead>
                        <tbody>
                            {page.tokens.into_iter().map(|t| view! { <TokenRow token=t revoke/> }).collect_view()}
                        </tbody>
                    </table>
                })
            }}
            <h2>"New token"</h2>
            <NewToken/>
        </section>
    }
}

#[component]
fn TokenRow(token: TokenView, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let label = format!("Revoke {}", token.name);
    let form_label = format!("Revoke token {}", token.name);
    let name = token.name.clone();
    view! {
        <tr>
            <td class="table__name">{token.name.clone()}</td>
            <td>{token.scope}</td>
            <td>{token.user.unwrap_or_else(|| "nobody: reads launch lists only".into())}</td>
            <td>{token.created_by}</td>
            <td>
                {if token.revoked {
                    Either::Left(view! { <span class="muted">"revoked"</span> })
                } else {
                    Either::Right(view! {
                        <ActionForm action=revoke attr:class="inline-form" attr:aria-label=form_label>
                            <input type="hidden" name="name" value=name/>
                            <button type="submit" class="button button--danger" aria-label=label>"Revoke"</button>
                        </ActionForm>
                    })
                }}
            </td>
        </tr>
    }
}

/// Creates a token and shows its secret once. The button works only once hydrated.
#[island]
fn NewToken() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let answer = move || create.value().get();
    view! {
        <ActionForm action=create attr:class="form card" attr:aria-label="New token">
            <div class="form__field">
                <label for="token-name">"Name"</label>
                <input id="token-name" name="name" required placeholder="jupyterhub"/>
            </div>
            <div class="form__field">
                <label for="token-scope">"Scope"</label>
                <select id="token-scope" name="scope">
                    <option value="read">"read: list images and launchable images"</option>
                    <option value="write">"write: also change them (needs a user)"</option>
                </select>
            </div>
            <div class="form__field">
                <label for="token-user">"Acts as user"</label>
                <input id="token-user" name="user" placeholder="(none)" autocomplete="off"/>
                <p class="form__hint">"Leave empty for a launch page's token: it may read any user's launchable images, nothing else."</p>
            </div>
            {move || match answer() {
                Some(Ok(secret)) => Either::Left(view! {
                    <div class="token-secret" role="status">
                        <p>"The token, shown only now. Copy it to where it is used:"</p>
                        <output id="token-secret"><code>{secret}</code></output>
                        <p class="form__hint">"Reload the page to see it in the list."</p>
                    </div>
                }),
                Some(Err(e)) => Either::Right(Some(view! { <p class="form__error" role="alert">{e.to_string()}</p> })),
                None => Either::Right(None),
            }}
            {move || (!hydrated.get()).then(|| view! {
                <p class="form__hint">"Creating a token needs JavaScript, so its secret is shown only here, once. Without it, use "<code>"kiln token create"</code>"."</p>
            })}
            <div class="form__actions">
                <button type="submit" class="button button--primary" disabled=move || !hydrated.get()>"Create token"</button>
            </div>
        </ActionForm>
    }
}
