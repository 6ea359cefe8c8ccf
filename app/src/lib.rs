//! Kiln's application crate: the domain rules, the wire shapes, the Leptos UI and its
//! server functions and, behind the `ssr` feature, the operations (`ops`) and the backend
//! that talks to the database and the builders.

pub mod api;
pub mod domain;
pub mod i18n;
pub mod ui;
pub mod wire;

#[cfg(feature = "ssr")]
pub mod backend;
#[cfg(feature = "ssr")]
pub mod ops;

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
