//! The build log viewer, an island: it shows the end of the log the server rendered, then
//! follows the build live over server-sent events (its lines and its step) (resuming where it left off after a
//! dropped connection), can pause, stop following the tail, and download the whole log.

use leptos::prelude::*;

use crate::i18n::{t, tf, use_lang};

/// The viewer keeps at most this much text; the download has all of it.
const KEEP_BYTES: usize = 512 * 1024;

#[island]
pub fn LogView(
    /// The build whose log this is.
    build_id: i64,
    /// Still queued or running: follow it live.
    active: bool,
    /// The end of the log, as the page was rendered.
    initial: String,
    /// The last log chunk in `initial`; live events start after it.
    after_seq: i64,
    /// The step running, and how many there are: the progress bar while it runs.
    step: i64,
    steps: i64,
) -> impl IntoView {
    let l = use_lang();
    let progress = RwSignal::new(step);
    let text = RwSignal::new(initial);
    let paused = RwSignal::new(false);
    let follow = RwSignal::new(true);
    let held = StoredValue::new(String::new());
    let status = RwSignal::new(if active { t(l, "live") } else { t(l, "ended") });
    let pre = NodeRef::<leptos::html::Pre>::new();

    let append = move |chunk: String| {
        if paused.get_untracked() {
            held.update_value(|h| h.push_str(&chunk));
        } else {
            text.update(|t| push_capped(t, &chunk));
        }
    };
    let toggle_pause = move |_| {
        paused.update(|p| *p = !*p);
        if !paused.get_untracked() {
            let waiting = held.try_update_value(std::mem::take).unwrap_or_default();
            text.update(|t| push_capped(t, &waiting));
        }
    };
    // Following: every change scrolls the log to its end.
    Effect::new(move |_| {
        text.track();
        if let Some(pre) = pre.get().filter(|_| follow.get()) {
            pre.set_scroll_top(pre.scroll_height());
        }
    });
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        if active {
            live::follow(
                l,
                build_id,
                after_seq,
                append,
                move |s| status.set(s),
                move |n| progress.set(n),
            );
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (append, after_seq);

    view! {
        <div class="log">
            {active.then(|| view! {
                <label class="build-status__progress" data-testid="build-progress">
                    {move || {
                        let (step, steps) = (progress.get().to_string(), steps.to_string());
                        tf(l, "Step {step} of {steps}", &[("step", &step), ("steps", &steps)])
                    }}
                    <progress max=steps prop:value=move || progress.get() as f64 value=step></progress>
                </label>
            })}
            <div class="log__tools">
                <button type="button" class="button" on:click=toggle_pause hidden=!active>
                    {move || if paused.get() { t(l, "Resume") } else { t(l, "Pause") }}
                </button>
                <label class="form__check">
                    <input type="checkbox" prop:checked=follow on:change=move |ev| follow.set(event_target_checked(&ev))/>
                    {t(l, "Follow the end")}
                </label>
                <a class="button" href=format!("/api/v1/builds/{build_id}/log") download=format!("build-{build_id}.log")>{t(l, "Download")}</a>
                <span class="log__status" data-testid="log-status">{move || status.get()}</span>
            </div>
            <pre class="log__text" node_ref=pre tabindex="0" aria-label=t(l, "Build log") data-testid="build-log">{move || text.get()}</pre>
        </div>
    }
}

/// Appends `chunk`, dropping whole lines from the front past [`KEEP_BYTES`].
fn push_capped(text: &mut String, chunk: &str) {
    text.push_str(chunk);
    if text.len() > KEEP_BYTES {
        let over = text.len() - KEEP_BYTES;
        let cut = text[over..].find('\n').map_or(over, |i| over + i + 1);
        text.drain(..cut);
    }
}

#[cfg(feature = "hydrate")]
mod live {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{EventSource, MessageEvent};

    use crate::i18n::{Lang, t};

    /// Opens the build's event stream: `log` events carry chunks of the log; `end` says the
    /// build ended, and the page reloads to show how.
    pub fn follow(
        l: Lang,
        build_id: i64,
        after_seq: i64,
        append: impl Fn(String) + 'static,
        status: impl Fn(&'static str) + 'static,
        step: impl Fn(i64) + 'static,
    ) {
        let url = format!("/api/v1/builds/{build_id}/log?after={after_seq}");
        let Ok(source) = EventSource::new(&url) else {
            status(t(l, "could not connect"));
            return;
        };
        let on_log = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(data) = event.data().as_string() {
                append(format!("{data}\n"));
            }
        });
        let _ = source.add_event_listener_with_callback("log", on_log.as_ref().unchecked_ref());
        on_log.forget();
        let on_step = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data().as_string().unwrap_or_default();
            if let Some(n) = data.split('/').next().and_then(|n| n.parse().ok()) {
                step(n);
            }
        });
        let _ = source.add_event_listener_with_callback("step", on_step.as_ref().unchecked_ref());
        on_step.forget();
        let closing = source.clone();
        let on_end = Closure::<dyn Fn(MessageEvent)>::new(move |_| {
            closing.close();
            status(t(l, "ended"));
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        });
        let _ = source.add_event_listener_with_callback("end", on_end.as_ref().unchecked_ref());
        on_end.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_viewer_keeps_the_end_of_a_long_log_in_whole_lines() {
        let mut text = String::new();
        for i in 0..100_000 {
            push_capped(&mut text, &format!("line {i}\n"));
        }
        assert!(text.len() <= KEEP_BYTES);
        assert!(text.starts_with("line "), "cut at a line start");
        assert!(text.ends_with("line 99999\n"));
    }
}
