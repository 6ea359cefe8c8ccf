//! The image catalog of a group (`group` = its name) or, with no group, the global images.

use super::{Call, OpResult, first};
use crate::backend::images::{ImageRow, Scope};
use crate::backend::{AppState, builds, credentials, images, now_ms};
use crate::domain::lifecycle::successor_refusal;
use crate::domain::{
    Action, BuildState, DeprecationForm, ImageForm, ListQuery, Owner, Standing, Successor,
    ValidImage,
};
use crate::domain::{FieldError, Said, messages};
use crate::wire::ApiError;
use crate::wire::images::{ImageList, ImageSummary};

/// An image with what its row only refers to: its pull secret's name, its newest build.
#[derive(Debug, Clone)]
pub struct ImageRecord {
    pub row: ImageRow,
    pub pull_secret: Option<String>,
    pub build_state: Option<BuildState>,
    /// In use, deprecated or retired, as of the read.
    pub standing: Standing,
}

impl ImageRecord {
    /// The image as its edit form shows it.
    pub fn form(&self) -> ImageForm {
        let own_gpu_url = self.row.gpu_url != self.row.url;
        ImageForm {
            display_name: self.row.display_name.clone(),
            description: self.row.description.clone(),
            image_type: self.row.image_type.clone(),
            url: self.row.url.clone(),
            use_gpu_url: own_gpu_url,
            gpu_url: if own_gpu_url {
                self.row.gpu_url.clone()
            } else {
                String::new()
            },
            use_pull_secret: self.pull_secret.is_some(),
            pull_secret: self.pull_secret.clone().unwrap_or_default(),
        }
    }
}

/// A sorted, searched page of a catalog, each image with its newest build's state.
pub async fn list(call: &Call, group: Option<&str>, query: &ListQuery) -> OpResult<ImageList> {
    let scope = call.scope(group, Action::ViewGroupImages).await?;
    let page = images::list(&call.state.db, scope, query).await?;
    let built: Vec<i64> = page
        .items
        .iter()
        .filter(|i| i.source == "build")
        .map(|i| i.id)
        .collect();
    let states = builds::latest_states(&call.state.db, &built).await?;
    let named: Vec<i64> = page.items.iter().filter_map(|i| i.successor_id).collect();
    let successors = images::successors(&call.state.db, &named).await?;
    let now = now_ms();
    let standing_of = |row: &ImageRow| {
        let successor = successors
            .iter()
            .find(|(id, _)| Some(*id) == row.successor_id)
            .map(|(_, s)| s.clone());
        row.standing(successor, now)
    };
    let state_of = |id: i64| {
        states
            .iter()
            .find(|(image, _, _)| *image == id)
            .and_then(|(_, _, s)| BuildState::parse(s))
    };
    Ok(ImageList {
        items: page
            .items
            .into_iter()
            .map(|i| ImageSummary {
                standing: standing_of(&i),
                build_state: state_of(i.id),
                built: i.source == "build",
                ready: !i.url.is_empty(),
                compressed_size: i.compressed_size.and_then(|b| u64::try_from(b).ok()),
                base_updated: i.base_updated(),
                name: i.name,
                display_name: i.display_name,
                description: i.description,
                image_type: i.image_type,
            })
            .collect(),
        total: page.total,
        query: query.clone(),
    })
}

/// One image; `action` is what the caller means to do with it (view, or edit).
pub async fn get(
    call: &Call,
    group: Option<&str>,
    name: &str,
    action: Action,
) -> OpResult<ImageRecord> {
    let scope = call.scope(group, action).await?;
    let row = images::require(&call.state.db, scope, name).await?;
    record(&call.state, row).await
}

async fn record(state: &AppState, row: ImageRow) -> OpResult<ImageRecord> {
    let pull_secret = match row.credential_id {
        Some(id) => credentials::name_of(&state.db, id).await?,
        None => None,
    };
    let build_state = match row.source.as_str() {
        "build" => builds::latest_states(&state.db, &[row.id])
            .await?
            .first()
            .and_then(|(_, _, s)| BuildState::parse(s)),
        _ => None,
    };
    let successor = match row.successor_id {
        Some(id) => images::successors(&state.db, &[id])
            .await?
            .pop()
            .map(|(_, s)| s),
        None => None,
    };
    Ok(ImageRecord {
        standing: row.standing(successor, now_ms()),
        row,
        pull_secret,
        build_state,
    })
}

/// Registers an image by its URL.
pub async fn create(call: &Call, group: Option<&str>, form: ImageForm) -> OpResult<ImageRecord> {
    let scope = call.scope(group, Action::ManageGroupImages).await?;
    let (valid, credential) = checked(&call.state, scope, form).await?;
    let mut change = call.change().await?;
    let created = images::create(change.conn(), scope, &valid, credential).await?;
    let target = audit_target(group, &created.name);
    change
        .commit("image.create", &target, valid.url.as_str())
        .await?;
    record(&call.state, created).await
}

/// Saves an edit made on the copy read at `version`; refused if the image changed since.
/// `edit` turns the stored form into the new one (a page sends a whole form, the API only
/// the properties that change). A built image's URL is its last successful build's: only
/// a rebuild changes it.
pub async fn update(
    call: &Call,
    group: Option<&str>,
    name: &str,
    version: i64,
    edit: impl FnOnce(ImageForm) -> ImageForm,
) -> OpResult<ImageRecord> {
    let scope = call.scope(group, Action::ManageGroupImages).await?;
    let stored = images::require(&call.state.db, scope, name).await?;
    let mut form = edit(record(&call.state, stored.clone()).await?.form());
    if stored.source == "build" {
        if stored.url.is_empty() {
            return Err(ApiError::Conflict(Said::coded(
                messages::IMAGE_NO_SUCCESSFUL_BUILD,
                &[("image", name)],
            )));
        }
        form.url = stored.url.clone();
        form.use_gpu_url = false;
    }
    let (valid, credential) = checked(&call.state, scope, form).await?;
    let mut change = call.change().await?;
    let updated = images::update(change.conn(), &stored, version, &valid, credential).await?;
    let target = audit_target(group, &stored.name);
    change
        .commit("image.update", &target, valid.url.as_str())
        .await?;
    record(&call.state, updated).await
}

/// Deletes an image with its builds; refused while one of its builds is queued or running
/// (its builder must stop first: Cancel Build, then delete).
pub async fn delete(call: &Call, group: Option<&str>, name: &str) -> OpResult<()> {
    let scope = call.scope(group, Action::ManageGroupImages).await?;
    let stored = images::require(&call.state.db, scope, name).await?;
    let mut change = call.change().await?;
    if !images::delete(change.conn(), stored.id).await? {
        let active = builds::active_of(&call.state.db, stored.id).await?;
        let build = active.map_or_else(|| "?".to_owned(), |b| b.revision.to_string());
        return Err(ApiError::Conflict(Said::coded(
            messages::IMAGE_BEING_BUILT,
            &[("image", name), ("build", &build)],
        )));
    }
    let target = audit_target(group, &stored.name);
    change.commit("image.delete", &target, &stored.url).await
}

/// Deprecates an image, or changes its deprecation: an optional successor (an image of
/// the same group, else a global one, in use itself) and an optional retire date.
pub async fn deprecate(
    call: &Call,
    group: Option<&str>,
    name: &str,
    form: DeprecationForm,
) -> OpResult<ImageRecord> {
    let scope = call.scope(group, Action::ManageGroupImages).await?;
    let stored = images::require(&call.state.db, scope, name).await?;
    let valid = form.validate(&stored.name, now_ms())?;
    let successor = match &valid.successor {
        Some(successor) => Some(successor_id(&call.state, scope, successor.as_str()).await?),
        None => None,
    };
    let mut change = call.change().await?;
    let updated = images::deprecate(change.conn(), stored.id, successor, valid.retire_at).await?;
    let details = format!(
        "successor={} retire_on={}",
        valid.successor.as_ref().map_or("", |s| s.as_str()),
        form.retire_on.trim()
    );
    change
        .commit("image.deprecate", &audit_target(group, name), &details)
        .await?;
    record(&call.state, updated).await
}

/// The id of the image named `name` that may succeed an image of `scope`: the scope's own,
/// else a global one; it must be in use (neither deprecated nor retired).
async fn successor_id(state: &AppState, scope: Scope, name: &str) -> OpResult<i64> {
    let own = images::find(&state.db, scope, name).await?;
    let found = match (own, scope) {
        (Some(row), _) => Some(row),
        (None, Scope::Group(_)) => images::find(&state.db, Scope::Global, name).await?,
        (None, Scope::Global) => None,
    };
    let Some(row) = found else {
        let refusal = match scope {
            Scope::Group(_) => messages::SUCCESSOR_UNKNOWN,
            Scope::Global => messages::SUCCESSOR_UNKNOWN_GLOBAL,
        };
        return Err(FieldError::coded("successor", refusal, &[("name", name)]).into());
    };
    match successor_refusal(name, &row.standing(None, now_ms())) {
        Some(refused) => Err(ApiError::Invalid(refused)),
        None => Ok(row.id),
    }
}

/// Takes an image out of launch lists now; it stays in the catalog with its builds.
pub async fn retire(call: &Call, group: Option<&str>, name: &str) -> OpResult<ImageRecord> {
    let scope = call.scope(group, Action::ManageGroupImages).await?;
    let stored = images::require(&call.state.db, scope, name).await?;
    let mut change = call.change().await?;
    let updated = images::retire(change.conn(), stored.id, now_ms()).await?;
    change
        .commit("image.retire", &audit_target(group, name), "")
        .await?;
    record(&call.state, updated).await
}

/// Undoes deprecation and retirement.
pub async fn restore(call: &Call, group: Option<&str>, name: &str) -> OpResult<ImageRecord> {
    let scope = call.scope(group, Action::ManageGroupImages).await?;
    let stored = images::require(&call.state.db, scope, name).await?;
    let mut change = call.change().await?;
    let updated = images::restore(change.conn(), stored.id).await?;
    change
        .commit("image.restore", &audit_target(group, name), "")
        .await?;
    record(&call.state, updated).await
}

/// The images that may succeed `name`: the scope's and the global ones in use, but itself.
pub async fn successor_choices(
    call: &Call,
    group: Option<&str>,
    name: &str,
) -> OpResult<Vec<Successor>> {
    let scope = call.scope(group, Action::ManageGroupImages).await?;
    let now = now_ms();
    let mut rows = images::all_of(&call.state.db, scope).await?;
    if scope != Scope::Global {
        rows.extend(images::all_of(&call.state.db, Scope::Global).await?);
    }
    Ok(rows
        .into_iter()
        .filter(|row| {
            row.standing(None, now) == Standing::Current
                && !(row.name == name && row.group_id == scope_group(scope))
        })
        .map(|row| Successor {
            owner: match row.group_id {
                Some(_) => Owner::Group(group.unwrap_or_default().to_owned()),
                None => Owner::System,
            },
            name: row.name,
            display_name: row.display_name,
        })
        .collect())
}

fn scope_group(scope: Scope) -> Option<i64> {
    match scope {
        Scope::Group(id) => Some(id),
        Scope::Global => None,
    }
}

/// The pull secrets a scope may choose from, by name.
pub async fn pull_secret_choices(call: &Call, group: Option<&str>) -> OpResult<Vec<String>> {
    let scope = call.scope(group, Action::ManageGroupImages).await?;
    Ok(credentials::usable(&call.state.db, scope)
        .await?
        .into_iter()
        .map(|c| c.name)
        .collect())
}

/// The form, validated by the same rules the browser runs, with its pull secret resolved
/// among those the scope may use.
async fn checked(
    state: &AppState,
    scope: Scope,
    form: ImageForm,
) -> OpResult<(ValidImage, Option<i64>)> {
    let valid = form.validate().map_err(first)?;
    let credential =
        credentials::resolve_usable(&state.db, scope, valid.pull_secret.as_deref()).await?;
    Ok((valid, credential))
}

/// How the audit log names an image: `group:ml/image:torch`, or `global/image:torch`.
pub(crate) fn audit_target(group: Option<&str>, name: &str) -> String {
    let scope = group.map_or_else(|| "global".to_owned(), |g| format!("group:{g}"));
    format!("{scope}/image:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::builds::testing::{enqueued, image};
    use crate::ops::testing::operator;

    #[tokio::test]
    async fn an_image_being_built_is_not_deleted_until_its_build_is_cancelled() {
        let call = operator().await;
        let db = &call.state.db;
        let (scope, tools) = image(db, "ml").await;
        let queued = enqueued(db, scope, &tools).await;

        let refused = delete(&call, Some("ml"), &tools.name).await.unwrap_err();
        assert_eq!(refused.status(), 409);
        let message = refused.to_string();
        assert!(message.contains("(build 1)"), "{message}");
        assert!(
            images::find(db, scope, &tools.name)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(builds::get(db, queued.id).await.unwrap().id, queued.id);

        crate::ops::builds::cancel(&call, queued.id).await.unwrap();
        delete(&call, Some("ml"), &tools.name).await.unwrap();
        assert!(
            images::find(db, scope, &tools.name)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            builds::get(db, queued.id).await.is_err(),
            "its builds go with it"
        );
        let actions: Vec<String> = crate::backend::audit::recent(db, 2)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["image.delete", "build.cancel"]);
    }
}
