//! The audit log: every change is written together with its entry, in one transaction
//! ([`Change`]), so there is no change without an entry and no entry without its change.
//! System admins read all of it, group admins their group's entries.

use crate::backend::audit::{self, AuditEntry, AuditQuery};
use crate::backend::db::{Conn, Tx};
use crate::backend::{BackendError, Db};
use crate::domain::time::parse_utc_date;
use crate::domain::{Action, Target};
use crate::wire::audit::{AuditFilter, AuditPage, AuditView};

use super::{Call, OpResult};

/// A change in progress: a transaction that commits only with its audit entry. Dropped
/// without [`Change::commit`] (an error on the way), it rolls back.
pub struct Change {
    tx: Tx,
    actor: String,
}

impl Change {
    /// Begins a change made by `actor` (the name the entry will carry).
    pub(crate) async fn begin(db: &Db, actor: String) -> OpResult<Change> {
        Ok(Change {
            tx: db.begin().await?,
            actor,
        })
    }

    /// Who makes the change, as the audit log names them.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The connection the change is written on.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.tx
    }

    /// Writes the audit entry and commits both; a failure of either leaves nothing.
    pub async fn commit(mut self, action: &str, target: &str, detail: &str) -> OpResult<()> {
        audit::record(&mut self.tx, &self.actor, action, target, detail).await?;
        self.tx.commit().await.map_err(BackendError::from)?;
        Ok(())
    }
}

/// The newest entries first (system admins).
pub async fn recent(call: &Call, limit: i64) -> OpResult<Vec<AuditEntry>> {
    call.check(Action::ViewAuditLog, Target::System)?;
    Ok(audit::recent(&call.state.db, limit.clamp(1, 1000)).await?)
}

/// Entries a page of the audit log shows.
pub const PAGE: i64 = 50;

/// One page of the audit log, newest first, filtered: everything for system admins, or
/// (with `group`) the group's entries for its admins. `before` is the previous page's
/// `next`. A filter that is not valid is refused naming it.
pub async fn search(
    call: &Call,
    group: Option<&str>,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: i64,
) -> OpResult<AuditPage> {
    let query = query_of(call, group, filter, before).await?;
    let limit = limit.clamp(1, 1000);
    let mut entries = audit::search(&call.state.db, &query, limit + 1).await?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    Ok(AuditPage {
        next: more.then(|| entries.last().map(|e| e.id)).flatten(),
        entries: entries.into_iter().map(view).collect(),
    })
}

/// The checked query for a caller's filters: the caller may read the log (or the group's).
pub async fn query_of(
    call: &Call,
    group: Option<&str>,
    filter: &AuditFilter,
    before: Option<i64>,
) -> OpResult<AuditQuery> {
    match group {
        None => call.check(Action::ViewAuditLog, Target::System)?,
        Some(group) => {
            call.scope(Some(group), Action::ViewAuditLog).await?;
        }
    }
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(AuditQuery {
        actor: text(&filter.actor),
        action: text(&filter.action),
        target: text(&filter.target),
        group: group.map(str::to_owned),
        since: parse_utc_date("since", &filter.since, false)?,
        until: parse_utc_date("until", &filter.until, true)?,
        before,
    })
}

pub fn view(e: AuditEntry) -> AuditView {
    AuditView {
        id: e.id,
        at: e.at,
        actor: e.actor,
        action: e.action,
        target: e.target,
        detail: e.detail,
    }
}

#[cfg(test)]
mod tests {
    use crate::backend::credentials::NewCredential;
    use crate::backend::db::Kind;
    use crate::backend::{groups, tokens, users};
    use crate::domain::Role;
    use crate::ops::testing::operator;
    use crate::ops::{Call, accounts, credentials, images};
    use crate::wire::ApiError;

    /// Makes every insert into the audit log fail, as a full disk or a broken
    /// permission would.
    async fn break_the_audit_log(call: &Call) {
        let db = &call.state.db;
        let sql = match db.kind {
            Kind::Sqlite => {
                "CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log
                 BEGIN SELECT RAISE(ABORT, 'the audit log refuses'); END;"
            }
            Kind::Postgres => {
                "CREATE FUNCTION audit_refused() RETURNS trigger AS $$
                 BEGIN RAISE EXCEPTION 'the audit log refuses'; END $$ LANGUAGE plpgsql;
                 CREATE TRIGGER audit_refused BEFORE INSERT ON audit_log
                 FOR EACH ROW EXECUTE FUNCTION audit_refused();"
            }
        };
        sqlx::raw_sql(sql).execute(&db.pool).await.unwrap();
    }

    #[tokio::test]
    async fn a_change_whose_audit_entry_fails_is_rolled_back_and_the_caller_told() {
        let call = operator().await;
        let db = call.state.db.clone();
        accounts::add_group(&call, "ml").await.unwrap();
        accounts::add_user(&call, "ann", "a long password", false)
            .await
            .unwrap();
        break_the_audit_log(&call).await;

        let image = crate::domain::ImageForm {
            display_name: "tools".into(),
            image_type: "cpu".into(),
            url: "registry.example.org/tools:1".into(),
            ..Default::default()
        };
        let new = NewCredential {
            name: "ghcr",
            registry: "ghcr.io",
            username: "bot",
            password: "secret",
        };
        let failures = [
            images::create(&call, Some("ml"), image).await.map(drop),
            accounts::add_group(&call, "cv").await.map(drop),
            accounts::add_user(&call, "bo", "a long password", false)
                .await
                .map(drop),
            accounts::add_member(&call, "ml", "ann", Role::Admin).await,
            credentials::create(&call, &new, &["ml".to_owned()]).await,
            crate::ops::tokens::create(&call, "hub", "read", None, "")
                .await
                .map(drop),
        ];
        for failure in failures {
            assert_eq!(failure, Err(ApiError::Internal));
        }

        let ml = groups::require(&db, "ml").await.unwrap();
        let listed = crate::backend::images::list(
            &db,
            crate::backend::images::Scope::Group(ml.id),
            &Default::default(),
        )
        .await
        .unwrap();
        assert_eq!(listed.total, 0, "the image was not kept");
        assert!(groups::find(&db, "cv").await.unwrap().is_none());
        assert!(users::find(&db, "bo").await.unwrap().is_none());
        let ann = users::find(&db, "ann").await.unwrap().unwrap();
        assert!(
            groups::memberships_of(&db, ann.id)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            crate::backend::credentials::list(&db)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(tokens::list(&db, None).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn the_command_lines_changes_are_the_operators_in_the_audit_log() {
        let call = operator().await;
        accounts::add_group(&call, "ml").await.unwrap();
        let entries = super::recent(&call, 10).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].actor, crate::domain::Actor::OPERATOR);
        assert_eq!(entries[0].action, "group.create");
    }
}
