//! An image's life after publishing: deprecate it (a successor, a retire date), retire it
//! now, or restore it. Plain forms: they work with and without JavaScript.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::{group_param, name_param};
use crate::api::images::{DeprecateImage, RestoreImage, RetireImage, image_lifecycle, list_path};
use crate::domain::{Owner, Standing};
use crate::i18n::{Lang, error_message, field_message, said_message, t, tf, use_lang};
use crate::ui::components::status::ApiErrorView;
use crate::wire::ApiError;
use crate::wire::images::LifecycleView;

#[component]
pub fn LifecyclePage() -> impl IntoView {
    let group = group_param();
    let name = name_param();
    let view_of = Resource::new(
        move || (group.get(), name.get()),
        |(g, n)| image_lifecycle(g, n),
    );
    let l = use_lang();
    view! {
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
            {move || Suspend::new(async move {
                match view_of.await {
                    Ok(lifecycle) => Either::Left(view! { <Lifecycle group=group.get_untracked() lifecycle/> }),
                    Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

/// The error a form's last post answered, with the field it names.
fn posted_error(l: Lang, error: Option<ApiError>) -> Option<(Option<String>, String)> {
    error.map(|e| match e {
        ApiError::Invalid(f) => (
            Some(f.field.clone()),
            tf(
                l,
                "{field}: {message}",
                &[
                    ("field", label(l, &f.field)),
                    ("message", &field_message(l, &f)),
                ],
            ),
        ),
        other => (None, error_message(l, &other)),
    })
}

fn label(l: Lang, field: &str) -> &'static str {
    match field {
        "successor" => t(l, "Successor"),
        "retire_on" => t(l, "Retire on"),
        _ => t(l, "This field"),
    }
}

#[component]
fn Lifecycle(group: Option<String>, lifecycle: LifecycleView) -> impl IntoView {
    let deprecate = ServerAction::<DeprecateImage>::new();
    let retire = ServerAction::<RetireImage>::new();
    let restore = ServerAction::<RestoreImage>::new();
    let l = use_lang();
    let error = posted_error(
        l,
        deprecate
            .value()
            .get_untracked()
            .and_then(Result::err)
            .or_else(|| retire.value().get_untracked().and_then(Result::err))
            .or_else(|| restore.value().get_untracked().and_then(Result::err)),
    );
    let invalid = |field: &'static str| {
        error
            .as_ref()
            .is_some_and(|(f, _)| f.as_deref() == Some(field))
            .to_string()
    };
    let (successor_invalid, retire_on_invalid) = (invalid("successor"), invalid("retire_on"));
    let base = list_path(group.as_deref());
    let display = lifecycle.display_name.clone();
    let standing = lifecycle.standing.clone();
    let deprecation = standing.deprecation().cloned();
    let chosen = deprecation
        .as_ref()
        .and_then(|d| d.successor.as_ref())
        .map(|s| s.name.clone())
        .unwrap_or_default();
    let retire_on = deprecation
        .as_ref()
        .and_then(|d| d.retire_at)
        .map(|at| crate::domain::time::utc_minute(at)[..10].to_owned())
        .unwrap_or_default();
    let retired = standing.retired_since().is_some();
    let hidden = {
        let (group, name) = (group.clone(), lifecycle.name.clone());
        move || {
            view! {
                {group.clone().map(|g| view! { <input type="hidden" name="group" value=g/> })}
                <input type="hidden" name="name" value=name.clone()/>
            }
        }
    };
    let options = lifecycle
        .successors
        .iter()
        .map(|s| {
            let whose = match &s.owner {
                Owner::Group(g) => tf(l, "group {group}", &[("group", g)]),
                Owner::System => t(l, "global").to_owned(),
            };
            let selected = s.name == chosen;
            let text = tf(
                l,
                "{name} ({owner})",
                &[("name", &s.display_name), ("owner", &whose)],
            );
            view! { <option value=s.name.clone() selected=selected>{text}</option> }
        })
        .collect_view();
    let name = [("name", display.as_str())];
    let (title, heading) = (
        tf(l, "Lifecycle of {name}", &name),
        tf(l, "Lifecycle of image {name}", &name),
    );
    let (retire_button, restore_button) = (
        tf(l, "Retire {name} now", &name),
        tf(l, "Restore {name}", &name),
    );
    view! {
        <Title text=title/>
        <section class="card card--narrow">
            <h1>{heading}</h1>
            <p class=format!("standing standing--{}", standing.marker().unwrap_or("current")) data-testid="standing">
                {said_message(l, &standing.summary())}
            </p>
            {error.clone().map(|(_, m)| view! { <p class="form__error" role="alert">{m}</p> })}
            {(!retired).then({ let (h1, h2) = (hidden(), hidden()); move || view! {
                <ActionForm action=deprecate attr:class="form" attr:aria-label=t(l, "Deprecate")>
                    {h1}
                    <h2>{if deprecation.is_some() { t(l, "Change the deprecation") } else { t(l, "Deprecate") }}</h2>
                    <p class="form__hint">{t(l, "Launch pages keep offering a deprecated image, with a note that names its successor.")}</p>
                    <div class="form__field">
                        <label for="successor">{t(l, "Successor")}</label>
                        <select id="successor" name="successor" aria-invalid=successor_invalid>
                            <option value="">{t(l, "(none)")}</option>
                            {options}
                        </select>
                    </div>
                    <div class="form__field">
                        <label for="retire-on">{t(l, "Retire on")}</label>
                        <input id="retire-on" type="date" name="retire_on" value=retire_on
                            aria-invalid=retire_on_invalid aria-describedby="retire-on-hint"/>
                        <p class="form__hint" id="retire-on-hint">{t(l, "Optional. From this day (UTC) launch pages no longer offer it.")}</p>
                    </div>
                    <div class="form__actions">
                        <button type="submit" class="button button--primary">
                            {if deprecation.is_some() { t(l, "Save deprecation") } else { t(l, "Deprecate") }}
                        </button>
                    </div>
                </ActionForm>
                <ActionForm action=retire attr:class="form" attr:aria-label=t(l, "Retire now")>
                    {h2}
                    <h2>{t(l, "Retire now")}</h2>
                    <p class="form__hint">{t(l, "Launch pages stop offering it at once; it stays here with its builds.")}</p>
                    <div class="form__actions">
                        <button type="submit" class="button button--danger">{retire_button}</button>
                    </div>
                </ActionForm>
            }})}
            {(standing != Standing::Current).then({ let h3 = hidden(); move || view! {
                <ActionForm action=restore attr:class="form" attr:aria-label=t(l, "Restore")>
                    {h3}
                    <div class="form__actions">
                        <button type="submit" class="button">{restore_button}</button>
                    </div>
                </ActionForm>
            }})}
            <p><A href=base>{t(l, "Back to the images")}</A></p>
        </section>
    }
}
