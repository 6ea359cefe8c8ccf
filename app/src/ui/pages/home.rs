//! The start page: sends admins to their first group's images and tells members what Kiln is for them.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::domain::Role;
use crate::i18n::{t, tf, use_lang};
use crate::ui::Session;
use crate::ui::components::status::ApiErrorView;
use crate::wire::accounts::Me;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = expect_context::<Session>();
    let l = use_lang();
    view! {
        <Title text=t(l, "Home")/>
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
            {move || Suspend::new(async move {
                match session.me.await {
                    Ok(None) => EitherOf3::A(view! { <Redirect path="/login"/> }),
                    Ok(Some(me)) => EitherOf3::B(match me.manages.first() {
                        Some(group) => Either::Left(view! { <Redirect path=format!("/groups/{group}/images")/> }),
                        None => Either::Right(view! { <MemberHome me/> }),
                    }),
                    Err(error) => EitherOf3::C(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn MemberHome(me: Me) -> impl IntoView {
    let l = use_lang();
    let groups = me
        .groups
        .iter()
        .map(|(g, role)| {
            let role = if *role == Role::Admin {
                t(l, "admin")
            } else {
                t(l, "member")
            };
            let text = tf(l, "{group} ({role})", &[("group", g), ("role", role)]);
            view! { <li>{text}</li> }
        })
        .collect_view();
    view! {
        <section class="card">
            <h1>{t(l, "Welcome, ")} {me.name.clone()}</h1>
            {if me.groups.is_empty() {
                Either::Left(view! { <p>{t(l, "You are not in any group yet. Ask a system admin to add you to one.")}</p> })
            } else {
                Either::Right(view! {
                    <p>{t(l, "Your groups:")}</p>
                    <ul>{groups}</ul>
                    <p>{t(l, "Members launch their groups' images from the notebook launch page. Only group admins manage images here.")}</p>
                })
            }}
        </section>
    }
}
