//! The image form's fields, shared by New Image and Edit: each checked while typing by the
//! same rules the server applies (`ImageForm::validate`), errors shown beside their field.
//! An island: the one part of these pages that runs in the browser.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::domain::{DisplayName, ImageForm, ImageType};
use crate::i18n::{Lang, error_message, field_message, t, use_lang};

#[island]
pub fn ImageFields(
    /// The values to start from.
    initial: ImageForm,
    /// Pull secrets this group may use.
    pull_secrets: Vec<String>,
    /// The server's answer to the last submission, shown beside its field.
    server_error: Option<ApiError>,
    /// Editing an existing image: its name is fixed.
    fixed_name: Option<String>,
) -> impl IntoView {
    let server_error = StoredValue::new(server_error);
    let form = RwSignal::new(initial);
    // Fields the user has touched show their errors; untouched ones wait.
    let touched = RwSignal::new(Vec::<&'static str>::new());
    // Until hydration, every field is shown: forms must work without JavaScript.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));

    let errors = Memo::new(move |_| form.with(|f| f.validate().err().unwrap_or_default()));
    let error_for = move |field: &'static str| {
        Signal::derive(move || {
            let l = use_lang();
            let local = touched
                .with(|t| t.contains(&field))
                .then(|| {
                    errors.with(|all| {
                        all.iter()
                            .find(|e| e.field == field)
                            .map(|e| field_message(l, e))
                    })
                })
                .flatten();
            let server = server_error.with_value(|e| match e {
                Some(ApiError::Invalid(f)) if f.field == field => Some(field_message(l, f)),
                _ => None,
            });
            local.or(server)
        })
    };
    let touch = move |field: &'static str| {
        touched.update(|t| {
            if !t.contains(&field) {
                t.push(field)
            }
        })
    };
    let image_name = {
        let fixed_name = fixed_name.clone();
        move || match &fixed_name {
            Some(n) => n.clone(),
            None => form
                .with(|f| {
                    DisplayName::parse("display_name", &f.display_name)
                        .map(|d| d.image_name().to_string())
                })
                .unwrap_or_default(),
        }
    };
    // `aria-invalid` on a field while its error shows.
    let invalid = move |field: &'static str| {
        let error = error_for(field);
        move || error.get().map(|_| "true")
    };
    let is_universal = move || form.with(|f| f.image_type == ImageType::Universal.as_str());
    let initial = form.get_untracked();
    let l = use_lang();

    view! {
        <Field id="display_name" label=t(l, "Display name") error=error_for("display_name")
            hint=t(l, "Lowercase letters, digits, '.' and '-'; up to 63 characters.")>
            <input id="display_name" name="image[display_name]" required maxlength="63" autocomplete="off"
                value=initial.display_name.clone()
                aria-describedby="display_name-hint display_name-error" aria-invalid=invalid("display_name")
                on:input=move |ev| { touch("display_name"); form.update(|f| f.display_name = event_target_value(&ev)) }/>
        </Field>
        <Field id="image_name" label=t(l, "Image name") error=Signal::derive(|| None)
            hint=if fixed_name.is_some() { t(l, "Fixed once the image exists.") } else { t(l, "Made from the display name.") }>
            <input id="image_name" readonly value=image_name.clone() prop:value=image_name tabindex="-1"/>
        </Field>
        <Field id="description" label=t(l, "Description") error=error_for("description") hint="">
            <textarea id="description" name="image[description]" rows="2" maxlength="2000"
                aria-describedby="description-error" aria-invalid=invalid("description")
                on:input=move |ev| { touch("description"); form.update(|f| f.description = event_target_value(&ev)) }>
                {initial.description.clone()}
            </textarea>
        </Field>
        <Field id="type" label=t(l, "Type") error=error_for("type") hint="">
            <select id="type" name="image[image_type]" aria-describedby="type-error" aria-invalid=invalid("type")
                on:change=move |ev| {
                    touch("type");
                    // Only universal images name a GPU image: another type drops the choice.
                    form.update(|f| {
                        f.image_type = event_target_value(&ev);
                        f.use_gpu_url &= f.image_type == ImageType::Universal.as_str();
                    })
                }>
                {ImageType::ALL.into_iter().map(|t| {
                    let selected = initial.image_type == t.as_str();
                    view! { <option value=t.as_str() selected=selected>{t.as_str()}</option> }
                }).collect_view()}
            </select>
        </Field>
        <Field id="url" label=t(l, "Container image url") error=error_for("url") hint=t(l, "e.g. nvcr.io/nvidia/pytorch:24.01-py3")>
            <input id="url" name="image[url]" required autocomplete="off" spellcheck="false"
                aria-describedby="url-hint url-error" aria-invalid=invalid("url")
                value=initial.url.clone()
                on:input=move |ev| { touch("url"); form.update(|f| f.url = event_target_value(&ev)) }/>
        </Field>
        <fieldset class="form__group">
            <legend>{t(l, "Image Pull Secret")}</legend>
            <label class="form__check">
                <input type="checkbox" name="image[use_pull_secret]" checked=initial.use_pull_secret
                    on:change=move |ev| form.update(|f| f.use_pull_secret = event_target_checked(&ev))/>
                {t(l, "The registry needs a pull secret")}
            </label>
            <div class="form__field" hidden=move || hydrated.get() && !form.with(|f| f.use_pull_secret)>
                <label for="pull_secret">{t(l, "Pull secret")}</label>
                <select id="pull_secret" name="image[pull_secret]" aria-describedby="pull_secret-error" aria-invalid=invalid("pull_secret")
                    on:change=move |ev| { touch("pull_secret"); form.update(|f| f.pull_secret = event_target_value(&ev)) }>
                    <option value="">{t(l, "Choose…")}</option>
                    {pull_secrets.into_iter().map(|name| {
                        let selected = initial.pull_secret == name;
                        view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
                    }).collect_view()}
                </select>
                <FieldError id="pull_secret" error=error_for("pull_secret")/>
            </div>
        </fieldset>
        <fieldset class="form__group" hidden=move || hydrated.get() && !is_universal()>
            <legend>{t(l, "Specific container image url for GPU")}</legend>
            <label class="form__check">
                <input type="checkbox" name="image[use_gpu_url]" checked=initial.use_gpu_url
                    prop:checked=move || form.with(|f| f.use_gpu_url)
                    disabled=move || hydrated.get() && !is_universal()
                    on:change=move |ev| form.update(|f| f.use_gpu_url = event_target_checked(&ev))/>
                {t(l, "Use a different image on GPU (universal images only; otherwise the GPU url is the container image url)")}
            </label>
            <div class="form__field" hidden=move || hydrated.get() && !form.with(|f| f.use_gpu_url)>
                <label for="gpu_url">{t(l, "Container image url for GPU")}</label>
                <input id="gpu_url" name="image[gpu_url]" autocomplete="off" spellcheck="false"
                    aria-describedby="gpu_url-error" aria-invalid=invalid("gpu_url")
                    value=initial.gpu_url.clone()
                    on:input=move |ev| { touch("gpu_url"); form.update(|f| f.gpu_url = event_target_value(&ev)) }/>
                <FieldError id="gpu_url" error=error_for("gpu_url")/>
            </div>
        </fieldset>
    }
}

/// A labelled field with its hint and error.
#[component]
fn Field(
    /// The input's id, which the label points at.
    id: &'static str,
    /// The label text, as the manual words it.
    label: &'static str,
    /// The field's error, if any.
    error: Signal<Option<String>>,
    /// A line of help under the field; empty for none.
    hint: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="form__field">
            <label for=id>{label}</label>
            {children()}
            {(!hint.is_empty()).then(|| view! { <p class="form__hint" id=format!("{id}-hint")>{hint}</p> })}
            <FieldError id error/>
        </div>
    }
}

#[component]
fn FieldError(
    /// The field's id.
    id: &'static str,
    /// The message, when the field breaks a rule.
    error: Signal<Option<String>>,
) -> impl IntoView {
    view! {
        <p class="form__error" id=format!("{id}-error") role="alert" hidden=move || error.get().is_none()>
            {move || error.get().map(|m| format!("{}: {m}", field_label(use_lang(), id)))}
        </p>
    }
}

fn field_label(l: Lang, id: &str) -> &'static str {
    match id {
        "display_name" => t(l, "Display name"),
        "description" => t(l, "Description"),
        "type" => t(l, "Type"),
        "url" => t(l, "Container image url"),
        "gpu_url" => t(l, "Container image url for GPU"),
        "pull_secret" => t(l, "Image Pull Secret"),
        _ => t(l, "This field"),
    }
}

/// The server's error when it is not about one field (permission, conflict, failure).
pub fn form_level_error(error: Option<ApiError>) -> Option<String> {
    match error {
        Some(ApiError::Invalid(_)) | None => None,
        Some(other) => Some(error_message(use_lang(), &other)),
    }
}
