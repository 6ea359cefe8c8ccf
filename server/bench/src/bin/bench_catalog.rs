//! `make bench-catalog`: seeds 10,000 images in one group and 50,000 in others, then prints
//! the p50 of a sorted, searched page query for each column (in the server, through the
//! backend function the page uses) and the p50 of the whole page over HTTP on loopback.
//! Each column is measured twice: paging or re-sorting a search (its total remembered), and
//! right after a write to the catalog (the total counted again).
//! The database is `KILN_BENCH_DATABASE_URL`, or a fresh SQLite file.

use std::time::{Duration, Instant};

use app::backend::Db;
use app::backend::images::{self, Scope};
use app::domain::{ListQuery, Role, SortColumn};
use app::ops;

const IN_GROUP: usize = 10_000;
const ELSEWHERE: usize = 50_000;
const RUNS: usize = 50;
const WORDS: [&str; 8] = [
    "tensorflow",
    "pytorch",
    "jupyter",
    "cuda",
    "rapids",
    "spark",
    "r-base",
    "julia",
];

#[tokio::main]
async fn main() {
    let url = std::env::var("KILN_BENCH_DATABASE_URL").unwrap_or_else(|_| {
        let path =
            std::env::temp_dir().join(format!("kiln-bench-{}.db", app::backend::random_hex(4)));
        format!("sqlite://{}", path.display())
    });
    let db = Db::connect(&url).await.expect("connect");
    db.migrate().await.expect("migrate");
    let target = seed(&db).await;
    if db.kind == app::backend::db::Kind::Postgres {
        // Measure the steady state autovacuum keeps a live table in, not a just-loaded one.
        sqlx::query("VACUUM ANALYZE images")
            .execute(&db.pool)
            .await
            .expect("vacuum");
    }
    println!(
        "database: {:?}; {IN_GROUP} images in the group, {ELSEWHERE} in 5 others",
        db.kind
    );

    let query = |sort| ListQuery {
        search: "tensor".into(),
        sort,
        descending: true,
        page: 3,
    };
    for column in SortColumn::ALL {
        let warm = p50_of(&db, target, &query(column), false).await;
        let cold = p50_of(&db, target, &query(column), true).await;
        println!(
            "page query  sort={:<13} search=tensor  p50 {warm:>6.2} ms   (after a write, counting again: {cold:>6.2} ms)",
            column.key(),
        );
    }
    println!(
        "page over HTTP (sort=description, search=tensor): p50 {:.2} ms",
        http_p50(db).await
    );
}

/// The p50 of the page query; `after_write` bumps the catalog's change counter before each
/// run, as an edit would, so the search's total must be counted again.
async fn p50_of(db: &Db, target: Scope, query: &ListQuery, after_write: bool) -> f64 {
    let Scope::Group(group_id) = target else {
        unreachable!("the bench lists a group")
    };
    let mut times = Vec::new();
    for _ in 0..RUNS {
        if after_write {
            sqlx::query("UPDATE catalog_versions SET version = version + 1 WHERE scope_id = $1")
                .bind(group_id)
                .execute(&db.pool)
                .await
                .expect("bump");
        }
        let started = Instant::now();
        let page = images::list(db, target, query).await.expect("list");
        times.push(started.elapsed());
        assert_eq!(page.items.len(), ListQuery::PER_PAGE as usize);
    }
    p50(&mut times)
}

async fn seed(db: &Db) -> Scope {
    let mut target = None;
    for g in 0..6 {
        let name = format!("bench{g}");
        let id = match app::backend::groups::find(db, &name).await.unwrap() {
            Some(existing) => existing.id,
            None => ops::accounts::add_group(&bench::operator(db.clone()), &name)
                .await
                .unwrap(),
        };
        let count = if g == 0 { IN_GROUP } else { ELSEWHERE / 5 };
        let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM images WHERE group_id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if have == 0 {
            insert_many(db, id, count).await;
        }
        if g == 0 {
            target = Some(Scope::Group(id));
        }
    }
    target.unwrap()
}

async fn insert_many(db: &Db, group_id: i64, count: usize) {
    let mut tx = db.pool.begin().await.unwrap();
    for i in 0..count {
        let word = WORDS[i % WORDS.len()];
        let kind = ["cpu", "gpu", "universal"][i % 3];
        let name = format!("{word}-{i:05}");
        let description = format!(
            "{word} image number {i} for the {} team",
            WORDS[(i / 7) % WORDS.len()]
        );
        let url = format!("registry.example.org/{word}:{i}");
        let search = format!("{name}\n{name}\n{description}\n{kind}").to_lowercase();
        sqlx::query(
            "INSERT INTO images (group_id, name, display_name, description, image_type, url, gpu_url,
                                 search_text, version, created_at, updated_at)
             VALUES ($1, $2, $2, $3, $4, $5, $5, $6, 1, 0, 0)",
        )
        .bind(group_id)
        .bind(&name)
        .bind(&description)
        .bind(kind)
        .bind(&url)
        .bind(&search)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn http_p50(db: Db) -> f64 {
    let password = "bench-password";
    if app::backend::users::find(&db, "bench-admin")
        .await
        .unwrap()
        .is_none()
    {
        ops::accounts::add_user(&bench::operator(db.clone()), "bench-admin", password, false)
            .await
            .unwrap();
        ops::accounts::add_member(
            &bench::operator(db.clone()),
            "bench0",
            "bench-admin",
            Role::Admin,
        )
        .await
        .unwrap();
    }
    let addr = bench::serve(db).await;
    let client = bench::signed_in(addr, "bench-admin", password).await;
    let url =
        format!("http://{addr}/groups/bench0/images?q=tensor&sort=description&dir=desc&page=3");
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let res = client
            .get(&url)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        res.bytes().await.unwrap();
        times.push(started.elapsed());
    }
    p50(&mut times)
}

fn p50(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}
