//! The Leptos UI: the HTML shell, the app with its routes, pages and components.

pub mod components;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::api::ApiError;
use crate::api::session::{Logout, current_user};
use crate::wire::accounts::Me;
use components::header::Header;
use components::status::{ErrorsView, NotFound};
use pages::images::{
    builds::BuildDetailsPage, delete::DeleteImagePage, edit::EditImagePage,
    lifecycle::LifecyclePage, list::ImagesPage, new::NewImagePage,
};
use pages::{
    audit::AuditLogPage,
    credentials::CredentialsAdminPage,
    home::HomePage,
    launch::LaunchPage,
    login::LoginPage,
    tokens::{MyTokensPage, TokensAdminPage},
    users::{GroupsAdminPage, MembersAdminPage, PasswordPage, UsersAdminPage},
};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's language, for every component below (see `i18n::use_lang`).
    #[cfg(feature = "ssr")]
    let lang = use_context::<http::request::Parts>()
        .map(|parts| crate::i18n::from_headers(&parts.headers))
        .unwrap_or_default();
    #[cfg(not(feature = "ssr"))]
    let lang = crate::i18n::use_lang();
    provide_context(lang);
    view! {
        <!DOCTYPE html>
        <html lang=lang.tag()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <AutoReload options=options.clone()/>
                // The CSS, JS and wasm by the names the build gave them (with their hash when
                // it hashed them: `hash_files`, see the server's `assets.rs`).
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options islands=true/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Who is signed in, and signing out; shared by the header and pages. (The sign-in page
/// makes its own action, inside the routes, where a failed sign-in's error arrives.)
#[derive(Clone, Copy)]
pub struct Session {
    pub logout: ServerAction<Logout>,
    pub me: Resource<Result<Option<Me>, ApiError>>,
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let logout = ServerAction::<Logout>::new();
    let me = Resource::new(move || logout.version().get(), |_| current_user());
    provide_context(Session { logout, me });

    view! {
        <Title formatter=|text: String| if text.is_empty() { "Kiln".to_owned() } else { format!("{text} · Kiln") }/>
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header/>
            <main id="main" class="page" tabindex="-1">
                <ErrorBoundary fallback=|errors| view! { <ErrorsView errors/> }>
                    <Routes fallback=|| view! { <NotFound/> }>
                        <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                        <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                        <Route path=path!("/groups/:group/images") view=ImagesPage ssr=SsrMode::Async/>
                        <Route path=path!("/groups/:group/images/new") view=NewImagePage ssr=SsrMode::Async/>
                        <Route path=path!("/groups/:group/images/:name/edit") view=EditImagePage ssr=SsrMode::Async/>
                        <Route path=path!("/groups/:group/images/:name/delete") view=DeleteImagePage ssr=SsrMode::Async/>
                        <Route path=path!("/groups/:group/images/:name/builds") view=BuildDetailsPage ssr=SsrMode::Async/>
                        <Route path=path!("/groups/:group/images/:name/lifecycle") view=LifecyclePage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/credentials") view=CredentialsAdminPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/tokens") view=TokensAdminPage ssr=SsrMode::Async/>
                        <Route path=path!("/me/tokens") view=MyTokensPage ssr=SsrMode::Async/>
                        <Route path=path!("/me/password") view=PasswordPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/users") view=UsersAdminPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/groups") view=GroupsAdminPage ssr=SsrMode::Async/>
                        <Route path=path!("/groups/:group/members") view=MembersAdminPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/audit") view=AuditLogPage ssr=SsrMode::Async/>
                        <Route path=path!("/groups/:group/audit") view=AuditLogPage ssr=SsrMode::Async/>
                        <Route path=path!("/launch") view=LaunchPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/images") view=ImagesPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/images/new") view=NewImagePage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/images/:name/edit") view=EditImagePage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/images/:name/delete") view=DeleteImagePage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/images/:name/builds") view=BuildDetailsPage ssr=SsrMode::Async/>
                        <Route path=path!("/admin/images/:name/lifecycle") view=LifecyclePage ssr=SsrMode::Async/>
                    </Routes>
                </ErrorBoundary>
            </main>
        </Router>
    }
}
