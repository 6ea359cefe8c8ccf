//! The append-only audit log: who did what to which target, and when.

use sqlx::FromRow;

use super::db::Conn;
use super::{Db, Result, now_ms};

#[derive(Debug, Clone, FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// Appends one entry, on the connection (the transaction) of the change it records.
/// `actor` is a user name, or the operator's name for the command line.
pub async fn record(
    conn: &mut Conn,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor, action, target, detail) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(now_ms())
    .bind(actor)
    .bind(action)
    .bind(target)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest entries first.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<AuditEntry>> {
    Ok(sqlx::query_as(
        "SELECT id, at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

/// Which entries to read; every filter is optional.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Exactly this actor.
    pub actor: Option<String>,
    /// This action (`image.create`), or every action under a prefix ending in a dot (`image.`).
    pub action: Option<String>,
    /// Targets starting with this (`group:ml/image:torch`, `user:`).
    pub target: Option<String>,
    /// Only this group's entries: its own target (`group:ml`) and those under it
    /// (`group:ml/image:…`), which is how every change to a group's things is recorded.
    pub group: Option<String>,
    /// From this time on (ms, inclusive) and before that one (ms, exclusive).
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// Entries older than this one (its id): the next page.
    pub before: Option<i64>,
}

/// The newest matching entries first, at most `limit`, read by the database page by page.
pub async fn search(db: &Db, q: &AuditQuery, limit: i64) -> Result<Vec<AuditEntry>> {
    let group_target = q.group.as_ref().map(|g| format!("group:{g}"));
    let group_prefix = q.group.as_ref().map(|g| format!("group:{g}/"));
    let (action_exact, action_prefix) = match &q.action {
        Some(a) if a.ends_with('.') => (None, Some(a.clone())),
        other => (other.clone(), None),
    };
    Ok(sqlx::query_as(
        "SELECT id, at, actor, action, target, detail FROM audit_log
         WHERE ($1 IS NULL OR actor = $1)
           AND ($2 IS NULL OR action = $2)
           AND ($3 IS NULL OR substr(action, 1, length($3)) = $3)
           AND ($4 IS NULL OR substr(target, 1, length($4)) = $4)
           AND ($5 IS NULL OR target = $5 OR substr(target, 1, length($6)) = $6)
           AND ($7 IS NULL OR at >= $7)
           AND ($8 IS NULL OR at < $8)
           AND ($9 IS NULL OR id < $9)
         ORDER BY id DESC LIMIT $10",
    )
    .bind(&q.actor)
    .bind(action_exact)
    .bind(action_prefix)
    .bind(&q.target)
    .bind(group_target)
    .bind(group_prefix)
    .bind(q.since)
    .bind(q.until)
    .bind(q.before)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::fresh_db;

    #[tokio::test]
    async fn entries_can_be_added_but_never_changed_or_removed() {
        let db = fresh_db().await;
        let mut conn = db.pool.acquire().await.unwrap();
        record(&mut conn, "cli", "group.create", "group:ml", "")
            .await
            .unwrap();
        record(&mut conn, "ann", "session.login", "user:ann", "")
            .await
            .unwrap();
        let entries = recent(&db, 10).await.unwrap();
        assert_eq!(
            entries
                .iter()
                .map(|e| e.action.as_str())
                .collect::<Vec<_>>(),
            ["session.login", "group.create"]
        );

        let update = sqlx::query("UPDATE audit_log SET actor = 'mallory'")
            .execute(&db.pool)
            .await;
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = sqlx::query("DELETE FROM audit_log").execute(&db.pool).await;
        assert!(delete.unwrap_err().to_string().contains("append-only"));
        assert_eq!(recent(&db, 10).await.unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_search_filters_by_each_field_and_pages_by_id() {
        let db = fresh_db().await;
        let mut conn = db.pool.acquire().await.unwrap();
        for (actor, action, target) in [
            ("root", "group.create", "group:ml"),
            ("root", "group.create", "group:ml_x"),
            ("ann", "image.create", "group:ml/image:torch"),
            ("ann", "image.update", "group:ml/image:torch"),
            ("bob", "image.create", "group:ml_x/image:tf"),
            ("root", "token.create", "token:hub"),
        ] {
            record(&mut conn, actor, action, target, "").await.unwrap();
        }
        let found = |q: AuditQuery| {
            let db = db.clone();
            async move {
                search(&db, &q, 50)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| format!("{} {}", e.action, e.target))
                    .collect::<Vec<_>>()
            }
        };
        let ml = AuditQuery {
            group: Some("ml".into()),
            ..Default::default()
        };
        // `ml_x` shares ml's prefix, and `_` is no wildcard here.
        assert_eq!(
            found(ml.clone()).await,
            [
                "image.update group:ml/image:torch",
                "image.create group:ml/image:torch",
                "group.create group:ml"
            ]
        );
        let by_prefix = AuditQuery {
            action: Some("image.".into()),
            ..Default::default()
        };
        assert_eq!(found(by_prefix).await.len(), 3);
        let exact = AuditQuery {
            action: Some("image.create".into()),
            actor: Some("ann".into()),
            ..Default::default()
        };
        assert_eq!(found(exact).await, ["image.create group:ml/image:torch"]);
        let targets = AuditQuery {
            target: Some("token:".into()),
            ..Default::default()
        };
        assert_eq!(found(targets).await, ["token.create token:hub"]);
        let now = now_ms();
        let future = AuditQuery {
            since: Some(now + 60_000),
            ..Default::default()
        };
        assert!(found(future).await.is_empty());
        let past = AuditQuery {
            until: Some(now - 60_000),
            ..Default::default()
        };
        assert!(found(past).await.is_empty());

        // Two at a time, then the two before the last one seen.
        let first = search(&db, &ml, 2).await.unwrap();
        let next = AuditQuery {
            before: Some(first[1].id),
            ..ml
        };
        let second = search(&db, &next, 2).await.unwrap();
        assert_eq!(
            second.iter().map(|e| e.target.as_str()).collect::<Vec<_>>(),
            ["group:ml"]
        );
    }
}
