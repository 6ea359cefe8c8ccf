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
use crate::ui::components::status::ApiErrorView;
use crate::wire::ApiError;
use crate::wire::accounts::{GroupView, MemberView, MembersPage, UserView, UsersPage};

/// The message of the first refused post among `errors`, for the page's alert.
fn first_error(errors: [Option<ApiError>; 3]) -> Option<String> {
    errors.into_iter().flatten().next().map(|e| match e {
        ApiError::Invalid(f) => format!("{}: {}", field_label(&f.field), f.message),
        other => other.to_string(),
    })
}

fn field_label(field: &str) -> &'static str {
    match field {
        "user" => "User name",
        "password" => "Password",
        "current_password" => "Current password",
        "role" => "Role",
        "group" | "name" => "Group name",
        _ => "This field",
    }
}

#[component]
pub fn UsersAdminPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| users_overview());
    view! {
        <Title text="Users"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
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
    let error = first_error([
        create.value().get_untracked().and_then(Result::err),
        disable.value().get_untracked().and_then(Result::err),
        reset.value().get_untracked().and_then(Result::err),
    ])
    .or_else(|| {
        first_error([
            delete.value().get_untracked().and_then(Result::err),
            None,
            None,
        ])
    });
    let passwords_here = page.passwords_here;
    let rows = page
        .users
        .into_iter()
        .map(|user| user_row(user, passwords_here, disable, reset, delete))
        .collect_view();
    view! {
        <section class="images">
            <h1>"Users"</h1>
            <p class="form__hint">"A disabled account cannot sign in; its sessions and tokens stop at their next request. Deleting an account deletes its memberships and tokens too; the audit log keeps its name."</p>
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <table class="table">
                <thead><tr>
                    <th scope="col">"User"</th><th scope="col">"Account"</th>
                    <th scope="col">"Status"</th><th scope="col">"Change"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            {passwords_here.then(|| view! {
                <h2>"New user"</h2>
                <ActionForm action=create attr:class="form card" attr:aria-label="New user">
                    <div class="form__field"><label for="user-name">"User name"</label><input id="user-name" name="name" required autocomplete="off"/></div>
                    <div class="form__field">
                        <label for="user-password">"Password"</label>
                        <input id="user-password" name="password" type="password" required autocomplete="new-password" aria-describedby="user-password-hint"/>
                        <p class="form__hint" id="user-password-hint">"At least 8 characters. Tell it to them; they can change it under Change password."</p>
                    </div>
                    <label class="form__check" for="user-admin"><input type="checkbox" id="user-admin" name="system_admin"/>"System admin"</label>
                    <div class="form__actions"><button type="submit" class="button button--primary">"Create user"</button></div>
                </ActionForm>
            })}
        </section>
    }
}

fn user_row(
    user: UserView,
    passwords_here: bool,
    disable: ServerAction<SetUserDisabled>,
    reset: ServerAction<ResetUserPassword>,
    delete: ServerAction<DeleteUser>,
) -> impl IntoView {
    let name = user.name.clone();
    let delete_label = format!("Delete {name}");
    let delete_button = delete_label.clone();
    let delete_name = name.clone();
    let account = match (user.local, user.system_admin) {
        (true, true) => "Kiln, system admin",
        (true, false) => "Kiln",
        (false, true) => "identity provider, system admin",
        (false, false) => "identity provider",
    };
    let (status, toggle, toggle_label) = match user.disabled {
        true => ("disabled", "false", format!("Enable {name}")),
        false => ("active", "true", format!("Disable {name}")),
    };
    let toggle_button = toggle_label.clone();
    let reset_form = (user.local && passwords_here).then(|| {
        let summary = format!("Set the password of {name}");
        let id = format!("password-of-{name}");
        view! {
            <details class="row-change">
                <summary>{summary.clone()}</summary>
                <ActionForm action=reset attr:class="inline-form" attr:aria-label=summary>
                    <input type="hidden" name="name" value=name.clone()/>
                    <label for=id.clone()>"New password"</label>
                    <input id=id name="password" type="password" required autocomplete="new-password"/>
                    <button type="submit" class="button">"Set password"</button>
                </ActionForm>
            </details>
        }
    });
    view! {
        <tr>
            <td class="table__name">{user.name.clone()}</td>
            <td>{account}</td>
            <td class=format!("status status--{status}")>{status}</td>
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
    view! {
        <Title text=move || format!("Members of {}", group.get())/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
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
    let error = first_error([
        set.value().get_untracked().and_then(Result::err),
        remove.value().get_untracked().and_then(Result::err),
        None,
    ]);
    let group = page.group.clone();
    let rows = page
        .members
        .into_iter()
        .map(|m| member_row(group.clone(), m, set, remove))
        .collect_view();
    view! {
        <section class="images">
            <h1>{format!("Members of {}", page.group)}</h1>
            {page.provider_owned.then(|| view! {
                <p class="form__hint" data-testid="provider-note">
                    "Your identity provider decides who is in this group: the memberships it lists are renewed at each sign-in and can only be changed there. Members added here are Kiln's own."
                </p>
            })}
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <table class="table">
                <thead><tr><th scope="col">"User"</th><th scope="col">"Role"</th><th scope="col">"Change"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <h2>"Add a member"</h2>
            <ActionForm action=set attr:class="form card" attr:aria-label="Add a member">
                <input type="hidden" name="group" value=page.group.clone()/>
                <div class="form__field"><label for="member-user">"User name"</label><input id="member-user" name="user" required autocomplete="off"/></div>
                <div class="form__field">
                    <label for="member-role">"Role"</label>
                    <select id="member-role" name="role">
                        <option value="member">"member: launches the group's images"</option>
                        <option value="admin">"admin: also manages its images and members"</option>
                    </select>
                </div>
                <div class="form__actions"><button type="submit" class="button button--primary">"Add member"</button></div>
            </ActionForm>
        </section>
    }
}

fn member_row(
    group: String,
    member: MemberView,
    set: ServerAction<SetGroupMember>,
    remove: ServerAction<RemoveGroupMember>,
) -> impl IntoView {
    let user = member.user.clone();
    let (other, other_label) = match member.role {
        Role::Admin => ("member", format!("Make {user} a member")),
        Role::Member => ("admin", format!("Make {user} an admin")),
    };
    let role_button = other_label.clone();
    let change = member.local.then(|| {
        let remove_label = format!("Remove {user}");
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
    let from_provider =
        (!member.local).then(|| view! { <span class="muted">"from the identity provider"</span> });
    view! {
        <tr>
            <td class="table__name">{member.user.clone()}</td>
            <td>{member.role.to_string()}</td>
            <td>{change}{from_provider}</td>
        </tr>
    }
}

#[component]
pub fn PasswordPage() -> impl IntoView {
    let change = ServerAction::<ChangeMyPassword>::new();
    let error = first_error([
        change.value().get_untracked().and_then(Result::err),
        None,
        None,
    ]);
    view! {
        <Title text="Change password"/>
        <section class="card card--narrow">
            <h1>"Change password"</h1>
            <p class="form__hint">"Every session of yours ends, this one too: sign in again with the new password."</p>
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <ActionForm action=change attr:class="form" attr:aria-label="Change password">
                <div class="form__field"><label for="current-password">"Current password"</label><input id="current-password" name="current_password" type="password" required autocomplete="current-password"/></div>
                <div class="form__field"><label for="new-password">"New password"</label><input id="new-password" name="new_password" type="password" required autocomplete="new-password" minlength="8"/></div>
                <div class="form__actions"><button type="submit" class="button button--primary">"Change password"</button></div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn GroupsAdminPage() -> impl IntoView {
    let page = Resource::new(|| (), |_| groups_overview());
    view! {
        <Title text="Groups"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
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
    let error = first_error([
        create.value().get_untracked().and_then(Result::err),
        rename.value().get_untracked().and_then(Result::err),
        delete.value().get_untracked().and_then(Result::err),
    ]);
    let rows = groups
        .into_iter()
        .map(|g| group_row(g, rename, delete))
        .collect_view();
    view! {
        <section class="images">
            <h1>"Groups"</h1>
            <p class="form__hint">"Renaming keeps a group's images and their URLs; builds from then on push under the new name, and an identity provider must use the new name too. A group with images cannot be deleted."</p>
            {error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <table class="table">
                <thead><tr>
                    <th scope="col">"Group"</th><th scope="col">"Members"</th>
                    <th scope="col">"Images"</th><th scope="col">"Change"</th>
                </tr></thead>
                <tbody>{rows}</tbody>
            </table>
            <h2>"New group"</h2>
            <ActionForm action=create attr:class="form card" attr:aria-label="New group">
                <div class="form__field"><label for="group-name">"Group name"</label><input id="group-name" name="name" required autocomplete="off"/></div>
                <div class="form__actions"><button type="submit" class="button button--primary">"Create group"</button></div>
            </ActionForm>
        </section>
    }
}

fn group_row(
    group: GroupView,
    rename: ServerAction<RenameGroup>,
    delete: ServerAction<DeleteGroup>,
) -> impl IntoView {
    let name = group.name.clone();
    let rename_label = format!("Rename {name}");
    let delete_label = format!("Delete {name}");
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
                        <label for=input_id.clone()>"New name"</label>
                        <input id=input_id name="name" required autocomplete="off"/>
                        <button type="submit" class="button">"Rename"</button>
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
