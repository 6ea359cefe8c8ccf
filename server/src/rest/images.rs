//! `/api/v1/groups/{group}/images[/{name}]` and `/api/v1/images[/{name}]` (global images).

use app::domain::{Action, ListQuery, SortColumn};
use app::ops;
use axum::Json;
use axum::extract::Path;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::types::{
    ErrorBody, Image, ImageItem, ImagePage, ImagePatch, NewDeprecation, NewImage, under_build,
};
use super::{Body, Caller, Params, Reply, bad_request};

/// Sorting, searching and paging of a catalog page.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Words matched in name, display name, description and type.
    q: Option<String>,
    /// `name` (default), `display_name`, `description`, `type` or `size` (unknown sizes
    /// count as the smallest).
    sort: Option<String>,
    /// `asc` (default) or `desc`.
    dir: Option<String>,
    /// 1-based; 20 images a page.
    page: Option<u32>,
}

impl ListParams {
    fn query(self) -> Reply<ListQuery> {
        let sort = match self.sort.as_deref() {
            None => SortColumn::Name,
            Some(key) => SortColumn::from_key(key).ok_or_else(|| {
                bad_request(
                    "must be name, display_name, description, type or size",
                    Some("sort".into()),
                )
            })?,
        };
        let descending = match self.dir.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(bad_request("must be asc or desc", Some("dir".into()))),
        };
        let page = match self.page {
            None => 1,
            Some(0) => return Err(bad_request("must be 1 or more", Some("page".into()))),
            Some(p) => p,
        };
        let search = self.q.unwrap_or_default();
        if search.chars().count() > ListQuery::MAX_SEARCH {
            return Err(bad_request(
                "must be at most 200 characters",
                Some("q".into()),
            ));
        }
        Ok(ListQuery {
            search: search.trim().to_owned(),
            sort,
            descending,
            page,
        })
    }
}

async fn list(caller: Caller, group: Option<&str>, params: ListParams) -> Reply<Json<ImagePage>> {
    let query = params.query()?;
    let list = ops::images::list(&caller.call, group, &query).await?;
    Ok(Json(ImagePage {
        images: list.items.into_iter().map(ImageItem::from).collect(),
        total: list.total,
        page: query.page,
        per_page: ListQuery::PER_PAGE,
    }))
}

async fn create(
    caller: Caller,
    group: Option<&str>,
    new: NewImage,
) -> Reply<(StatusCode, Json<Image>)> {
    let call = &caller.call;
    let mut new = new;
    match new.build.take() {
        None => {
            let record = ops::images::create(call, group, new.into_image_form()).await?;
            Ok((StatusCode::CREATED, Json(Image::from_record(record, group))))
        }
        Some(spec) => {
            let form = new.into_build_form(spec)?;
            let (record, _) = ops::builds::create_custom(call, group, form)
                .await
                .map_err(|e| under_build(e.into()))?;
            Ok((
                StatusCode::ACCEPTED,
                Json(Image::from_record(record, group)),
            ))
        }
    }
}

async fn get(caller: Caller, group: Option<&str>, name: &str) -> Reply<Json<Image>> {
    let record = ops::images::get(&caller.call, group, name, Action::ViewGroupImages).await?;
    Ok(Json(Image::from_record(record, group)))
}

async fn patch(
    caller: Caller,
    group: Option<&str>,
    name: &str,
    patch: ImagePatch,
) -> Reply<Json<Image>> {
    let version = patch.version;
    let record = ops::images::update(&caller.call, group, name, version, |stored| {
        patch.apply(stored)
    })
    .await?;
    Ok(Json(Image::from_record(record, group)))
}

async fn delete(caller: Caller, group: Option<&str>, name: &str) -> Reply<StatusCode> {
    ops::images::delete(&caller.call, group, name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A group's images: sorted, searched, paged.
#[utoipa::path(get, path = "/api/v1/groups/{group}/images", tag = "images",
    params(("group" = String, Path), ListParams),
    responses((status = 200, body = ImagePage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_group(
    caller: Caller,
    Path(group): Path<String>,
    Params(params): Params<ListParams>,
) -> Reply<Json<ImagePage>> {
    list(caller, Some(&group), params).await
}

/// Registers an image by URL (201), or creates a custom image and queues its first build
/// (202) when the body has `build`.
#[utoipa::path(post, path = "/api/v1/groups/{group}/images", tag = "images",
    params(("group" = String, Path)), request_body = NewImage,
    responses((status = 201, body = Image), (status = 202, body = Image),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_group(
    caller: Caller,
    Path(group): Path<String>,
    Body(new): Body<NewImage>,
) -> Reply<(StatusCode, Json<Image>)> {
    create(caller, Some(&group), new).await
}

#[utoipa::path(get, path = "/api/v1/groups/{group}/images/{name}", tag = "images",
    params(("group" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Image), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
) -> Reply<Json<Image>> {
    get(caller, Some(&group), &name).await
}

/// Changes the properties sent; refused with 409 if the image changed since `version`.
#[utoipa::path(patch, path = "/api/v1/groups/{group}/images/{name}", tag = "images",
    params(("group" = String, Path), ("name" = String, Path)), request_body = ImagePatch,
    responses((status = 200, body = Image), (status = 400, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn patch_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    Body(body): Body<ImagePatch>,
) -> Reply<Json<Image>> {
    patch(caller, Some(&group), &name, body).await
}

#[utoipa::path(delete, path = "/api/v1/groups/{group}/images/{name}", tag = "images",
    params(("group" = String, Path), ("name" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn delete_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
) -> Reply<StatusCode> {
    delete(caller, Some(&group), &name).await
}

/// The global images (system admins).
#[utoipa::path(get, path = "/api/v1/images", tag = "images", params(ListParams),
    responses((status = 200, body = ImagePage), (status = 403, body = ErrorBody)))]
pub async fn list_global(
    caller: Caller,
    Params(params): Params<ListParams>,
) -> Reply<Json<ImagePage>> {
    list(caller, None, params).await
}

#[utoipa::path(post, path = "/api/v1/images", tag = "images", request_body = NewImage,
    responses((status = 201, body = Image), (status = 202, body = Image),
              (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn create_global(
    caller: Caller,
    Body(new): Body<NewImage>,
) -> Reply<(StatusCode, Json<Image>)> {
    create(caller, None, new).await
}

#[utoipa::path(get, path = "/api/v1/images/{name}", tag = "images", params(("name" = String, Path)),
    responses((status = 200, body = Image), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get_global(caller: Caller, Path(name): Path<String>) -> Reply<Json<Image>> {
    get(caller, None, &name).await
}

#[utoipa::path(patch, path = "/api/v1/images/{name}", tag = "images",
    params(("name" = String, Path)), request_body = ImagePatch,
    responses((status = 200, body = Image), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn patch_global(
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<ImagePatch>,
) -> Reply<Json<Image>> {
    patch(caller, None, &name, body).await
}

#[utoipa::path(delete, path = "/api/v1/images/{name}", tag = "images", params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody)))]
pub async fn delete_global(caller: Caller, Path(name): Path<String>) -> Reply<StatusCode> {
    delete(caller, None, &name).await
}

async fn deprecate(
    caller: Caller,
    group: Option<&str>,
    name: &str,
    body: NewDeprecation,
) -> Reply<Json<Image>> {
    let record = ops::images::deprecate(&caller.call, group, name, body.into()).await?;
    Ok(Json(Image::from_record(record, group)))
}

/// Deprecates an image, or changes its deprecation: launch pages keep offering it with a
/// note naming the successor; on the retire date it leaves their lists.
#[utoipa::path(put, path = "/api/v1/groups/{group}/images/{name}/deprecation", tag = "images",
    params(("group" = String, Path), ("name" = String, Path)), request_body = NewDeprecation,
    responses((status = 200, body = Image), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn deprecate_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
    Body(body): Body<NewDeprecation>,
) -> Reply<Json<Image>> {
    deprecate(caller, Some(&group), &name, body).await
}

/// Retires an image now: launch pages no longer offer it; it stays in the catalog.
#[utoipa::path(post, path = "/api/v1/groups/{group}/images/{name}/retire", tag = "images",
    params(("group" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Image), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn retire_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
) -> Reply<Json<Image>> {
    let record = ops::images::retire(&caller.call, Some(&group), &name).await?;
    Ok(Json(Image::from_record(record, Some(&group))))
}

/// Undoes deprecation and retirement.
#[utoipa::path(post, path = "/api/v1/groups/{group}/images/{name}/restore", tag = "images",
    params(("group" = String, Path), ("name" = String, Path)),
    responses((status = 200, body = Image), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn restore_group(
    caller: Caller,
    Path((group, name)): Path<(String, String)>,
) -> Reply<Json<Image>> {
    let record = ops::images::restore(&caller.call, Some(&group), &name).await?;
    Ok(Json(Image::from_record(record, Some(&group))))
}

#[utoipa::path(put, path = "/api/v1/images/{name}/deprecation", tag = "images",
    params(("name" = String, Path)), request_body = NewDeprecation,
    responses((status = 200, body = Image), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn deprecate_global(
    caller: Caller,
    Path(name): Path<String>,
    Body(body): Body<NewDeprecation>,
) -> Reply<Json<Image>> {
    deprecate(caller, None, &name, body).await
}

#[utoipa::path(post, path = "/api/v1/images/{name}/retire", tag = "images",
    params(("name" = String, Path)),
    responses((status = 200, body = Image), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn retire_global(caller: Caller, Path(name): Path<String>) -> Reply<Json<Image>> {
    let record = ops::images::retire(&caller.call, None, &name).await?;
    Ok(Json(Image::from_record(record, None)))
}

#[utoipa::path(post, path = "/api/v1/images/{name}/restore", tag = "images",
    params(("name" = String, Path)),
    responses((status = 200, body = Image), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn restore_global(caller: Caller, Path(name): Path<String>) -> Reply<Json<Image>> {
    let record = ops::images::restore(&caller.call, None, &name).await?;
    Ok(Json(Image::from_record(record, None)))
}
