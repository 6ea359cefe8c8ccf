//! Edit an image (the pen): refused with a clear message when someone changed it meanwhile.

use crate::i18n::{t, tf, use_lang};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::fields::{ImageFields, form_level_error};
use super::{group_param, name_param};
use crate::api::images::{UpdateImage, get_image, list_path, pull_secret_choices};
use crate::ui::components::status::ApiErrorView;
use crate::wire::images::ImageDetail;

#[component]
pub fn EditImagePage() -> impl IntoView {
    let group = group_param();
    let name = name_param();
    let detail = Resource::new(move || (group.get(), name.get()), |(g, n)| get_image(g, n));
    let choices = Resource::new(move || group.get(), pull_secret_choices);
    let l = use_lang();
    view! {
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
            {move || Suspend::new(async move {
                match (detail.await, choices.await) {
                    (Ok(detail), Ok(pull_secrets)) => {
                        Either::Left(view! { <EditImage group=group.get_untracked() detail pull_secrets/> })
                    }
                    (Err(error), _) | (_, Err(error)) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn EditImage(
    group: Option<String>,
    detail: ImageDetail,
    pull_secrets: Vec<String>,
) -> impl IntoView {
    let action = ServerAction::<UpdateImage>::new();
    let server_error = action.value().get_untracked().and_then(Result::err);
    let base = list_path(group.as_deref());
    let l = use_lang();
    let name = [("name", detail.form.display_name.as_str())];
    view! {
        <Title text=tf(l, "Edit {name}", &name)/>
        <section class="card">
            <h1>{tf(l, "Edit image {name}", &name)}</h1>
            <ActionForm action=action attr:class="form" attr:aria-label=t(l, "Edit image")>
                {group.map(|g| view! { <input type="hidden" name="group" value=g/> })}
                <input type="hidden" name="name" value=detail.name.clone()/>
                <input type="hidden" name="version" value=detail.version/>
                <ImageFields initial=detail.form pull_secrets server_error=server_error.clone() fixed_name=Some(detail.name)/>
                {form_level_error(server_error).map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
                <div class="form__actions">
                    <button type="submit" class="button button--primary">{t(l, "Save")}</button>
                    <A href=base attr:class="button">{t(l, "Cancel")}</A>
                </div>
            </ActionForm>
        </section>
    }
}
