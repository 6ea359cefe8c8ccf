//! `make bench-log`: a failed build with a 100,000-line log (in chunks of 100 lines, as a
//! slow build writes them), then the p50 of opening its Build Details page over HTTP on
//! loopback, which shows the end of the log; and the p50 of the server-side tail query.
//! The database is `KILN_BENCH_DATABASE_URL`, or a fresh SQLite file.

use std::time::{Duration, Instant};

use app::backend::Db;
use app::backend::builds::{self, NewBuild, Outcome};
use app::backend::db::testing::conn;
use app::backend::images::{self, Scope};
use app::domain::{BuildForm, Role};
use app::ops;

const LINES: usize = 100_000;
const PER_CHUNK: usize = 100;
const RUNS: usize = 20;

#[tokio::main]
async fn main() {
    let url = std::env::var("KILN_BENCH_DATABASE_URL").unwrap_or_else(|_| {
        let path =
            std::env::temp_dir().join(format!("kiln-bench-log-{}.db", app::backend::random_hex(4)));
        format!("sqlite://{}", path.display())
    });
    let db = Db::connect(&url).await.expect("connect");
    db.migrate().await.expect("migrate");
    let build_id = seed(&db).await;
    println!(
        "database: {:?}; one build with a {LINES}-line log in {} chunks",
        db.kind,
        LINES / PER_CHUNK
    );

    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let tail = builds::log_tail(&db, build_id, app::wire::builds::TAIL_LINES)
            .await
            .unwrap();
        times.push(started.elapsed());
        assert!(
            tail.last()
                .unwrap()
                .1
                .ends_with(&format!("line {}\n", LINES - 1))
        );
    }
    println!(
        "log tail query (last {} lines): p50 {:.2} ms",
        app::wire::builds::TAIL_LINES,
        p50(&mut times)
    );

    let addr = bench::serve(db.clone()).await;
    let client = bench::signed_in(addr, "bench-admin", "bench-password").await;
    let page = format!("http://{addr}/groups/logbench/images/tools/builds");
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        let res = client
            .get(&page)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        let html = res.text().await.unwrap();
        times.push(started.elapsed());
        assert!(
            html.contains(&format!("line {}", LINES - 1)),
            "the page shows the end of the log"
        );
    }
    println!(
        "Build Details page with the end of the log, over HTTP: p50 {:.2} ms",
        p50(&mut times)
    );
}

/// A group, its admin, a built image and a failed build with a long log; the build's id.
async fn seed(db: &Db) -> i64 {
    let group = Scope::Group(
        ops::accounts::add_group(&bench::operator(db.clone()), "logbench")
            .await
            .unwrap(),
    );
    ops::accounts::add_user(
        &bench::operator(db.clone()),
        "bench-admin",
        "bench-password",
        false,
    )
    .await
    .unwrap();
    ops::accounts::add_member(
        &bench::operator(db.clone()),
        "logbench",
        "bench-admin",
        Role::Admin,
    )
    .await
    .unwrap();
    let form = BuildForm {
        display_name: "tools".into(),
        image_type: "cpu".into(),
        base_image: "debian:12".into(),
        apt: "curl".into(),
        ..Default::default()
    };
    let valid = form.validate().unwrap();
    let image = images::create_built(&mut *conn(db).await, group, &valid, None)
        .await
        .unwrap();
    let new = NewBuild {
        image_id: image.id,
        scope: group,
        spec: &valid.spec,
        image_type: "cpu",
        base_digest: "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        base_user: "",
        target: "registry.test/kiln/logbench/tools:1",
        created_by: "bench-admin",
        compressed_size: None,
    };
    let build = builds::enqueue(&mut *conn(db).await, &new, false)
        .await
        .unwrap();
    for chunk in 0..LINES / PER_CHUNK {
        let text: String = (0..PER_CHUNK)
            .map(|i| {
                format!(
                    "Get:{i} http://deb.debian.org/debian bookworm/main amd64 package line {}\n",
                    chunk * PER_CHUNK + i
                )
            })
            .collect();
        builds::append_log(db, build.id, chunk as i64 + 1, &text)
            .await
            .unwrap();
    }
    builds::finish(
        db,
        build.id,
        Outcome::Failed {
            reason: builds::FailReason::Build,
            message: "bench",
        },
    )
    .await
    .unwrap();
    build.id
}

fn p50(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}
