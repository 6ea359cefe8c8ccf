//! `make bench-launch`: requests/s and p99 latency of `GET /api/v1/users/{user}/launchable-
//! images` with a read token (what a launch page's backend sends), next to nginx serving the
//! same JSON body as a static file, in the same run, with `wrk` at 64 connections on loopback.
//! The user is in 5 groups and sees 200 images (150 of the groups, 50 global); 1,000 more
//! images belong to groups the user is not in. The database is `KILN_BENCH_DATABASE_URL`, or
//! a fresh SQLite file. Kiln runs as `kiln serve` would: `KILN_LAUNCH_MAX_STALENESS` as set,
//! else its default (`0s` measures a counter read per request).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use app::backend::Db;
use app::backend::db::testing::conn;
use app::backend::images::{self, Scope};
use app::domain::{ImageForm, Role};
use app::ops;

const CONNECTIONS: u32 = 64;
const SECONDS: u32 = 10;
/// Rounds of Kiln then nginx; the median round is the result.
const ROUNDS: usize = 5;
/// Seconds of each, not counted, before the rounds.
const WARM_UP: u32 = 2;
const USER: &str = "alice";

#[tokio::main]
async fn main() {
    let url = std::env::var("KILN_BENCH_DATABASE_URL").unwrap_or_else(|_| {
        let path = std::env::temp_dir().join(format!(
            "kiln-bench-launch-{}.db",
            app::backend::random_hex(4)
        ));
        format!("sqlite://{}", path.display())
    });
    let staleness = <server::config::Cli as clap::Parser>::parse_from(["kiln"])
        .config
        .launch_max_staleness;
    let db = Db::connect(&url)
        .await
        .expect("connect")
        .with_max_staleness(staleness);
    db.migrate().await.expect("migrate");
    let token = seed(&db).await;
    let addr = bench::serve(db.clone()).await;
    let path = format!("/api/v1/users/{USER}/launchable-images");
    let kiln_url = format!("http://{addr}{path}");

    // The body nginx serves is exactly Kiln's answer.
    let body = reqwest::Client::new()
        .get(&kiln_url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("ask Kiln")
        .bytes()
        .await
        .expect("body");
    let listed: serde_json::Value = serde_json::from_slice(&body).expect("json");
    let count = listed["images"].as_array().map_or(0, Vec::len);
    assert_eq!(count, 200, "the user sees 200 images");
    let dir = std::env::temp_dir().join(format!("kiln-bench-nginx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("nginx dir");
    std::fs::write(dir.join("launchable.json"), &body).expect("body file");
    let nginx_port = free_port();
    let mut nginx = start_nginx(&dir, nginx_port);
    std::thread::sleep(Duration::from_millis(500));

    println!(
        "database: {:?}; {count} images for {USER} ({} bytes of JSON); launch max staleness {staleness:?}; wrk -t2 -c{CONNECTIONS} -d{SECONDS}s, {ROUNDS} rounds",
        db.kind,
        body.len()
    );
    let auth = format!("Authorization: Bearer {token}");
    let static_url = format!("http://127.0.0.1:{nginx_port}/launchable.json");
    // A short run of each first, not counted: the first seconds (connections, the cache,
    // the allocator's pools) are slower for both.
    for (url, header) in [
        (kiln_url.clone(), Some(auth.clone())),
        (static_url.clone(), None),
    ] {
        tokio::task::spawn_blocking(move || wrk_for(&url, header.as_deref(), WARM_UP))
            .await
            .expect("wrk");
    }
    // Rounds of Kiln then nginx, back to back: a machine whose speed drifts during the run
    // moves both figures of a round alike, and the median round is reported.
    let mut rounds = Vec::new();
    for round in 1..=ROUNDS {
        let (url, header) = (kiln_url.clone(), auth.clone());
        let kiln = tokio::task::spawn_blocking(move || wrk(&url, Some(&header)))
            .await
            .expect("wrk");
        let url = static_url.clone();
        let nginx_run = tokio::task::spawn_blocking(move || wrk(&url, None))
            .await
            .expect("wrk");
        println!(
            "round {round}: kiln {:>7.0} requests/s (p99 {:.2} ms), nginx {:>7.0} (p99 {:.2} ms): {:.2}",
            kiln.rps,
            kiln.p99_ms,
            nginx_run.rps,
            nginx_run.p99_ms,
            kiln.rps / nginx_run.rps
        );
        rounds.push((kiln, nginx_run));
    }
    // SIGTERM, not SIGKILL: nginx's master then stops its workers (a killed master
    // leaves them running, and busy, under the next measurement).
    let _ = Command::new("kill")
        .args(["-TERM", &nginx.id().to_string()])
        .status();
    let _ = nginx.wait();
    let _ = std::fs::remove_dir_all(&dir);

    rounds.sort_by(|a, b| (a.0.rps / a.1.rps).total_cmp(&(b.0.rps / b.1.rps)));
    let (kiln, nginx_run) = &rounds[rounds.len() / 2];
    println!(
        "kiln   {:>9.0} requests/s   p99 {:>6.2} ms   (the median round)",
        kiln.rps, kiln.p99_ms
    );
    println!(
        "nginx  {:>9.0} requests/s   p99 {:>6.2} ms   (the same body as a static file)",
        nginx_run.rps, nginx_run.p99_ms
    );
    println!(
        "ratio  {:.2} of nginx's requests/s (goal >= 0.8); Kiln p99 {:.2} ms (goal <= 10 ms)",
        kiln.rps / nginx_run.rps,
        kiln.p99_ms
    );
}

/// Groups g1..g5 with 30 images each for the user, 50 global images, and 1,000 images in
/// 5 groups the user is not in. Returns a read token bound to no user.
async fn seed(db: &Db) -> String {
    ops::accounts::add_user(&bench::operator(db.clone()), USER, "bench-password", false)
        .await
        .expect("user");
    for g in 1..=10 {
        let group = format!("g{g}");
        let id = ops::accounts::add_group(&bench::operator(db.clone()), &group)
            .await
            .expect("group");
        let (images, member) = if g <= 5 { (30, true) } else { (200, false) };
        if member {
            ops::accounts::add_member(&bench::operator(db.clone()), &group, USER, Role::Member)
                .await
                .expect("member");
        }
        for i in 0..images {
            add_image(db, Scope::Group(id), &format!("{group}-image-{i}"), i).await;
        }
    }
    for i in 0..50 {
        add_image(db, Scope::Global, &format!("system-image-{i}"), i).await;
    }
    ops::tokens::create(
        &bench::operator(db.clone()),
        "launch-page",
        "read",
        None,
        "",
    )
    .await
    .expect("token")
}

async fn add_image(db: &Db, scope: Scope, name: &str, i: usize) {
    let image_type = ["cpu", "gpu", "universal"][i % 3];
    let form = ImageForm {
        display_name: name.to_owned(),
        description: format!("{name}: Python 3.11, CUDA 12, Jupyter and the usual libraries"),
        image_type: image_type.to_owned(),
        url: format!("registry.example/ml/{name}:2024.{i}"),
        use_gpu_url: image_type == "universal",
        gpu_url: format!("registry.example/ml/{name}-cuda:2024.{i}"),
        ..ImageForm::default()
    };
    images::create(
        &mut *conn(db).await,
        scope,
        &form.validate().expect("valid"),
        None,
    )
    .await
    .expect("image");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port()
}

fn start_nginx(dir: &Path, port: u16) -> Child {
    let config = format!(
        "daemon off;\nworker_processes auto;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {dir};\n  proxy_temp_path {dir};\n\
         fastcgi_temp_path {dir};\n  uwsgi_temp_path {dir};\n  scgi_temp_path {dir};\n\
         types {{ application/json json; }}\n  sendfile on;\n  keepalive_requests 1000000;\n\
         server {{ listen 127.0.0.1:{port}; root {dir}; }}\n}}\n",
        dir = dir.display()
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, config).expect("nginx.conf");
    Command::new("nginx")
        .arg("-c")
        .arg(&path)
        .arg("-p")
        .arg(dir)
        .stdout(Stdio::null())
        .spawn()
        .expect("start nginx (apt-get install nginx-light)")
}

struct Run {
    rps: f64,
    p99_ms: f64,
}

fn wrk(url: &str, header: Option<&str>) -> Run {
    wrk_for(url, header, SECONDS)
}

fn wrk_for(url: &str, header: Option<&str>, seconds: u32) -> Run {
    let mut command = Command::new("wrk");
    command.args([
        "-t2",
        &format!("-c{CONNECTIONS}"),
        &format!("-d{seconds}s"),
        "--latency",
    ]);
    if let Some(header) = header {
        command.args(["-H", header]);
    }
    let out = command
        .arg(url)
        .output()
        .expect("run wrk (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("Non-2xx"),
        "every answer must be a success:\n{text}"
    );
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_owned()))
            .unwrap_or_else(|| panic!("wrk printed no {prefix:?}:\n{text}"))
    };
    Run {
        rps: field("Requests/sec:").parse().expect("requests/s"),
        p99_ms: millis(&field("99%")),
    }
}

/// wrk's durations: `812.00us`, `3.21ms`, `1.02s`.
fn millis(s: &str) -> f64 {
    let (number, scale) = if let Some(n) = s.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (s, 1.0)
    };
    number.parse::<f64>().expect("duration") * scale
}
