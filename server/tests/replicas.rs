//! Two Kiln processes on one PostgreSQL database, building with real buildah into the
//! loopback registry of `scripts/build-env.sh`: one drives the build queue, the other
//! serves; when the leader is killed, the other takes the queue over within seconds, and
//! no build is driven twice. `make test-replicas` runs it (it needs the registry and a
//! PostgreSQL server, so a plain `cargo test` skips it).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const SECRET_KEY: &str = "0707070707070707070707070707070707070707070707070707070707070707";

struct Replica {
    name: &'static str,
    child: Child,
    url: String,
    log: PathBuf,
}

impl Replica {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn leads(&self) -> bool {
        self.log().contains("this replica drives the build queue")
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}

struct Site {
    db_url: String,
    registry: String,
    prefix: String,
    dir: PathBuf,
    token: String,
    http: reqwest::Client,
}

impl Site {
    /// A fresh database with group `ml` and a write token, made with the CLI.
    async fn new() -> Site {
        let admin_url = std::env::var("KILN_TEST_DATABASE_URL")
            .expect("KILN_TEST_DATABASE_URL names the PostgreSQL server (make test-replicas)");
        assert!(
            admin_url.starts_with("postgres"),
            "replicas share a PostgreSQL database"
        );
        let registry = std::env::var("KILN_TEST_REGISTRY")
            .expect("KILN_TEST_REGISTRY names the loopback registry (make test-replicas)");
        let hex = app::backend::random_hex(4);
        let name = format!("kiln_test_replicas_{hex}");
        let admin = app::backend::Db::connect(&admin_url).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin.pool)
            .await
            .unwrap();
        let (base, _) = admin_url.rsplit_once('/').unwrap();
        let dir = std::env::temp_dir().join(format!("kiln-replicas-{hex}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut site = Site {
            db_url: format!("{base}/{name}"),
            registry: registry.split('/').next().unwrap().to_owned(),
            prefix: format!("kiln-replicas-{hex}"),
            dir,
            token: String::new(),
            http: reqwest::Client::new(),
        };
        site.cli(&["migrate"], None);
        site.cli(&["group", "add", "ml"], None);
        site.cli(
            &["user", "add", "root", "--system-admin", "--password-stdin"],
            Some("root-password-1"),
        );
        site.token = site
            .cli(
                &[
                    "token", "create", "--name", "ci", "--scope", "write", "--user", "root",
                ],
                None,
            )
            .trim()
            .to_owned();
        site
    }

    fn kiln(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kiln"));
        cmd.env("KILN_DATABASE_URL", &self.db_url)
            .env("KILN_SECRET_KEY", SECRET_KEY)
            .env("KILN_BUILDER", "local")
            .env(
                "KILN_BUILD_REGISTRY",
                format!("{}/{}", self.registry, self.prefix),
            )
            .env("KILN_INSECURE_REGISTRIES", &self.registry)
            // One build at a time in all: the second waits in the queue.
            .env("KILN_BUILDS_TOTAL", "1")
            .env("RUST_LOG", "info,tower_http=warn");
        cmd
    }

    fn cli(&self, args: &[&str], stdin: Option<&str>) -> String {
        use std::io::Write;
        let mut child = self
            .kiln()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            writeln!(child.stdin.take().unwrap(), "{input}").unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "kiln {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Starts `kiln serve` and waits until it answers.
    async fn start(&self, name: &'static str) -> Replica {
        self.start_building(name, "local").await
    }

    /// Starts `kiln serve` with `builder` (`none`: builds off) and waits until it answers.
    async fn start_building(&self, name: &'static str, builder: &str) -> Replica {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = self.dir.join(format!("{name}.log"));
        let child = self
            .kiln()
            .env("KILN_BUILDER", builder)
            .arg("serve")
            .env("KILN_LISTEN", format!("127.0.0.1:{port}"))
            .env("KILN_DATA_DIR", self.dir.join(name))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let replica = Replica {
            name,
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        for _ in 0..300 {
            if let Ok(res) = self
                .http
                .get(format!("{}/readyz", replica.url))
                .send()
                .await
                && res.status().is_success()
            {
                return replica;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{name} did not start: {}", replica.log());
    }

    async fn api(&self, replica: &Replica, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", replica.url);
        let request = match method {
            "POST" => self.http.post(url),
            _ => self.http.get(url),
        };
        let request = request.bearer_auth(&self.token);
        let request = match body {
            Some(body) => request.json(&body),
            None => request,
        };
        let res = request.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        assert!(
            status.is_success(),
            "{method} {path} on {}: {status} {text}",
            replica.name
        );
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Creates a custom image through `replica` and returns its first build's id.
    async fn build(&self, replica: &Replica, name: &str, apt: &[&str]) -> i64 {
        let base = format!("{}/base/debian:bookworm", self.registry);
        self.api(
            replica,
            "POST",
            "/api/v1/groups/ml/images",
            Some(json!({"display_name": name, "type": "cpu",
                        "build": {"base_image": base, "apt": apt}})),
        )
        .await;
        let history = self
            .api(
                replica,
                "GET",
                &format!("/api/v1/groups/ml/images/{name}/builds"),
                None,
            )
            .await;
        history["builds"][0]["id"].as_i64().unwrap()
    }

    async fn state(&self, replica: &Replica, id: i64) -> Value {
        self.api(replica, "GET", &format!("/api/v1/builds/{id}"), None)
            .await
    }

    async fn wait_for(&self, replica: &Replica, id: i64, state: &str, within: Duration) -> Value {
        let start = Instant::now();
        loop {
            let build = self.state(replica, id).await;
            if build["state"] == json!(state) {
                return build;
            }
            assert!(
                start.elapsed() < within,
                "build {id} not {state} within {within:?}: {build}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn log_of(&self, replica: &Replica, id: i64) -> String {
        let res = self
            .http
            .get(format!("{}/api/v1/builds/{id}/log", replica.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        res.text().await.unwrap()
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL and the loopback registry of scripts/build-env.sh (make test-replicas)"]
async fn the_leader_is_killed_and_the_other_replica_takes_the_queue_over_driving_no_build_twice() {
    let site = Site::new().await;
    let mut first = site.start("first").await;
    for _ in 0..50 {
        if first.leads() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(first.leads(), "{}", first.log());
    let second = site.start("second").await;

    // A build asked of the follower is started by the leader.
    let slow = site.build(&second, "slow", &["build-essential"]).await;
    site.wait_for(&second, slow, "running", Duration::from_secs(10))
        .await;
    let quick = site.build(&second, "quick", &["hello"]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!second.leads(), "two leaders: {}", second.log());
    assert_eq!(
        site.state(&second, quick).await["state"],
        json!("queued"),
        "one build at a time"
    );
    assert!(
        site.log_of(&second, slow).await.contains("STEP"),
        "the leader streams the log"
    );

    // The leader dies. Its buildah would live on as an orphan; a service manager kills
    // the whole process tree of a killed service (systemd's control group, a Pod's
    // cgroup), so the test does as they do.
    let killed = Instant::now();
    first.kill();
    let _ = Command::new("pkill")
        .args(["-KILL", "-f", &format!("{}/ml/slow:", site.prefix)])
        .status();

    // The other replica takes over within seconds: the interrupted build is failed with
    // its reason (a local build can't be re-attached), the queued one starts.
    let interrupted = site
        .wait_for(&second, slow, "failed", Duration::from_secs(10))
        .await;
    let takeover = killed.elapsed();
    println!("takeover after the leader was killed: {takeover:?}");
    assert!(takeover < Duration::from_secs(5), "took {takeover:?}");
    assert!(second.leads(), "{}", second.log());
    assert_eq!(interrupted["reason"], json!("interrupted"));
    site.wait_for(&second, quick, "succeeded", Duration::from_secs(300))
        .await;

    // Each build was started exactly once: one "building" note in each log.
    for id in [slow, quick] {
        let log = site.log_of(&second, id).await;
        assert_eq!(
            log.matches("[kiln] building").count(),
            1,
            "build {id} started once: {log}"
        );
    }

    // A replica started again is a follower; a cancel asked of it reaches the leader.
    let again = site.start("again").await;
    let cancelled = site.build(&again, "cancelled", &["build-essential"]).await;
    site.wait_for(&again, cancelled, "running", Duration::from_secs(10))
        .await;
    for _ in 0..100 {
        if site.log_of(&again, cancelled).await.contains("STEP") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    site.api(
        &again,
        "POST",
        &format!("/api/v1/builds/{cancelled}/cancel"),
        None,
    )
    .await;
    let asked = Instant::now();
    site.wait_for(&again, cancelled, "cancelled", Duration::from_secs(15))
        .await;
    println!("cancel through a follower took {:?}", asked.elapsed());
    assert!(!again.leads(), "{}", again.log());
    let still = Command::new("pgrep")
        .args(["-f", &format!("{}/ml/cancelled:", site.prefix)])
        .output()
        .unwrap();
    assert!(
        still.stdout.is_empty(),
        "the cancelled build's processes are gone"
    );
}

/// Reads a live log stream until `until` is in it, or it ends (within 10 s in all); answers
/// what it read and whether the stream ended.
async fn read_events(res: &mut reqwest::Response, until: Option<&str>) -> (String, bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut text = String::new();
    loop {
        if until.is_some_and(|u| text.contains(u)) {
            return (text, false);
        }
        match tokio::time::timeout_at(deadline, res.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            Ok(Ok(None)) | Ok(Err(_)) => return (text, true),
            Err(_) => panic!("the stream neither ended nor said {until:?} in 10 s: {text}"),
        }
    }
}

#[tokio::test]
#[ignore = "needs PostgreSQL and the loopback registry of scripts/build-env.sh (make test-replicas)"]
async fn a_stopping_replica_ends_twenty_live_logs_at_once_and_their_viewers_resume_on_another() {
    let site = Site::new().await;
    // A running build with 30 lines of log; builds are off on both replicas, so nothing
    // drives it: its log grows only when this test writes it.
    let db = app::backend::Db::connect(&site.db_url).await.unwrap();
    let build: i64 = sqlx::query_scalar(
        "WITH image AS (
           INSERT INTO images (group_id, name, display_name, image_type, url, gpu_url,
                               search_text, created_at, updated_at, source)
           SELECT id, 'live', 'live', 'cpu', '', '', 'live', 0, 0, 'build'
           FROM user_groups WHERE name = 'ml' RETURNING id, group_id)
         INSERT INTO builds (image_id, group_id, revision, spec, image_type, state, steps,
                             base_digest, target, created_by, queued_at, started_at)
         SELECT id, group_id, 1, '{}', 'cpu', 'running', 8, 'sha256:0', 'r/live:1', 'root', 0, 0
         FROM image RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    for seq in 1..=30 {
        app::backend::builds::append_log(&db, build, seq, &format!("line {seq}\n"))
            .await
            .unwrap();
    }
    // Twenty viewers (three users: a caller may hold eight streams).
    let mut tokens = Vec::new();
    for user in ["v1", "v2", "v3"] {
        site.cli(
            &["user", "add", user, "--system-admin", "--password-stdin"],
            Some("viewer-password-1"),
        );
        let token = site.cli(
            &[
                "token", "create", "--name", user, "--scope", "read", "--user", user,
            ],
            None,
        );
        tokens.push(token.trim().to_owned());
    }
    let mut a = site.start_building("a", "none").await;
    let b = site.start_building("b", "none").await;
    let path = format!("/api/v1/builds/{build}/log");
    let mut viewers = Vec::new();
    for i in 0..20 {
        let mut res = site
            .http
            .get(format!("{}{path}", a.url))
            .bearer_auth(&tokens[i % 3])
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "viewer {i}");
        let (seen, ended) = read_events(&mut res, Some("id: 30\n")).await;
        assert!(!ended, "viewer {i}: {seen}");
        viewers.push((res, seen));
    }

    // SIGTERM: the process ends within 5 s, and every stream ends without `end`.
    let stopped = Instant::now();
    let pid = a.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut rest = Vec::new();
    for (mut res, seen) in viewers {
        let (more, ended) = read_events(&mut res, None).await;
        assert!(ended && !more.contains("event: end"), "{more}");
        rest.push(seen + &more);
    }
    let status = a.child.wait().unwrap();
    let took = stopped.elapsed();
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
    assert!(status.success(), "{status:?}: {}", a.log());

    // The build goes on meanwhile; each viewer resumes on b from the last id it got and
    // reads every line once, to the end.
    for seq in 31..=40 {
        app::backend::builds::append_log(&db, build, seq, &format!("line {seq}\n"))
            .await
            .unwrap();
    }
    sqlx::query("UPDATE builds SET state = 'succeeded', finished_at = 1 WHERE id = $1")
        .bind(build)
        .execute(&db.pool)
        .await
        .unwrap();
    for (i, seen) in rest.into_iter().enumerate() {
        let last = seen
            .lines()
            .filter_map(|l| l.strip_prefix("id: "))
            .next_back()
            .unwrap()
            .to_owned();
        let mut res = site
            .http
            .get(format!("{}{path}", b.url))
            .bearer_auth(&tokens[i % 3])
            .header("accept", "text/event-stream")
            .header("last-event-id", last)
            .send()
            .await
            .unwrap();
        let (resumed, ended) = read_events(&mut res, None).await;
        assert!(ended && resumed.contains("event: end"), "{resumed}");
        let lines: Vec<String> = (seen + &resumed)
            .lines()
            .filter_map(|l| l.strip_prefix("data: line "))
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = (1..=40).map(|n| n.to_string()).collect();
        assert_eq!(lines, expected, "viewer {i}");
    }
}
