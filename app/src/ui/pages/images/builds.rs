//! Build Details of a custom image: the newest build's state, progress and live log, Cancel
//! Build, Rebuild from the edited spec, and the history of every build.

use crate::i18n::{Lang, error_message, t, tf, use_lang};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::{group_param, name_param, scope_title};
use crate::api::builds::{
    CancelBuild, CheckBaseImage, RebuildImage, RebuildOnNewBase, SetAutoRebuild, build_details,
};
use crate::api::images::list_path;
use crate::domain::BuildState;
use crate::domain::base_update::{BaseStatus, short_digest};
use crate::domain::sbom::{Package, VersionChange};
use crate::domain::time::utc_minute;
use crate::ui::components::log_view::LogView;
use crate::ui::components::status::ApiErrorView;
use crate::ui::pages::images::build_form::BuildFields;
use crate::wire::builds::{BuildView, BuildsPage, PackageChanges};

#[component]
pub fn BuildDetailsPage() -> impl IntoView {
    let group = group_param();
    let name = name_param();
    let page = Resource::new(
        move || (group.get(), name.get()),
        |(g, n)| build_details(g, n),
    );
    let l = use_lang();
    view! {
        <Transition fallback=move || view! { <p class="loading">{t(l, "Loading…")}</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => Either::Left(view! { <BuildDetails group=group.get_untracked() page/> }),
                    Err(error) => Either::Right(view! { <ApiErrorView error/> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn BuildDetails(group: Option<String>, page: BuildsPage) -> impl IntoView {
    let cancel = ServerAction::<CancelBuild>::new();
    let rebuild = ServerAction::<RebuildImage>::new();
    let cancel_error = cancel.value().get_untracked().and_then(Result::err);
    let rebuild_error = rebuild.value().get_untracked().and_then(Result::err);
    let base = list_path(group.as_deref());
    let l = use_lang();
    let title = scope_title(l, group.as_deref());
    let page_title = tf(l, "Build Details · {name}", &[("name", &page.display_name)]);
    let breadcrumb = tf(l, "Images · {scope}", &[("scope", &title)]);
    let newest = page.builds.first().cloned();
    let history = page.builds.clone();
    let (cancel_group, image_name) = (group.clone(), page.name.clone());
    let (log_tail, log_seq) = (page.log_tail.clone(), page.log_seq);
    let newest_view = newest.map(move |build| {
        let active = build.state.is_active();
        view! {
            <BuildStatus of=build.clone()/>
            {active.then(|| view! {
                <ActionForm action=cancel attr:class="inline-form" attr:aria-label=t(l, "Cancel build")>
                    {cancel_group.map(|g| view! { <input type="hidden" name="group" value=g/> })}
                    <input type="hidden" name="name" value=image_name/>
                    <input type="hidden" name="build" value=build.id/>
                    <button type="submit" class="button button--danger">{t(l, "Cancel Build")}</button>
                </ActionForm>
            })}
            <h2>{t(l, "Log")}</h2>
            <LogView build_id=build.id active initial=log_tail after_seq=log_seq step=build.step steps=build.steps/>
        }
    });
    view! {
        <Title text=page_title/>
        <section class="card">
            <p class="breadcrumbs"><A href=base.clone()>{breadcrumb}</A></p>
            <h1>{t(l, "Build Details: ")} {page.display_name.clone()}</h1>
            <dl class="facts">
                <dt>{t(l, "Image name")}</dt><dd>{page.name.clone()}</dd>
                <dt>{t(l, "Type")}</dt><dd>{page.image_type.clone()}</dd>
                <dt>{t(l, "Container image url")}</dt>
                <dd>{if page.url.is_empty() { t(l, "not ready: no build has succeeded yet").to_owned() } else { page.url.clone() }}</dd>
            </dl>
            {page.builds_disabled.clone().map(|why| view! { <p class="notice" role="status">{why}</p> })}
            {cancel_error.map(|e| view! { <p class="form__error" role="alert">{error_message(use_lang(), &e)}</p> })}
            {newest_view}
        </section>
        {page.base.clone().map(|status| view! { <BaseImageView group=group.clone() name=page.name.clone() status builds_disabled=page.builds_disabled.is_some()/> })}
        {page.changes.clone().map(|changes| view! { <PackageChangesView changes/> })}
        <section class="card">
            <h2>{t(l, "Rebuild")}</h2>
            <p class="form__hint">{t(l, "Edit the spec and start a new build. The image keeps its current url until the new build succeeds.")}</p>
            <ActionForm action=rebuild attr:class="form" attr:aria-label=t(l, "Rebuild")>
                {group.clone().map(|g| view! { <input type="hidden" name="group" value=g/> })}
                <input type="hidden" name="name" value=page.name.clone()/>
                <BuildFields group=group.clone() initial=page.rebuild.clone() pull_secrets=page.pull_secrets.clone() bases=page.bases.clone() error=rebuild_error.clone() spec_only=true/>
                <div class="form__actions">
                    <button type="submit" class="button button--primary" disabled=page.builds_disabled.is_some()>{t(l, "Rebuild")}</button>
                </div>
            </ActionForm>
        </section>
        <section class="card">
            <h2>{t(l, "History")}</h2>
            <table class="table">
                <thead><tr>
                    <th scope="col">{t(l, "Build")}</th><th scope="col">{t(l, "State")}</th><th scope="col">{t(l, "By")}</th>
                    <th scope="col">{t(l, "Duration")}</th><th scope="col">{t(l, "Size")}</th><th scope="col">{t(l, "Image")}</th>
                </tr></thead>
                <tbody>
                    {history.into_iter().map(|b| view! { <HistoryRow of=b/> }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

/// The live build's base image: whether its tag names a newer image now (then a one-click
/// rebuild on it), a check on demand, and the automatic rebuild's switch. Forms only: no
/// script needed.
#[component]
fn BaseImageView(
    group: Option<String>,
    name: String,
    status: BaseStatus,
    builds_disabled: bool,
) -> impl IntoView {
    let check = ServerAction::<CheckBaseImage>::new();
    let rebuild = ServerAction::<RebuildOnNewBase>::new();
    let auto = ServerAction::<SetAutoRebuild>::new();
    let error = [
        check.value().get_untracked().and_then(Result::err),
        rebuild.value().get_untracked().and_then(Result::err),
        auto.value().get_untracked().and_then(Result::err),
    ]
    .into_iter()
    .flatten()
    .next();
    let l = use_lang();
    let hidden = move || {
        view! {
            {group.clone().map(|g| view! { <input type="hidden" name="group" value=g/> })}
            <input type="hidden" name="name" value=name.clone()/>
        }
    };
    let short = |digest: &Option<String>| {
        digest
            .as_deref()
            .map(|d| short_digest(d).to_owned())
            .unwrap_or_else(|| t(l, "unknown").to_owned())
    };
    let checked = status
        .checked_at
        .map(utc_minute)
        .unwrap_or_else(|| t(l, "never").to_owned());
    let (hidden_rebuild, hidden_check) = (hidden.clone(), hidden.clone());
    let updated = status.updated().then(|| {
        let latest = short(&status.latest);
        let text = tf(
            l,
            "The base image {base} now names a newer image ({digest}). Rebuild to take its fixes; the image keeps its url until the build succeeds.",
            &[("base", &status.image), ("digest", &latest)],
        );
        view! {
            <p class="notice" role="status" data-testid="base-updated-notice">{text}</p>
            <ActionForm action=rebuild attr:class="inline-form" attr:aria-label=t(l, "Rebuild on the updated base image")>
                {hidden_rebuild()}
                <button type="submit" class="button button--primary" disabled=builds_disabled>{t(l, "Rebuild on the updated base image")}</button>
            </ActionForm>
        }
    });
    view! {
        <section class="card" data-testid="base-image">
            <h2>{t(l, "Base image")}</h2>
            <dl class="facts">
                <dt>{t(l, "Base image")}</dt><dd><code>{status.image.clone()}</code></dd>
                <dt>{t(l, "Built on")}</dt><dd><code>{short(&status.built_on)}</code></dd>
                <dt>{t(l, "Last checked")}</dt><dd data-testid="base-checked">{checked}</dd>
            </dl>
            {error.map(|e| view! { <p class="form__error" role="alert">{error_message(l, &e)}</p> })}
            {(!status.error.is_empty()).then(|| view! {
                <p class="form__error" role="alert">{tf(l, "The last check failed: {why}", &[("why", &status.error)])}</p>
            })}
            {status.pinned.then(|| view! { <p class="form__hint">{t(l, "The base image is pinned by digest: it cannot change.")}</p> })}
            {updated}
            <ActionForm action=check attr:class="inline-form" attr:aria-label=t(l, "Check the base image now")>
                {hidden_check()}
                <button type="submit" class="button" disabled=builds_disabled>{t(l, "Check the base image now")}</button>
            </ActionForm>
            <ActionForm action=auto attr:class="inline-form" attr:aria-label=t(l, "Rebuild automatically when the base image changes")>
                {hidden()}
                <label class="checkbox">
                    <input type="checkbox" name="enabled" checked=status.auto_rebuild/>
                    {t(l, "Rebuild automatically when the base image changes")}
                </label>
                <button type="submit" class="button">{t(l, "Save")}</button>
            </ActionForm>
        </section>
    }
}

/// The newest successful build's SBOM to download, and its packages against the previous
/// successful build's: added, removed, version changes. Computed on the server; no script.
#[component]
fn PackageChangesView(changes: PackageChanges) -> impl IntoView {
    let l = use_lang();
    let revision = changes.revision.to_string();
    let against = match changes.previous {
        Some(previous) => tf(
            l,
            "Build {revision} against build {previous}, the previous successful build.",
            &[("revision", &revision), ("previous", &previous.to_string())],
        ),
        None => tf(
            l,
            "Build {revision} is the first successful build.",
            &[("revision", &revision)],
        ),
    };
    let diff = changes.diff;
    let unchanged = changes.previous.is_some() && diff.is_empty();
    let added: Vec<String> = diff.added.iter().map(Package::to_string).collect();
    let removed: Vec<String> = diff.removed.iter().map(Package::to_string).collect();
    let changed: Vec<String> = diff.changed.iter().map(VersionChange::to_string).collect();
    let count = |items: &[String]| items.len().to_string();
    let lists = [
        (
            tf(l, "Added ({count})", &[("count", &count(&added))]),
            added,
        ),
        (
            tf(l, "Removed ({count})", &[("count", &count(&removed))]),
            removed,
        ),
        (
            tf(
                l,
                "Version changes ({count})",
                &[("count", &count(&changed))],
            ),
            changed,
        ),
    ];
    let left_out = changes.left_out.to_string();
    view! {
        <section class="card" data-testid="package-changes">
            <h2>{t(l, "Packages")}</h2>
            <p><a class="button" href=changes.sbom_url download="">{t(l, "Download SBOM (CycloneDX)")}</a></p>
            <h3>{t(l, "Changes since the previous build")}</h3>
            <p>{against}</p>
            {unchanged.then(|| view! { <p>{t(l, "No package changed.")}</p> })}
            {lists.into_iter().filter(|(_, items)| !items.is_empty()).map(|(title, items)| view! {
                <h4>{title}</h4>
                <ul class="package-changes">
                    {items.into_iter().map(|item| view! { <li><code>{item}</code></li> }).collect_view()}
                </ul>
            }).collect_view()}
            {(changes.left_out > 0).then(|| view! {
                <p class="form__hint">{tf(l, "…and {count} more; the SBOMs list them all.", &[("count", &left_out)])}</p>
            })}
        </section>
    }
}

/// The state of a build in words, with its progress bar and failure reason.
#[component]
fn BuildStatus(of: BuildView) -> impl IntoView {
    let build = of;
    let l = use_lang();
    let label = state_label(l, &build);
    let revision = build.revision.to_string();
    let heading = tf(l, "Build {revision}: ", &[("revision", &revision)]);
    view! {
        <div class=format!("build-status build-status--{}", build.state.as_str()) data-testid="build-state">
            <p class="build-status__state">
                <strong>{heading}</strong>{label}
            </p>
            {(!build.message.is_empty() && build.state != BuildState::Succeeded).then(|| view! {
                <p class="build-status__message" role="alert">{build.message.clone()}</p>
            })}
            {build.compressed_size.map(|bytes| {
                let size = crate::domain::size::format_size(bytes);
                view! {
                    <p class="build-status__size" data-testid="build-size">{tf(l, "Compressed size: {size}", &[("size", &size)])}</p>
                }
            })}
            {(!build.installed.is_empty()).then(|| view! {
                <details class="build-status__installed">
                    <summary>{t(l, "Installed packages")}</summary>
                    <pre>{build.installed.clone()}</pre>
                </details>
            })}
        </div>
    }
}

fn state_label(l: Lang, build: &BuildView) -> String {
    match build.state {
        BuildState::Queued => match build.queue_position {
            Some(0) | None => t(l, "queued, starts next").to_owned(),
            Some(n) => tf(
                l,
                "queued, {n} ahead in the queue",
                &[("n", &n.to_string())],
            ),
        },
        BuildState::Running => t(l, "Image building in progress").to_owned(),
        BuildState::Succeeded if build.reused => {
            t(l, "succeeded (the registry already had this image)").to_owned()
        }
        BuildState::Succeeded => t(l, "succeeded").to_owned(),
        BuildState::Failed => tf(
            l,
            "failed ({reason})",
            &[("reason", reason_label(l, &build.reason))],
        ),
        BuildState::Cancelled => t(l, "cancelled").to_owned(),
    }
}

/// A failure reason's code (as stored and in the API) in words; the build's message beside
/// it gives the details in the builder's words.
fn reason_label(l: Lang, reason: &str) -> &str {
    match reason {
        "base-image" => t(l, "the base image could not be read"),
        "package-not-found" => t(l, "a package was not found"),
        "no-apt" => t(l, "the base image has no apt-get"),
        "no-conda" => t(l, "the base image has no conda"),
        "no-python" => t(l, "the base image has no python3"),
        "push" => t(l, "the image could not be pushed"),
        "timeout" => t(l, "it took too long"),
        "killed" => t(l, "stopped"),
        "interrupted" => t(l, "interrupted"),
        "build" => t(l, "a build step failed"),
        "out-of-memory" => t(l, "out of memory"),
        "smoke-test" => t(l, "the image failed its smoke test"),
        "evicted" => t(l, "its node evicted it"),
        "builder-image" => t(l, "the builder's image could not be pulled"),
        other => other,
    }
}

#[component]
fn HistoryRow(of: BuildView) -> impl IntoView {
    let build = of;
    let l = use_lang();
    let duration = match (build.started_at, build.finished_at) {
        (Some(start), Some(end)) => {
            let seconds = format!("{:.0}", (end - start) as f64 / 1000.0);
            tf(l, "{seconds} s", &[("seconds", &seconds)])
        }
        (Some(_), None) => t(l, "running").to_owned(),
        _ => "—".to_owned(),
    };
    view! {
        <tr>
            <td>{build.revision}</td>
            <td>{state_label(l, &build)}</td>
            <td>{build.created_by.clone()}</td>
            <td>{duration}</td>
            <td class="table__size">{crate::domain::size::size_cell(build.compressed_size)}</td>
            <td class="table__description">{build.target.clone()}</td>
        </tr>
    }
}
