//! Registry credentials (system admins): create one, choose the groups that may use it.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::credentials::{
    ChangeCredential, CreateCredential, DeleteCredential, SetCredentialGroups, credentials_overview,
};
use crate::i18n::{error_message, t, tf, use_lang};
use crate::ui::components::status::ApiErrorView;
use crate::wire::accounts::{CredentialView, CredentialsPage};

#[component]
pub fn CredentialsAdminPage() -> impl IntoView {
    let create = ServerAction::<CreateCredential>::new();
    let save = ServerAction::<SetCredentialGroups>::new();
    let actions = RowActions {
        save,
        change: ServerAction::<ChangeCredential>::new(),
        delete: ServerAction::<DeleteCredential>::new(),
    };
    // After a change the server sends the browser back here: read the list again.
    let page = Resource::new(
        move || {
            (
                create.version().get(),
                save.version().get(),
                actions.change.version().get(),
                actions.delete.version().get(),
            )
        },
        |_| credentials_overview(),
    );
    let l = use_lang();
    view! {
        <Title text=t(l, "Registry credentials")/>
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => Either::Left(view! { <Credentials page create actions/> }),
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
    actions: RowActions,
) -> impl IntoView {
    let error = move || {
        create
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| error_message(use_lang(), &e))
    };
    // A row's change or deletion that was refused says why, above the table.
    let row_error = move || {
        actions
            .change
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| actions.delete.value().get().and_then(Result::err))
            .or_else(|| actions.save.value().get().and_then(Result::err))
            .map(|e| error_message(use_lang(), &e))
    };
    let all_groups = page.all_groups.clone();
    let l = use_lang();
    view! {
        <section class="images">
            <h1>{t(l, "Registry credentials")}</h1>
            <p class="form__hint">{t(l, "Image pull secrets. Passwords are sealed with the server's key and never shown again.")}</p>
            {move || row_error().map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            {if page.credentials.is_empty() {
                Either::Left(view! { <p class="empty">{t(l, "No registry credentials yet.")}</p> })
            } else {
                Either::Right(view! {
                    <table class="table">
                        <thead><tr>
                            <th scope="col">{t(l, "Name")}</th><th scope="col">{t(l, "Registry")}</th>
                            <th scope="col">{t(l, "Username")}</th><th scope="col">{t(l, "Groups that may use it")}</th>
                            <th scope="col">{t(l, "Change")}</th>
                        </tr></thead>
                        <tbody>
                            {page.credentials.into_iter().map(|c| view! { <CredentialRow credential=c all_groups=all_groups.clone() actions/> }).collect_view()}
                        </tbody>
                    </table>
                })
            }}
            <h2>{t(l, "New credential")}</h2>
            <ActionForm action=create attr:class="form card" attr:aria-label=t(l, "New credential")>
                <div class="form__field"><label for="cred-name">{t(l, "Name")}</label><input id="cred-name" name="name" required/></div>
                <div class="form__field"><label for="cred-registry">{t(l, "Registry")}</label><input id="cred-registry" name="registry" placeholder="ghcr.io" required/></div>
                <div class="form__field"><label for="cred-username">{t(l, "Username")}</label><input id="cred-username" name="username" autocomplete="off" required/></div>
                <div class="form__field"><label for="cred-password">{t(l, "Password or token")}</label><input id="cred-password" name="password" type="password" autocomplete="new-password" required/></div>
                <GroupChoices all_groups=page.all_groups chosen=Vec::new() prefix="new"/>
                {move || error().map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
                <div class="form__actions"><button type="submit" class="button button--primary">{t(l, "Create")}</button></div>
            </ActionForm>
        </section>
    }
}

/// The forms each row posts to.
#[derive(Clone, Copy)]
struct RowActions {
    save: ServerAction<SetCredentialGroups>,
    change: ServerAction<ChangeCredential>,
    delete: ServerAction<DeleteCredential>,
}

#[component]
fn CredentialRow(
    credential: CredentialView,
    all_groups: Vec<String>,
    actions: RowActions,
) -> impl IntoView {
    let RowActions {
        save,
        change,
        delete,
    } = actions;
    let prefix = credential.name.clone();
    let l = use_lang();
    let label = tf(l, "Groups of {name}", &[("name", &credential.name)]);
    let name = credential.name.clone();
    let (change_name, delete_name) = (name.clone(), name.clone());
    let change_label = tf(l, "Change {name}", &[("name", &name)]);
    let delete_label = tf(l, "Delete {name}", &[("name", &name)]);
    let delete_button = delete_label.clone();
    let user_id = format!("{name}-username");
    let password_id = format!("{name}-password");
    view! {
        <tr>
            <td class="table__name">{credential.name.clone()}</td>
            <td>{credential.registry}</td>
            <td>{credential.username}</td>
            <td>
                <ActionForm action=save attr:class="inline-form" attr:aria-label=label>
                    <input type="hidden" name="name" value=name/>
                    <GroupChoices all_groups chosen=credential.groups prefix/>
                    <button type="submit" class="button">{t(l, "Save groups")}</button>
                </ActionForm>
            </td>
            <td>
                <details class="row-change">
                    <summary>{change_label.clone()}</summary>
                    <ActionForm action=change attr:class="form" attr:aria-label=change_label>
                        <input type="hidden" name="name" value=change_name/>
                        <div class="form__field">
                            <label for=user_id.clone()>{t(l, "New username")}</label>
                            <input id=user_id name="username" autocomplete="off" placeholder=t(l, "(unchanged)")/>
                        </div>
                        <div class="form__field">
                            <label for=password_id.clone()>{t(l, "New password or token")}</label>
                            <input id=password_id name="password" type="password" autocomplete="new-password" placeholder=t(l, "(unchanged)")/>
                        </div>
                        <button type="submit" class="button button--primary">{t(l, "Save")}</button>
                    </ActionForm>
                    <ActionForm action=delete attr:class="inline-form" attr:aria-label=delete_label>
                        <input type="hidden" name="name" value=delete_name/>
                        <button type="submit" class="button button--danger">{delete_button}</button>
                    </ActionForm>
                </details>
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
    let l = use_lang();
    view! {
        <fieldset class="form__group">
            <legend>{t(l, "Groups that may use it")}</legend>
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
