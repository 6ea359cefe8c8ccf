//! Builds: an image's history and rebuild, one build, cancel. The log is
//! [`crate::build_log`].

use app::domain::Action;
use app::ops;
use axum::Json;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::types::{BaseImage, BaseSettings, Build, BuildHistory, BuildSpec, ErrorBody};
use super::{Body, Caller, Reply, build_id};

async fn history(caller: Caller, group: Option<&str>, name: &str) -> Reply<Json<BuildHistory>> {
    let (image, _, views) = ops::builds::history(&caller.call, group, name).await?;
    Ok(Json(BuildHistory {
        builds: views
            .into_iter()
            .map(|v| Build::new(v, &image.name, group))
            .collect(),
        url: (!image.url.is_empty()).then_some(image.url),
        image: image.name,
    }))
}

async fn rebuild(
    caller: Caller,
    group: Option<&str>,
    name: &str,
    spec: BuildSpec,
) -> Reply<(StatusCode, Json<Build>)> {
    let row = ops::builds::rebuild(&caller.call, group, name, spec.into_form()?).await?;
    let view = ops::builds::view(&row, None);
    Ok((StatusCode::ACCEPTED, Json(Build::new(view, name, group))))
}

/// An image's builds, newest first.
#[utoipa::path(get, path = "/api/v1/groups/{group}/images/{name}/builds", tag = "builds",
    params(("group" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = BuildHistory), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn history_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
) -> Reply<Json<BuildHistory>> {
    history(caller, Some(&group), &name).await
}

/// Rebuilds a custom image from a spec; it keeps its URL until this build succeeds.
#[utoipa::path(post, path = "/api/v1/groups/{group}/images/{name}/builds", tag = "builds",
    params(("group" = String, Path), ("name" = String, Path)), request_body = BuildSpec,
    responses((status = 202, body = Build), (status = 400, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn rebuild_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    Body(spec): Body<BuildSpec>,
) -> Reply<(StatusCode, Json<Build>)> {
    rebuild(caller, Some(&group), &name, spec).await
}

#[utoipa::path(get, path = "/api/v1/images/{name}/builds", tag = "builds",
    params(("name" = String, Path)),
    responses((status = 200, body = BuildHistory), (status = 403, body = ErrorBody)))]
pub async fn history_global(caller: Caller, Path(name): Path<String>) -> Reply<Json<BuildHistory>> {
    history(caller, None, &name).await
}

#[utoipa::path(post, path = "/api/v1/images/{name}/builds", tag = "builds",
    params(("name" = String, Path)), request_body = BuildSpec,
    responses((status = 202, body = Build), (status = 422, body = ErrorBody)))]
pub async fn rebuild_global(
    caller: Caller,
    Path(name): Path<String>,
    Body(spec): Body<BuildSpec>,
) -> Reply<(StatusCode, Json<Build>)> {
    rebuild(caller, None, &name, spec).await
}

#[utoipa::path(get, path = "/api/v1/builds/{id}", tag = "builds", params(("id" = i64, Path)),
    responses((status = 200, body = Build), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get(caller: Caller, Path(id): Path<String>) -> Reply<Json<Build>> {
    let owned = ops::builds::build(&caller.call, build_id(&id)?, Action::ViewGroupImages).await?;
    // The view with the build's place in the queue, while it waits.
    let view = ops::builds::views(&caller.call.state, std::slice::from_ref(&owned.build))
        .await?
        .remove(0);
    Ok(Json(Build::new(view, &owned.image, owned.group.as_deref())))
}

/// Cancels a queued or running build; its log so far is kept. 409 once it has ended.
#[utoipa::path(post, path = "/api/v1/builds/{id}/cancel", tag = "builds",
    params(("id" = i64, Path)),
    responses((status = 200, body = Build), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn cancel(caller: Caller, Path(id): Path<String>) -> Reply<Json<Build>> {
    let owned = ops::builds::cancel(&caller.call, build_id(&id)?).await?;
    Ok(Json(Build::from_owned(owned)))
}

/// The media type of a CycloneDX 1.5 JSON document.
pub const SBOM_CONTENT_TYPE: &str = "application/vnd.cyclonedx+json; version=1.5";

/// A successful build's software bill of materials: a CycloneDX 1.5 JSON document of the
/// image's dpkg, conda and pip packages with their versions and package URLs, read from the
/// image's own package databases. 409 for a build that has not succeeded.
#[utoipa::path(get, path = "/api/v1/builds/{id}/sbom", tag = "builds",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "application/vnd.cyclonedx+json; version=1.5",
               body = serde_json::Value, description = "CycloneDX 1.5 JSON"),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn sbom(caller: Caller, Path(id): Path<String>) -> Reply<Response> {
    let sbom = ops::builds::sbom(&caller.call, build_id(&id)?).await?;
    let disposition = format!("attachment; filename=\"{}\"", sbom.filename);
    Ok((
        [
            (header::CONTENT_TYPE, SBOM_CONTENT_TYPE.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        sbom.json,
    )
        .into_response())
}

async fn check_base(caller: Caller, group: Option<&str>, name: &str) -> Reply<Json<BaseImage>> {
    let status = ops::base_updates::check_now(&caller.call, group, name).await?;
    Ok(Json(status.into()))
}

async fn get_base(caller: Caller, group: Option<&str>, name: &str) -> Reply<Response> {
    let status = ops::base_updates::get(&caller.call, group, name).await?;
    Ok(status_or_nothing(status))
}

/// The status as JSON, or 204 before the image's first successful build.
fn status_or_nothing(status: Option<app::domain::base_update::BaseStatus>) -> Response {
    match status {
        Some(status) => Json(BaseImage::from(status)).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn set_base(
    caller: Caller,
    group: Option<&str>,
    name: &str,
    settings: BaseSettings,
) -> Reply<Response> {
    let on = settings.auto_rebuild;
    let status = ops::base_updates::set_auto_rebuild(&caller.call, group, name, on).await?;
    Ok(status_or_nothing(status))
}

/// A built image's base image: the tag it is built from, the digest the live build used,
/// the newest digest a check found, when and with what error it last checked, and whether
/// it rebuilds by itself. 204 before the image's first successful build.
#[utoipa::path(get, path = "/api/v1/groups/{group}/images/{name}/base", tag = "builds",
    params(("group" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = BaseImage), (status = 204), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn get_base_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
) -> Reply<Response> {
    get_base(caller, Some(&group), &name).await
}

#[utoipa::path(get, path = "/api/v1/images/{name}/base", tag = "builds",
    params(("name" = String, Path)),
    responses((status = 200, body = BaseImage), (status = 204), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn get_base_global(caller: Caller, Path(name): Path<String>) -> Reply<Response> {
    get_base(caller, None, &name).await
}

/// Asks the registry now whether the tag of a built image's base image names a newer image,
/// and queues the image's automatic rebuild when it is on. Kiln's leader also checks every
/// `KILN_BASE_CHECK_INTERVAL`.
#[utoipa::path(post, path = "/api/v1/groups/{group}/images/{name}/base/check", tag = "builds",
    params(("group" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = BaseImage), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn check_base_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
) -> Reply<Json<BaseImage>> {
    check_base(caller, Some(&group), &name).await
}

#[utoipa::path(post, path = "/api/v1/images/{name}/base/check", tag = "builds",
    params(("name" = String, Path)),
    responses((status = 200, body = BaseImage), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn check_base_global(caller: Caller, Path(name): Path<String>) -> Reply<Json<BaseImage>> {
    check_base(caller, None, &name).await
}

/// Turns "rebuild automatically when the base image changes" on or off. Answers the base
/// image's status, or 204 before the image's first successful build.
#[utoipa::path(put, path = "/api/v1/groups/{group}/images/{name}/base", tag = "builds",
    params(("group" = String, Path), ("name" = String, Path)), request_body = BaseSettings,
    responses((status = 200, body = BaseImage), (status = 204), (status = 403, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn set_base_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    Body(settings): Body<BaseSettings>,
) -> Reply<Response> {
    set_base(caller, Some(&group), &name, settings).await
}

#[utoipa::path(put, path = "/api/v1/images/{name}/base", tag = "builds",
    params(("name" = String, Path)), request_body = BaseSettings,
    responses((status = 200, body = BaseImage), (status = 204), (status = 403, body = ErrorBody)))]
pub async fn set_base_global(
    caller: Caller,
    Path(name): Path<String>,
    Body(settings): Body<BaseSettings>,
) -> Reply<Response> {
    set_base(caller, None, &name, settings).await
}
