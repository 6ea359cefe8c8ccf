//! The images a user may launch (SPEC §5): the global ones and those of every group the user
//! belongs to, resolved for a CPU or GPU launch.
//!
//! Launch pages ask on every launch, so answers are remembered, as the JSON they are sent
//! as, against the database's `launch_version` counter (see `versioned_cache.rs`). Triggers
//! bump it on any change that can alter a list (images, build states, memberships, users,
//! groups, credentials, tokens), so a remembered answer is used only while nothing
//! changed, on this replica or any other.

use std::sync::Arc;

use sqlx::FromRow;

use super::{BackendError, Db, Result, now_ms};
use crate::domain::launch::{Candidate, launch_order};
use crate::domain::{
    Accelerator, BuildState, ImageType, LaunchableImage, Owner, Standing, Successor,
};

pub use super::launch_list::{Answer, LaunchList, ListKey};

/// The counter every launch list and token answer is remembered against, as of a read
/// that began after this call (shared with the requests waiting alongside).
pub async fn version(db: &Db) -> Result<i64> {
    db.launch_counter
        .current(|| async {
            Ok(
                sqlx::query_scalar("SELECT version FROM launch_version WHERE id = 1")
                    .fetch_one(&db.pool)
                    .await?,
            )
        })
        .await
}

/// The columns a launch entry needs, with its pull secret's name and newest build state.
const SELECT_ENTRIES: &str = "SELECT g.name AS group_name, i.name, i.display_name, i.description,
            i.image_type, i.url, i.gpu_url, i.compressed_size, i.base_digest, i.base_latest,
            c.name AS pull_secret,
            (SELECT b.state FROM builds b WHERE b.image_id = i.id
             ORDER BY b.revision DESC LIMIT 1) AS build_state,
            i.deprecated_at, i.retire_at, i.retired_at, s.name AS successor_name,
            s.display_name AS successor_display_name, sg.name AS successor_group
     FROM images i
     LEFT JOIN user_groups g ON g.id = i.group_id
     LEFT JOIN registry_credentials c ON c.id = i.credential_id
     LEFT JOIN images s ON s.id = i.successor_id
     LEFT JOIN user_groups sg ON sg.id = s.group_id";

#[derive(Debug, FromRow)]
struct Row {
    group_name: Option<String>,
    name: String,
    display_name: String,
    description: String,
    image_type: String,
    url: String,
    gpu_url: String,
    compressed_size: Option<i64>,
    base_digest: Option<String>,
    base_latest: Option<String>,
    pull_secret: Option<String>,
    build_state: Option<String>,
    deprecated_at: Option<i64>,
    retire_at: Option<i64>,
    retired_at: Option<i64>,
    successor_name: Option<String>,
    successor_display_name: Option<String>,
    successor_group: Option<String>,
}

/// The launchable images of the user named `user`, for `accelerator`; not-ready ones only
/// when asked for. An unknown user is `NotFound`. `version` is [`version`], read before:
/// a change after it makes the next ask read again.
pub async fn for_user(
    db: &Db,
    version: i64,
    user: &str,
    accelerator: Accelerator,
    include_not_ready: bool,
) -> Result<Answer> {
    let key = (user.to_owned(), accelerator, include_not_ready);
    let now = now_ms();
    // A list holding an image whose retire date has come since is read again.
    if let Some(answer) = db.launches.get(&key, version)
        && answer.expires_at.is_none_or(|at| at > now)
    {
        return Ok(answer);
    }
    let answer = read(db, user, accelerator, include_not_ready, now).await?;
    db.launches.put(key, version, answer.clone());
    Ok(answer)
}

async fn read(
    db: &Db,
    user: &str,
    accelerator: Accelerator,
    include_not_ready: bool,
    now: i64,
) -> Result<Answer> {
    let user_id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
        .bind(user)
        .fetch_optional(&db.pool)
        .await?;
    let Some(user_id) = user_id else {
        return Err(BackendError::NotFound {
            what: "user",
            name: user.to_owned(),
        });
    };
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT_ENTRIES}
         WHERE (i.group_id IS NULL
                OR i.group_id IN (SELECT group_id FROM memberships WHERE user_id = $1))
           AND ($2 = 1 OR i.url <> '')"
    ))
    .bind(user_id)
    .bind(include_not_ready as i64)
    .fetch_all(&db.pool)
    .await?;
    // Retired images are not offered (the domain's rule, as of `now`); the answer holds
    // until the next retire date among those offered.
    let offered = rows
        .into_iter()
        .map(|row| candidate(row, now))
        .filter(|c| !matches!(c, Ok(c) if c.standing.retired_since().is_some()))
        .collect::<Result<Vec<_>>>()?;
    let expires_at = offered
        .iter()
        .filter_map(|c| c.standing.deprecation().and_then(|d| d.retire_at))
        .min();
    let mut images: Vec<LaunchableImage> = offered
        .into_iter()
        .map(|c| c.resolve(accelerator))
        .collect();
    images.sort_by(launch_order);
    let list = LaunchList {
        user: user.to_owned(),
        accelerator,
        images,
    };
    let json = serde_json::to_vec(&list).map_err(|e| BackendError::Internal(e.to_string()))?;
    Ok(Answer {
        list: Arc::new(list),
        json: json.into(),
        expires_at,
    })
}

/// The images of a scope that a build may start from, ready or not (not-ready ones are
/// offered disabled): a group's and the global ones, or only the global ones.
pub async fn bases_for(
    db: &Db,
    scope: crate::backend::images::Scope,
) -> Result<Vec<LaunchableImage>> {
    let group_id = match scope {
        crate::backend::images::Scope::Group(id) => id,
        crate::backend::images::Scope::Global => 0,
    };
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT_ENTRIES}
         WHERE i.group_id IS NULL OR i.group_id = $1
         ORDER BY i.display_name, i.name LIMIT 500"
    ))
    .bind(group_id)
    .fetch_all(&db.pool)
    .await?;
    let mut images = rows
        .into_iter()
        .map(|row| candidate(row, now_ms()).map(Candidate::as_base))
        .collect::<Result<Vec<_>>>()?;
    images.sort_by(launch_order);
    Ok(images)
}

fn candidate(row: Row, now: i64) -> Result<Candidate> {
    let image_type = ImageType::parse("image_type", &row.image_type)?;
    let successor = row.successor_name.map(|name| Successor {
        display_name: row.successor_display_name.unwrap_or_else(|| name.clone()),
        owner: row.successor_group.map_or(Owner::System, Owner::Group),
        name,
    });
    let standing = Standing::of(
        row.deprecated_at,
        successor,
        row.retire_at,
        row.retired_at,
        now,
    );
    Ok(Candidate {
        standing,
        owner: row.group_name.map_or(Owner::System, Owner::Group),
        name: row.name,
        display_name: row.display_name,
        description: row.description,
        image_type,
        url: row.url,
        gpu_url: row.gpu_url,
        compressed_size: row.compressed_size.and_then(|b| u64::try_from(b).ok()),
        base_updated: crate::domain::base_update::is_updated(
            row.base_digest.as_deref(),
            row.base_latest.as_deref(),
        ),
        pull_secret: row.pull_secret,
        build_state: row.build_state.as_deref().and_then(BuildState::parse),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::{conn, fresh_db};
    use crate::backend::fixtures::{add_group, add_member, add_user};
    use crate::backend::images::{self, Scope};
    use crate::domain::{ImageForm, Role};

    async fn image(db: &Db, scope: Scope, display_name: &str, image_type: &str) -> i64 {
        let form = ImageForm {
            display_name: display_name.into(),
            image_type: image_type.into(),
            url: format!("registry.example/{display_name}:1"),
            ..ImageForm::default()
        };
        images::create(&mut *conn(db).await, scope, &form.validate().unwrap(), None)
            .await
            .unwrap()
            .id
    }

    /// A launch list as one request asks for it: the counter, then the list.
    async fn ask(db: &Db, user: &str, accelerator: Accelerator, include: bool) -> Result<Answer> {
        for_user(db, version(db).await?, user, accelerator, include).await
    }

    fn names(answer: &Answer) -> Vec<(String, Owner)> {
        answer
            .list
            .images
            .iter()
            .map(|i| (i.display_name.clone(), i.owner.clone()))
            .collect()
    }

    /// However stale launch answers may be (an hour here), the request through an identity
    /// proxy that changes its user's groups is answered with the list as changed: that
    /// write is this replica's, made by the request itself.
    #[tokio::test]
    async fn a_group_the_proxy_reports_anew_is_in_that_requests_launch_list() {
        use crate::backend::identity::{AuthMode, AuthSettings, resolve_actor};
        let db = fresh_db()
            .await
            .with_max_staleness(std::time::Duration::from_secs(3600));
        let ml = add_group(&db, "ml").await;
        let team = add_group(&db, "team").await;
        image(&db, Scope::Group(ml), "torch", "cpu").await;
        image(&db, Scope::Group(team), "jax", "cpu").await;
        let auth = AuthSettings {
            mode: AuthMode::Proxy,
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
            ..AuthSettings::local()
        };
        let proxy = Some("127.0.0.1".parse().unwrap());
        let through_proxy = |groups: &str| {
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("x-forwarded-user", "pat".parse().unwrap());
            headers.insert("x-forwarded-groups", groups.parse().unwrap());
            headers
        };
        // The counter was read (and an answer remembered) before pat's first visit.
        add_user(&db, "someone", "password", false).await;
        ask(&db, "someone", Accelerator::Cpu, false).await.unwrap();

        resolve_actor(&db, &auth, &through_proxy("ml"), proxy)
            .await
            .unwrap();
        let first = ask(&db, "pat", Accelerator::Cpu, false).await.unwrap();
        assert_eq!(names(&first), [("torch".into(), Owner::Group("ml".into()))]);

        resolve_actor(&db, &auth, &through_proxy("ml,team"), proxy)
            .await
            .unwrap();
        let joined = ask(&db, "pat", Accelerator::Cpu, false).await.unwrap();
        assert_eq!(
            names(&joined).len(),
            2,
            "team's image too: {:?}",
            names(&joined)
        );
    }

    #[tokio::test]
    async fn the_launch_cache_stays_under_its_bytes_with_twenty_thousand_users_asking() {
        let mut db = fresh_db().await;
        // Room for about 40 of these lists (each ~5 KB of JSON, weighed twice).
        let capacity = 400_000;
        db.launches = crate::backend::versioned_cache::BoundedCache::new(capacity);
        let ml = add_group(&db, "ml").await;
        for i in 0..12 {
            image(&db, Scope::Group(ml), &format!("notebook-{i}"), "cpu").await;
        }
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
             INSERT INTO users (name, system_admin, source, created_at)
             SELECT 'user-' || i, 0, 'local', 0 FROM n",
        )
        .execute(&db.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO memberships (group_id, user_id, role, source)
             SELECT $1, id, 'member', 'local' FROM users",
        )
        .bind(ml)
        .execute(&db.pool)
        .await
        .unwrap();
        let version = version(&db).await.unwrap();
        let mut largest = 0;
        for i in 1..=20_000 {
            let user = format!("user-{i}");
            let answer = for_user(&db, version, &user, Accelerator::Cpu, false)
                .await
                .unwrap();
            assert_eq!(answer.list.images.len(), 12);
            if i % 1000 == 0 {
                largest = largest.max(db.launches.size().1);
            }
        }
        let (entries, bytes) = db.launches.size();
        assert!(
            bytes <= capacity && largest <= capacity,
            "{bytes} / {largest} bytes"
        );
        assert!(
            entries >= 10,
            "{entries} lists kept: the cache still serves"
        );
        // An answer kept is served from the cache: a hit.
        let hits = db.launches.hits.get();
        let kept = (1..=20_000)
            .map(|i| (format!("user-{i}"), Accelerator::Cpu, false))
            .find(|key| db.launches.get(key, version).is_some());
        assert!(kept.is_some() && db.launches.hits.get() == hits + 1);
    }

    #[tokio::test]
    async fn a_user_launches_global_images_and_those_of_their_groups_and_sees_changes_at_once() {
        let db = fresh_db().await;
        let ml = add_group(&db, "ml").await;
        let cv = add_group(&db, "cv").await;
        let alice = add_user(&db, "alice", "alice-password", false).await;
        add_member(&db, ml, alice, Role::Member).await;
        image(&db, Scope::Group(ml), "torch", "universal").await;
        image(&db, Scope::Group(cv), "opencv", "cpu").await;
        image(&db, Scope::Global, "base", "cpu").await;

        let first = ask(&db, "alice", Accelerator::Cpu, false).await.unwrap();
        assert_eq!(
            names(&first),
            [
                ("base".to_owned(), Owner::System),
                ("torch".to_owned(), Owner::Group("ml".into()))
            ]
        );
        // Asked again with nothing changed: the same answer, from memory.
        let again = ask(&db, "alice", Accelerator::Cpu, false).await.unwrap();
        assert!(Arc::ptr_eq(&first.list, &again.list));

        // A membership change shows at once.
        add_member(&db, cv, alice, Role::Member).await;
        let joined = ask(&db, "alice", Accelerator::Cpu, false).await.unwrap();
        assert_eq!(joined.list.images.len(), 3);

        // An edit shows at once.
        let torch = images::require(&db, Scope::Group(ml), "torch")
            .await
            .unwrap();
        images::delete(&mut *conn(&db).await, torch.id)
            .await
            .unwrap();
        let after = ask(&db, "alice", Accelerator::Cpu, false).await.unwrap();
        assert_eq!(
            names(&after),
            [
                ("base".to_owned(), Owner::System),
                ("opencv".to_owned(), Owner::Group("cv".into()))
            ]
        );
        let json: serde_json::Value = serde_json::from_slice(&after.json).unwrap();
        assert_eq!(json["images"][1]["owner"]["group"], "cv");
        assert_eq!(json["accelerator"], "cpu");

        assert!(matches!(
            ask(&db, "nobody", Accelerator::Cpu, false).await,
            Err(BackendError::NotFound { what: "user", .. })
        ));
    }

    #[tokio::test]
    async fn not_ready_images_are_listed_only_when_asked_for() {
        let db = fresh_db().await;
        let ml = add_group(&db, "ml").await;
        let alice = add_user(&db, "alice", "alice-password", false).await;
        add_member(&db, ml, alice, Role::Member).await;
        let id = image(&db, Scope::Group(ml), "torch", "cpu").await;
        // A built image before its first successful build has no URL.
        sqlx::query("UPDATE images SET url = '', gpu_url = '', source = 'build' WHERE id = $1")
            .bind(id)
            .execute(&db.pool)
            .await
            .unwrap();
        let ready_only = ask(&db, "alice", Accelerator::Cpu, false).await.unwrap();
        assert!(ready_only.list.images.is_empty());
        let all = ask(&db, "alice", Accelerator::Cpu, true).await.unwrap();
        assert_eq!(all.list.images.len(), 1);
        assert!(!all.list.images[0].available);
    }
}
