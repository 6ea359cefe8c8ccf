//! The append-only audit log: who did what to which target, and when.

use sqlx::FromRow;

use super::db::Conn;
use super::{Db, Result, now_ms};

#[derive(Debug, Clone, FromRow)]
pub struct AuditEntry {
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
        "SELECT at, actor, action, target, detail FROM audit_log ORDER BY id DESC LIMIT $1",
    )
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
}
