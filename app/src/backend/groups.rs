//! Groups and who belongs to them.

use sqlx::FromRow;

use super::db::Conn;
use super::{BackendError, Db, Result, now_ms};
use crate::domain::{GroupName, Membership, Role};

#[derive(Debug, Clone, FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
}

pub async fn create(conn: &mut Conn, name: &GroupName) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO user_groups (name, created_at) VALUES ($1, $2) RETURNING id",
    )
    .bind(name.as_str())
    .bind(now_ms())
    .fetch_one(conn)
    .await
    .map_err(BackendError::on_unique("group", name.as_str()))?;
    Ok(id)
}

/// The group with exactly this name.
pub async fn find(db: &Db, name: &str) -> Result<Option<GroupRow>> {
    Ok(
        sqlx::query_as("SELECT id, name FROM user_groups WHERE name = $1")
            .bind(name)
            .fetch_optional(&db.pool)
            .await?,
    )
}

/// The name of the group with this id.
pub async fn name_of(db: &Db, id: i64) -> Result<String> {
    sqlx::query_scalar("SELECT name FROM user_groups WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| BackendError::NotFound {
            what: "group",
            name: id.to_string(),
        })
}

pub async fn require(db: &Db, name: &str) -> Result<GroupRow> {
    find(db, name).await?.ok_or_else(|| BackendError::NotFound {
        what: "group",
        name: name.to_owned(),
    })
}

pub async fn list(db: &Db) -> Result<Vec<GroupRow>> {
    Ok(
        sqlx::query_as("SELECT id, name FROM user_groups ORDER BY name")
            .fetch_all(&db.pool)
            .await?,
    )
}

/// Each group with how many members and images it has, by name.
pub async fn list_with_counts(db: &Db) -> Result<Vec<(String, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT g.name,
                (SELECT COUNT(*) FROM memberships m WHERE m.group_id = g.id),
                (SELECT COUNT(*) FROM images i WHERE i.group_id = g.id)
         FROM user_groups g ORDER BY g.name",
    )
    .fetch_all(&db.pool)
    .await?)
}

/// Renames a group; the new name must be free.
pub async fn rename(conn: &mut Conn, id: i64, name: &GroupName) -> Result<()> {
    sqlx::query("UPDATE user_groups SET name = $1 WHERE id = $2")
        .bind(name.as_str())
        .bind(id)
        .execute(conn)
        .await
        .map_err(BackendError::on_unique("group", name.as_str()))?;
    Ok(())
}

/// Deletes a group with its memberships and credential grants, unless it has images
/// (deleting the group would delete them with their builds): then nothing, and false.
pub async fn delete_if_empty(conn: &mut Conn, id: i64) -> Result<bool> {
    let deleted = sqlx::query(
        "DELETE FROM user_groups WHERE id = $1
           AND NOT EXISTS (SELECT 1 FROM images WHERE group_id = $1)",
    )
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(deleted == 1)
}

/// Gives `user_id` this role in the group, replacing any role they had. A membership the
/// identity provider made stays the provider's (its role is Kiln's): it ends when the
/// provider stops listing the group, admin role and all.
pub async fn set_member(conn: &mut Conn, group_id: i64, user_id: i64, role: Role) -> Result<()> {
    sqlx::query(
        "INSERT INTO memberships (group_id, user_id, role, source) VALUES ($1, $2, $3, 'local')
         ON CONFLICT (group_id, user_id) DO UPDATE SET role = excluded.role",
    )
    .bind(group_id)
    .bind(user_id)
    .bind(role.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends a membership Kiln made; one the identity provider made is left (answer: false).
pub async fn remove_local_member(conn: &mut Conn, group_id: i64, user_id: i64) -> Result<bool> {
    let removed = sqlx::query(
        "DELETE FROM memberships WHERE group_id = $1 AND user_id = $2 AND source = 'local'",
    )
    .bind(group_id)
    .bind(user_id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(removed == 1)
}

/// A group's members: name, role and where the membership came from (`local`, `proxy`).
pub async fn members(db: &Db, group_id: i64) -> Result<Vec<(String, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT u.name, m.role, m.source FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.group_id = $1 ORDER BY u.name",
    )
    .bind(group_id)
    .fetch_all(&db.pool)
    .await?)
}

#[derive(FromRow)]
struct MembershipRow {
    group_id: i64,
    name: String,
    role: String,
    source: String,
}

/// The user's memberships, by group name; with where each came from (`local` or `proxy`).
async fn membership_rows(db: &Db, user_id: i64) -> Result<Vec<MembershipRow>> {
    Ok(sqlx::query_as(
        "SELECT m.group_id, g.name, m.role, m.source FROM memberships m
         JOIN user_groups g ON g.id = m.group_id WHERE m.user_id = $1 ORDER BY g.name",
    )
    .bind(user_id)
    .fetch_all(&db.pool)
    .await?)
}

pub async fn memberships_of(db: &Db, user_id: i64) -> Result<Vec<Membership>> {
    Ok(membership_rows(db, user_id)
        .await?
        .into_iter()
        .filter_map(to_membership)
        .collect())
}

fn to_membership(row: MembershipRow) -> Option<Membership> {
    Some(Membership {
        group_id: row.group_id,
        group: row.name,
        role: Role::parse(&row.role)?,
    })
}

/// Makes the memberships an identity provider (proxy or OIDC) reports stored ones: groups
/// it lists that Kiln knows become member memberships, provider-made ones it no longer
/// lists go, whatever role Kiln gave them since. Memberships made in Kiln (by the CLI) for
/// groups the provider does not list are kept. Writes only when something changed.
pub async fn sync_proxy_memberships(
    db: &Db,
    user_id: i64,
    reported: &[GroupName],
) -> Result<Vec<Membership>> {
    let rows = membership_rows(db, user_id).await?;
    let mut changed = false;
    for row in rows.iter().filter(|r| r.source == "proxy") {
        if !reported.iter().any(|g| g.as_str() == row.name) {
            sqlx::query(
                "DELETE FROM memberships WHERE group_id = $1 AND user_id = $2 AND source = 'proxy'",
            )
            .bind(row.group_id)
            .bind(user_id)
            .execute(&db.pool)
            .await?;
            changed = true;
        }
    }
    for group in reported
        .iter()
        .filter(|g| !rows.iter().any(|r| r.name == g.as_str()))
    {
        let inserted = sqlx::query(
            "INSERT INTO memberships (group_id, user_id, role, source)
             SELECT id, $1, 'member', 'proxy' FROM user_groups WHERE name = $2
             ON CONFLICT (group_id, user_id) DO NOTHING",
        )
        .bind(user_id)
        .bind(group.as_str())
        .execute(&db.pool)
        .await?;
        changed |= inserted.rows_affected() > 0;
    }
    if changed {
        db.launch_counter.written();
        memberships_of(db, user_id).await
    } else {
        Ok(rows.into_iter().filter_map(to_membership).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::{conn, fresh_db};
    use crate::backend::users;
    use crate::domain::UserName;

    fn g(s: &str) -> GroupName {
        GroupName::parse("group", s).unwrap()
    }

    #[tokio::test]
    async fn group_lookup_is_exact() {
        let db = fresh_db().await;
        create(&mut *conn(&db).await, &g("ml-team")).await.unwrap();
        assert!(find(&db, "ml").await.unwrap().is_none());
        assert!(find(&db, "ML-TEAM").await.unwrap().is_none());
        assert_eq!(
            require(&db, "ml").await.unwrap_err().to_string(),
            "group \"ml\" does not exist"
        );
        assert!(create(&mut *conn(&db).await, &g("ml-team")).await.is_err());
    }

    #[tokio::test]
    async fn setting_a_member_twice_changes_the_role() {
        let db = fresh_db().await;
        let gid = create(&mut *conn(&db).await, &g("ml")).await.unwrap();
        let uid = users::create(
            &mut *conn(&db).await,
            &UserName::parse("user", "ann").unwrap(),
            "h",
            false,
        )
        .await
        .unwrap();
        set_member(&mut *conn(&db).await, gid, uid, Role::Member)
            .await
            .unwrap();
        set_member(&mut *conn(&db).await, gid, uid, Role::Admin)
            .await
            .unwrap();
        let m = memberships_of(&db, uid).await.unwrap();
        assert_eq!(
            m,
            vec![Membership {
                group_id: gid,
                group: "ml".into(),
                role: Role::Admin
            }]
        );
    }

    #[tokio::test]
    async fn proxy_memberships_follow_the_header_but_keep_kiln_roles() {
        let db = fresh_db().await;
        let ml = create(&mut *conn(&db).await, &g("ml")).await.unwrap();
        let cv = create(&mut *conn(&db).await, &g("cv")).await.unwrap();
        let uid = users::ensure_proxy_user(&db, &UserName::parse("user", "pat").unwrap())
            .await
            .unwrap()
            .id;
        set_member(&mut *conn(&db).await, cv, uid, Role::Admin)
            .await
            .unwrap();

        let m = sync_proxy_memberships(&db, uid, &[g("ml"), g("unknown")])
            .await
            .unwrap();
        let names: Vec<_> = m.iter().map(|m| (m.group.as_str(), m.role)).collect();
        assert_eq!(names, vec![("cv", Role::Admin), ("ml", Role::Member)]);

        let m = sync_proxy_memberships(&db, uid, &[]).await.unwrap();
        assert_eq!(
            m,
            vec![Membership {
                group_id: cv,
                group: "cv".into(),
                role: Role::Admin
            }]
        );
        assert!(
            memberships_of(&db, uid)
                .await
                .unwrap()
                .iter()
                .all(|m| m.group_id != ml)
        );
    }

    #[tokio::test]
    async fn an_admin_role_given_in_kiln_ends_when_the_provider_drops_the_group() {
        let db = fresh_db().await;
        let ml = create(&mut *conn(&db).await, &g("ml")).await.unwrap();
        let uid = users::ensure_proxy_user(&db, &UserName::parse("user", "pat").unwrap())
            .await
            .unwrap()
            .id;
        sync_proxy_memberships(&db, uid, &[g("ml")]).await.unwrap();
        // A system admin makes the provider's member an admin of the group in Kiln.
        set_member(&mut *conn(&db).await, ml, uid, Role::Admin)
            .await
            .unwrap();
        let m = sync_proxy_memberships(&db, uid, &[g("ml")]).await.unwrap();
        assert_eq!(
            m[0].role,
            Role::Admin,
            "the role holds while the provider lists ml"
        );

        let m = sync_proxy_memberships(&db, uid, &[]).await.unwrap();
        assert_eq!(
            m,
            vec![],
            "the provider says pat left ml: the admin role goes too"
        );
        let m = sync_proxy_memberships(&db, uid, &[g("ml")]).await.unwrap();
        assert_eq!(
            m[0].role,
            Role::Member,
            "back in ml as a member, not an admin"
        );
    }
}
