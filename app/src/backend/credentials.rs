//! Registry credentials (image pull secrets): the password is sealed at rest and never
//! leaves the server; each credential names the groups that may use it.

use sqlx::FromRow;

use super::db::Conn;
use super::images::Scope;
use super::{BackendError, Db, Result, SecretKey, now_ms};
use crate::domain::{FieldError, messages};

/// A credential as lists show it: never the password.
#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize, serde::Deserialize)]
pub struct CredentialRow {
    pub id: i64,
    pub name: String,
    pub registry: String,
    pub username: String,
}

pub struct NewCredential<'a> {
    pub name: &'a str,
    pub registry: &'a str,
    pub username: &'a str,
    pub password: &'a str,
}

impl NewCredential<'_> {
    fn check(&self) -> Result<()> {
        crate::domain::GroupName::parse("name", self.name)
            .map_err(|_| FieldError::coded("name", messages::CREDENTIAL_NAME_CHARSET, &[]))?;
        let host_ok = !self.registry.is_empty()
            && self.registry.len() <= 253
            && self
                .registry
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        if !host_ok {
            return Err(FieldError::coded("registry", messages::REGISTRY_HOST, &[]).into());
        }
        check_username(self.username)?;
        check_password(self.password)
    }
}

fn check_username(username: &str) -> Result<()> {
    if username.is_empty() || username.chars().any(char::is_control) {
        return Err(FieldError::coded("username", messages::USERNAME_REQUIRED, &[]).into());
    }
    Ok(())
}

fn check_password(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(FieldError::coded("password", messages::REQUIRED, &[]).into());
    }
    Ok(())
}

/// What changes in a credential: a new username, a new password, or both.
#[derive(Debug, Default, Clone, Copy)]
pub struct CredentialChange<'a> {
    pub username: Option<&'a str>,
    pub password: Option<&'a str>,
}

/// Changes a credential's username and/or password (sealed anew under the current key).
pub async fn change(
    conn: &mut Conn,
    key: &SecretKey,
    credential: &CredentialRow,
    change: CredentialChange<'_>,
) -> Result<()> {
    if let Some(username) = change.username {
        check_username(username)?;
        sqlx::query("UPDATE registry_credentials SET username = $1 WHERE id = $2")
            .bind(username)
            .bind(credential.id)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(password) = change.password {
        check_password(password)?;
        reseal(
            conn,
            &credential.name,
            &key.seal(password, &credential.name)?,
        )
        .await?;
    }
    Ok(())
}

/// What uses a credential: images that pull with it (`group/image`, `global/image`) and
/// queued or running builds whose base image does (`build N of group/image`).
pub async fn users_of(db: &Db, credential: &CredentialRow) -> Result<Vec<String>> {
    let images: Vec<(Option<String>, String)> = sqlx::query_as(
        "SELECT g.name, i.name FROM images i LEFT JOIN user_groups g ON g.id = i.group_id
         WHERE i.credential_id = $1 ORDER BY g.name, i.name",
    )
    .bind(credential.id)
    .fetch_all(&db.pool)
    .await?;
    let builds: Vec<(i64, Option<String>, String, String)> = sqlx::query_as(
        "SELECT b.revision, g.name, i.name, b.spec FROM builds b
         JOIN images i ON i.id = b.image_id LEFT JOIN user_groups g ON g.id = i.group_id
         WHERE b.state IN ('queued', 'running') ORDER BY b.id",
    )
    .fetch_all(&db.pool)
    .await?;
    let whose = |group: &Option<String>, image: &str| {
        format!("{}/{image}", group.as_deref().unwrap_or("global"))
    };
    let mut users: Vec<String> = images.iter().map(|(g, i)| whose(g, i)).collect();
    for (revision, group, image, spec) in &builds {
        let spec: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        if spec["pull_secret"].as_str() == Some(credential.name.as_str()) {
            users.push(format!("build {revision} of {}", whose(group, image)));
        }
    }
    Ok(users)
}

/// Deletes a credential; the database refuses while an image still names it.
pub async fn delete(conn: &mut Conn, credential: &CredentialRow) -> Result<()> {
    sqlx::query("DELETE FROM registry_credentials WHERE id = $1")
        .bind(credential.id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Stores a credential, its password sealed, granted to `group_ids`: all of it or nothing.
pub async fn create(
    conn: &mut Conn,
    key: &SecretKey,
    new: &NewCredential<'_>,
    group_ids: &[i64],
) -> Result<i64> {
    new.check()?;
    let sealed = key.seal(new.password, new.name)?;
    let id = sqlx::query_scalar(
        "INSERT INTO registry_credentials (name, registry, username, sealed, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(new.name)
    .bind(new.registry)
    .bind(new.username)
    .bind(sealed)
    .bind(now_ms())
    .fetch_one(&mut *conn)
    .await
    .map_err(BackendError::on_unique("credential", new.name))?;
    grant(conn, id, group_ids).await?;
    Ok(id)
}

/// A credential's registry, username and password, unsealed for a build.
pub async fn open_by_name(
    db: &Db,
    key: &SecretKey,
    name: &str,
) -> Result<(String, String, String)> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT registry, username, sealed FROM registry_credentials WHERE name = $1",
    )
    .bind(name)
    .fetch_optional(&db.pool)
    .await?;
    let (registry, username, sealed) = row.ok_or_else(|| BackendError::NotFound {
        what: "credential",
        name: name.to_owned(),
    })?;
    let password = key.open(&sealed, name)?;
    Ok((registry, username, password))
}

/// Every credential opened: (name, registry, username, password). One that does not open
/// fails the whole answer (a partial list would read as deletions).
pub async fn open_all(db: &Db, key: &SecretKey) -> Result<Vec<(String, String, String, String)>> {
    all_rows(db)
        .await?
        .into_iter()
        .map(|(name, registry, username, sealed)| {
            let password = key.open(&sealed, &name)?;
            Ok((name, registry, username, password))
        })
        .collect()
}

/// Every credential as stored: (name, registry, username, sealed password), by name.
async fn all_rows(db: &Db) -> Result<Vec<(String, String, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT name, registry, username, sealed FROM registry_credentials ORDER BY name",
    )
    .fetch_all(&db.pool)
    .await?)
}

/// A number that changes whenever any credential is added, changed or deleted.
pub async fn fingerprint(db: &Db) -> Result<u64> {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    all_rows(db).await?.hash(&mut hasher);
    Ok(hasher.finish())
}

/// Every credential's name and sealed password, for a key rotation.
pub async fn all_sealed(conn: &mut Conn) -> Result<Vec<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT name, sealed FROM registry_credentials ORDER BY name")
            .fetch_all(conn)
            .await?,
    )
}

/// Stores a credential's password sealed anew.
pub async fn reseal(conn: &mut Conn, name: &str, sealed: &str) -> Result<()> {
    sqlx::query("UPDATE registry_credentials SET sealed = $1 WHERE name = $2")
        .bind(sealed)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// The name of the credential with this id, if it still exists.
pub async fn name_of(db: &Db, id: i64) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT name FROM registry_credentials WHERE id = $1")
            .bind(id)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// Lets exactly these groups use the credential.
pub async fn set_groups(conn: &mut Conn, credential_id: i64, group_ids: &[i64]) -> Result<()> {
    grant(conn, credential_id, group_ids).await
}

async fn grant(conn: &mut Conn, credential_id: i64, group_ids: &[i64]) -> Result<()> {
    sqlx::query("DELETE FROM credential_groups WHERE credential_id = $1")
        .bind(credential_id)
        .execute(&mut *conn)
        .await?;
    for group_id in group_ids {
        sqlx::query("INSERT INTO credential_groups (credential_id, group_id) VALUES ($1, $2)")
            .bind(credential_id)
            .bind(group_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

pub async fn list(db: &Db) -> Result<Vec<CredentialRow>> {
    Ok(sqlx::query_as(
        "SELECT id, name, registry, username FROM registry_credentials ORDER BY name",
    )
    .fetch_all(&db.pool)
    .await?)
}

/// The credential with this name.
pub async fn require(db: &Db, name: &str) -> Result<CredentialRow> {
    sqlx::query_as("SELECT id, name, registry, username FROM registry_credentials WHERE name = $1")
        .bind(name)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| BackendError::NotFound {
            what: "credential",
            name: name.to_owned(),
        })
}

/// The credentials a scope may use: those granted to the group, or all for global images.
pub async fn usable(db: &Db, scope: Scope) -> Result<Vec<CredentialRow>> {
    Ok(match scope {
        Scope::Global => list(db).await?,
        Scope::Group(group_id) => sqlx::query_as(
            "SELECT c.id, c.name, c.registry, c.username FROM registry_credentials c
             JOIN credential_groups cg ON cg.credential_id = c.id WHERE cg.group_id = $1 ORDER BY c.name",
        )
        .bind(group_id)
        .fetch_all(&db.pool)
        .await?,
    })
}

/// The id of the credential `name` if the scope may use it; a field error otherwise.
pub async fn resolve_usable(db: &Db, scope: Scope, name: Option<&str>) -> Result<Option<i64>> {
    let Some(name) = name else { return Ok(None) };
    usable(db, scope)
        .await?
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| Some(c.id))
        .ok_or_else(|| {
            FieldError::coded(
                "pull_secret",
                messages::PULL_SECRET_NOT_ALLOWED,
                &[("name", name)],
            )
            .into()
        })
}

/// Every credential with the names of the groups it is granted to, in one query.
pub async fn list_with_groups(db: &Db) -> Result<Vec<(CredentialRow, Vec<String>)>> {
    let rows: Vec<(i64, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT c.id, c.name, c.registry, c.username, g.name FROM registry_credentials c
         LEFT JOIN credential_groups cg ON cg.credential_id = c.id
         LEFT JOIN user_groups g ON g.id = cg.group_id
         ORDER BY c.name, g.name",
    )
    .fetch_all(&db.pool)
    .await?;
    let mut out: Vec<(CredentialRow, Vec<String>)> = Vec::new();
    for (id, name, registry, username, group) in rows {
        if out.last().is_none_or(|(c, _)| c.id != id) {
            let row = CredentialRow {
                id,
                name,
                registry,
                username,
            };
            out.push((row, Vec::new()));
        }
        let groups = &mut out.last_mut().expect("pushed above").1;
        groups.extend(group);
    }
    Ok(out)
}
