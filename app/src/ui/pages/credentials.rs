//! Registry credentials (system admins): create one, choose the groups that may use it.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::credentials::{CreateCredential, SetCredentialGroups, credentials_overview};
use crate::ui::components::status::ApiErrorView;
use crate::wire::accounts::{CredentialView, CredentialsPage};

#[component]
pub fn CredentialsAdminPage() -> impl IntoView {
    let create = ServerAction::<CreateCredential>::new();
    let save = ServerAction::<SetCredentialGroups>::new();
    // After a change the server sends the browser back here: read the list again.
    let page = Resource::new(
        move || (create.version().get(), save.version().get()),
        |_| credentials_overview(),
    );
    view! {
        <Title text="Registry credentials"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => Either::Left(view! { <Credentials page create save/> }),
                    Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn Credentials(
    page: CredentialsPage,
    create: ServerAction<CreateCredential>,
    save: ServerAction<SetCredentialGroups>,
) -> impl IntoView {
    let error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let all_groups = page.all_groups.clone();
    view! {
        <section class="images">
            <h1>"Registry credentials"</h1>
            <p class="form__hint">"Image pull secrets. Passwords are sealed with the server's key and never shown again."</p>
            {if page.credentials.is_empty() {
                Either::Left(view! { <p class="empty">"No registry credentials yet."</p> })
            } else {
                Either::Right(view! {
                    <table class="table">
                        <thead><tr>
                            <th scope="col">"Name"</th><th scope="col">"Registry"</th>
                            <th scope="col">"Username"</th><th scope="col">"Groups that may use it"</th>
                        </tr></thead>
                        <tbody>
                            {page.credentials.into_iter().map(|c| view! { <CredentialRow credential=c all_groups=all_groups.clone() save/> }).collect_view()}
                        </tbody>
                    </table>
                })
            }}
            <h2>"New credential"</h2>
            <ActionForm action=create attr:class="form card" attr:aria-label="New credential">
                <div class="form__field"><label for="cred-name">"Name"</label><input id="cred-name" name="name" required/></div>
                <div class="form__field"><label for="cred-registry">"Registry"</label><input id="cred-registry" name="registry" placeholder="ghcr.io" required/></div>
                <div class="form__field"><label for="cred-username">"Username"</label><input id="cred-username" name="username" autocomplete="off" required/></div>
                <div class="form__field"><label for="cred-password">"Password or token"</label><input id="cred-password" name="password" type="password" autocomplete="new-password" required/></div>
                <GroupChoices all_groups=page.all_groups chosen=Vec::new() prefix="new"/>
                {move || error().map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
                <div class="form__actions"><button type="submit" class="button button--primary">"Create"</button></div>
            </ActionForm>
        </section>
    }
}

#[component]
fn CredentialRow(
    credential: CredentialView,
    all_groups: Vec<String>,
    save: ServerAction<SetCredentialGroups>,
) -> impl IntoView {
    let prefix = credential.name.clone();
    let label = format!("Groups of {}", credential.name);
    let name = credential.name.clone();
    view! {
        <tr>
            <td class="table__name">{credential.name.clone()}</td>
            <td>{credential.registry}</td>
            <td>{credential.username}</td>
            <td>
                <ActionForm action=save attr:class="inline-form" attr:aria-label=label>
                    <input type="hidden" name="name" value=name/>
                    <GroupChoices all_groups chosen=credential.groups prefix/>
                    <button type="submit" class="button">"Save groups"</button>
                </ActionForm>
            </td>
        </tr>
    }
}

/// Checkboxes of groups, posted as `groups[]`.
#[component]
fn GroupChoices(
    all_groups: Vec<String>,
    chosen: Vec<String>,
    #[prop(into)] prefix: String,
) -> impl IntoView {
    view! {
        <fieldset class="form__group">
            <legend>"Groups that may use it"</legend>
            {all_groups.into_iter().map(|g| {
                let id = format!("{prefix}-group-{g}");
                let label_for = id.clone();
                let checked = chosen.contains(&g);
                view! {
                    <label class="form__check" for=label_for>
                        <input type="checkbox" id=id name="groups[]" value=g.clone() checked=checked/>{g.clone()}
                    </label>
                }
            }).collect_view()}
        </fieldset>
    }
}
