//! The Images table: search, sort by any column, page; all of it in the URL.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::use_query_map;

use super::{group_param, scope_title};
use crate::api::images::{list_images, list_path};
use crate::domain::size::size_cell;
use crate::domain::{BuildState, ListQuery, SortColumn};
use crate::i18n::{said_message, t, tf, use_lang};
use crate::ui::components::status::ApiErrorView;
use crate::wire::images::{ImageList, ImageSummary};

#[component]
pub fn ImagesPage() -> impl IntoView {
    let group = group_param();
    let params = use_query_map();
    let query = Memo::new(move |_| {
        let p = params.read();
        ListQuery::from_params(
            p.get_str("q"),
            p.get_str("sort"),
            p.get_str("dir"),
            p.get_str("page"),
        )
    });
    let list = Resource::new(
        move || (group.get(), query.get()),
        |(group, query)| list_images(group, query),
    );
    let l = use_lang();
    view! {
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading images…")}</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(list) => Either::Left(view! { <ImagesTable group=group.get_untracked() list/> }),
                    Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn ImagesTable(group: Option<String>, list: ImageList) -> impl IntoView {
    let base = list_path(group.as_deref());
    let query = list.query.clone();
    let l = use_lang();
    let title = scope_title(l, group.as_deref());
    let empty_text = if query.search.is_empty() {
        if group.is_some() {
            t(l, "No images in this group yet.").to_owned()
        } else {
            t(l, "No global images yet.").to_owned()
        }
    } else {
        tf(
            l,
            "No images match \u{201c}{search}\u{201d}.",
            &[("search", &query.search)],
        )
    };
    let headings = SortColumn::ALL
        .into_iter()
        .map(|column| {
            let active = query.sort == column;
            let sort = match (active, query.descending) {
                (false, _) => "none",
                (true, false) => "ascending",
                (true, true) => "descending",
            };
            let arrow = match sort {
                "ascending" => " ↑",
                "descending" => " ↓",
                _ => "",
            };
            let href = format!("{base}{}", query.sorted_by(column).to_query_string());
            view! {
                <th scope="col" aria-sort=sort>
                    <A href=href attr:class="table__sort">{column_label(l, column)}{arrow}</A>
                </th>
            }
        })
        .collect_view();
    let search = query.search.clone();
    let pager_query = query.clone();
    let rows = list
        .items
        .into_iter()
        .map(|image| view! { <ImageRow base=base.clone() group=group.clone() image/> })
        .collect_view();
    view! {
        <Title text=format!("Images · {title}")/>
        <section class="images">
            <header class="images__header">
                <h1>{t(l, "Images")}</h1>
                <p class="images__group" data-testid="page-group">{group.clone().unwrap_or_else(|| "global".into())}</p>
                <A href=format!("{base}/new") attr:class="button button--primary images__new">{t(l, "New Image")}</A>
                {group.clone().map(|g| view! { <A href=format!("/groups/{g}/members") attr:class="button images__audit">{tf(l, "Members of {group}", &[("group", &g)])}</A> })}
                {group.clone().map(|g| view! { <A href=format!("/groups/{g}/audit") attr:class="button images__audit">{tf(l, "Audit log of {group}", &[("group", &g)])}</A> })}
            </header>
            <Form method="GET" action=base.clone() attr:class="search" attr:role="search">
                <label for="search" class="search__label">{t(l, "Search Image")}</label>
                <input id="search" type="search" name="q" value=search maxlength="200"/>
                {(query.sort != SortColumn::Name).then(|| view! { <input type="hidden" name="sort" value=query.sort.key()/> })}
                {query.descending.then(|| view! { <input type="hidden" name="dir" value="desc"/> })}
                <button type="submit" class="button">{t(l, "Search")}</button>
            </Form>
            {if list.total == 0 {
                Either::Left(view! { <p class="empty">{empty_text}</p> })
            } else {
                Either::Right(view! {
                    <table class="table">
                        <thead>
                            <tr>
                                {headings}
                                <th scope="col"><span class="visually-hidden">{t(l, "Actions")}</span></th>
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                    <Pager base=base.clone() query=pager_query total=list.total/>
                })
            }}
        </section>
    }
}

#[component]
fn ImageRow(base: String, group: Option<String>, image: ImageSummary) -> impl IntoView {
    let details = format!("{base}/{}/builds", image.name);
    let edit = format!("{base}/{}/edit", image.name);
    let delete = format!("{base}/{}/delete", image.name);
    let l = use_lang();
    let name = [("name", image.display_name.as_str())];
    let edit_label = tf(l, "Edit image {name}", &name);
    let delete_label = tf(l, "Delete image {name}", &name);
    let lifecycle = format!("{base}/{}/lifecycle", image.name);
    let lifecycle_label = tf(l, "Deprecate, retire or restore image {name}", &name);
    let standing = image.standing.marker().map(|marker| {
        let href = lifecycle.clone();
        let summary = said_message(l, &image.standing.summary());
        let word = match marker {
            "retired" => t(l, "retired"),
            _ => t(l, "deprecated"),
        };
        view! {
            <A href=href attr:class=format!("standing standing--{marker}") attr:title=summary.clone() attr:aria-label=summary>{word}</A>
        }
    });
    view! {
        <tr>
            <td class="table__name">
                {image.name.clone()}
                {image.base_updated.then(|| view! {
                    <A href=details.clone() attr:class="marker marker--base" attr:data-testid="base-updated">{t(l, "◆ Base image updated")}</A>
                })}
                {image.built.then(|| view! {
                    <BuildMarker group=group name=image.name.clone() href=details state=image.build_state ready=image.ready/>
                })}
            </td>
            <td>{image.display_name} {standing}</td>
            <td class="table__description">{image.description}</td>
            <td><span class=format!("type type--{}", image.image_type)>{image.image_type.clone()}</span></td>
            <td class="table__size" data-testid="image-size">{size_cell(image.compressed_size)}</td>
            <td class="table__actions">
                <A href=edit attr:class="icon-button" attr:aria-label=edit_label.clone() attr:title=edit_label>
                    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" class="icon">
                        <path d="M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4"/>
                    </svg>
                </A>
                <A href=lifecycle attr:class="icon-button" attr:aria-label=lifecycle_label.clone() attr:title=lifecycle_label>
                    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" class="icon">
                        <path d="M4 5h16v4H4zM6 9v10h12V9M10 13h4"/>
                    </svg>
                </A>
                <A href=delete attr:class="icon-button icon-button--danger" attr:aria-label=delete_label.clone() attr:title=delete_label>
                    <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" class="icon">
                        <path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6"/>
                    </svg>
                </A>
            </td>
        </tr>
    }
}

/// How often a building image's marker asks how its build is going.
const POLL_MS: u64 = 3000;

/// A built image's newest build: the triangle while it builds, a mark when it failed or was
/// cancelled, "not ready" before a first success; a link to its Build Details. An island:
/// while the build runs it asks the server every few seconds and follows its state.
#[island]
fn BuildMarker(
    group: Option<String>,
    name: String,
    href: String,
    state: Option<BuildState>,
    ready: bool,
) -> impl IntoView {
    let now = RwSignal::new((state, ready));
    Effect::new(move |_| {
        if !state.is_some_and(BuildState::is_active) {
            return;
        }
        let (group, name) = (group.clone(), name.clone());
        let handle = set_interval_with_handle(
            move || {
                let (group, name) = (group.clone(), name.clone());
                leptos::task::spawn_local(async move {
                    if let Ok(latest) = crate::api::builds::image_build_state(group, name).await {
                        now.set(latest);
                    }
                });
            },
            std::time::Duration::from_millis(POLL_MS),
        );
        // Stops asking once the build has ended.
        Effect::new(move |_| {
            if let (false, Ok(handle)) = (
                now.get().0.is_some_and(BuildState::is_active),
                handle.as_ref(),
            ) {
                handle.clear();
            }
        });
    });
    let l = use_lang();
    let look = move || {
        let (state, ready) = now.get();
        let (class, text) = match state {
            Some(BuildState::Queued | BuildState::Running) => (
                "marker marker--building",
                t(l, "▲ Image building in progress"),
            ),
            Some(BuildState::Failed) if !ready => {
                ("marker marker--failed", t(l, "✕ Build failed · not ready"))
            }
            Some(BuildState::Failed) => ("marker marker--failed", t(l, "✕ Build failed")),
            Some(BuildState::Cancelled) if !ready => (
                "marker marker--cancelled",
                t(l, "◼ Build cancelled · not ready"),
            ),
            Some(BuildState::Cancelled) => ("marker marker--cancelled", t(l, "◼ Build cancelled")),
            _ if !ready => ("marker marker--failed", t(l, "Not ready")),
            _ => ("marker", t(l, "View build details")),
        };
        (class, text)
    };
    view! {
        <a href=href class=move || look().0 title=t(l, "View build details") data-testid="build-marker">{move || look().1}</a>
    }
}

#[component]
fn Pager(base: String, query: ListQuery, total: i64) -> impl IntoView {
    let per_page = i64::from(ListQuery::PER_PAGE);
    let first = query.offset() + 1;
    let last = (query.offset() + per_page).min(total);
    let pages = ((total + per_page - 1) / per_page).max(1) as u32;
    let link = |page: u32| format!("{base}{}", query.at_page(page).to_query_string());
    let l = use_lang();
    let (first, last, total) = (first.to_string(), last.to_string(), total.to_string());
    let range = tf(
        l,
        "{first}–{last} of {total}",
        &[("first", &first), ("last", &last), ("total", &total)],
    );
    let (has_prev, has_next) = (query.page > 1, query.page < pages);
    let (page, pages) = (query.page.to_string(), pages.to_string());
    let at = tf(
        l,
        "Page {page} of {pages}",
        &[("page", &page), ("pages", &pages)],
    );
    view! {
        <nav class="pager" aria-label=t(l, "Pages")>
            <span class="pager__range">{range}</span>
            {has_prev.then(|| view! { <A href=link(query.page - 1) attr:rel="prev">{t(l, "← Previous")}</A> })}
            <span class="pager__page">{at}</span>
            {has_next.then(|| view! { <A href=link(query.page + 1) attr:rel="next">{t(l, "Next →")}</A> })}
        </nav>
    }
}

/// A column's heading: the manual keeps these in English in both languages.
fn column_label(l: crate::i18n::Lang, column: SortColumn) -> &'static str {
    match column {
        SortColumn::Name => t(l, "Name"),
        SortColumn::DisplayName => t(l, "Display Name"),
        SortColumn::Description => t(l, "Description"),
        SortColumn::Type => t(l, "Type"),
        SortColumn::Size => t(l, "Size"),
    }
}
