//! Delete an image (the trash can), after a confirmation that names it.

use crate::i18n::{t, tf, use_lang};
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
    let l = use_lang();
    view! {
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
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
    let l = use_lang();
    let scope = scope_title(l, group.as_deref());
    let name = [("name", display.as_str())];
    let (title, heading) = (
        tf(l, "Delete {name}", &name),
        tf(l, "Delete image {name}?", &name),
    );
    let button = tf(l, "Delete image {name}", &name);
    let warning = tf(
        l,
        "{scope} will no longer offer {name} ({url}) to launch. This cannot be undone.",
        &[
            ("scope", &scope),
            ("name", &display),
            ("url", &detail.form.url),
        ],
    );
    view! {
        <Title text=title/>
        <section class="card card--narrow">
            <h1>{heading}</h1>
            <p>{warning}</p>
            <ActionForm action=action attr:class="form" attr:aria-label=t(l, "Confirm deletion")>
                {group.map(|g| view! { <input type="hidden" name="group" value=g/> })}
                <input type="hidden" name="name" value=detail.name.clone()/>
                {move || error().map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
                <div class="form__actions">
                    <button type="submit" class="button button--danger">{button}</button>
                    <A href=base attr:class="button">{t(l, "Cancel")}</A>
                </div>
            </ActionForm>
        </section>
    }
}
