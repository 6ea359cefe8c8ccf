//! The top bar: Kiln, the group switcher, the signed-in user and sign-out.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::ui::Session;
use crate::wire::accounts::Me;

#[component]
pub fn Header() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <header class="topbar">
            <A href="/" attr:class="topbar__brand">"Kiln"</A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.me.await {
                        Ok(Some(me)) => Either::Left(view! { <UserBar me/> }),
                        _ => Either::Right(view! {
                            <nav class="topbar__user" aria-label="Account">
                                <A href="/login">"Sign in"</A>
                            </nav>
                        }),
                    }
                })}
            </Transition>
        </header>
    }
}

#[component]
fn UserBar(me: Me) -> impl IntoView {
    let session = expect_context::<Session>();
    let role = if me.system_admin {
        Some("system admin")
    } else {
        None
    };
    view! {
        <nav class="topbar__nav" aria-label="Main">
            <A href="/launch" attr:class="topbar__link">"Launch"</A>
            {me.manages.first().cloned().map(|first| view! { <ImagesLink first/> })}
            {(!me.manages.is_empty()).then(|| view! { <GroupSwitcher groups=me.manages.clone()/> })}
            {me.system_admin.then(|| view! {
                <A href="/admin/images" attr:class="topbar__link">"Global images"</A>
                <A href="/admin/users" attr:class="topbar__link">"Users"</A>
                <A href="/admin/groups" attr:class="topbar__link">"Groups"</A>
                <A href="/admin/credentials" attr:class="topbar__link">"Registry credentials"</A>
                <A href="/admin/tokens" attr:class="topbar__link">"Service tokens"</A>
                <A href="/admin/audit" attr:class="topbar__link">"Audit log"</A>
            })}
        </nav>
        <div class="topbar__user">
            <span class="topbar__name" data-testid="signed-in-user">{me.name.clone()}</span>
            <A href="/me/tokens" attr:class="topbar__link">"Your tokens"</A>
            {me.has_password.then(|| view! { <A href="/me/password" attr:class="topbar__link">"Change password"</A> })}
            {role.map(|r| view! { <span class="badge">{r}</span> })}
            {(!me.via_proxy).then(|| view! {
                <ActionForm action=session.logout attr:class="topbar__logout">
                    <button type="submit" class="button button--quiet">"Sign out"</button>
                </ActionForm>
            })}
        </div>
    }
}

/// The group whose page is open, read from a path like `/groups/ml/images`.
fn group_in_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/groups/")?;
    rest.split('/')
        .next()
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
}

/// "Images": the open group's Images page (the manual's name for it), else the first group
/// the user manages.
#[component]
fn ImagesLink(first: String) -> impl IntoView {
    let location = use_location();
    let href = move || {
        let group = group_in_path(&location.pathname.get()).unwrap_or_else(|| first.clone());
        format!("/groups/{group}/images")
    };
    view! { <a href=href class="topbar__link">"Images"</a> }
}

/// Moves between the groups the user manages: a disclosure of plain links, no script needed.
#[component]
fn GroupSwitcher(
    /// Names of the groups to offer.
    groups: Vec<String>,
) -> impl IntoView {
    let location = use_location();
    let current = Memo::new(move |_| group_in_path(&location.pathname.get()));
    view! {
        <details class="switcher">
            <summary class="switcher__toggle">
                "Group: "
                <strong data-testid="current-group">{move || current.get().unwrap_or_else(|| "choose…".into())}</strong>
            </summary>
            <ul class="switcher__menu">
                {groups
                    .into_iter()
                    .map(|group| {
                        let href = format!("/groups/{group}/images");
                        let name = group.clone();
                        let here = move || (current.get().as_deref() == Some(name.as_str())).then_some("page");
                        view! {
                            <li>
                                <A href=href attr:class="switcher__item" attr:aria-current=here>{group}</A>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </details>
    }
}

#[cfg(test)]
mod tests {
    use super::group_in_path;

    #[test]
    fn the_current_group_comes_from_the_path() {
        assert_eq!(group_in_path("/groups/ml/images"), Some("ml".into()));
        assert_eq!(group_in_path("/groups/"), None);
        assert_eq!(group_in_path("/login"), None);
    }
}
