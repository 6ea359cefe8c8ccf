//! `GET /api/openapi.json`: the OpenAPI 3 document, generated from the handlers and the
//! types they read and write, so clients can be generated from it.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{audit, builds, credentials, images, launch, log, people, tokens};

#[derive(OpenApi)]
#[openapi(
    info(title = "Kiln API", description = "Kiln's image catalog, builds and launch selection."),
    paths(
        images::list_group, images::create_group, images::get_group, images::patch_group,
        images::delete_group, images::list_global, images::create_global, images::get_global,
        images::patch_global, images::delete_global, images::deprecate_group,
        images::retire_group, images::restore_group, images::deprecate_global,
        images::retire_global, images::restore_global, credentials::list, credentials::create,
        credentials::patch, credentials::delete, people::members, people::set_member,
        people::remove_member, people::patch_user, people::change_password, people::groups,
        people::create_group, people::rename_group, people::delete_group, people::delete_user,
        builds::history_group, builds::rebuild_group, builds::history_global,
        builds::rebuild_global, builds::get, builds::cancel, builds::sbom, log::build_log,
        builds::check_base_group, builds::check_base_global, builds::set_base_group,
        builds::set_base_global, builds::get_base_group, builds::get_base_global,
        launch::mine, launch::of_user, tokens::mine, tokens::revoke_mine, audit::search,
    ),
    modifiers(&BearerToken),
    security(("token" = [])),
    tags((name = "images"), (name = "builds"), (name = "launch"), (name = "tokens"), (name = "audit"), (name = "credentials"), (name = "people"))
)]
pub struct ApiDoc;

/// Service tokens (`kiln token create`) are sent as `Authorization: Bearer <token>`.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A service token, made with `kiln token create` or at `/admin/tokens`; \
                         a signed-in browser's session works too.",
                    ))
                    .build(),
            ),
        );
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
