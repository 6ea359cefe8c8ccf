//! `GET /api/v1/builds/{id}/log`: a build's log as plain text (a download), or with
//! `Accept: text/event-stream` as server-sent events that follow the build live: `log`
//! events carry chunks (their id is the chunk number, so a reconnect with `Last-Event-ID`
//! resumes exactly), `step` events the step running ("4/8"), `end` says the build ended. The log is read from the database, so any
//! replica can serve it and it outlives the build process.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use app::backend::builds::{self, BuildRow};
use app::backend::{AppState, BackendError, identity};
use app::domain::policy::{self, Action, Target};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Deserialize;

/// How often a live stream looks for new chunks.
const POLL: Duration = Duration::from_millis(400);
/// Chunks sent per look.
const BATCH: i64 = 64;

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    /// Start after this chunk (the page already shows the chunks up to it).
    #[serde(default)]
    after: Option<i64>,
}

pub async fn build_log(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<i64>,
    Query(query): Query<LogQuery>,
    headers: HeaderMap,
) -> Response {
    let build = match authorized_build(&state, &headers, peer, id).await {
        Ok(build) => build,
        Err(refusal) => return refusal,
    };
    let wants_events = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if !wants_events {
        return match builds::full_log(&state.db, build.id).await {
            Ok(text) => (
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"build-{}.log\"", build.id),
                    ),
                ],
                text,
            )
                .into_response(),
            Err(e) => internal(e),
        };
    }
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let after = resume.or(query.after).unwrap_or(0);
    Sse::new(follow(state, build.id, after))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// The build, if the caller may see it: the same rule as its Build Details page, checked
/// against the build's stored group.
async fn authorized_build(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
    id: i64,
) -> Result<BuildRow, Response> {
    let actor = identity::resolve_actor(&state.db, &state.auth, headers, Some(peer.ip()))
        .await
        .map_err(internal)?;
    let build = match builds::get(&state.db, id).await {
        Ok(build) => build,
        Err(BackendError::NotFound { .. }) => {
            return Err((StatusCode::NOT_FOUND, format!("There is no build {id}.")).into_response());
        }
        Err(e) => return Err(internal(e)),
    };
    let (action, target) = match build.group_id {
        Some(group) => (Action::BuildGroupImages, Target::Group(group)),
        None => (Action::ManageGlobalImages, Target::System),
    };
    match policy::decide(&actor, action, target) {
        Ok(()) => Ok(build),
        Err(policy::Denied::NotSignedIn) => {
            Err((StatusCode::UNAUTHORIZED, "Sign in to read build logs.").into_response())
        }
        Err(_) => {
            Err((StatusCode::FORBIDDEN, "You may not read this build's log.").into_response())
        }
    }
}

fn internal(e: BackendError) -> Response {
    tracing::error!(error = %e, "build log");
    (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong.").into_response()
}

/// Where a live stream is: the last chunk sent, and whether the build has ended.
struct Cursor {
    state: AppState,
    build_id: i64,
    after: i64,
    pending: std::collections::VecDeque<Event>,
    ended: bool,
    /// The last step announced.
    step: i64,
}

/// The log's new chunks as they arrive, then `end` once the build has ended and every
/// chunk was sent.
fn follow(
    state: AppState,
    build_id: i64,
    after: i64,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let cursor = Cursor {
        state,
        build_id,
        after,
        pending: Default::default(),
        ended: false,
        step: -1,
    };
    stream::unfold(cursor, |mut cursor| async move {
        loop {
            if let Some(event) = cursor.pending.pop_front() {
                return Some((Ok(event), cursor));
            }
            if cursor.ended {
                return None;
            }
            // Read the state before the chunks: chunks written before the end are then
            // certain to be read in this round or an earlier one.
            let build = builds::get(&cursor.state.db, cursor.build_id).await.ok();
            let active = build.as_ref().is_some_and(|b| b.state().is_active());
            if let Some(b) = build.filter(|b| b.step != cursor.step) {
                cursor.step = b.step;
                cursor.pending.push_back(
                    Event::default()
                        .event("step")
                        .data(format!("{}/{}", b.step, b.steps)),
                );
            }
            let chunks = builds::log_after(&cursor.state.db, cursor.build_id, cursor.after, BATCH)
                .await
                .unwrap_or_default();
            let full = chunks.len() as i64 == BATCH;
            for (seq, text) in chunks {
                cursor.after = seq;
                let text = text.strip_suffix('\n').unwrap_or(&text);
                cursor
                    .pending
                    .push_back(Event::default().event("log").id(seq.to_string()).data(text));
            }
            if !active && !full {
                cursor
                    .pending
                    .push_back(Event::default().event("end").data("ended"));
                cursor.ended = true;
            } else if cursor.pending.is_empty() {
                tokio::time::sleep(POLL).await;
            }
        }
    })
}
