//! The "Build custom image" fields, for New Image and for Rebuild: type, base image, pull
//! secret and the three package boxes. The server checks every line with its ecosystem's
//! parser and answers with the box, the line and the reason, shown beside the box — while
//! the user types (the spec fields are an island that asks the server), and on submit.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::api::builds::PostedBuild;
use crate::domain::LaunchableImage;
use crate::domain::{BuildForm, FieldError, ImageType};
use crate::i18n::{error_message, field_message, t, use_lang};
use crate::ui::components::picker::ImagePicker;

#[component]
pub fn BuildFields(
    /// The values to start from.
    initial: BuildForm,
    /// Pull secrets this group may use.
    pull_secrets: Vec<String>,
    /// The group the image belongs to (none for global images).
    group: Option<String>,
    /// Ready images to suggest as base images.
    bases: Vec<LaunchableImage>,
    /// The server's answer to the last submission.
    error: Option<ApiError>,
    /// Rebuild: only the spec (base image, pull secret, packages) can change.
    spec_only: bool,
) -> impl IntoView {
    let l = use_lang();
    let field_error = |field: &str| match &error {
        Some(ApiError::Invalid(f)) if f.field == field => Some(field_message(l, f)),
        _ => None,
    };
    let form_error = match &error {
        Some(ApiError::Invalid(f))
            if !["display_name", "description", "type"]
                .into_iter()
                .chain(crate::domain::build::SPEC_FIELDS)
                .any(|field| field == f.field) =>
        {
            Some(field_message(l, f))
        }
        Some(ApiError::Invalid(_)) | None => None,
        Some(other) => Some(error_message(l, other)),
    };
    let invalid = |field: &str| field_error(field).map(|_| "true");
    // Package errors already name their box and line; the others get their field's label.
    let show = |id: &'static str, label: &'static str, message: Option<String>| {
        message.map(|m| {
            let text = if ["APT", "Conda", "Pip"].contains(&label) {
                m
            } else {
                format!("{label}: {m}")
            };
            view! { <p class="form__error" id=format!("{id}-error") role="alert">{text}</p> }
        })
    };
    view! {
        {(!spec_only).then(|| view! {
            <div class="form__field">
                <label for="b-display_name">{t(l, "Display name")}</label>
                <input id="b-display_name" name="build[display_name]" required maxlength="63" autocomplete="off"
                    aria-describedby="b-display_name-error" aria-invalid=invalid("display_name")
                    value=initial.display_name.clone()/>
                <p class="form__hint">{t(l, "Lowercase letters, digits, '.' and '-'; up to 63 characters. The image name is made from it ('.' becomes '-').")}</p>
                {show("b-display_name", t(l, "Display name"), field_error("display_name"))}
            </div>
            <div class="form__field">
                <label for="b-description">{t(l, "Description")}</label>
                <textarea id="b-description" name="build[description]" rows="2" maxlength="2000"
                    aria-describedby="b-description-error" aria-invalid=invalid("description")>{initial.description.clone()}</textarea>
                {show("b-description", t(l, "Description"), field_error("description"))}
            </div>
            <div class="form__field">
                <label for="b-type">{t(l, "Type")}</label>
                <select id="b-type" name="build[image_type]" aria-describedby="b-type-error" aria-invalid=invalid("type")>
                    {ImageType::ALL.into_iter().map(|t| {
                        let selected = initial.image_type == t.as_str();
                        view! { <option value=t.as_str() selected=selected>{t.as_str()}</option> }
                    }).collect_view()}
                </select>
                {show("b-type", t(l, "Type"), field_error("type"))}
            </div>
        })}
        <SpecFields group initial=initial.clone() pull_secrets bases server_error=error.clone()/>
        {form_error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
    }
}

/// How long typing must pause before the spec is checked.
const CHECK_AFTER_MS: u64 = 350;

/// Base image, pull secret and the package boxes, checked by the server while typing.
#[island]
fn SpecFields(
    group: Option<String>,
    initial: BuildForm,
    pull_secrets: Vec<String>,
    bases: Vec<LaunchableImage>,
    /// The server's answer to the last submission, until the user edits.
    server_error: Option<ApiError>,
) -> impl IntoView {
    let l = use_lang();
    let form = RwSignal::new(initial.clone());
    let submitted: Vec<FieldError> = match server_error {
        Some(ApiError::Invalid(f)) => vec![f],
        _ => Vec::new(),
    };
    let errors = RwSignal::new(submitted);
    let checks = StoredValue::new(0u64);
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let allowed = StoredValue::new(pull_secrets.clone());
    let group = StoredValue::new(group);
    let check = move || {
        if let Some(handle) = pending.try_update_value(Option::take).flatten() {
            handle.clear();
        }
        let group = group.get_value();
        let handle = set_timeout_with_handle(
            move || {
                let this = checks.try_update_value(|n| {
                    *n += 1;
                    *n
                });
                let posted = posted(&form.get_untracked());
                leptos::task::spawn_local(async move {
                    let answer = crate::api::builds::check_build_spec(group, posted).await;
                    // Only the newest check's answer counts.
                    if let (true, Ok(found)) = (this == checks.try_get_value(), answer) {
                        errors.set(found);
                    }
                });
            },
            std::time::Duration::from_millis(CHECK_AFTER_MS),
        );
        pending.set_value(handle.ok());
    };
    let edit = move |change: fn(&mut BuildForm, String)| {
        move |ev: leptos::ev::Event| {
            form.update(|f| change(f, event_target_value(&ev)));
            check();
        }
    };
    // The base image: typed, or picked from the group's images (which also picks its pull
    // secret, when this group may use it).
    let base = RwSignal::new(initial.base_image.clone());
    Effect::new(move |_| {
        let url = base.get();
        if form.with_untracked(|f| f.base_image != url) {
            form.update(|f| f.base_image = url);
            check();
        }
    });
    let picked = Callback::new(move |image: LaunchableImage| {
        let usable = image
            .pull_secret
            .filter(|s| allowed.with_value(|a| a.contains(s)));
        form.update(|f| {
            f.use_pull_secret = usable.is_some();
            f.pull_secret = usable.unwrap_or_default();
        });
    });
    let error_for = move |field: &'static str| {
        move || {
            errors.with(|e| {
                e.iter()
                    .find(|e| e.field == field)
                    .map(|e| field_message(l, e))
            })
        }
    };
    // `aria-invalid` on a field while its error shows.
    let invalid = move |field: &'static str| {
        let message = error_for(field);
        move || message().map(|_| "true")
    };
    let show = move |id: &'static str, label: &'static str, field: &'static str| {
        let message = error_for(field);
        view! {
            <p class="form__error" id=format!("{id}-error") role="alert" hidden=move || message().is_none()>
                {move || message().map(|m| if label.is_empty() { m } else { format!("{label}: {m}") })}
            </p>
        }
    };
    view! {
        <div class="form__field">
            <label for="b-base_image">{t(l, "Base image")}</label>
            <ImagePicker id="b-base_image" name="build[base_image]" entries=Signal::stored(bases)
                value=base on_pick=picked required=true described_by="b-base_image-hint b-base_image-error"
                invalid=Signal::derive(move || invalid("base_image")().is_some())
                placeholder="e.g. quay.io/jupyter/base-notebook:2024-12-02"/>
            <p class="form__hint" id="b-base_image-hint">{t(l, "Any image reference, or one of this group's ready images (↓ to choose). Kiln resolves it to its digest before the build is queued.")}</p>
            {show("b-base_image", t(l, "Base image"), "base_image")}
        </div>
        <fieldset class="form__group">
            <legend>{t(l, "Image Pull Secret")}</legend>
            <label class="form__check">
                <input type="checkbox" name="build[use_pull_secret]" checked=initial.use_pull_secret
                    prop:checked=move || form.with(|f| f.use_pull_secret)
                    on:change=move |ev| { form.update(|f| f.use_pull_secret = event_target_checked(&ev)); }/>
                {t(l, "The base image's registry needs a pull secret")}
            </label>
            <div class="form__field">
                <label for="b-pull_secret">{t(l, "Pull secret")}</label>
                <select id="b-pull_secret" name="build[pull_secret]"
                    aria-describedby="b-pull_secret-error" aria-invalid=invalid("pull_secret")
                    prop:value=move || form.with(|f| f.pull_secret.clone())
                    on:change=edit(|f, v| f.pull_secret = v)>
                    <option value="">{t(l, "Choose…")}</option>
                    {pull_secrets.into_iter().map(|name| {
                        let selected = initial.pull_secret == name;
                        view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
                    }).collect_view()}
                </select>
                {show("b-pull_secret", t(l, "Image Pull Secret"), "pull_secret")}
            </div>
        </fieldset>
        <fieldset class="form__group packages">
            <legend>{t(l, "Packages")}</legend>
            <p class="form__hint">{t(l, "One package per line; at least one in all. Each line is checked as you type.")}</p>
            <div class="packages__boxes">
                <div class="form__field">
                    <label for="b-apt">"APT"</label>
                    <textarea id="b-apt" name="build[apt]" rows="6" spellcheck="false" placeholder="curl\nlibgl1=1.6.0-1"
                        aria-describedby="b-apt-error" aria-invalid=invalid("apt")
                        on:input=edit(|f, v| f.apt = v)>{initial.apt.clone()}</textarea>
                    {show("b-apt", "", "apt")}
                </div>
                <div class="form__field">
                    <label for="b-conda">"Conda"</label>
                    <textarea id="b-conda" name="build[conda]" rows="6" spellcheck="false" placeholder="-c conda-forge::numpy==1.17*"
                        aria-describedby="b-conda-error" aria-invalid=invalid("conda")
                        on:input=edit(|f, v| f.conda = v)>{initial.conda.clone()}</textarea>
                    {show("b-conda", "", "conda")}
                </div>
                <div class="form__field">
                    <label for="b-pip">"Pip"</label>
                    <textarea id="b-pip" name="build[pip]" rows="6" spellcheck="false" placeholder="torch==2.3.0+cu121\npandas[excel]<3"
                        aria-describedby="b-pip-error" aria-invalid=invalid("pip")
                        on:input=edit(|f, v| f.pip = v)>{initial.pip.clone()}</textarea>
                    {show("b-pip", "", "pip")}
                </div>
            </div>
            {show("b-packages", t(l, "Packages"), "packages")}
        </fieldset>
    }
}

/// The form as the server function takes it.
fn posted(form: &BuildForm) -> PostedBuild {
    PostedBuild {
        display_name: form.display_name.clone(),
        description: form.description.clone(),
        image_type: form.image_type.clone(),
        base_image: form.base_image.clone(),
        use_pull_secret: form.use_pull_secret.then(|| "on".to_owned()),
        pull_secret: Some(form.pull_secret.clone()),
        apt: form.apt.clone(),
        conda: form.conda.clone(),
        pip: form.pip.clone(),
    }
}
