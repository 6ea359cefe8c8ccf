//! Launch: the images the signed-in user may launch, as notebook launch pages see them
//! through the selection API, in the image picker. Without JavaScript the same list is a
//! table.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::launch::my_launchable_images;
use crate::domain::{Accelerator, LaunchableImage};
use crate::i18n::{t, use_lang};
use crate::ui::components::picker::{ImagePicker, marker_text, reason_text, warning_text};
use crate::ui::components::status::ApiErrorView;

#[component]
pub fn LaunchPage() -> impl IntoView {
    let images = Resource::new(|| (), |_| my_launchable_images(Accelerator::Cpu, true));
    let l = use_lang();
    view! {
        <Title text=t(l, "Launch")/>
        <section class="images">
            <h1>{t(l, "Launch")}</h1>
            <p class="form__hint">{t(l, "The images you may launch: the global ones and those of your groups. Launch pages get this list from ")}<code>"/api/v1/me/launchable-images"</code>{t(l, ".")}</p>
            <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
                {move || Suspend::new(async move {
                    match images.await {
                        Ok(images) => Either::Left(view! {
                            <LaunchChooser initial=images.clone()/>
                            <noscript><LaunchTable images/></noscript>
                        }),
                        Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Pick an image for a CPU or GPU launch; shows what the launch would run.
#[island]
fn LaunchChooser(initial: Vec<LaunchableImage>) -> impl IntoView {
    let accelerator = RwSignal::new(Accelerator::Cpu);
    let entries = RwSignal::new(initial);
    let value = RwSignal::new(String::new());
    let chosen = RwSignal::new(None::<LaunchableImage>);
    let switch = move |to: Accelerator| {
        accelerator.set(to);
        value.set(String::new());
        chosen.set(None);
        leptos::task::spawn_local(async move {
            if let Ok(images) = my_launchable_images(to, true).await {
                entries.set(images);
            }
        });
    };
    let pick = Callback::new(move |image: LaunchableImage| chosen.set(Some(image)));
    let l = use_lang();
    view! {
        <div class="form card launch">
            <fieldset class="form__group">
                <legend>{t(l, "Launch on")}</legend>
                <label class="form__check"><input type="radio" name="accelerator" checked=true on:change=move |_| switch(Accelerator::Cpu)/>"CPU"</label>
                <label class="form__check"><input type="radio" name="accelerator" on:change=move |_| switch(Accelerator::Gpu)/>"GPU"</label>
            </fieldset>
            <div class="form__field">
                <label for="launch-image">{t(l, "Image")}</label>
                <ImagePicker id="launch-image" name="image" entries=entries value on_pick=pick
                    placeholder=t(l, "Type to search, ↓ to choose")/>
            </div>
            {move || chosen.get().map(|image| view! {
                <dl class="launch__chosen" aria-live="polite">
                    <dt>{t(l, "Runs")}</dt><dd><code>{image.url.clone().unwrap_or_default()}</code></dd>
                    <dt>{t(l, "Owner")}</dt><dd>{image.owner.label()}</dd>
                    <dt>{t(l, "Pull secret")}</dt><dd>{image.pull_secret.clone().unwrap_or_else(|| t(l, "none").into())}</dd>
                    {warning_text(l, &image).map(|w| view! { <dt>{t(l, "Warning")}</dt><dd class="picker__warning">{w}</dd> })}
                </dl>
            })}
        </div>
    }
}

#[component]
fn LaunchTable(images: Vec<LaunchableImage>) -> impl IntoView {
    let l = use_lang();
    view! {
        <table class="table">
            <thead><tr><th scope="col">{t(l, "Image")}</th><th scope="col">{t(l, "Owner")}</th><th scope="col">"URL"</th><th scope="col">{t(l, "Ready")}</th><th scope="col">{t(l, "Note")}</th></tr></thead>
            <tbody>
                {images.into_iter().map(|i| view! {
                    <tr>
                        <td>{i.display_name.clone()}</td>
                        <td>{marker_text(l, &i)}</td>
                        <td><code>{i.url.clone().unwrap_or_default()}</code></td>
                        <td>{reason_text(l, &i).unwrap_or_else(|| t(l, "yes").into())}</td>
                        <td>{warning_text(l, &i).unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
