//! A group's Images page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::groups::{GroupOverview, group_page};
use crate::ui::components::status::ApiErrorView;

#[component]
pub fn GroupImagesPage() -> impl IntoView {
    let params = use_params_map();
    let group = move || params.read().get("group").unwrap_or_default();
    let page = Resource::new(group, group_page);
    view! {
        <Transition fallback=|| view! { <p class="loading">"Loading images…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <GroupImages page/> }.into_any(),
                    Err(error) => view! { <ApiErrorView error/> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn GroupImages(page: GroupOverview) -> impl IntoView {
    view! {
        <Title text=format!("Images · {}", page.name)/>
        <section class="images">
            <header class="images__header">
                <h1>"Images"</h1>
                <p class="images__group">"Group " <strong data-testid="page-group">{page.name.clone()}</strong></p>
            </header>
            <p class="empty">"No images in this group yet."</p>
        </section>
    }
}
