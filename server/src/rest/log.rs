//! `GET /api/v1/builds/{id}/log`: a build's log as plain text (a download), or with
//! `Accept: text/event-stream` as server-sent events that follow the build live: `log`
//! events carry chunks (their id is the chunk number, so a reconnect with `Last-Event-ID`
//! resumes exactly), `step` events the step running ("4/8"), `end` says the build ended.
//! The log is read from the database, so any replica can serve it and it outlives the build
//! process. Who may read it is the rule of the build's Build Details, on its stored group.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use app::backend::AppState;
use app::backend::builds;
use app::domain::{Action, Said, messages};
use app::ops;
use app::wire::ApiError;
use axum::Extension;
use axum::extract::Path;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Deserialize;

use super::{Caller, ErrorBody, Params, Reply, build_id};

/// Live streams one caller may hold open at once, and all callers together: each one polls
/// the database while it is open.
pub const STREAMS_PER_CALLER: usize = 8;
pub const STREAMS_IN_ALL: usize = 256;

/// The live log streams open on this server, by caller.
#[derive(Debug, Default)]
pub struct OpenStreams {
    by_caller: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

/// One open stream's place, given back when the stream ends or its viewer goes away.
struct StreamSlot {
    open: Arc<OpenStreams>,
    caller: String,
}

impl OpenStreams {
    /// How many streams are open now.
    pub fn open(&self) -> usize {
        let by_caller = self.by_caller.lock().unwrap_or_else(|e| e.into_inner());
        by_caller.values().sum()
    }

    fn take(self: &Arc<Self>, caller: &str) -> Reply<StreamSlot> {
        let mut by_caller = self.by_caller.lock().unwrap_or_else(|e| e.into_inner());
        let mine = by_caller.get(caller).copied().unwrap_or(0);
        let all: usize = by_caller.values().sum();
        if mine >= STREAMS_PER_CALLER || all >= STREAMS_IN_ALL {
            let message = if mine >= STREAMS_PER_CALLER {
                Said::coded(messages::LOG_STREAMS_YOURS, &[("count", &mine.to_string())])
            } else {
                Said::coded(messages::LOG_STREAMS_ALL, &[])
            };
            return Err(ApiError::TooManyAttempts {
                message,
                retry_after_secs: 5,
            }
            .into());
        }
        *by_caller.entry(caller.to_owned()).or_default() += 1;
        Ok(StreamSlot {
            open: self.clone(),
            caller: caller.to_owned(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut by_caller = self
            .open
            .by_caller
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(count) = by_caller.get_mut(&self.caller) {
            *count -= 1;
            if *count == 0 {
                by_caller.remove(&self.caller);
            }
        }
    }
}

/// How often a live stream looks for new chunks.
const POLL: Duration = Duration::from_millis(400);
/// Chunks sent per look.
const BATCH: i64 = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogQuery {
    /// Start after this chunk (the page already shows the chunks up to it).
    #[serde(default)]
    after: Option<i64>,
}

/// A build's log: plain text, or with `Accept: text/event-stream` a live stream of server-sent
/// events (`log` chunks with their number as id, `step`, and `end`).
#[utoipa::path(get, path = "/api/v1/builds/{id}/log", tag = "builds",
    params(("id" = i64, Path), ("after" = Option<i64>, Query, description = "Start after this chunk")),
    responses((status = 200, content_type = "text/plain", body = String),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn build_log(
    caller: Caller,
    Path(id): Path<String>,
    Params(query): Params<LogQuery>,
    Extension(open): Extension<Arc<OpenStreams>>,
    headers: HeaderMap,
) -> Reply<Response> {
    let build =
        ops::builds::authorized(&caller.call, build_id(&id)?, Action::ViewGroupImages).await?;
    let who = caller
        .call
        .audit_name()
        .unwrap_or_else(|_| "service token".into());
    let state = caller.call.state;
    let wants_events = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if !wants_events {
        return Ok(download(state, build.id));
    }
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i64>().ok());
    let after = resume.or(query.after).unwrap_or(0);
    let slot = open.take(&who)?;
    Ok(Sse::new(follow(state, build.id, after, slot))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
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
    /// Held while the stream is open.
    _slot: StreamSlot,
}

/// The whole log as a download, streamed from the database a batch of chunks at a time:
/// however long a log is, it is never held in memory whole.
fn download(state: AppState, build_id: i64) -> Response {
    let batches = stream::unfold(Some(0_i64), move |after| {
        let state = state.clone();
        async move {
            let after = after?;
            match builds::log_after(&state.db, build_id, after, BATCH).await {
                Ok(batch) if batch.is_empty() => None,
                Ok(batch) => {
                    let last = batch.last().map(|(seq, _)| *seq);
                    let text: String = batch.into_iter().map(|(_, text)| text).collect();
                    Some((Ok(text), last))
                }
                Err(e) => {
                    tracing::error!(build = build_id, error = %e, "a log download broke off");
                    Some((
                        Err(std::io::Error::other("the log could not be read")),
                        None,
                    ))
                }
            }
        }
    });
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"build-{build_id}.log\""),
            ),
        ],
        axum::body::Body::from_stream(batches),
    )
        .into_response()
}

/// The log's new chunks as they arrive, then `end` once the build has ended and every
/// chunk was sent.
fn follow(
    state: AppState,
    build_id: i64,
    after: i64,
    slot: StreamSlot,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let cursor = Cursor {
        state,
        build_id,
        after,
        pending: Default::default(),
        ended: false,
        step: -1,
        _slot: slot,
    };
    stream::unfold(cursor, |mut cursor| async move {
        loop {
            // The process is stopping: the stream ends without `end`, so the viewer's
            // EventSource reconnects (to another replica) from the last id it got.
            if cursor.state.stopping.is_cancelled() {
                return None;
            }
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
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = cursor.state.stopping.cancelled() => {}
                }
            }
        }
    })
}
