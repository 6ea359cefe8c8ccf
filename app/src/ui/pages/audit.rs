//! The audit log: who did what to which target, and when. System admins read all of it
//! (`/admin/audit`), group admins their group's entries (`/groups/G/audit`). The filters
//! are a plain GET form, so the page works, pages and links the same without JavaScript;
//! the same filters download as CSV or JSON lines from the API.

use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::audit::audit_entries;
use crate::domain::time::utc_minute;
use crate::i18n::{Lang, error_message, t, use_lang};
use crate::ui::components::status::{ApiErrorView, encode_component};
use crate::wire::ApiError;
use crate::wire::audit::{AuditFilter, AuditPage};

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let group = move || params.read().get("group");
    let filter = move || {
        let q = query.read();
        let get = |k: &str| q.get(k).unwrap_or_default();
        AuditFilter {
            actor: get("actor"),
            action: get("action"),
            target: get("target"),
            since: get("since"),
            until: get("until"),
        }
    };
    let before = move || {
        query
            .read()
            .get("before")
            .and_then(|b| b.parse::<i64>().ok())
    };
    let page = Resource::new(
        move || (group(), filter(), before()),
        |(group, filter, before)| audit_entries(group, filter, before),
    );
    let l = use_lang();
    view! {
        <Title text=t(l, "Audit log")/>
        <section class="images">
            <header class="images__header">
                <h1>{t(l, "Audit log")}</h1>
                <p class="images__group" data-testid="page-group">{move || group().unwrap_or_else(|| t(l, "everything").into())}</p>
            </header>
            <Filters filter=filter()/>
            <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
                {move || Suspend::new(async move {
                    match page.await {
                        Ok(page) => EitherOf3::A(entries(l, page, group(), filter())),
                        // A filter that is not valid: said beside the form, which keeps it.
                        Err(ApiError::Invalid(e)) => EitherOf3::B(view! {
                            <p class="form__error" role="alert">{error_message(l, &ApiError::Invalid(e))}</p>
                        }),
                        Err(error) => EitherOf3::C(view! { <ApiErrorView error/> }),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Filters(filter: AuditFilter) -> impl IntoView {
    let l = use_lang();
    let field = |id: &'static str, label: &'static str, value: String, hint: &'static str| {
        view! {
            <div class="form__field">
                <label for=format!("audit-{id}")>{label}</label>
                <input id=format!("audit-{id}") name=id value=value placeholder=hint autocomplete="off"/>
            </div>
        }
    };
    view! {
        <form method="get" class="form card audit__filters" aria-label=t(l, "Filter the audit log")>
            {field("actor", t(l, "Actor"), filter.actor, t(l, "a user name"))}
            {field("action", t(l, "Action"), filter.action, t(l, "image.create, or image."))}
            {field("target", t(l, "Target"), filter.target, t(l, "starts with, e.g. group:ml/image:"))}
            {field("since", t(l, "From"), filter.since, t(l, "YYYY-MM-DD (UTC)"))}
            {field("until", t(l, "Until"), filter.until, t(l, "YYYY-MM-DD (UTC)"))}
            <div class="form__actions">
                <button type="submit" class="button button--primary">{t(l, "Filter")}</button>
            </div>
        </form>
    }
}

fn entries(l: Lang, page: AuditPage, group: Option<String>, filter: AuditFilter) -> impl IntoView {
    let mut query = query_of(&filter);
    if let Some(group) = &group {
        query.push(format!("group={}", encode_component(group)));
    }
    let download = |format: &str| {
        let mut q = query.clone();
        q.push(format!("format={format}"));
        format!("/api/v1/audit?{}", q.join("&"))
    };
    let older = page.next.map(|next| {
        let mut q = query_of(&filter);
        q.push(format!("before={next}"));
        format!("?{}", q.join("&"))
    });
    let rows = page
        .entries
        .into_iter()
        .map(|e| {
            view! {
                <tr>
                    <td>{utc_minute(e.at)}</td>
                    <td>{e.actor}</td>
                    <td><code>{e.action}</code></td>
                    <td class="table__description">{e.target}</td>
                    <td class="table__description">{e.detail}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <p class="audit__downloads">
            {t(l, "Download what matches: ")}
            <a href=download("csv") rel="external">"CSV"</a>" · "
            <a href=download("jsonl") rel="external">"JSON lines"</a>
        </p>
        <table class="table">
            <thead><tr>
                <th scope="col">{t(l, "When")}</th><th scope="col">{t(l, "Actor")}</th><th scope="col">{t(l, "Action")}</th>
                <th scope="col">{t(l, "Target")}</th><th scope="col">{t(l, "Detail")}</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {match older {
            Some(href) => Either::Left(view! { <a class="button" href=href>{t(l, "Older entries")}</a> }),
            None => Either::Right(view! { <p class="muted">{t(l, "No older entries.")}</p> }),
        }}
    }
}

/// The filters as query parameters (`actor=ann`), empty ones left out.
fn query_of(filter: &AuditFilter) -> Vec<String> {
    [
        ("actor", &filter.actor),
        ("action", &filter.action),
        ("target", &filter.target),
        ("since", &filter.since),
        ("until", &filter.until),
    ]
    .into_iter()
    .filter(|(_, v)| !v.trim().is_empty())
    .map(|(k, v)| format!("{k}={}", encode_component(v.trim())))
    .collect()
}
