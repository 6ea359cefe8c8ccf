//! Registry credentials (system admins and the operator): created with their password
//! sealed, granted to groups. Passwords go in, never out.

use super::{Call, OpResult};
use crate::backend::credentials::{self, NewCredential};
use crate::backend::groups;
use crate::domain::{Action, FieldError, Target};
use crate::wire::accounts::{CredentialView, CredentialsPage};

fn may_manage(call: &Call) -> OpResult<()> {
    call.check(
        Action::ManageCredentials,
        Target::System,
        "registry credentials",
    )
}

/// Every credential with the groups that may use it.
pub async fn list(call: &Call) -> OpResult<Vec<CredentialView>> {
    may_manage(call)?;
    Ok(credentials::list_with_groups(&call.state.db)
        .await?
        .into_iter()
        .map(|(c, groups)| CredentialView {
            name: c.name,
            registry: c.registry,
            username: c.username,
            groups,
        })
        .collect())
}

/// The credentials page: every credential, and every group to grant them to.
pub async fn overview(call: &Call) -> OpResult<CredentialsPage> {
    let credentials = list(call).await?;
    let all_groups = groups::list(&call.state.db)
        .await?
        .into_iter()
        .map(|g| g.name)
        .collect();
    Ok(CredentialsPage {
        credentials,
        all_groups,
    })
}

/// Creates a credential, sealing its password, granted to `groups`: all of it or nothing.
pub async fn create(call: &Call, new: &NewCredential<'_>, groups: &[String]) -> OpResult<()> {
    may_manage(call)?;
    let group_ids = group_ids(call, groups).await?;
    let mut change = call.change().await?;
    credentials::create(change.conn(), &call.state.secret, new, &group_ids).await?;
    change
        .commit(
            "credential.create",
            &format!("credential:{}", new.name),
            &groups.join(","),
        )
        .await
}

/// Lets exactly `groups` use the credential.
pub async fn set_groups(call: &Call, name: &str, groups: &[String]) -> OpResult<()> {
    may_manage(call)?;
    let group_ids = group_ids(call, groups).await?;
    let credential = credentials::require(&call.state.db, name).await?;
    let mut change = call.change().await?;
    credentials::set_groups(change.conn(), credential.id, &group_ids).await?;
    change
        .commit(
            "credential.groups",
            &format!("credential:{name}"),
            &groups.join(","),
        )
        .await
}

/// The ids of the named groups; an unknown one is named in the `groups` field.
async fn group_ids(call: &Call, names: &[String]) -> OpResult<Vec<i64>> {
    let mut ids = Vec::new();
    for name in names {
        let group = groups::find(&call.state.db, name).await?;
        let group =
            group.ok_or_else(|| FieldError::new("groups", format!("there is no group {name}")))?;
        ids.push(group.id);
    }
    Ok(ids)
}
