//! The start page: sends admins to their first group's images and tells members what Kiln is for them.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::domain::Role;
use crate::ui::Session;
use crate::ui::components::status::ApiErrorView;
use crate::wire::accounts::Me;

#[component]
pub fn HomePage() -> impl IntoView {
    let session = expect_context::<Session>();
    view! {
        <Title text="Home"/>
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
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
    let groups = me
        .groups
        .iter()
        .map(|(g, role)| view! { <li>{g.clone()} " (" {if *role == Role::Admin { "admin" } else { "member" }} ")"</li> })
        .collect_view();
    view! {
        <section class="card">
            <h1>"Welcome, " {me.name.clone()}</h1>
            {if me.groups.is_empty() {
                Either::Left(view! { <p>"You are not in any group yet. Ask a system admin to add you to one."</p> })
            } else {
                Either::Right(view! {
                    <p>"Your groups:"</p>
                    <ul>{groups}</ul>
                    <p>"Members launch their groups' images from the notebook launch page. Only group admins manage images here."</p>
                })
            }}
        </section>
    }
}
