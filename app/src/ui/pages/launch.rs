//! Launch: the images the signed-in user may launch, as notebook launch pages see them
//! through the selection API, in the image picker. Without JavaScript the same list is a
//! table.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::launch::my_launchable_images;
use crate::domain::{Accelerator, LaunchableImage};
use crate::ui::components::picker::{ImagePicker, marker_text};
use crate::ui::components::status::ApiErrorView;

#[component]
pub fn LaunchPage() -> impl IntoView {
    let images = Resource::new(|| (), |_| my_launchable_images(Accelerator::Cpu, true));
    view! {
        <Title text="Launch"/>
        <section class="images">
            <h1>"Launch"</h1>
            <p class="form__hint">"The images you may launch: the global ones and those of your groups. Launch pages get this list from "<code>"/api/v1/me/launchable-images"</code>"."</p>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
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
    view! {
        <div class="form card launch">
            <fieldset class="form__group">
                <legend>"Launch on"</legend>
                <label class="form__check"><input type="radio" name="accelerator" checked=true on:change=move |_| switch(Accelerator::Cpu)/>"CPU"</label>
                <label class="form__check"><input type="radio" name="accelerator" on:change=move |_| switch(Accelerator::Gpu)/>"GPU"</label>
            </fieldset>
            <div class="form__field">
                <label for="launch-image">"Image"</label>
                <ImagePicker id="launch-image" name="image" entries=entries value on_pick=pick
                    placeholder="Type to search, ↓ to choose"/>
            </div>
            {move || chosen.get().map(|image| view! {
                <dl class="launch__chosen" aria-live="polite">
                    <dt>"Runs"</dt><dd><code>{image.url.clone().unwrap_or_default()}</code></dd>
                    <dt>"Owner"</dt><dd>{image.owner.label()}</dd>
                    <dt>"Pull secret"</dt><dd>{image.pull_secret.clone().unwrap_or_else(|| "none".into())}</dd>
                    {image.warning.clone().map(|w| view! { <dt>"Warning"</dt><dd class="picker__warning">{w}</dd> })}
                </dl>
            })}
        </div>
    }
}

#[component]
fn LaunchTable(images: Vec<LaunchableImage>) -> impl IntoView {
    view! {
        <table class="table">
            <thead><tr><th scope="col">"Image"</th><th scope="col">"Owner"</th><th scope="col">"URL"</th><th scope="col">"Ready"</th><th scope="col">"Note"</th></tr></thead>
            <tbody>
                {images.into_iter().map(|i| view! {
                    <tr>
                        <td>{i.display_name.clone()}</td>
                        <td>{marker_text(&i)}</td>
                        <td><code>{i.url.clone().unwrap_or_default()}</code></td>
                        <td>{i.reason.clone().unwrap_or_else(|| "yes".into())}</td>
                        <td>{i.warning.clone().unwrap_or_default()}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}
