//! `GET /api/v1/audit`: the audit log, filtered as on its page; a page of JSON, or every
//! matching entry as CSV or JSON lines, streamed from the database page by page.

use app::ops;
use app::wire::audit::{AuditFilter, AuditPage, AuditView};
use axum::Json;
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::types::ErrorBody;
use super::{Caller, Params, Reply, bad_request};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Exactly this actor.
    actor: Option<String>,
    /// This action, or every action under a prefix ending in a dot (`image.`).
    action: Option<String>,
    /// Targets starting with this.
    target: Option<String>,
    /// From this day on (`YYYY-MM-DD`, UTC).
    since: Option<String>,
    /// Up to and with this day (`YYYY-MM-DD`, UTC).
    until: Option<String>,
    /// Only this group's entries: for its admins (system admins may leave it out).
    group: Option<String>,
    /// Entries older than this id: a page's `next`.
    before: Option<i64>,
    /// Entries per page (JSON): 1 to 1000, 50 unless told.
    limit: Option<i64>,
    /// `json` (a page, the default), `csv` or `jsonl` (every matching entry).
    format: Option<String>,
}

impl AuditParams {
    fn filter(&self) -> AuditFilter {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        AuditFilter {
            actor: text(&self.actor),
            action: text(&self.action),
            target: text(&self.target),
            since: text(&self.since),
            until: text(&self.until),
        }
    }
}

/// Entries read from the database per page of a download.
const DOWNLOAD_PAGE: i64 = 500;

/// The audit log, newest first: everything for system admins, a group's entries (`group=`)
/// for its admins.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn search(caller: Caller, Params(params): Params<AuditParams>) -> Reply<Response> {
    let filter = params.filter();
    let group = params.group.as_deref();
    let format = params.format.as_deref().unwrap_or("json");
    if format == "json" {
        let limit = params.limit.unwrap_or(ops::audit::PAGE);
        let page = ops::audit::search(&caller.call, group, &filter, params.before, limit).await?;
        return Ok(Json(page).into_response());
    }
    let (content_type, extension, line): (_, _, fn(&AuditView) -> String) = match format {
        "csv" => ("text/csv; charset=utf-8", "csv", csv_line),
        "jsonl" => ("application/x-ndjson", "jsonl", json_line),
        _ => {
            return Err(bad_request(
                "must be json, csv or jsonl",
                Some("format".into()),
            ));
        }
    };
    // Checked (who may read what, and the filters) before the first byte is sent.
    ops::audit::query_of(&caller.call, group, &filter, params.before).await?;
    let header_line = (format == "csv").then(|| "at,actor,action,target,detail\n".to_owned());
    let call = caller.call;
    let pages = futures_util::stream::unfold(Some(params.before), move |cursor| {
        let (call, filter, group) = (call.clone(), filter.clone(), params.group.clone());
        async move {
            let before = cursor?;
            let page =
                ops::audit::search(&call, group.as_deref(), &filter, before, DOWNLOAD_PAGE).await;
            match page {
                Ok(page) => {
                    let text: String = page.entries.iter().map(line).collect();
                    let next = page.next.map(Some);
                    Some((Ok::<_, std::io::Error>(text), next))
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit download stopped");
                    Some((Err(std::io::Error::other("audit download stopped")), None))
                }
            }
        }
    });
    let body =
        futures_util::StreamExt::chain(futures_util::stream::iter(header_line.map(Ok)), pages);
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"kiln-audit.{extension}\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

fn json_line(e: &AuditView) -> String {
    let mut line = serde_json::to_string(e).unwrap_or_default();
    line.push('\n');
    line
}

/// One entry as a CSV line (RFC 4180 quoting). A cell that a spreadsheet would run as a
/// formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a `'` in
/// front: targets and details carry text users typed.
fn csv_line(e: &AuditView) -> String {
    let at = app::domain::time::utc_minute(e.at);
    let cells = [
        at.as_str(),
        e.actor.as_str(),
        e.action.as_str(),
        e.target.as_str(),
        e.detail.as_str(),
    ];
    let mut line = cells.map(csv_cell).join(",");
    line.push('\n');
    line
}

fn csv_cell(text: &str) -> String {
    let defused = match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_owned(),
    };
    if defused.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_are_quoted_and_never_formulas() {
        assert_eq!(csv_cell("group:ml/image:torch"), "group:ml/image:torch");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(
            csv_cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
    }
}
