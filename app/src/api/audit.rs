//! Server functions for the audit log page.

use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::edge::run;
use crate::wire::ApiError;
use crate::wire::audit::{AuditFilter, AuditPage};

/// One page of the audit log: all of it, or (with `group`) the group's entries.
#[server(endpoint = "audit_entries")]
pub async fn audit_entries(
    group: Option<String>,
    filter: AuditFilter,
    before: Option<i64>,
) -> Result<AuditPage, ApiError> {
    run(|call| async move {
        let page = crate::ops::audit::PAGE;
        crate::ops::audit::search(&call, group.as_deref(), &filter, before, page).await
    })
    .await
}
