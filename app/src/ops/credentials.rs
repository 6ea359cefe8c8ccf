//! Registry credentials (system admins and the operator): created with their password
//! sealed, granted to groups. Passwords go in, never out.

use super::{Call, OpResult};
use crate::backend::credentials::{self, CredentialChange, NewCredential};
use crate::backend::{SecretKey, groups};
use crate::domain::{Action, FieldError, Said, Target, messages};
use crate::wire::ApiError;
use crate::wire::accounts::{CredentialView, CredentialsPage};

fn may_manage(call: &Call) -> OpResult<()> {
    call.check(Action::ManageCredentials, Target::System)
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

/// Re-seals every stored credential under the configured key, opening those sealed with
/// another key with `old`: all of them in one change, or none (a value neither key opens
/// stops it, naming the credential). Answers how many were re-sealed.
pub async fn rotate_key(call: &Call, old: &SecretKey) -> OpResult<usize> {
    may_manage(call)?;
    let new = &call.state.secret;
    let mut change = call.change().await?;
    let mut resealed = 0;
    for (name, sealed) in credentials::all_sealed(change.conn()).await? {
        if SecretKey::sealed_by(&sealed) == Some(new.id().as_str()) {
            continue;
        }
        let password = old
            .open(&sealed, &name)
            .or_else(|_| new.open(&sealed, &name))
            .map_err(|_| {
                ApiError::Conflict(Said::coded(
                    messages::CREDENTIAL_UNOPENABLE,
                    &[("name", &name)],
                ))
            })?;
        credentials::reseal(change.conn(), &name, &new.seal(&password, &name)?).await?;
        resealed += 1;
    }
    change
        .commit(
            "secret.rotate",
            &format!("key:{}", new.id()),
            &format!("re-sealed {resealed} credentials from key {}", old.id()),
        )
        .await?;
    Ok(resealed)
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

/// Changes a credential's username and/or password (empty: kept); the password is sealed
/// anew. Builds and launches use the new values from their next start.
pub async fn change(call: &Call, name: &str, username: &str, password: &str) -> OpResult<()> {
    may_manage(call)?;
    let credential = credentials::require(&call.state.db, name).await?;
    let username = username.trim();
    let change = CredentialChange {
        username: (!username.is_empty() && username != credential.username).then_some(username),
        password: (!password.is_empty()).then_some(password),
    };
    let changed: Vec<&str> = [
        change.username.map(|_| "username"),
        change.password.map(|_| "password"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if changed.is_empty() {
        return Err(FieldError::coded("password", messages::NOTHING_TO_CHANGE, &[]).into());
    }
    let mut tx = call.change().await?;
    credentials::change(tx.conn(), &call.state.secret, &credential, change).await?;
    tx.commit(
        "credential.update",
        &format!("credential:{name}"),
        &changed.join(","),
    )
    .await
}

/// Deletes a credential; refused while an image or a queued or running build uses it,
/// naming them.
pub async fn delete(call: &Call, name: &str) -> OpResult<()> {
    may_manage(call)?;
    let credential = credentials::require(&call.state.db, name).await?;
    let users = credentials::users_of(&call.state.db, &credential).await?;
    if !users.is_empty() {
        return Err(ApiError::Conflict(Said::coded(
            messages::CREDENTIAL_IN_USE,
            &[("name", name), ("users", &users.join(", "))],
        )));
    }
    let mut tx = call.change().await?;
    credentials::delete(tx.conn(), &credential)
        .await
        .map_err(|e| match e {
            // An image took it up between the check and the delete.
            crate::backend::BackendError::Database(sqlx::Error::Database(d))
                if d.is_foreign_key_violation() =>
            {
                ApiError::Conflict(Said::coded(
                    messages::CREDENTIAL_CAME_INTO_USE,
                    &[("name", name)],
                ))
            }
            other => other.into(),
        })?;
    tx.commit("credential.delete", &format!("credential:{name}"), "")
        .await
}

/// The ids of the named groups; an unknown one is named in the `groups` field.
async fn group_ids(call: &Call, names: &[String]) -> OpResult<Vec<i64>> {
    let mut ids = Vec::new();
    for name in names {
        let group = groups::find(&call.state.db, name).await?;
        let group = group.ok_or_else(|| {
            FieldError::coded("groups", messages::NO_GROUP_NAMED, &[("group", name)])
        })?;
        ids.push(group.id);
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::testing;

    #[tokio::test]
    async fn a_rotation_reseals_every_credential_and_a_copy_without_the_key_opens_nothing() {
        let before = testing::state().await;
        let old = before.secret.clone();
        let call = Call::operator(before.clone());
        for (name, password) in [("harbor", "harbor-pw"), ("quay", "quay-pw")] {
            let new = NewCredential {
                name,
                registry: "registry.example.org",
                username: "robot",
                password,
            };
            create(&call, &new, &[]).await.unwrap();
        }
        // The database without its key: nothing opens, and the error names the key.
        let other = SecretKey::from_hex(&"09".repeat(32)).unwrap();
        let refused = credentials::open_by_name(&before.db, &other, "harbor")
            .await
            .unwrap_err()
            .to_string();
        assert!(refused.contains(&old.id()), "{refused}");

        // Kiln restarted with the new key: the rotation re-seals both, then none.
        let after = before.with(|fields| fields.secret = other.clone());
        let call = Call::operator(after.clone());
        assert_eq!(rotate_key(&call, &old).await.unwrap(), 2);
        let (_, _, password) = credentials::open_by_name(&after.db, &other, "quay")
            .await
            .unwrap();
        assert_eq!(password, "quay-pw");
        assert!(
            credentials::open_by_name(&after.db, &old, "quay")
                .await
                .is_err(),
            "the old key opens nothing any more"
        );
        assert_eq!(rotate_key(&call, &old).await.unwrap(), 0);
        let audit = crate::backend::audit::recent(&after.db, 5).await.unwrap();
        assert_eq!(audit[0].action, "secret.rotate");

        // A wrong "old" key changes nothing and says which credential it could not open.
        let third =
            after.with(|fields| fields.secret = SecretKey::from_hex(&"0a".repeat(32)).unwrap());
        let refused = rotate_key(&Call::operator(third.clone()), &old)
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("harbor"), "{refused}");
        let (_, _, password) = credentials::open_by_name(&third.db, &other, "harbor")
            .await
            .unwrap();
        assert_eq!(password, "harbor-pw", "nothing was re-sealed");
    }
}
