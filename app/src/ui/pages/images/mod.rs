//! The image catalog's pages, for a group (`/groups/:group/images…`) and for global images
//! (`/admin/images…`): the same pages, the group read from the URL.

pub mod build_form;
pub mod builds;
pub mod delete;
pub mod edit;
pub mod fields;
pub mod lifecycle;
pub mod list;
pub mod new;

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The group in the URL, or `None` on the global images pages.
pub fn group_param() -> Memo<Option<String>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("group"))
}

/// The image name in the URL.
pub fn name_param() -> Memo<String> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("name").unwrap_or_default())
}

/// "Group demo" or "Global images", for headings.
pub fn scope_title(l: crate::i18n::Lang, group: Option<&str>) -> String {
    use crate::i18n::{t, tf};
    group.map_or_else(
        || t(l, "Global images").to_owned(),
        |g| tf(l, "Group {group}", &[("group", g)]),
    )
}
