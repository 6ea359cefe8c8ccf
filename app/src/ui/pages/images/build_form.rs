//! The "Build custom image" fields, for New Image and for Rebuild: type, base image, pull
//! secret and the three package boxes. The server checks every line with its ecosystem's
//! parser and answers with the box, the line and the reason, shown beside the box.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::domain::{BuildForm, ImageType};

#[component]
pub fn BuildFields(
    /// The values to start from.
    initial: BuildForm,
    /// Pull secrets this group may use.
    pull_secrets: Vec<String>,
    /// Ready images to suggest as base images, as (display name, URL).
    bases: Vec<(String, String)>,
    /// The server's answer to the last submission.
    error: Option<ApiError>,
    /// Rebuild: only the spec (base image, pull secret, packages) can change.
    spec_only: bool,
) -> impl IntoView {
    let field_error = |field: &str| match &error {
        Some(ApiError::Invalid(f)) if f.field == field => Some(f.message.clone()),
        _ => None,
    };
    let form_error = match &error {
        Some(ApiError::Invalid(f))
            if ![
                "display_name",
                "description",
                "type",
                "base_image",
                "pull_secret",
                "apt",
                "conda",
                "pip",
            ]
            .contains(&f.field.as_str()) =>
        {
            Some(f.message.clone())
        }
        Some(ApiError::Invalid(_)) | None => None,
        Some(other) => Some(other.to_string()),
    };
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
                <label for="b-display_name">"Display name"</label>
                <input id="b-display_name" name="build[display_name]" required maxlength="63" autocomplete="off"
                    value=initial.display_name.clone()/>
                <p class="form__hint">"Lowercase letters, digits, '.' and '-'; up to 63 characters. The image name is made from it ('.' becomes '-')."</p>
                {show("b-display_name", "Display name", field_error("display_name"))}
            </div>
            <div class="form__field">
                <label for="b-description">"Description"</label>
                <textarea id="b-description" name="build[description]" rows="2" maxlength="2000">{initial.description.clone()}</textarea>
                {show("b-description", "Description", field_error("description"))}
            </div>
            <div class="form__field">
                <label for="b-type">"Type"</label>
                <select id="b-type" name="build[image_type]">
                    {ImageType::ALL.into_iter().map(|t| {
                        let selected = initial.image_type == t.as_str();
                        view! { <option value=t.as_str() selected=selected>{t.as_str()}</option> }
                    }).collect_view()}
                </select>
                {show("b-type", "Type", field_error("type"))}
            </div>
        })}
        <div class="form__field">
            <label for="b-base_image">"Base image"</label>
            <input id="b-base_image" name="build[base_image]" required autocomplete="off" spellcheck="false"
                value=initial.base_image.clone() placeholder="e.g. quay.io/jupyter/base-notebook:2024-12-02"
                list="b-base_image-choices"/>
            <datalist id="b-base_image-choices">
                {bases.into_iter().map(|(label, url)| view! { <option value=url>{label}</option> }).collect_view()}
            </datalist>
            <p class="form__hint">"Any image reference, or one of this group's ready images. Kiln resolves it to its digest before the build is queued."</p>
            {show("b-base_image", "Base image", field_error("base_image"))}
        </div>
        <fieldset class="form__group">
            <legend>"Image Pull Secret"</legend>
            <label class="form__check">
                <input type="checkbox" name="build[use_pull_secret]" checked=initial.use_pull_secret/>
                "The base image's registry needs a pull secret"
            </label>
            <div class="form__field">
                <label for="b-pull_secret">"Pull secret"</label>
                <select id="b-pull_secret" name="build[pull_secret]">
                    <option value="">"Choose…"</option>
                    {pull_secrets.into_iter().map(|name| {
                        let selected = initial.pull_secret == name;
                        view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
                    }).collect_view()}
                </select>
                {show("b-pull_secret", "Image Pull Secret", field_error("pull_secret"))}
            </div>
        </fieldset>
        <fieldset class="form__group packages">
            <legend>"Packages"</legend>
            <p class="form__hint">"One package per line; at least one in all."</p>
            <div class="packages__boxes">
                <div class="form__field">
                    <label for="b-apt">"APT"</label>
                    <textarea id="b-apt" name="build[apt]" rows="6" spellcheck="false" placeholder="curl\nlibgl1=1.6.0-1">{initial.apt.clone()}</textarea>
                    {show("b-apt", "APT", field_error("apt"))}
                </div>
                <div class="form__field">
                    <label for="b-conda">"Conda"</label>
                    <textarea id="b-conda" name="build[conda]" rows="6" spellcheck="false" placeholder="-c conda-forge::numpy==1.17*">{initial.conda.clone()}</textarea>
                    {show("b-conda", "Conda", field_error("conda"))}
                </div>
                <div class="form__field">
                    <label for="b-pip">"Pip"</label>
                    <textarea id="b-pip" name="build[pip]" rows="6" spellcheck="false" placeholder="torch==2.3.0+cu121\npandas[excel]<3">{initial.pip.clone()}</textarea>
                    {show("b-pip", "Pip", field_error("pip"))}
                </div>
            </div>
            {show("b-packages", "Packages", field_error("packages"))}
        </fieldset>
        {form_error.map(|m| view! { <p class="form__error" role="alert">{m}</p> })}
    }
}
