//! Delete an image (the trash can), after a confirmation that names it.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::fields::form_level_error;
use super::{group_param, name_param, scope_title};
use crate::api::images::{DeleteImage, get_image, list_path};
use crate::ui::components::status::ApiErrorView;
use crate::wire::images::ImageDetail;

#[component]
pub fn DeleteImagePage() -> impl IntoView {
    let group = group_param();
    let name = name_param();
    let detail = Resource::new(move || (group.get(), name.get()), |(g, n)| get_image(g, n));
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => Either::Left(view! { <ConfirmDelete group=group.get_untracked() detail/> }),
                    Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn ConfirmDelete(group: Option<String>, detail: ImageDetail) -> impl IntoView {
    let action = ServerAction::<DeleteImage>::new();
    let error = move || form_level_error(action.value().get().and_then(Result::err));
    let base = list_path(group.as_deref());
    let display = detail.form.display_name.clone();
    let scope = scope_title(group.as_deref());
    view! {
        <Title text=format!("Delete {display}")/>
        <section class="card card--narrow">
            <h1>{format!("Delete image {display}?")}</h1>
            <p>{format!("{scope} will no longer offer {display} ({}) to launch. This cannot be undone.", detail.form.url)}</p>
            <ActionForm action=action attr:class="form" attr:aria-label="Confirm deletion">
                {group.map(|g| view! { <input type="hidden" name="group" value=g/> })}
                <input type="hidden" name="name" value=detail.name.clone()/>
                {move || error().map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
                <div class="form__actions">
                    <button type="submit" class="button button--danger">{format!("Delete image {display}")}</button>
                    <A href=base attr:class="button">"Cancel"</A>
                </div>
            </ActionForm>
        </section>
    }
}
