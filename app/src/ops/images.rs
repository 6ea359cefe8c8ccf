//! The image catalog of a group (`group` = its name) or, with no group, the global images.

use super::{Call, OpResult, first};
use crate::backend::images::{ImageRow, Scope};
use crate::backend::{AppState, builds, credentials, images};
use crate::domain::{Action, BuildState, ImageForm, ListQuery, ValidImage};
use crate::wire::ApiError;
use crate::wire::images::{ImageList, ImageSummary};

/// An image with what its row only refers to: its pull secret's name, its newest build.
#[derive(Debug, Clone)]
pub struct ImageRecord {
    pub row: ImageRow,
    pub pull_secret: Option<String>,
    pub build_state: Option<BuildState>,
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
                build_state: state_of(i.id),
                built: i.source == "build",
                ready: !i.url.is_empty(),
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
    Ok(ImageRecord {
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
            return Err(ApiError::Conflict(format!(
                "Image {name} has no successful build yet; see its Build Details, or Rebuild."
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
        let build = active.map_or_else(String::new, |b| {
            format!(" (build {}, {})", b.revision, b.state().as_str())
        });
        return Err(ApiError::Conflict(format!(
            "Image {name} is being built{build}. Cancel the build on its Build Details, \
             then delete the image."
        )));
    }
    let target = audit_target(group, &stored.name);
    change.commit("image.delete", &target, &stored.url).await
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
        assert!(message.contains("build 1, queued"), "{message}");
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
