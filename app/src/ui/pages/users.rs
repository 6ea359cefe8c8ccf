//! People. System admins: every account, create one, disable or enable it, set a local
//! account's password. Group admins: their group's members. Everyone with a Kiln password:
//! change it. Plain forms: they work with and without JavaScript.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::accounts::{
    ChangeMyPassword, CreateGroup, CreateUser, DeleteGroup, DeleteUser, RemoveGroupMember,
    RenameGroup, ResetUserPassword, SetGroupMember, SetUserDisabled, groups_overview, members_of,
    users_overview,
};
use crate::domain::Role;
use crate::i18n::{Lang, error_message, field_message, t, tf, use_lang};
use crate::ui::components::status::ApiErrorView;
use crate::wire::ApiError;
use crate::wire::accounts::{GroupView, MemberView, MembersPage, UserView, UsersPage};

/// The message of the first refused post among `errors`, for the page's alert.
fn first_error(l: Lang, errors: [Option<ApiError>; 3]) -> Option<String> {
    errors.into_iter().flatten().next().map(|e| match e {
        ApiError::Invalid(f) => tf(
            l,
            "{field}: {message}",
            &[
                ("field", field_label(l, &f.field)),
                ("message", &field_message(l, &f)),
            ],
        ),
        other => error_message(l, &other),
    })
}

fn field_label(l: Lang, field: &str) -> &'static str {
    match field {
        "user" => t(l, "User name"),
        "password" => t(l, "Password"),
        "current_password" => t(l, "Current password"),
        "role" => t(l, "Role"),
        "group" | "name" => t(l, "Group name"),
        _ => t(l, "This field"),
    }
}

/// A role's word: the manual's 管理者 and 成員 in zh-TW.
fn role_word(l: Lang, role: Role) -> &'static str {
    match role {
        Role::Admin => t(l, "admin"),
        Role::Member => t(l, "member"),
    }
}

#[component]
pub fn UsersAdminPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| users_overview());
    let l = use_lang();
    view! {
        <Title text=t(l, "Users")/>
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => Either::Left(view! { <Users page/> }),
                    Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn Users(page: UsersPage) -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let disable = ServerAction::<SetUserDisabled>::new();
    let reset = ServerAction::<ResetUserPassword>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let l = use_lang();
    let error = first_error(
        l,
        [
            create.value().get_untracked().and_then(Result::err),
            disable.value().get_untracked().and_then(Result::err),
            reset.value().get_untracked().and_then(Result::err),
        ],
    )
    .or_else(|| {
        first_error(
            l,
            [
                delete.value().get_untracked().and_then(Result::err),
                None,
                None,
            ],
        )
    });
    let passwords_here = page.passwords_here;
    let rows = page
        .users
        .into_iter()
        .map(|user| user_row(l, user, passwords_here, disable, reset, delete))
        .collect_view();
    view! {
        <section class="images">
            <h1>{t(l, "Users")}</h1>
            <p class="form__hint">{t(l, "A disabled account cannot sign in; its sessions and tokens stop at their next request. Deleting an account deletes its memberships and tokens too; the audit log keeps its name.")}</p>
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <table class="table">
                <thead><tr>
                    <th scope="col">{t(l, "User")}</th><th scope="col">{t(l, "Account")}</th>
                    <th scope="col">{t(l, "Status")}</th><th scope="col">{t(l, "Change")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {passwords_here.then(|| view! {
                <h2>{t(l, "New user")}</h2>
                <ActionForm action=create attr:class="form card" attr:aria-label=t(l, "New user")>
                    <div class="form__field"><label for="user-name">{t(l, "User name")}</label><input id="user-name" name="name" required autocomplete="off"/></div>
                    <div class="form__field">
                        <label for="user-password">{t(l, "Password")}</label>
                        <input id="user-password" name="password" type="password" required autocomplete="new-password" aria-describedby="user-password-hint"/>
                        <p class="form__hint" id="user-password-hint">{t(l, "At least 8 characters. Tell it to them; they can change it under Change password.")}</p>
                    </div>
                    <label class="form__check" for="user-admin"><input type="checkbox" id="user-admin" name="system_admin"/>{t(l, "System admin")}</label>
                    <div class="form__actions"><button type="submit" class="button button--primary">{t(l, "Create user")}</button></div>
                </ActionForm>
            })}
        </section>
    }
}

fn user_row(
    l: Lang,
    user: UserView,
    passwords_here: bool,
    disable: ServerAction<SetUserDisabled>,
    reset: ServerAction<ResetUserPassword>,
    delete: ServerAction<DeleteUser>,
) -> impl IntoView {
    let name = user.name.clone();
    let delete_label = tf(l, "Delete {name}", &[("name", &name)]);
    let delete_button = delete_label.clone();
    let delete_name = name.clone();
    let account = match (user.local, user.system_admin) {
        (true, true) => t(l, "Kiln, system admin"),
        (true, false) => t(l, "Kiln"),
        (false, true) => t(l, "identity provider, system admin"),
        (false, false) => t(l, "identity provider"),
    };
    let (status, status_text, toggle, toggle_label) = match user.disabled {
        true => (
            "disabled",
            t(l, "disabled"),
            "false",
            tf(l, "Enable {name}", &[("name", &name)]),
        ),
        false => (
            "active",
            t(l, "active"),
            "true",
            tf(l, "Disable {name}", &[("name", &name)]),
        ),
    };
    let toggle_button = toggle_label.clone();
    let reset_form = (user.local && passwords_here).then(|| {
        let summary = tf(l, "Set the password of {name}", &[("name", &name)]);
        let id = format!("password-of-{name}");
        view! {
            <details class="row-change">
                <summary>{summary.clone()}</summary>
                <ActionForm action=reset attr:class="inline-form" attr:aria-label=summary>
                    <input type="hidden" name="name" value=name.clone()/>
                    <label for=id.clone()>{t(l, "New password")}</label>
                    <input id=id name="password" type="password" required autocomplete="new-password"/>
                    <button type="submit" class="button">{t(l, "Set password")}</button>
                </ActionForm>
            </details>
        }
    });
    view! {
        <tr>
            <td class="table__name">{user.name.clone()}</td>
            <td>{account}</td>
            <td class=format!("status status--{status}")>{status_text}</td>
            <td>
                <ActionForm action=disable attr:class="inline-form" attr:aria-label=toggle_label>
                    <input type="hidden" name="name" value=user.name/>
                    <input type="hidden" name="disabled" value=toggle/>
                    <button type="submit" class="button">{toggle_button}</button>
                </ActionForm>
                {reset_form}
                <ActionForm action=delete attr:class="inline-form" attr:aria-label=delete_label>
                    <input type="hidden" name="name" value=delete_name/>
                    <button type="submit" class="button button--danger">{delete_button}</button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
pub fn MembersAdminPage() -> impl IntoView {
    let params = use_params_map();
    let group = Memo::new(move |_| params.read().get("group").unwrap_or_default());
    let page = Resource::new(move || group.get(), members_of);
    let l = use_lang();
    let title = move || tf(l, "Members of {group}", &[("group", &group.get())]);
    view! {
        <Title text=title/>
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => Either::Left(view! { <Members page/> }),
                    Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn Members(page: MembersPage) -> impl IntoView {
    let set = ServerAction::<SetGroupMember>::new();
    let remove = ServerAction::<RemoveGroupMember>::new();
    let l = use_lang();
    let error = first_error(
        l,
        [
            set.value().get_untracked().and_then(Result::err),
            remove.value().get_untracked().and_then(Result::err),
            None,
        ],
    );
    let group = page.group.clone();
    let rows = page
        .members
        .into_iter()
        .map(|m| member_row(l, group.clone(), m, set, remove))
        .collect_view();
    let heading = tf(l, "Members of {group}", &[("group", &page.group)]);
    view! {
        <section class="images">
            <h1>{heading}</h1>
            {page.provider_owned.then(|| view! {
                <p class="form__hint" data-testid="provider-note">
                    {t(l, "Your identity provider decides who is in this group: the memberships it lists are renewed at each sign-in and can only be changed there. Members added here are Kiln's own.")}
                </p>
            })}
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <table class="table">
                <thead><tr><th scope="col">{t(l, "User")}</th><th scope="col">{t(l, "Role")}</th><th scope="col">{t(l, "Change")}</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <h2>{t(l, "Add a member")}</h2>
            <ActionForm action=set attr:class="form card" attr:aria-label=t(l, "Add a member")>
                <input type="hidden" name="group" value=page.group.clone()/>
                <div class="form__field"><label for="member-user">{t(l, "User name")}</label><input id="member-user" name="user" required autocomplete="off"/></div>
                <div class="form__field">
                    <label for="member-role">{t(l, "Role")}</label>
                    <select id="member-role" name="role">
                        <option value="member">{t(l, "member: launches the group's images")}</option>
                        <option value="admin">{t(l, "admin: also manages its images and members")}</option>
                    </select>
                </div>
                <div class="form__actions"><button type="submit" class="button button--primary">{t(l, "Add member")}</button></div>
            </ActionForm>
        </section>
    }
}

fn member_row(
    l: Lang,
    group: String,
    member: MemberView,
    set: ServerAction<SetGroupMember>,
    remove: ServerAction<RemoveGroupMember>,
) -> impl IntoView {
    let user = member.user.clone();
    let (other, other_label) = match member.role {
        Role::Admin => ("member", tf(l, "Make {user} a member", &[("user", &user)])),
        Role::Member => ("admin", tf(l, "Make {user} an admin", &[("user", &user)])),
    };
    let role_button = other_label.clone();
    let change = member.local.then(|| {
        let remove_label = tf(l, "Remove {user}", &[("user", &user)]);
        let remove_button = remove_label.clone();
        let (group2, user2) = (group.clone(), user.clone());
        view! {
            <ActionForm action=set attr:class="inline-form" attr:aria-label=other_label>
                <input type="hidden" name="group" value=group/>
                <input type="hidden" name="user" value=user/>
                <input type="hidden" name="role" value=other/>
                <button type="submit" class="button">{role_button}</button>
            </ActionForm>
            <ActionForm action=remove attr:class="inline-form" attr:aria-label=remove_label>
                <input type="hidden" name="group" value=group2/>
                <input type="hidden" name="user" value=user2/>
                <button type="submit" class="button button--danger">{remove_button}</button>
            </ActionForm>
        }
    });
    let from_provider = (!member.local)
        .then(|| view! { <span class="muted">{t(l, "from the identity provider")}</span> });
    view! {
        <tr>
            <td class="table__name">{member.user.clone()}</td>
            <td>{role_word(l, member.role)}</td>
            <td>{change}{from_provider}</td>
        </tr>
    }
}

#[component]
pub fn PasswordPage() -> impl IntoView {
    let change = ServerAction::<ChangeMyPassword>::new();
    let l = use_lang();
    let error = first_error(
        l,
        [
            change.value().get_untracked().and_then(Result::err),
            None,
            None,
        ],
    );
    view! {
        <Title text=t(l, "Change password")/>
        <section class="card card--narrow">
            <h1>{t(l, "Change password")}</h1>
            <p class="form__hint">{t(l, "Every session of yours ends, this one too: sign in again with the new password.")}</p>
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <ActionForm action=change attr:class="form" attr:aria-label=t(l, "Change password")>
                <div class="form__field"><label for="current-password">{t(l, "Current password")}</label><input id="current-password" name="current_password" type="password" required autocomplete="current-password"/></div>
                <div class="form__field"><label for="new-password">{t(l, "New password")}</label><input id="new-password" name="new_password" type="password" required autocomplete="new-password" minlength="8"/></div>
                <div class="form__actions"><button type="submit" class="button button--primary">{t(l, "Change password")}</button></div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn GroupsAdminPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| groups_overview());
    let l = use_lang();
    view! {
        <Title text=t(l, "Groups")/>
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(groups) => Either::Left(view! { <Groups groups/> }),
                    Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn Groups(groups: Vec<GroupView>) -> impl IntoView {
    let create = ServerAction::<CreateGroup>::new();
    let rename = ServerAction::<RenameGroup>::new();
    let delete = ServerAction::<DeleteGroup>::new();
    let l = use_lang();
    let error = first_error(
        l,
        [
            create.value().get_untracked().and_then(Result::err),
            rename.value().get_untracked().and_then(Result::err),
            delete.value().get_untracked().and_then(Result::err),
        ],
    );
    let rows = groups
        .into_iter()
        .map(|g| group_row(l, g, rename, delete))
        .collect_view();
    view! {
        <section class="images">
            <h1>{t(l, "Groups")}</h1>
            <p class="form__hint">{t(l, "Renaming keeps a group's images and their URLs; builds from then on push under the new name, and an identity provider must use the new name too. A group with images cannot be deleted.")}</p>
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <table class="table">
                <thead><tr>
                    <th scope="col">{t(l, "Group")}</th><th scope="col">{t(l, "Members")}</th>
                    <th scope="col">{t(l, "Images")}</th><th scope="col">{t(l, "Change")}</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <h2>{t(l, "New group")}</h2>
            <ActionForm action=create attr:class="form card" attr:aria-label=t(l, "New group")>
                <div class="form__field"><label for="group-name">{t(l, "Group name")}</label><input id="group-name" name="name" required autocomplete="off"/></div>
                <div class="form__actions"><button type="submit" class="button button--primary">{t(l, "Create group")}</button></div>
            </ActionForm>
        </section>
    }
}

fn group_row(
    l: Lang,
    group: GroupView,
    rename: ServerAction<RenameGroup>,
    delete: ServerAction<DeleteGroup>,
) -> impl IntoView {
    let name = group.name.clone();
    let rename_label = tf(l, "Rename {name}", &[("name", &name)]);
    let delete_label = tf(l, "Delete {name}", &[("name", &name)]);
    let delete_button = delete_label.clone();
    let input_id = format!("rename-{name}");
    let (hidden_rename, hidden_delete) = (name.clone(), name.clone());
    view! {
        <tr>
            <td class="table__name">{name.clone()}</td>
            <td>{group.members}</td>
            <td>{group.images}</td>
            <td>
                <details class="row-change">
                    <summary>{rename_label.clone()}</summary>
                    <ActionForm action=rename attr:class="inline-form" attr:aria-label=rename_label>
                        <input type="hidden" name="group" value=hidden_rename/>
                        <label for=input_id.clone()>{t(l, "New name")}</label>
                        <input id=input_id name="name" required autocomplete="off"/>
                        <button type="submit" class="button">{t(l, "Rename")}</button>
                    </ActionForm>
                </details>
                <ActionForm action=delete attr:class="inline-form" attr:aria-label=delete_label>
                    <input type="hidden" name="group" value=hidden_delete/>
                    <button type="submit" class="button button--danger">{delete_button}</button>
                </ActionForm>
            </td>
        </tr>
    }
}
