//! Kiln's application crate: the domain rules, the Leptos UI, the server functions and,
//! behind the `ssr` feature, the backend that talks to the database.

pub mod api;
pub mod domain;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod backend;

pub use ui::{App, shell};

/// The browser entry point: brings the page's islands (the `#[island]` components) to life;
/// everything else stays the server's HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    // A mark for tests and for anyone inspecting the page: interactive from here on.
    if let Some(body) = leptos::prelude::document().body() {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
