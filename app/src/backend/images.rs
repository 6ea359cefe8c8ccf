//! Images of a group, or global ones: listed, created, edited (with a version check) and deleted.

use sqlx::FromRow;

use super::db::Conn;
use super::{BackendError, Db, Result, now_ms};
use crate::domain::build::ValidBuild;
use crate::domain::{ListQuery, Owner, SortColumn, Standing, Successor, ValidImage};

/// Whose images: a group's (by stored id), or the global ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Group(i64),
    Global,
}

#[derive(Debug, Clone, PartialEq, Eq, FromRow, serde::Serialize, serde::Deserialize)]
pub struct ImageRow {
    pub id: i64,
    pub group_id: Option<i64>,
    pub name: String,
    pub display_name: String,
    pub description: String,
    pub image_type: String,
    pub url: String,
    pub gpu_url: String,
    pub credential_id: Option<i64>,
    pub version: i64,
    /// `existing` (registered by URL) or `build` (built by Kiln; its URL is the last
    /// successful build's, '' before the first).
    pub source: String,
    /// Its life after publishing (see `domain::lifecycle`).
    pub deprecated_at: Option<i64>,
    pub successor_id: Option<i64>,
    pub retire_at: Option<i64>,
    pub retired_at: Option<i64>,
    /// The compressed size of the build its URL names (built images only).
    pub compressed_size: Option<i64>,
    /// Built images: the base image digest the build its URL names was built on, and the
    /// one the base image's tag pointed to at the last check (see `base_updates`).
    pub base_digest: Option<String>,
    pub base_latest: Option<String>,
    /// 1: queue a rebuild when the base image is updated.
    pub auto_rebuild: i64,
}

/// One page of a list, and how many rows match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

pub(crate) const COLUMNS: &str = "id, group_id, name, display_name, description, image_type, url, gpu_url, credential_id, version, source, deprecated_at, successor_id, retire_at, retired_at, compressed_size, base_digest, base_latest, auto_rebuild";

/// The `WHERE` for a scope; `$1` is the group id when there is one, so search is `$2`.
fn scope_clause(scope: Scope) -> &'static str {
    match scope {
        Scope::Group(_) => "group_id = $1",
        Scope::Global => "group_id IS NULL AND $1 = 0",
    }
}

fn scope_id(scope: Scope) -> i64 {
    match scope {
        Scope::Group(id) => id,
        Scope::Global => 0,
    }
}

/// What the search box matches: the lowercased words of every listed column.
fn search_text(name: &str, display_name: &str, description: &str, image_type: &str) -> String {
    format!("{name}\n{display_name}\n{description}\n{image_type}").to_lowercase()
}

/// A sorted, searched page, all done by the database; ties are broken by name.
pub async fn list(db: &Db, scope: Scope, query: &ListQuery) -> Result<Page<ImageRow>> {
    let column = match query.sort {
        SortColumn::Name => "name",
        SortColumn::DisplayName => "display_name",
        SortColumn::Description => "description",
        SortColumn::Type => "image_type",
        SortColumn::Size => "compressed_size",
    };
    let dir = if query.descending { "DESC" } else { "ASC" };
    // Unknown sizes count as the smallest on both databases (PostgreSQL would put NULLs
    // last when ascending, SQLite first).
    let nulls = match (query.sort, query.descending) {
        (SortColumn::Size, false) => " NULLS FIRST",
        (SortColumn::Size, true) => " NULLS LAST",
        _ => "",
    };
    let order = if column == "name" {
        format!("name {dir}")
    } else {
        format!("{column} {dir}{nulls}, name {dir}")
    };
    // Searching is a literal substring test of the lowercased words (no wildcards).
    let search = if query.search.is_empty() {
        "$2 = ''".to_owned()
    } else {
        db.contains("search_text", "$2")
    };
    let filter = format!("{} AND {search}", scope_clause(scope));
    let pattern = query.search.to_lowercase();

    let page_sql =
        format!("SELECT {COLUMNS} FROM images WHERE {filter} ORDER BY {order} LIMIT $3 OFFSET $4");
    let items = async {
        Ok(sqlx::query_as(&page_sql)
            .bind(scope_id(scope))
            .bind(&pattern)
            .bind(i64::from(ListQuery::PER_PAGE))
            .bind(query.offset())
            .fetch_all(&db.pool)
            .await?)
    };
    // The page and the count are independent reads: ask both at once, on two connections.
    let (items, total) =
        tokio::try_join!(items, count_matches(db, scope, &filter, pattern.clone()))?;
    Ok(Page { items, total })
}

pub async fn find(db: &Db, scope: Scope, name: &str) -> Result<Option<ImageRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM images WHERE {} AND name = $2",
        scope_clause(scope)
    ))
    .bind(scope_id(scope))
    .bind(name)
    .fetch_optional(&db.pool)
    .await?)
}

/// The image with this id, whatever its scope (callers check the policy on its group).
pub async fn by_id(db: &Db, id: i64) -> Result<ImageRow> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM images WHERE id = $1"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| BackendError::NotFound {
            what: "image",
            name: id.to_string(),
        })
}

/// Every image of a scope, by display name (at most 1,000: the choices of a form).
pub async fn all_of(db: &Db, scope: Scope) -> Result<Vec<ImageRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM images WHERE {} ORDER BY display_name, name LIMIT 1000",
        scope_clause(scope)
    ))
    .bind(scope_id(scope))
    .fetch_all(&db.pool)
    .await?)
}

pub async fn require(db: &Db, scope: Scope, name: &str) -> Result<ImageRow> {
    find(db, scope, name)
        .await?
        .ok_or_else(|| BackendError::NotFound {
            what: "image",
            name: name.to_owned(),
        })
}

/// How many images match `filter`: remembered per search while the catalog is unchanged,
/// since paging and re-sorting a search need the same number again.
async fn count_matches(db: &Db, scope: Scope, filter: &str, pattern: String) -> Result<i64> {
    let version: i64 = sqlx::query_scalar(
        "SELECT COALESCE((SELECT version FROM catalog_versions WHERE scope_id = $1), 0)",
    )
    .bind(scope_id(scope))
    .fetch_one(&db.pool)
    .await?;
    let key = (scope_id(scope), pattern);
    if let Some(total) = db.counts.get(&key, version) {
        return Ok(total);
    }
    let total = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM images WHERE {filter}"))
        .bind(key.0)
        .bind(&key.1)
        .fetch_one(&db.pool)
        .await?;
    db.counts.put(key, version, total);
    Ok(total)
}

/// Stores a new image; its name must be free in the scope.
pub async fn create(
    conn: &mut Conn,
    scope: Scope,
    image: &ValidImage,
    credential_id: Option<i64>,
) -> Result<ImageRow> {
    insert(
        conn,
        scope,
        &NewRow {
            name: image.name.as_str(),
            display_name: image.display_name.as_str(),
            description: &image.description,
            image_type: image.image_type.as_str(),
            url: image.url.as_str(),
            gpu_url: image.gpu_url.as_str(),
            credential_id,
            source: "existing",
        },
    )
    .await
}

/// Stores a new custom image, not ready until its first build succeeds.
pub async fn create_built(
    conn: &mut Conn,
    scope: Scope,
    build: &ValidBuild,
    credential_id: Option<i64>,
) -> Result<ImageRow> {
    insert(
        conn,
        scope,
        &NewRow {
            name: build.name.as_str(),
            display_name: build.display_name.as_str(),
            description: &build.description,
            image_type: build.image_type.as_str(),
            url: "",
            gpu_url: "",
            credential_id,
            source: "build",
        },
    )
    .await
}

struct NewRow<'a> {
    name: &'a str,
    display_name: &'a str,
    description: &'a str,
    image_type: &'a str,
    url: &'a str,
    gpu_url: &'a str,
    credential_id: Option<i64>,
    source: &'static str,
}

async fn insert(conn: &mut Conn, scope: Scope, row: &NewRow<'_>) -> Result<ImageRow> {
    let now = now_ms();
    let group_id = match scope {
        Scope::Group(id) => Some(id),
        Scope::Global => None,
    };
    sqlx::query_as(&format!(
        "INSERT INTO images (group_id, name, display_name, description, image_type, url, gpu_url,
                             credential_id, search_text, version, created_at, updated_at, source)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $10, $11) RETURNING {COLUMNS}"
    ))
    .bind(group_id)
    .bind(row.name)
    .bind(row.display_name)
    .bind(row.description)
    .bind(row.image_type)
    .bind(row.url)
    .bind(row.gpu_url)
    .bind(row.credential_id)
    .bind(search_text(
        row.name,
        row.display_name,
        row.description,
        row.image_type,
    ))
    .bind(now)
    .bind(row.source)
    .fetch_one(conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            BackendError::Invalid(crate::domain::FieldError::coded(
                "display_name",
                crate::domain::messages::DISPLAY_NAME_TAKEN,
                &[("name", row.name)],
            ))
        }
        _ => BackendError::Database(e),
    })
}

/// Changes an image if nobody changed it since the editor read `version`. The image name
/// stays: it is the image's key in URLs and the API.
pub async fn update(
    conn: &mut Conn,
    stored: &ImageRow,
    version: i64,
    image: &ValidImage,
    credential_id: Option<i64>,
) -> Result<ImageRow> {
    let updated: Option<ImageRow> = sqlx::query_as(&format!(
        "UPDATE images SET display_name = $1, description = $2, image_type = $3, url = $4, gpu_url = $5,
                credential_id = $6, search_text = $7, version = version + 1, updated_at = $8
         WHERE id = $9 AND version = $10 RETURNING {COLUMNS}"
    ))
    .bind(image.display_name.as_str())
    .bind(&image.description)
    .bind(image.image_type.as_str())
    .bind(image.url.as_str())
    .bind(image.gpu_url.as_str())
    .bind(credential_id)
    .bind(search_text(
        &stored.name,
        image.display_name.as_str(),
        &image.description,
        image.image_type.as_str(),
    ))
    .bind(now_ms())
    .bind(stored.id)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    updated.ok_or(BackendError::Stale)
}

/// Deprecates an image (or changes its deprecation): the first deprecation's time stays.
pub async fn deprecate(
    conn: &mut Conn,
    id: i64,
    successor_id: Option<i64>,
    retire_at: Option<i64>,
) -> Result<ImageRow> {
    Ok(sqlx::query_as(&format!(
        "UPDATE images SET deprecated_at = COALESCE(deprecated_at, $1), successor_id = $2,
                retire_at = $3, updated_at = $1
         WHERE id = $4 RETURNING {COLUMNS}"
    ))
    .bind(now_ms())
    .bind(successor_id)
    .bind(retire_at)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Retires an image now, unless it is retired already (its retire date has passed).
pub async fn retire(conn: &mut Conn, id: i64, now: i64) -> Result<ImageRow> {
    Ok(sqlx::query_as(&format!(
        "UPDATE images SET retired_at = COALESCE(retired_at,
                    CASE WHEN retire_at <= $1 THEN retire_at ELSE $1 END), updated_at = $1
         WHERE id = $2 RETURNING {COLUMNS}"
    ))
    .bind(now)
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// Undoes deprecation and retirement: the image is offered as before.
pub async fn restore(conn: &mut Conn, id: i64) -> Result<ImageRow> {
    Ok(sqlx::query_as(&format!(
        "UPDATE images SET deprecated_at = NULL, successor_id = NULL, retire_at = NULL,
                retired_at = NULL, updated_at = $1
         WHERE id = $2 RETURNING {COLUMNS}"
    ))
    .bind(now_ms())
    .bind(id)
    .fetch_one(conn)
    .await?)
}

/// The successors named by these ids, as launch pages see them.
pub async fn successors(db: &Db, ids: &[i64]) -> Result<Vec<(i64, Successor)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let rows: Vec<(i64, String, String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT i.id, i.name, i.display_name, g.name FROM images i
         LEFT JOIN user_groups g ON g.id = i.group_id WHERE i.id IN ({list})"
    ))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, display_name, group)| {
            let owner = group.map_or(Owner::System, Owner::Group);
            (
                id,
                Successor {
                    name,
                    display_name,
                    owner,
                },
            )
        })
        .collect())
}

impl ImageRow {
    /// Whether the base image's tag names a newer image than the live build's base.
    pub fn base_updated(&self) -> bool {
        crate::domain::base_update::is_updated(
            self.base_digest.as_deref(),
            self.base_latest.as_deref(),
        )
    }

    /// Where the image stands as of `now`, its successor (if it names one) read already.
    pub fn standing(&self, successor: Option<Successor>, now: i64) -> Standing {
        Standing::of(
            self.deprecated_at,
            successor,
            self.retire_at,
            self.retired_at,
            now,
        )
    }
}

/// Deletes an image with its builds and their logs, unless a build of it is queued or
/// running (a build's process must stop before its record goes): then nothing is deleted
/// and the answer is false. One statement, so a build queued meanwhile can't slip past.
pub async fn delete(conn: &mut Conn, id: i64) -> Result<bool> {
    let deleted = sqlx::query(
        "DELETE FROM images WHERE id = $1 AND NOT EXISTS
           (SELECT 1 FROM builds WHERE image_id = $1 AND state IN ('queued', 'running'))",
    )
    .bind(id)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(deleted == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::{conn, fresh_db};
    use crate::backend::fixtures::add_group;
    use crate::domain::ImageForm;

    fn image(display: &str, description: &str, image_type: &str) -> ValidImage {
        ImageForm {
            display_name: display.into(),
            description: description.into(),
            image_type: image_type.into(),
            url: format!("registry.example.org/{}:1", display.replace('.', "-")),
            ..Default::default()
        }
        .validate()
        .unwrap()
    }

    async fn group(db: &Db, name: &str) -> Scope {
        Scope::Group(add_group(db, name).await)
    }

    fn names(page: &Page<ImageRow>) -> Vec<&str> {
        page.items.iter().map(|i| i.name.as_str()).collect()
    }

    #[tokio::test]
    async fn lists_sort_by_each_column_with_name_breaking_ties() {
        let db = fresh_db().await;
        let ml = group(&db, "ml").await;
        for (d, desc, t) in [
            ("b", "same", "gpu"),
            ("a", "same", "gpu"),
            ("c", "alpha", "cpu"),
        ] {
            create(&mut *conn(&db).await, ml, &image(d, desc, t), None)
                .await
                .unwrap();
        }
        let q = |sort, descending| ListQuery {
            sort,
            descending,
            ..Default::default()
        };
        assert_eq!(
            names(&list(&db, ml, &q(SortColumn::Name, false)).await.unwrap()),
            ["a", "b", "c"]
        );
        assert_eq!(
            names(&list(&db, ml, &q(SortColumn::Name, true)).await.unwrap()),
            ["c", "b", "a"]
        );
        assert_eq!(
            names(
                &list(&db, ml, &q(SortColumn::Description, false))
                    .await
                    .unwrap()
            ),
            ["c", "a", "b"]
        );
        assert_eq!(
            names(&list(&db, ml, &q(SortColumn::Type, true)).await.unwrap()),
            ["b", "a", "c"]
        );
        assert_eq!(
            names(
                &list(&db, ml, &q(SortColumn::DisplayName, true))
                    .await
                    .unwrap()
            ),
            ["c", "b", "a"]
        );
        // By size: a registered image's (unknown) counts as the smallest either way round.
        for (name, size) in [("a", 2_000), ("c", 1_000)] {
            sqlx::query("UPDATE images SET compressed_size = $1 WHERE name = $2")
                .bind(size as i64)
                .bind(name)
                .execute(&db.pool)
                .await
                .unwrap();
        }
        assert_eq!(
            names(&list(&db, ml, &q(SortColumn::Size, false)).await.unwrap()),
            ["b", "c", "a"]
        );
        assert_eq!(
            names(&list(&db, ml, &q(SortColumn::Size, true)).await.unwrap()),
            ["a", "c", "b"]
        );
    }

    #[tokio::test]
    async fn a_search_total_follows_every_change_of_the_catalog() {
        let db = fresh_db().await;
        let ml = group(&db, "ml").await;
        let other = group(&db, "other").await;
        let tensor = ListQuery {
            search: "tensor".into(),
            ..Default::default()
        };
        let total = |scope| {
            let (db, q) = (db.clone(), tensor.clone());
            async move { list(&db, scope, &q).await.unwrap().total }
        };
        let first = create(
            &mut *conn(&db).await,
            ml,
            &image("tf", "TensorFlow", "cpu"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(total(ml).await, 1);
        assert_eq!(total(ml).await, 1, "asked again, unchanged");

        create(
            &mut *conn(&db).await,
            ml,
            &image("tf2", "tensorflow 2", "gpu"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(total(ml).await, 2, "after an insert");
        create(
            &mut *conn(&db).await,
            other,
            &image("tf", "tensor", "cpu"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(total(ml).await, 2, "another group's image is not counted");
        assert_eq!(total(other).await, 1);

        update(
            &mut *conn(&db).await,
            &first,
            first.version,
            &image("tf", "plain", "cpu"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(total(ml).await, 1, "after an edit that stops matching");
        delete(
            &mut *conn(&db).await,
            find(&db, ml, "tf2").await.unwrap().unwrap().id,
        )
        .await
        .unwrap();
        assert_eq!(total(ml).await, 0, "after a delete");
        assert_eq!(total(Scope::Global).await, 0);
        create(
            &mut *conn(&db).await,
            Scope::Global,
            &image("tf", "tensor", "cpu"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            total(Scope::Global).await,
            1,
            "global images have their own counter"
        );
    }

    #[tokio::test]
    async fn search_matches_every_column_case_insensitively_and_literally() {
        let db = fresh_db().await;
        let ml = group(&db, "ml").await;
        create(
            &mut *conn(&db).await,
            ml,
            &image("tf-2.3", "TensorFlow 100% GPU", "universal"),
            None,
        )
        .await
        .unwrap();
        create(
            &mut *conn(&db).await,
            ml,
            &image("torch", "PyTorch nightly", "gpu"),
            None,
        )
        .await
        .unwrap();
        create(
            &mut *conn(&db).await,
            ml,
            &image("base", "plain", "cpu"),
            None,
        )
        .await
        .unwrap();
        let search = |s: &str| ListQuery {
            search: s.into(),
            ..Default::default()
        };
        assert_eq!(
            names(&list(&db, ml, &search("TENSOR")).await.unwrap()),
            ["tf-2-3"]
        );
        assert_eq!(
            names(&list(&db, ml, &search("tf-2.3")).await.unwrap()),
            ["tf-2-3"],
            "display name"
        );
        assert_eq!(
            names(&list(&db, ml, &search("gpu")).await.unwrap()),
            ["tf-2-3", "torch"],
            "type and description"
        );
        assert_eq!(
            names(&list(&db, ml, &search("100%")).await.unwrap()),
            ["tf-2-3"]
        );
        assert_eq!(
            list(&db, ml, &search("%")).await.unwrap().total,
            1,
            "% is not a wildcard"
        );
        assert_eq!(
            names(&list(&db, ml, &search("h_n")).await.unwrap()),
            Vec::<&str>::new(),
            "_ is not a wildcard"
        );
    }

    #[tokio::test]
    async fn pages_hold_twenty_and_count_all_matches() {
        let db = fresh_db().await;
        let ml = group(&db, "ml").await;
        for i in 0..45 {
            create(
                &mut *conn(&db).await,
                ml,
                &image(&format!("img{i:02}"), "", "cpu"),
                None,
            )
            .await
            .unwrap();
        }
        let page3 = list(
            &db,
            ml,
            &ListQuery {
                page: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            (page3.total, names(&page3)),
            (45, vec!["img40", "img41", "img42", "img43", "img44"])
        );
    }

    #[tokio::test]
    async fn names_are_unique_per_group_and_globals_are_separate() {
        let db = fresh_db().await;
        let ml = group(&db, "ml").await;
        let cv = group(&db, "cv").await;
        create(&mut *conn(&db).await, ml, &image("tf", "", "cpu"), None)
            .await
            .unwrap();
        let err = create(&mut *conn(&db).await, ml, &image("tf", "", "gpu"), None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, BackendError::Invalid(f) if f.field == "display_name"),
            "{err}"
        );
        create(&mut *conn(&db).await, cv, &image("tf", "", "cpu"), None)
            .await
            .unwrap();
        create(
            &mut *conn(&db).await,
            Scope::Global,
            &image("tf", "", "cpu"),
            None,
        )
        .await
        .unwrap();
        assert!(
            create(
                &mut *conn(&db).await,
                Scope::Global,
                &image("tf", "", "cpu"),
                None
            )
            .await
            .is_err()
        );
        assert_eq!(list(&db, ml, &ListQuery::default()).await.unwrap().total, 1);
        assert_eq!(
            list(&db, Scope::Global, &ListQuery::default())
                .await
                .unwrap()
                .total,
            1
        );
        assert!(
            find(&db, cv, "tf")
                .await
                .unwrap()
                .unwrap()
                .group_id
                .is_some()
        );
        assert!(
            find(&db, Scope::Global, "tf")
                .await
                .unwrap()
                .unwrap()
                .group_id
                .is_none()
        );
    }

    #[tokio::test]
    async fn an_edit_on_a_stale_copy_changes_nothing() {
        let db = fresh_db().await;
        let ml = group(&db, "ml").await;
        let stored = create(
            &mut *conn(&db).await,
            ml,
            &image("tf", "first", "cpu"),
            None,
        )
        .await
        .unwrap();
        let first = update(
            &mut *conn(&db).await,
            &stored,
            stored.version,
            &image("tf.new", "second", "gpu"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            (
                first.name.as_str(),
                first.display_name.as_str(),
                first.version
            ),
            ("tf", "tf.new", 2)
        );
        let stale = update(
            &mut *conn(&db).await,
            &stored,
            stored.version,
            &image("tf", "third", "cpu"),
            None,
        )
        .await
        .unwrap_err();
        assert!(matches!(stale, BackendError::Stale));
        assert_eq!(require(&db, ml, "tf").await.unwrap().description, "second");
        delete(&mut *conn(&db).await, first.id).await.unwrap();
        assert!(find(&db, ml, "tf").await.unwrap().is_none());
    }
}
