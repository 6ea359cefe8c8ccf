//! The image picker: a combobox over launchable images (SPEC §5). Each entry shows its
//! display name and URL, an `i` marker whose tooltip says whose image it is ("Group ml" or
//! "System"), its type and whether it is ready; entries that cannot be picked are shown
//! disabled with their reason, and warnings are shown under the entry.
//!
//! Keyboard: ↓/↑ open the list and move, Enter picks, Escape closes; typing filters. The
//! input stays a plain text field, so a form works without JavaScript.

use leptos::prelude::*;

use crate::domain::LaunchableImage;
use crate::i18n::{Lang, said_message, t, use_lang};

/// The marker's tooltip: owner, type, and "not ready" when it is not. The owner stays as
/// the manual words it (`Group`); the rest is in `l`.
pub fn marker_text(l: Lang, image: &LaunchableImage) -> String {
    let mut text = format!("{} · {}", image.owner.label(), image.image_type.as_str());
    if !image.ready {
        text.push_str(" · ");
        text.push_str(t(l, "not ready"));
    }
    if image.deprecated.is_some() {
        text.push_str(" · ");
        text.push_str(t(l, "deprecated"));
    }
    text
}

/// Why the entry cannot be launched, in `l`.
pub fn reason_text(l: Lang, image: &LaunchableImage) -> Option<String> {
    image.reason_message.as_ref().map(|r| said_message(l, r))
}

/// What to know before launching the entry, in `l`.
pub fn warning_text(l: Lang, image: &LaunchableImage) -> Option<String> {
    let words: Vec<String> = image
        .warning_messages
        .iter()
        .map(|w| said_message(l, w))
        .collect();
    (!words.is_empty()).then(|| words.join(" "))
}

/// Whether an entry matches what was typed (name, display name, URL, owner).
fn matches(image: &LaunchableImage, typed: &str) -> bool {
    let typed = typed.trim().to_lowercase();
    typed.is_empty()
        || [
            image.display_name.as_str(),
            image.name.as_str(),
            image.url.as_deref().unwrap_or_default(),
        ]
        .iter()
        .any(|s| s.to_lowercase().contains(&typed))
        || image.owner.label().to_lowercase().contains(&typed)
}

#[component]
pub fn ImagePicker(
    /// The input's id; the list's ids derive from it.
    #[prop(into)]
    id: String,
    /// The form field the input posts as.
    #[prop(into)]
    name: String,
    /// The images to offer, in order.
    #[prop(into)]
    entries: Signal<Vec<LaunchableImage>>,
    /// The text in the input: typed, or the URL of the picked image.
    value: RwSignal<String>,
    /// Called with the image picked.
    on_pick: Callback<LaunchableImage>,
    #[prop(optional, into)] placeholder: String,
    /// Ids of elements describing the input (hints, errors).
    #[prop(optional, into)]
    described_by: String,
    /// The form needs a value.
    #[prop(optional)]
    required: bool,
    /// The value breaks a rule (its error shows): `aria-invalid`.
    #[prop(optional, into)]
    invalid: Signal<bool>,
) -> impl IntoView {
    let l = use_lang();
    let open = RwSignal::new(false);
    let active = RwSignal::new(None::<usize>);
    // Once an entry is picked, the list shows everything again until the user types.
    let filtering = RwSignal::new(false);
    let shown = Memo::new(move |_| {
        let typed = value.get();
        let filter = filtering.get();
        entries.with(|all| {
            all.iter()
                .filter(|i| !filter || matches(i, &typed))
                .cloned()
                .collect::<Vec<_>>()
        })
    });
    let list_id = format!("{id}-list");
    let option_id = {
        let id = id.clone();
        move |i: usize| format!("{id}-option-{i}")
    };
    let pick = move |i: usize| {
        let Some(image) = shown.with(|s| s.get(i).cloned()) else {
            return;
        };
        if !image.available {
            return;
        }
        value.set(image.url.clone().unwrap_or_default());
        filtering.set(false);
        open.set(false);
        active.set(None);
        on_pick.run(image);
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let count = shown.with(Vec::len);
        match ev.key().as_str() {
            "ArrowDown" | "ArrowUp" if count > 0 => {
                ev.prevent_default();
                open.set(true);
                let down = ev.key() == "ArrowDown";
                active.update(|a| {
                    *a = Some(match (*a, down) {
                        (None, true) => 0,
                        (None, false) => count - 1,
                        (Some(i), true) => (i + 1) % count,
                        (Some(i), false) => (i + count - 1) % count,
                    })
                });
            }
            "Enter" if open.get_untracked() => {
                if let Some(i) = active.get_untracked() {
                    ev.prevent_default();
                    pick(i);
                }
            }
            "Escape" => {
                open.set(false);
                active.set(None);
            }
            _ => {}
        }
    };
    let active_id = {
        let option_id = option_id.clone();
        move || active.get().map(&option_id)
    };
    view! {
        <div class="picker">
            <input
                id=id.clone()
                name=name
                type="text"
                required=required
                role="combobox"
                autocomplete="off"
                spellcheck="false"
                placeholder=placeholder
                aria-autocomplete="list"
                aria-controls=list_id.clone()
                aria-expanded=move || if open.get() { "true" } else { "false" }
                aria-activedescendant=active_id
                aria-describedby=described_by
                aria-invalid=move || invalid.get().then_some("true")
                // The attribute for the server's HTML (forms work without JavaScript), the
                // property for what changes after hydration.
                value=value.get_untracked()
                prop:value=move || value.get()
                on:input=move |ev| {
                    value.set(event_target_value(&ev));
                    filtering.set(true);
                    open.set(true);
                    active.set(None);
                }
                on:focus=move |_| open.set(true)
                on:blur=move |_| open.set(false)
                on:keydown=on_key
            />
            <ul id=list_id class="picker__list" role="listbox" hidden=move || !open.get() || shown.with(Vec::is_empty)>
                {move || shown.get().into_iter().enumerate().map(|(i, image)| {
                    let tip = marker_text(l, &image);
                    let disabled = !image.available;
                    view! {
                        <li
                            id=option_id(i)
                            role="option"
                            class="picker__option"
                            class:picker__option--active=move || active.get() == Some(i)
                            class:picker__option--disabled=disabled
                            aria-selected=move || if active.get() == Some(i) { "true" } else { "false" }
                            aria-disabled=if disabled { "true" } else { "false" }
                            // mousedown, not click: it comes before the input's blur closes the list.
                            on:mousedown=move |ev| { ev.prevent_default(); pick(i); }
                        >
                            <span class="picker__name">{image.display_name.clone()}</span>
                            <span class="picker__marker" title=tip.clone() data-tip=tip.clone() aria-label=tip>"i"</span>
                            <span class="picker__url">{image.url.clone().unwrap_or_default()}</span>
                            {reason_text(l, &image).map(|r| view! { <span class="picker__reason">{r}</span> })}
                            {warning_text(l, &image).map(|w| view! { <span class="picker__warning">{w}</span> })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}
