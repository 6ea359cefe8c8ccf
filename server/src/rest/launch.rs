//! The selection API for launch pages: the images a user may launch. Launch pages ask on
//! every launch, so the answer is sent as remembered JSON bytes while nothing changed.

use app::backend::launchable::LaunchList;
use app::domain::Accelerator;
use app::ops;
use app::ops::launch::Whose;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::types::ErrorBody;
use super::{Caller, Params, Reply, bad_request};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LaunchParams {
    /// `cpu` (default) or `gpu`: what the launch runs on.
    accelerator: Option<String>,
    /// Also list images that are not ready (no successful build yet), as unavailable.
    include_not_ready: Option<bool>,
}

impl LaunchParams {
    fn accelerator(&self) -> Reply<Accelerator> {
        match self.accelerator.as_deref() {
            None | Some("cpu") => Ok(Accelerator::Cpu),
            Some("gpu") => Ok(Accelerator::Gpu),
            Some(_) => Err(bad_request(
                "must be cpu or gpu",
                Some("accelerator".into()),
            )),
        }
    }
}

async fn answer(caller: Caller, whose: Whose<'_>, params: LaunchParams) -> Reply<Response> {
    let accelerator = params.accelerator()?;
    let include = params.include_not_ready.unwrap_or(false);
    let answer = ops::launch::launchable(
        &caller.call,
        whose,
        accelerator,
        include,
        caller.launch_version,
    )
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], answer.json).into_response())
}

/// The caller's own launchable images (a session, or a token bound to a user).
#[utoipa::path(get, path = "/api/v1/me/launchable-images", tag = "launch", params(LaunchParams),
    responses((status = 200, body = LaunchList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn mine(caller: Caller, Params(params): Params<LaunchParams>) -> Reply<Response> {
    answer(caller, Whose::Me, params).await
}

/// A user's launchable images: the global ones and those of every group the user is in,
/// ordered by display name. For the user themself, system admins and service tokens.
#[utoipa::path(get, path = "/api/v1/users/{user}/launchable-images", tag = "launch",
    params(("user" = String, Path), LaunchParams),
    responses((status = 200, body = LaunchList), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn of_user(
    caller: Caller,
    Path(user): Path<String>,
    Params(params): Params<LaunchParams>,
) -> Reply<Response> {
    answer(caller, Whose::User(&user), params).await
}
