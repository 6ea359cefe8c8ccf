//! One connection pool for SQLite or PostgreSQL, chosen by the URL, with embedded migrations.
//!
//! Queries are written once, in the SQL both databases share (`$1` parameters, `RETURNING`,
//! `ON CONFLICT`); integers stand in for booleans and epoch milliseconds for timestamps,
//! since sqlx's `Any` driver carries only plain types. Each database has its own
//! migrations folder because their DDL differs.

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions};

use super::Result;
use super::versioned_cache::{BoundedCache, VersionedCache};

/// The most memory the launch-list cache holds: 64 MiB, well inside a Pod's limit (an
/// answer for a user with a few hundred images is ~100 KB: hundreds of users' lists fit).
pub const LAUNCH_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// A pooled connection idle this long is pinged before it is handed out.
const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(5);

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// A connection a change is written on: a transaction's (`&mut *tx`) or a pool's.
pub type Conn = sqlx::AnyConnection;
/// A transaction of the pool.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub kind: Kind,
    /// Search match counts by (scope id, pattern), valid while their catalog's counter stands.
    pub counts: VersionedCache<(i64, String), i64>,
    /// Launch lists, valid while `launch_version` stands; at most [`LAUNCH_CACHE_BYTES`].
    pub launches: BoundedCache<super::launch_list::ListKey, super::launch_list::Answer>,
    /// Who a service token (by its hash) speaks for, valid while `launch_version` stands.
    pub token_actors: VersionedCache<String, super::token_cache::TokenActor>,
    /// When this process last wrote each token's use.
    pub token_uses: std::sync::Arc<super::token_cache::Uses>,
    /// Reads of `launch_version`, shared by the requests that wait for one together.
    pub launch_counter: std::sync::Arc<super::counter::SharedCounter>,
}

impl Db {
    /// Connects to `url`; a SQLite file and its folder are created when missing.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let kind = kind_of(url)?;
        let url = match kind {
            Kind::Sqlite => sqlite_url(url)?,
            Kind::Postgres => url.to_owned(),
        };
        let options = AnyConnectOptions::from_str(&url)?.log_slow_statements(
            tracing::log::LevelFilter::Warn,
            std::time::Duration::from_millis(250),
        );
        let pool = AnyPoolOptions::new()
            .max_connections(if kind == Kind::Sqlite { 4 } else { 10 })
            // sqlx pings every connection it hands out, a round trip before each query;
            // only one that sat idle is pinged (a broken busy one fails its query once and
            // is dropped).
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_IF_IDLE_FOR {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if kind == Kind::Sqlite {
                        // Readers don't wait for the writer; writers wait for each other.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        Ok(Db {
            pool,
            kind,
            counts: VersionedCache::default(),
            launches: BoundedCache::new(LAUNCH_CACHE_BYTES),
            token_actors: VersionedCache::default(),
            token_uses: Default::default(),
            launch_counter: Default::default(),
        })
    }

    /// Launch lists and token answers may come from a read of `launch_version` begun up
    /// to `max_staleness` before the request (see [`super::counter`]); zero, the default,
    /// reads for every request (shared with those waiting alongside).
    pub fn with_max_staleness(mut self, max_staleness: std::time::Duration) -> Db {
        self.launch_counter =
            std::sync::Arc::new(super::counter::SharedCounter::new(max_staleness));
        self
    }

    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.kind {
            Kind::Sqlite => &SQLITE_MIGRATIONS,
            Kind::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Begins a transaction. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`):
    /// a transaction that reads before it writes would otherwise fail at its first write
    /// whenever another connection wrote since its read. Keep transactions short: no network
    /// and no password hashing inside.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self.kind {
            Kind::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Kind::Postgres => self.pool.begin().await?,
        })
    }

    /// SQL that is true when the text `haystack` contains the text `needle` literally; the
    /// one function the two databases name differently.
    pub fn contains(&self, haystack: &str, needle: &str) -> String {
        match self.kind {
            Kind::Sqlite => format!("instr({haystack}, {needle}) > 0"),
            Kind::Postgres => format!("strpos({haystack}, {needle}) > 0"),
        }
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

fn kind_of(url: &str) -> Result<Kind> {
    if url.starts_with("sqlite:") {
        Ok(Kind::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Kind::Postgres)
    } else {
        Err(crate::domain::FieldError::setting(
            "database_url",
            "must start with sqlite:// (a file) or postgres:// (a server)",
        )
        .into())
    }
}

/// Adds `mode=rwc` so the file is created, and creates its folder.
fn sqlite_url(url: &str) -> Result<String> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let file = path.split('?').next().unwrap_or_default();
    if let Some(dir) = std::path::Path::new(file)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| {
            super::BackendError::Internal(format!("cannot create {}: {e}", dir.display()))
        })?;
    }
    Ok(if url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Fresh, migrated databases for tests: a temporary SQLite file, or, when
/// `KILN_TEST_DATABASE_URL` names a PostgreSQL server, a new database on it.
pub mod testing {
    use super::*;

    /// A connection of the pool, for a test's writes outside any transaction.
    pub async fn conn(db: &Db) -> sqlx::pool::PoolConnection<sqlx::Any> {
        db.pool.acquire().await.expect("a connection")
    }

    /// The same database as another replica sees it: the same pool, caches of its own.
    pub fn another_replica(db: &Db) -> Db {
        Db {
            pool: db.pool.clone(),
            kind: db.kind,
            counts: Default::default(),
            launches: BoundedCache::new(super::LAUNCH_CACHE_BYTES),
            token_actors: Default::default(),
            token_uses: Default::default(),
            launch_counter: Default::default(),
        }
    }

    pub async fn fresh_db() -> Db {
        let name = format!("kiln_test_{}", super::super::random_hex(6));
        let db = match std::env::var("KILN_TEST_DATABASE_URL") {
            Ok(admin_url) if admin_url.starts_with("postgres") => {
                let admin = Db::connect(&admin_url)
                    .await
                    .expect("connect to the test PostgreSQL");
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&admin.pool)
                    .await
                    .expect("create a test database");
                admin.pool.close().await;
                let (base, _) = admin_url
                    .rsplit_once('/')
                    .expect("a database URL with a path");
                Db::connect(&format!("{base}/{name}"))
                    .await
                    .expect("connect to the test database")
            }
            _ => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Db::connect(&format!("sqlite://{}", path.display()))
                    .await
                    .expect("open SQLite")
            }
        };
        db.migrate().await.expect("migrations apply");
        db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(
            sqlite_url("sqlite::memory:").unwrap(),
            "sqlite::memory:?mode=rwc"
        );
        assert!(
            sqlite_url("sqlite://x.db?mode=ro")
                .unwrap()
                .ends_with("mode=ro")
        );
    }

    #[test]
    fn unknown_schemes_name_the_setting() {
        let err = kind_of("mysql://x").unwrap_err().to_string();
        assert!(err.contains("database_url"), "{err}");
    }

    /// Two changes at once, the first reading before it writes: with a deferred SQLite
    /// transaction the first one's write fails ("database is locked": its snapshot went
    /// stale when the second committed); `begin` makes the second wait instead.
    #[tokio::test]
    async fn a_change_that_reads_before_it_writes_is_not_failed_by_another() {
        let db = testing::fresh_db().await;
        let mut first = db.begin().await.unwrap();
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_groups")
            .fetch_one(&mut *first)
            .await
            .unwrap();
        let other = db.clone();
        let second = tokio::spawn(async move {
            let mut tx = other.begin().await.map_err(|e| e.to_string())?;
            sqlx::query("INSERT INTO user_groups (name, created_at) VALUES ('b', 0)")
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())
        });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        sqlx::query("INSERT INTO user_groups (name, created_at) VALUES ('a', $1)")
            .bind(count)
            .execute(&mut *first)
            .await
            .expect("the first change's write");
        first.commit().await.unwrap();
        second
            .await
            .unwrap()
            .expect("the second change, after the first");
        let groups: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM user_groups")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(groups, 2);
    }

    #[tokio::test]
    async fn migrations_apply_and_the_database_answers() {
        let db = testing::fresh_db().await;
        db.ping().await.unwrap();
        // Applying twice is a no-op, as on every restart.
        db.migrate().await.unwrap();
    }

    /// PostgreSQL (`KILN_TEST_DATABASE_URL`); on SQLite it checks nothing.
    #[tokio::test]
    async fn a_pooled_connection_the_server_closed_while_it_sat_idle_fails_no_query() {
        let db = testing::fresh_db().await;
        let Ok(admin_url) = std::env::var("KILN_TEST_DATABASE_URL") else {
            return;
        };
        if db.kind != Kind::Postgres {
            return;
        }
        let name: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        // The server ends every session of the pool (a restart, or its idle_session_timeout).
        let admin = Db::connect(&admin_url).await.unwrap();
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity WHERE datname = $1::text",
        )
        .bind(&name)
        .fetch_all(&admin.pool)
        .await
        .unwrap();
        assert!(!ended.is_empty() && ended.iter().all(|e| *e), "{ended:?}");
        admin.pool.close().await;
        tokio::time::sleep(PING_IF_IDLE_FOR + std::time::Duration::from_millis(200)).await;
        db.ping()
            .await
            .expect("the idle connection was pinged, found closed and replaced");
    }
}
