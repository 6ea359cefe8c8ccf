//! Custom images: create one (its first build), its builds, cancel, rebuild. Permissions are
//! checked against the image's (or the build's) stored group.

use super::images::{ImageRecord, audit_target};
use super::{Call, OpResult, first};
use crate::backend::builder::{Planned, Resolved};
use crate::backend::builds::{self, BuildRow, NewBuild};
use crate::backend::db::Conn;
use crate::backend::images::{self, ImageRow, Scope};
use crate::backend::{AppState, credentials, groups};
use crate::domain::build::BuildSpec;
use crate::domain::{
    Action, BuildForm, BuildState, FieldError, LaunchableImage, Said, Target, messages, sbom,
};
use crate::wire::ApiError;
use crate::wire::builds::{
    BuildView, BuildsPage, PackageChanges, SHOWN_CHANGES, TAIL_LINES, last_lines,
};

/// Checks a build spec as the user types: the base image's grammar, the pull secret and
/// every package line, by the same parsers as Create and Rebuild (no registry is asked).
pub async fn check_spec(
    call: &Call,
    group: Option<&str>,
    form: BuildForm,
) -> OpResult<Vec<FieldError>> {
    call.scope(group, Action::BuildGroupImages).await?;
    Ok(form.validate_spec().err().unwrap_or_default())
}

/// Ready images this scope can build on: the base image suggestions.
pub async fn base_choices(call: &Call, group: Option<&str>) -> OpResult<Vec<LaunchableImage>> {
    let scope = call.scope(group, Action::BuildGroupImages).await?;
    bases(&call.state, scope).await
}

async fn bases(state: &AppState, scope: Scope) -> OpResult<Vec<LaunchableImage>> {
    Ok(crate::backend::launchable::bases_for(&state.db, scope).await?)
}

/// Whether builds can start here, and if not, why: for people signed in only (the reason
/// names the server's configuration).
pub fn status(call: &Call) -> OpResult<Option<String>> {
    if !matches!(call.actor, crate::domain::Actor::User(_)) {
        return Err(ApiError::Unauthenticated);
    }
    let builds = &call.state.builds;
    Ok((!builds.enabled()).then(|| builds.disabled_reason.clone()))
}

/// Creates a custom image and queues its first build, in one change. The base image must
/// resolve, and the registry is asked whether it holds the image already, before anything
/// is written.
pub async fn create_custom(
    call: &Call,
    group: Option<&str>,
    form: BuildForm,
) -> OpResult<(ImageRecord, BuildRow)> {
    let state = &call.state;
    let scope = call.scope(group, Action::BuildGroupImages).await?;
    let valid = form.validate().map_err(first)?;
    let credential =
        credentials::resolve_usable(&state.db, scope, valid.spec.pull_secret.as_deref()).await?;
    let (resolved, planned) = prepare(state, group, valid.name.as_str(), &valid.spec).await?;
    let mut change = call.change().await?;
    let image = images::create_built(change.conn(), scope, &valid, credential).await?;
    let build = enqueue(
        change.conn(),
        &call.audit_name()?,
        &image,
        &valid.spec,
        &resolved,
        &planned,
    )
    .await?;
    let detail = format!(
        "build {} of {}",
        build.revision,
        valid.spec.base_image.as_str()
    );
    change
        .commit("image.create", &audit_target(group, &image.name), &detail)
        .await?;
    state.builds.wake();
    let record = ImageRecord {
        pull_secret: valid.spec.pull_secret.clone(),
        build_state: Some(build.state()),
        row: image,
        standing: crate::domain::Standing::Current,
    };
    Ok((record, build))
}

/// Queues a new build of an image from an edited spec (Rebuild); the image keeps its URL
/// until this build succeeds.
pub async fn rebuild(
    call: &Call,
    group: Option<&str>,
    name: &str,
    form: BuildForm,
) -> OpResult<BuildRow> {
    let state = &call.state;
    let scope = call.scope(group, Action::BuildGroupImages).await?;
    let image = images::require(&state.db, scope, name).await?;
    if image.source != "build" {
        return Err(ApiError::Conflict(Said::coded(
            messages::IMAGE_NOT_BUILT,
            &[("image", name)],
        )));
    }
    let spec = form.validate_spec().map_err(first)?;
    credentials::resolve_usable(&state.db, scope, spec.pull_secret.as_deref()).await?;
    queue_rebuild(state, call.audit_name()?, group, &image, &spec, "").await
}

/// Queues a build of `image` from `spec` for `by` (the name the build and the audit entry
/// carry), in one change with its `build.rebuild` entry, whose detail ends with `why`.
/// The base image resolves and the registry is asked first; the image keeps its URL until
/// the build succeeds.
pub(super) async fn queue_rebuild(
    state: &AppState,
    by: String,
    group: Option<&str>,
    image: &ImageRow,
    spec: &BuildSpec,
    why: &str,
) -> OpResult<BuildRow> {
    let (resolved, planned) = prepare(state, group, &image.name, spec).await?;
    let mut change = super::audit::Change::begin(&state.db, by.clone()).await?;
    let build = enqueue(change.conn(), &by, image, spec, &resolved, &planned).await?;
    let detail = format!(
        "build {} of {}{why}",
        build.revision,
        spec.base_image.as_str()
    );
    change
        .commit("build.rebuild", &audit_target(group, &image.name), &detail)
        .await?;
    state.builds.wake();
    Ok(build)
}

/// Resolves a spec's base image with its credentials and plans its build: the registry
/// calls, made before a change begins. A bad base image fails here, naming `base_image`.
async fn prepare(
    state: &AppState,
    group: Option<&str>,
    image_name: &str,
    spec: &BuildSpec,
) -> OpResult<(Resolved, Planned)> {
    let resolved = state
        .builds
        .resolve(&state.db, &state.secret, spec, group)
        .await?;
    let planned = state
        .builds
        .plan(group, image_name, spec, &resolved)
        .await?;
    Ok((resolved, planned))
}

/// Writes the queued build of a resolved and planned spec.
async fn enqueue(
    conn: &mut Conn,
    by: &str,
    image: &ImageRow,
    spec: &BuildSpec,
    resolved: &Resolved,
    planned: &Planned,
) -> OpResult<BuildRow> {
    let new = NewBuild {
        image_id: image.id,
        scope: image.group_id.map_or(Scope::Global, Scope::Group),
        spec,
        image_type: &image.image_type,
        base_digest: &resolved.base.digest,
        base_user: &resolved.base.user,
        target: &planned.target,
        created_by: by,
        compressed_size: planned.compressed_size,
    };
    Ok(builds::enqueue(conn, &new, planned.reused).await?)
}

/// A build, if the caller may do `action` to it: checked against the build's stored
/// group. Its id alone grants nothing.
pub async fn authorized(call: &Call, id: i64, action: Action) -> OpResult<BuildRow> {
    let build = builds::get(&call.state.db, id).await?;
    let target = match build.group_id {
        Some(group) => Target::Group(group),
        None => Target::System,
    };
    let action = match (build.group_id, action.changes()) {
        (Some(_), _) => action,
        (None, true) => Action::ManageGlobalImages,
        (None, false) => Action::ViewGlobalImages,
    };
    call.check_build(action, target)?;
    Ok(build)
}

/// [`authorized`], with the names of the build's image and group.
pub async fn build(call: &Call, id: i64, action: Action) -> OpResult<OwnedBuild> {
    let build = authorized(call, id, action).await?;
    let image = images::by_id(&call.state.db, build.image_id).await?;
    let group = match build.group_id {
        Some(id) => Some(groups::name_of(&call.state.db, id).await?),
        None => None,
    };
    Ok(OwnedBuild {
        build,
        image: image.name,
        group,
    })
}

/// A build and whose it is.
#[derive(Debug, Clone)]
pub struct OwnedBuild {
    pub build: BuildRow,
    pub image: String,
    /// `None` for a global image.
    pub group: Option<String>,
}

/// Cancels a build; its log so far is kept. Refused once it has ended.
pub async fn cancel(call: &Call, id: i64) -> OpResult<OwnedBuild> {
    let owned = build(call, id, Action::BuildGroupImages).await?;
    let state = &call.state;
    let mut change = call.change().await?;
    if !state.builds.cancel(change.conn(), &owned.build).await? {
        return Err(ApiError::Conflict(Said::coded(
            messages::BUILD_ENDED,
            &[
                ("build", &owned.build.revision.to_string()),
                ("image", &owned.image),
            ],
        )));
    }
    let target = audit_target(owned.group.as_deref(), &owned.image);
    change
        .commit("build.cancel", &target, &format!("build {id}"))
        .await?;
    state.builds.wake();
    Ok(OwnedBuild {
        build: builds::get(&state.db, id).await?,
        ..owned
    })
}

/// Cancels build `id` of the named image: the form on the image's Build Details.
pub async fn cancel_of_image(
    call: &Call,
    group: Option<&str>,
    name: &str,
    id: i64,
) -> OpResult<()> {
    let scope = call.scope(group, Action::BuildGroupImages).await?;
    let image = images::require(&call.state.db, scope, name).await?;
    let stored = builds::get(&call.state.db, id).await?;
    if stored.image_id != image.id {
        return Err(ApiError::NotFound(Said::coded(
            messages::IMAGE_HAS_NO_BUILD,
            &[("image", name), ("build", &id.to_string())],
        )));
    }
    cancel(call, id).await.map(|_| ())
}

/// The newest build's state of an image, and whether the image is ready.
pub async fn image_build_state(
    call: &Call,
    group: Option<&str>,
    name: &str,
) -> OpResult<(Option<BuildState>, bool)> {
    let scope = call.scope(group, Action::ViewGroupImages).await?;
    let image = images::require(&call.state.db, scope, name).await?;
    let latest = builds::latest_states(&call.state.db, &[image.id]).await?;
    let state = latest.first().and_then(|(_, _, s)| BuildState::parse(s));
    Ok((state, !image.url.is_empty()))
}

/// An image's builds, newest first, with the queue positions of those waiting.
pub async fn history(
    call: &Call,
    group: Option<&str>,
    name: &str,
) -> OpResult<(ImageRow, Vec<BuildRow>, Vec<BuildView>)> {
    let scope = call.scope(group, Action::ViewGroupImages).await?;
    history_in(&call.state, scope, name).await
}

async fn history_in(
    state: &AppState,
    scope: Scope,
    name: &str,
) -> OpResult<(ImageRow, Vec<BuildRow>, Vec<BuildView>)> {
    let image = images::require(&state.db, scope, name).await?;
    let rows = builds::history(&state.db, image.id).await?;
    let views = views(state, &rows).await?;
    Ok((image, rows, views))
}

/// Views of builds; one read of the queue gives every queued build's position.
pub async fn views(state: &AppState, rows: &[BuildRow]) -> OpResult<Vec<BuildView>> {
    let queue = match rows.iter().any(|r| r.state() == BuildState::Queued) {
        true => builds::queued_ids(&state.db).await?,
        false => Vec::new(),
    };
    Ok(rows
        .iter()
        .map(|row| {
            view(
                row,
                queue.iter().position(|id| *id == row.id).map(|p| p as i64),
            )
        })
        .collect())
}

/// An image's Build Details page: history, the end of the newest log, the rebuild form.
pub async fn details(call: &Call, group: Option<&str>, name: &str) -> OpResult<BuildsPage> {
    let state = &call.state;
    let scope = call.scope(group, Action::BuildGroupImages).await?;
    let (image, rows, views) = history_in(state, scope, name).await?;
    let (log_tail, log_seq) = match rows.first() {
        Some(newest) => {
            let chunks = builds::log_tail(&state.db, newest.id, TAIL_LINES).await?;
            let seq = chunks.last().map_or(0, |(seq, _)| *seq);
            let text: String = chunks.into_iter().map(|(_, text)| text).collect();
            (last_lines(&text, TAIL_LINES as usize).to_owned(), seq)
        }
        None => (String::new(), 0),
    };
    let rebuild = match rows.first() {
        Some(newest) => newest.spec()?.to_form(),
        None => BuildForm::default(),
    };
    let pull_secrets = credentials::usable(&state.db, scope)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let base = super::base_updates::status(state, &image).await?;
    Ok(BuildsPage {
        name: image.name,
        display_name: image.display_name,
        image_type: image.image_type,
        url: image.url,
        builds: views,
        log_tail,
        log_seq,
        rebuild,
        pull_secrets,
        bases: bases(state, scope).await?,
        builds_disabled: (!state.builds.enabled()).then(|| state.builds.disabled_reason.clone()),
        changes: changes(state, &rows).await?,
        base,
    })
}

/// The packages of the newest successful build (of `rows`, an image's builds newest first)
/// against those of the successful build before it; `None` before a successful build with a
/// record of its packages.
async fn changes(state: &AppState, rows: &[BuildRow]) -> OpResult<Option<PackageChanges>> {
    let mut recorded = Vec::with_capacity(2);
    for row in rows.iter().filter(|r| r.state() == BuildState::Succeeded) {
        if let Some(record) = builds::record_of(&state.db, row).await? {
            recorded.push((row, sbom::parse_record(&record)));
            if recorded.len() == 2 {
                break;
            }
        }
    }
    let mut recorded = recorded.into_iter();
    let Some((newest, now)) = recorded.next() else {
        return Ok(None);
    };
    let previous = recorded.next();
    let mut diff = previous
        .as_ref()
        .map(|(_, before)| sbom::diff(before, &now))
        .unwrap_or_default();
    let left_out = diff.truncate(SHOWN_CHANGES);
    Ok(Some(PackageChanges {
        revision: newest.revision,
        sbom_url: sbom_url(newest.id),
        previous: previous.map(|(row, _)| row.revision),
        diff,
        left_out,
    }))
}

/// Where a build's SBOM downloads from.
pub fn sbom_url(id: i64) -> String {
    format!("/api/v1/builds/{id}/sbom")
}

/// A build's software bill of materials as a download.
#[derive(Debug, Clone)]
pub struct Sbom {
    pub filename: String,
    /// The CycloneDX 1.5 JSON document.
    pub json: String,
}

/// The SBOM of a successful build, for whoever may read the build: its packages as read
/// from the image's own package databases. Any other build is refused (409).
pub async fn sbom(call: &Call, id: i64) -> OpResult<Sbom> {
    let owned = build(call, id, Action::ViewGroupImages).await?;
    let row = &owned.build;
    let revision = row.revision.to_string();
    let params = [
        ("build", revision.as_str()),
        ("image", owned.image.as_str()),
    ];
    let Some(record) = builds::record_of(&call.state.db, row).await? else {
        let message = match row.state() {
            BuildState::Succeeded => messages::BUILD_SBOM_UNRECORDED,
            _ => messages::BUILD_HAS_NO_SBOM,
        };
        return Err(ApiError::Conflict(Said::coded(message, &params)));
    };
    let subject = sbom::Subject {
        build_id: row.id,
        target: &row.target,
        finished_at: row.finished_at.unwrap_or(row.queued_at),
    };
    let document = sbom::cyclonedx(&sbom::parse_record(&record), &subject);
    Ok(Sbom {
        filename: format!("{}-build-{revision}.cdx.json", owned.image),
        json: document.to_string(),
    })
}

pub fn view(row: &BuildRow, queue_position: Option<i64>) -> BuildView {
    BuildView {
        id: row.id,
        revision: row.revision,
        state: row.state(),
        reason: row.reason.clone(),
        message: row.message.clone(),
        step: row.step,
        steps: row.steps,
        target: row.target.clone(),
        reused: row.reused != 0,
        created_by: row.created_by.clone(),
        queued_at: row.queued_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
        queue_position,
        installed: row.installed.clone(),
        compressed_size: row.compressed_size.and_then(|b| u64::try_from(b).ok()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::backend::builder::local::LocalBuildah;
    use crate::backend::builder::{BuildQueue, BuildSettings};
    use crate::ops::{accounts, testing};

    #[tokio::test]
    async fn another_groups_built_image_is_no_base_image() {
        let settings = BuildSettings {
            // Nothing listens on port 9 of loopback: a registry call fails at once, here.
            registry: "127.0.0.1:9/kiln".into(),
            registry_username: Some("robot".into()),
            registry_password: Some("secret".into()),
            insecure_registries: Vec::new(),
            timeout: Duration::from_secs(60),
            total_limit: 1,
            per_group_limit: 1,
            ca_bundle: None,
            log_limit: 1024,
            internal_registries: Vec::new(),
            smoke_timeout: crate::backend::builder::smoke::DEFAULT_LIMIT,
            registry_cache: true,
        };
        let work = std::env::temp_dir().join(format!("kiln-{}", crate::backend::random_hex(4)));
        let builds = BuildQueue::new(
            Arc::new(LocalBuildah::new(
                settings.clone(),
                work,
                Default::default(),
            )),
            settings,
        );
        let state = testing::state().await;
        let call = Call::operator(state.with(|fields| fields.builds = builds));
        accounts::add_group(&call, "ml").await.unwrap();
        accounts::add_group(&call, "cv").await.unwrap();
        let form = |base: &str| BuildForm {
            display_name: "tools".into(),
            image_type: "cpu".into(),
            base_image: base.into(),
            apt: "curl".into(),
            ..Default::default()
        };
        let theirs = create_custom(&call, Some("ml"), form("127.0.0.1:9/kiln/cv/tools:1"))
            .await
            .unwrap_err();
        let ApiError::Invalid(e) = theirs else {
            panic!("{theirs:?}")
        };
        assert_eq!(e.field, "base_image");
        assert!(
            e.message.contains("another group's images"),
            "{}",
            e.message
        );
        // Its own group's and the global images pass this rule (and go on to the registry,
        // which this machine cannot reach).
        for base in [
            "127.0.0.1:9/kiln/ml/tools:1",
            "127.0.0.1:9/kiln/global/base:1",
        ] {
            let err = create_custom(&call, Some("ml"), form(base))
                .await
                .unwrap_err();
            assert!(
                !err.to_string().contains("another group's"),
                "{base}: {err}"
            );
        }
        // A global image may not build on a group's.
        let err = create_custom(&call, None, form("127.0.0.1:9/kiln/ml/tools:1"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("another group's"), "{err}");
    }
}
