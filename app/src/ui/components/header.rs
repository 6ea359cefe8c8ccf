//! The top bar: Kiln, the group switcher, the signed-in user and sign-out.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::api::language::SetLanguage;
use crate::i18n::{Lang, t, use_lang};
use crate::ui::Session;
use crate::wire::accounts::Me;

#[component]
pub fn Header() -> impl IntoView {
    let session = expect_context::<Session>();
    let l = use_lang();
    view! {
        <header class="topbar">
            <A href="/" attr:class="topbar__brand">"Kiln"</A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match session.me.await {
                        Ok(Some(me)) => Either::Left(view! { <UserBar me/> }),
                        _ => Either::Right(view! {
                            <nav class="topbar__user" aria-label=t(l, "Account")>
                                <A href="/login">{t(l, "Sign in")}</A>
                                <LanguageSwitch/>
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
    let l = use_lang();
    let role = me.system_admin.then(|| t(l, "system admin"));
    view! {
        <nav class="topbar__nav" aria-label=t(l, "Main")>
            <A href="/launch" attr:class="topbar__link">{t(l, "Launch")}</A>
            {me.manages.first().cloned().map(|first| view! { <ImagesLink first/> })}
            {(!me.manages.is_empty()).then(|| view! { <GroupSwitcher groups=me.manages.clone()/> })}
            {me.system_admin.then(|| view! {
                <A href="/admin/images" attr:class="topbar__link">{t(l, "Global images")}</A>
                <A href="/admin/users" attr:class="topbar__link">{t(l, "Users")}</A>
                <A href="/admin/groups" attr:class="topbar__link">{t(l, "Groups")}</A>
                <A href="/admin/credentials" attr:class="topbar__link">{t(l, "Registry credentials")}</A>
                <A href="/admin/tokens" attr:class="topbar__link">{t(l, "Service tokens")}</A>
                <A href="/admin/audit" attr:class="topbar__link">{t(l, "Audit log")}</A>
            })}
        </nav>
        <div class="topbar__user">
            <span class="topbar__name" data-testid="signed-in-user">{me.name.clone()}</span>
            <A href="/me/tokens" attr:class="topbar__link">{t(l, "Your tokens")}</A>
            {me.has_password.then(|| view! { <A href="/me/password" attr:class="topbar__link">{t(l, "Change password")}</A> })}
            {role.map(|r| view! { <span class="badge">{r}</span> })}
            {(!me.via_proxy).then(|| view! {
                <ActionForm action=session.logout attr:class="topbar__logout">
                    <button type="submit" class="button button--quiet">{t(l, "Sign out")}</button>
                </ActionForm>
            })}
            <LanguageSwitch/>
        </div>
    }
}

/// Offers the other language, named in itself; the choice is remembered (a cookie) and the
/// same page comes back in it. A plain form: no script needed.
#[component]
fn LanguageSwitch() -> impl IntoView {
    let l = use_lang();
    let location = use_location();
    let here = move || {
        let search = location.search.get();
        let path = location.pathname.get();
        if search.is_empty() {
            path
        } else {
            format!("{path}?{search}")
        }
    };
    let action = ServerAction::<SetLanguage>::new();
    view! {
        <ActionForm action attr:class="topbar__language">
            <input type="hidden" name="next" value=here/>
            {Lang::ALL.into_iter().filter(|other| *other != l).map(|other| view! {
                <button type="submit" name="lang" value=other.tag() lang=other.tag()
                    class="button button--quiet" title=t(l, "Language")>{other.own_name()}</button>
            }).collect_view()}
        </ActionForm>
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
    let l = use_lang();
    view! { <a href=href class="topbar__link">{t(l, "Images")}</a> }
}

/// Moves between the groups the user manages: a disclosure of plain links, no script needed.
#[component]
fn GroupSwitcher(
    /// Names of the groups to offer.
    groups: Vec<String>,
) -> impl IntoView {
    let location = use_location();
    let current = Memo::new(move |_| group_in_path(&location.pathname.get()));
    let l = use_lang();
    view! {
        <details class="switcher">
            <summary class="switcher__toggle">
                {t(l, "Group: ")}
                <strong data-testid="current-group">{move || current.get().unwrap_or_else(|| t(l, "choose…").into())}</strong>
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
