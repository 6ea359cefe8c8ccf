//! New Image: "Use existing image" registers an image by its URL; "Build custom image"
//! builds one (it says what to configure until the builder exists).

use crate::i18n::{t, use_lang};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::build_form::BuildFields;
use super::fields::{ImageFields, form_level_error};
use super::{group_param, scope_title};
use crate::api::builds::{CreateCustomImage, base_image_choices, builds_status};
use crate::api::images::{CreateImage, list_path, pull_secret_choices};
use crate::domain::LaunchableImage;
use crate::domain::{BuildForm, ImageForm};
use crate::ui::components::status::ApiErrorView;

#[component]
pub fn NewImagePage() -> impl IntoView {
    let group = group_param();
    let query = use_query_map();
    let building = Memo::new(move |_| query.read().get("tab").as_deref() == Some("build"));
    // What the other tab's form carried here (the tabs submit it; see `OtherTab`).
    let carried = Memo::new(move |_| Carried::from_query(&query.read()));
    let choices = Resource::new(move || group.get(), pull_secret_choices);
    let status = Resource::new(|| (), |_| builds_status());
    let bases = Resource::new(
        move || (group.get(), building.get()),
        |(group, building)| async move {
            // Suggestions only matter on the build tab.
            if building {
                base_image_choices(group).await
            } else {
                Ok(Vec::new())
            }
        },
    );
    let l = use_lang();
    view! {
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
            {move || Suspend::new(async move {
                match (choices.await, status.await, bases.await) {
                    (Ok(pull_secrets), Ok(builds_disabled), Ok(bases)) => Either::Left(view! {
                        <NewImage group=group.get_untracked() building carried=carried.get_untracked() pull_secrets builds_disabled bases/>
                    }),
                    (Err(error), _, _) | (_, Err(error), _) | (_, _, Err(error)) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

/// The fields both ways of adding an image share: choosing the other way keeps them.
#[derive(Clone, Debug, Default, PartialEq)]
struct Carried {
    display_name: String,
    description: String,
    image_type: String,
}

impl Carried {
    /// Reads the fields from either form's names (`image[…]` or `build[…]`).
    fn from_query(query: &leptos_router::params::ParamsMap) -> Self {
        let field = |name: &str| {
            query
                .get(&format!("image[{name}]"))
                .or_else(|| query.get(&format!("build[{name}]")))
                .unwrap_or_default()
        };
        let image_type = field("image_type");
        Self {
            display_name: field("display_name"),
            description: field("description"),
            image_type: if image_type.is_empty() {
                "cpu".into()
            } else {
                image_type
            },
        }
    }
}

/// The form each tab shows, for the other tab to submit.
const EXISTING_FORM: &str = "new-existing-image";
const BUILD_FORM: &str = "new-custom-image";

#[component]
fn NewImage(
    group: Option<String>,
    building: Memo<bool>,
    carried: Carried,
    pull_secrets: Vec<String>,
    /// Why builds cannot start here, when they cannot.
    builds_disabled: Option<String>,
    /// Ready images to suggest as base images.
    bases: Vec<LaunchableImage>,
) -> impl IntoView {
    let base = list_path(group.as_deref());
    let new = format!("{base}/new");
    let l = use_lang();
    let title = scope_title(l, group.as_deref());
    let build_tab = format!("{new}?tab=build");
    let on_build = building.get_untracked();
    // The open tab's form, if it shows one (none when builds are off).
    let open_form = match (on_build, builds_disabled.is_some()) {
        (false, _) => Some(EXISTING_FORM),
        (true, false) => Some(BUILD_FORM),
        (true, true) => None,
    };
    view! {
        <Title text=format!("{} · {title}", t(l, "New Image"))/>
        <section class="card">
            <h1>{t(l, "New Image")}</h1>
            <p class="images__group">{title.clone()}</p>
            <nav class="tabs" aria-label=t(l, "How to add the image")>
                {if on_build {
                    Either::Left(view! {
                        <OtherTab label=t(l, "Use existing image") href=new.clone() tab="existing" form=open_form/>
                        <span class="tabs__tab" aria-current="page">{t(l, "Build custom image")}</span>
                    })
                } else {
                    Either::Right(view! {
                        <span class="tabs__tab" aria-current="page">{t(l, "Use existing image")}</span>
                        <OtherTab label=t(l, "Build custom image") href=build_tab tab="build" form=open_form/>
                    })
                }}
            </nav>
            {if on_build {
                Either::Left(match builds_disabled {
                    Some(reason) => Either::Left(view! { <BuildsNotSetUp reason/> }),
                    None => Either::Right(view! { <BuildImageForm group=group.clone() carried pull_secrets=pull_secrets.clone() bases base=base.clone()/> }),
                })
            } else {
                Either::Right(view! { <ExistingImageForm group=group.clone() carried pull_secrets=pull_secrets.clone() base=base.clone()/> })
            }}
        </section>
    }
}

/// The tab not chosen. When the open tab shows a form, choosing the other way submits that
/// form's fields to this page (a GET: nothing is created), so what was typed stays; with or
/// without JavaScript.
#[component]
fn OtherTab(
    label: &'static str,
    href: String,
    tab: &'static str,
    form: Option<&'static str>,
) -> impl IntoView {
    match form {
        Some(form) => {
            let action = href.split('?').next().unwrap_or_default().to_owned();
            Either::Left(view! {
                <button type="submit" form=form formmethod="get" formaction=action formnovalidate
                    name="tab" value=tab class="tabs__tab">{label}</button>
            })
        }
        None => Either::Right(view! { <a href=href class="tabs__tab">{label}</a> }),
    }
}

#[component]
fn ExistingImageForm(
    group: Option<String>,
    carried: Carried,
    pull_secrets: Vec<String>,
    base: String,
) -> impl IntoView {
    let action = ServerAction::<CreateImage>::new();
    // Without JavaScript the form posts and comes back here with the server's answer.
    let server_error = action.value().get_untracked().and_then(Result::err);
    let l = use_lang();
    let initial = ImageForm {
        display_name: carried.display_name,
        description: carried.description,
        image_type: carried.image_type,
        ..Default::default()
    };
    view! {
        <ActionForm action=action attr:id=EXISTING_FORM attr:class="form" attr:aria-label=t(l, "Use existing image")>
            {group.map(|g| view! { <input type="hidden" name="group" value=g/> })}
            <ImageFields initial pull_secrets server_error=server_error.clone() fixed_name=None/>
            {form_level_error(server_error).map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
            <div class="form__actions">
                <button type="submit" class="button button--primary">{t(l, "Create")}</button>
                <A href=base attr:class="button">{t(l, "Cancel")}</A>
            </div>
        </ActionForm>
    }
}

/// "Build custom image": the image's fields and its spec; Create starts the first build.
#[component]
fn BuildImageForm(
    group: Option<String>,
    carried: Carried,
    pull_secrets: Vec<String>,
    bases: Vec<LaunchableImage>,
    base: String,
) -> impl IntoView {
    let action = ServerAction::<CreateCustomImage>::new();
    let error = action.value().get_untracked().and_then(Result::err);
    let l = use_lang();
    let initial = BuildForm {
        display_name: carried.display_name,
        description: carried.description,
        image_type: carried.image_type,
        ..Default::default()
    };
    view! {
        <ActionForm action=action attr:id=BUILD_FORM attr:class="form" attr:aria-label=t(l, "Build custom image")>
            {group.clone().map(|g| view! { <input type="hidden" name="group" value=g/> })}
            <BuildFields group initial pull_secrets bases error spec_only=false/>
            <div class="form__actions">
                <button type="submit" class="button button--primary">{t(l, "Create")}</button>
                <A href=base attr:class="button">{t(l, "Cancel")}</A>
            </div>
        </ActionForm>
    }
}

#[component]
fn BuildsNotSetUp(reason: String) -> impl IntoView {
    let l = use_lang();
    view! {
        <div class="notice" role="status">
            <p><strong>{t(l, "Builds are not set up on this Kiln.")}</strong></p>
            <p>{reason}</p>
            <p>{t(l, "Register an existing image with \u{201c}Use existing image\u{201d} instead.")}</p>
        </div>
    }
}
