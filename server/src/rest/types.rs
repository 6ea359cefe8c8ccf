//! The JSON the API reads and writes. Bodies are read strictly (`deny_unknown_fields`), so a
//! misspelt property is an error rather than silently ignored.

use app::domain::{BuildForm, BuildState, Deprecation, DeprecationForm, ImageForm, Owner};
use app::ops::builds::OwnedBuild;
use app::ops::images::ImageRecord;
use app::wire::ApiError;
use app::wire::builds::BuildView;
use app::wire::images::ImageSummary;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::{Failure, bad_request};

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
    /// The request's id, as in the response's `x-request-id` header (the one the request
    /// sent, when it was 1 to 128 printable ASCII characters without spaces, else a new one):
    /// name it when reporting a problem, it is on every log line of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(required = true, nullable = false)]
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable for scripts: `unauthenticated`, `bad_credentials`, `bad_token`,
    /// `bad_request`, `forbidden`, `cross_site`, `not_found`, `invalid`, `conflict`,
    /// `too_large`, `too_many_attempts`, `internal`, `transport`.
    pub code: String,
    /// The same words the pages show.
    pub message: String,
    /// The property the error is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Which rule's refusal `message` is, when it is a coded one (e.g. `required`,
    /// `display_name.charset`, `packages.line`): stable, for scripts and translations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_code: Option<String>,
    /// The values in the message (e.g. `{"max": "63"}`); empty when it has none.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
}

impl From<&ApiError> for ErrorBody {
    /// The error's body, with the id of the request being served (none outside one).
    fn from(e: &ApiError) -> Self {
        ErrorBody {
            request_id: crate::request_id::current(),
            error: ErrorDetail {
                code: e.code().to_owned(),
                message: e.message(),
                field: e.field().map(api_field),
                message_code: e.coded().map(|(code, _)| code.to_owned()),
                params: e.coded().map(|(_, p)| p.clone()).unwrap_or_default(),
            },
        }
    }
}

/// The API's name of a form field: the image type is `type` here.
fn api_field(field: &str) -> String {
    match field {
        "image_type" => "type".to_owned(),
        other => other.to_owned(),
    }
}

/// An image of a catalog.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Image {
    pub name: String,
    pub display_name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub image_type: String,
    /// The image to run; none for a built image before its first successful build.
    pub url: Option<String>,
    /// The image for GPU launches of a universal image, when it differs from `url`.
    pub gpu_url: Option<String>,
    pub pull_secret: Option<String>,
    /// `existing` (registered by URL) or `build` (built by Kiln).
    pub source: String,
    pub ready: bool,
    pub build_state: Option<BuildState>,
    pub owner: Owner,
    /// Send it back with a PATCH: the edit is refused if the image changed since.
    pub version: i64,
    /// Set while it is deprecated (or was, when it retired).
    pub deprecated: Option<Deprecation>,
    /// When it left launch lists, once retired (ms since the epoch).
    pub retired_at: Option<i64>,
}

impl Image {
    pub fn from_record(record: ImageRecord, group: Option<&str>) -> Image {
        let row = record.row;
        let ready = !row.url.is_empty();
        Image {
            gpu_url: (ready && row.gpu_url != row.url).then(|| row.gpu_url.clone()),
            url: ready.then_some(row.url),
            name: row.name,
            display_name: row.display_name,
            description: row.description,
            image_type: row.image_type,
            pull_secret: record.pull_secret,
            source: row.source,
            ready,
            build_state: record.build_state,
            owner: group.map_or(Owner::System, |g| Owner::Group(g.to_owned())),
            version: row.version,
            deprecated: record.standing.deprecation().cloned(),
            retired_at: record.standing.retired_since(),
        }
    }
}

/// One row of a catalog page.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImageItem {
    pub name: String,
    pub display_name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub image_type: String,
    pub built: bool,
    pub ready: bool,
    pub build_state: Option<BuildState>,
    pub deprecated: Option<Deprecation>,
    pub retired_at: Option<i64>,
    /// The compressed size in bytes of the build its URL names (built images only).
    pub compressed_size: Option<u64>,
    /// Built images: the tag of the base image the live build was built on names a newer
    /// image now (Kiln checks every `KILN_BASE_CHECK_INTERVAL`).
    pub base_updated: bool,
}

impl From<ImageSummary> for ImageItem {
    fn from(s: ImageSummary) -> Self {
        ImageItem {
            name: s.name,
            display_name: s.display_name,
            description: s.description,
            image_type: s.image_type,
            built: s.built,
            ready: s.ready,
            build_state: s.build_state,
            deprecated: s.standing.deprecation().cloned(),
            retired_at: s.standing.retired_since(),
            compressed_size: s.compressed_size,
            base_updated: s.base_updated,
        }
    }
}

/// A sorted, searched page of a catalog.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ImagePage {
    pub images: Vec<ImageItem>,
    /// How many images match in all.
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// A new image: registered by `url`, or built by Kiln from `build`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewImage {
    pub display_name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type")]
    pub image_type: String,
    /// The image's URL, for an existing image.
    #[serde(default)]
    pub url: Option<String>,
    /// A separate image for GPU launches of a universal image.
    #[serde(default)]
    pub gpu_url: Option<String>,
    /// A registry credential this group may use.
    #[serde(default)]
    pub pull_secret: Option<String>,
    /// Build the image from a base image and packages instead of registering a URL.
    #[serde(default)]
    pub build: Option<BuildSpec>,
}

/// What Kiln builds: a base image plus packages, one per entry.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuildSpec {
    pub base_image: String,
    /// The registry credential to pull the base image with.
    #[serde(default)]
    pub pull_secret: Option<String>,
    #[serde(default)]
    pub apt: Vec<String>,
    #[serde(default)]
    pub conda: Vec<String>,
    #[serde(default)]
    pub pip: Vec<String>,
}

/// An edit: only the properties sent change. `gpu_url` and `pull_secret` are removed by
/// sending `null`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImagePatch {
    /// The `version` the edit was made on.
    pub version: i64,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "type")]
    pub image_type: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub gpu_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub pull_secret: Option<Option<String>>,
}

/// A deprecation: an optional successor (the image name of an image of the same group, or
/// a global one) and an optional retire date (`YYYY-MM-DD`, UTC) after today.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDeprecation {
    #[serde(default)]
    pub successor: Option<String>,
    #[serde(default)]
    pub retire_on: Option<String>,
}

impl From<NewDeprecation> for DeprecationForm {
    fn from(d: NewDeprecation) -> DeprecationForm {
        DeprecationForm {
            successor: d.successor.unwrap_or_default(),
            retire_on: d.retire_on.unwrap_or_default(),
        }
    }
}

/// A property that was sent, possibly as `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl NewImage {
    pub fn into_image_form(self) -> ImageForm {
        ImageForm {
            display_name: self.display_name,
            description: self.description,
            image_type: self.image_type,
            url: self.url.unwrap_or_default(),
            use_gpu_url: self.gpu_url.is_some(),
            gpu_url: self.gpu_url.unwrap_or_default(),
            use_pull_secret: self.pull_secret.is_some(),
            pull_secret: self.pull_secret.unwrap_or_default(),
        }
    }

    pub fn into_build_form(self, spec: BuildSpec) -> Result<BuildForm, Failure> {
        if self.url.is_some() || self.gpu_url.is_some() {
            return Err(bad_request(
                "Give either url (an existing image) or build (a custom image), not both.",
                Some("url".into()),
            ));
        }
        if self.pull_secret.is_some() {
            return Err(bad_request(
                "A custom image's pull secret is build.pull_secret: the base image's.",
                Some("pull_secret".into()),
            ));
        }
        let mut form = spec.into_form().map_err(under_build)?;
        form.display_name = self.display_name;
        form.description = self.description;
        form.image_type = self.image_type;
        Ok(form)
    }
}

/// An error about a spec's property, named as a create's body has it: under `build`.
pub fn under_build(failure: Failure) -> Failure {
    let in_spec = |field: &str| {
        app::domain::build::SPEC_FIELDS.iter().any(|p| {
            field
                .strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('['))
        })
    };
    match failure.0 {
        ApiError::BadRequest {
            message,
            field: Some(field),
        } if in_spec(&field) => bad_request(&message, Some(format!("build.{field}"))),
        ApiError::Invalid(mut e) if in_spec(&e.field) => {
            e.field = format!("build.{}", e.field);
            Failure(ApiError::Invalid(e))
        }
        other => Failure(other),
    }
}

impl BuildSpec {
    /// The build form's boxes: one package per line.
    pub fn into_form(self) -> Result<BuildForm, Failure> {
        Ok(BuildForm {
            base_image: self.base_image,
            use_pull_secret: self.pull_secret.is_some(),
            pull_secret: self.pull_secret.unwrap_or_default(),
            apt: lines("apt", self.apt)?,
            conda: lines("conda", self.conda)?,
            pip: lines("pip", self.pip)?,
            ..BuildForm::default()
        })
    }
}

/// Entries become the box's lines; an entry may not hold a line break of its own.
fn lines(field: &str, entries: Vec<String>) -> Result<String, Failure> {
    if let Some(i) = entries.iter().position(|e| e.contains(['\n', '\r'])) {
        return Err(bad_request(
            "An entry may not contain a line break: give one package per entry.",
            Some(format!("{field}[{i}]")),
        ));
    }
    Ok(entries.join("\n"))
}

impl ImagePatch {
    /// The stored form with the sent properties changed.
    pub fn apply(self, mut form: ImageForm) -> ImageForm {
        if let Some(v) = self.display_name {
            form.display_name = v;
        }
        if let Some(v) = self.description {
            form.description = v;
        }
        if let Some(v) = self.image_type {
            form.image_type = v;
        }
        if let Some(v) = self.url {
            form.url = v;
        }
        if let Some(v) = self.gpu_url {
            form.use_gpu_url = v.is_some();
            form.gpu_url = v.unwrap_or_default();
        }
        if let Some(v) = self.pull_secret {
            form.use_pull_secret = v.is_some();
            form.pull_secret = v.unwrap_or_default();
        }
        form
    }
}

/// One build of an image.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Build {
    pub image: String,
    /// The image's group; none for a global image.
    pub group: Option<String>,
    #[serde(flatten)]
    pub build: BuildView,
}

impl Build {
    pub fn new(build: BuildView, image: &str, group: Option<&str>) -> Build {
        Build {
            image: image.to_owned(),
            group: group.map(str::to_owned),
            build,
        }
    }

    /// A build that has left the queue (no position to show).
    pub fn from_owned(owned: OwnedBuild) -> Build {
        let view = app::ops::builds::view(&owned.build, None);
        Build::new(view, &owned.image, owned.group.as_deref())
    }
}

/// An image's builds, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BuildHistory {
    pub image: String,
    /// The image's URL now: the last successful build's.
    pub url: Option<String>,
    pub builds: Vec<Build>,
}

/// A built image's base image, as of the last check.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BaseImage {
    /// The base image as the live build's spec names it.
    pub image: String,
    /// The digest the live build was built on.
    pub built_on: Option<String>,
    /// The digest the base image's tag named at the last check.
    pub latest: Option<String>,
    /// The tag names a newer image than the live build was built on.
    pub updated: bool,
    /// When the last check ran, in milliseconds since the epoch.
    pub checked_at: Option<i64>,
    /// Why the last check failed; absent when it didn't.
    pub check_error: Option<String>,
    /// Pinned by digest: never checked, it can't change.
    pub pinned: bool,
    /// A rebuild is queued by itself when the base image is updated.
    pub auto_rebuild: bool,
}

impl From<app::domain::base_update::BaseStatus> for BaseImage {
    fn from(s: app::domain::base_update::BaseStatus) -> Self {
        BaseImage {
            updated: s.updated(),
            image: s.image,
            built_on: s.built_on,
            latest: s.latest,
            checked_at: s.checked_at,
            check_error: (!s.error.is_empty()).then_some(s.error),
            pinned: s.pinned,
            auto_rebuild: s.auto_rebuild,
        }
    }
}

/// What a group admin sets about an image's base image.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BaseSettings {
    /// Queue a rebuild by itself when the base image's tag names a newer image.
    pub auto_rebuild: bool,
}
