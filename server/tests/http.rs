//! Black-box tests of the running server: probes, sign-in, permissions, cross-site refusal.

mod common;

use std::sync::Arc;

use app::backend::AuthSettings;
use app::backend::throttle::Addresses;
use common::{PASSWORD, TestApp};
use reqwest::StatusCode;

/// The default view of a group's image list, as the page asks for it.
fn list_form(group: &str) -> Vec<(&str, &str)> {
    vec![
        ("group", group),
        ("query[search]", ""),
        ("query[sort]", "Name"),
        ("query[descending]", "false"),
        ("query[page]", "1"),
    ]
}

#[tokio::test]
async fn health_and_readiness_probes_answer() {
    let app = TestApp::spawn(app::backend::AuthSettings::local()).await;
    let client = app.client();
    assert_eq!(
        client
            .get(app.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let ready = client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(
        (ready.status(), ready.text().await.unwrap().as_str()),
        (StatusCode::OK, "ready")
    );

    app.db.pool.close().await;
    assert_eq!(
        client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn metrics_count_requests_by_route_template_in_a_text_prometheus_reads() {
    let app = TestApp::spawn(app::backend::AuthSettings::local()).await;
    let client = app.client();
    for path in [
        "/healthz",
        "/healthz",
        "/api/v1/builds/7",
        "/api/v1/builds/8",
    ] {
        client.get(app.url(path)).send().await.unwrap();
    }
    // A method no one uses, which must not become a series of its own.
    let brew = reqwest::Method::from_bytes(b"BREW").unwrap();
    client
        .request(brew, app.url("/healthz"))
        .send()
        .await
        .unwrap();
    let answer = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text; version=1.0.0")
    );
    let text = answer.text().await.unwrap();
    let samples = common::parse_metrics(&text);
    let requests =
        |labels: &[(&str, &str)]| common::sample(&samples, "kiln_http_requests_total", labels);
    assert_eq!(
        requests(&[("route", "/healthz"), ("method", "GET"), ("status", "200")]),
        Some(2.0),
        "{text}"
    );
    // Two builds asked for by id: one series, under the route's template.
    assert_eq!(
        requests(&[
            ("route", "/api/v1/builds/{id}"),
            ("method", "GET"),
            ("status", "404")
        ]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(requests(&[("method", "other")]), Some(1.0), "{text}");
    assert!(!text.contains("/api/v1/builds/7"), "{text}");
    let latency = common::sample(
        &samples,
        "kiln_http_request_duration_seconds_count",
        &[("route", "/healthz"), ("method", "GET")],
    );
    assert_eq!(latency, Some(2.0), "{text}");
    // The states read when scraped: every build state (none yet), the pool, the cache.
    assert_eq!(
        common::sample(&samples, "kiln_builds", &[("state", "queued")]),
        Some(0.0)
    );
    assert_eq!(
        common::sample(&samples, "kiln_build_queue_length", &[]),
        Some(0.0)
    );
    assert_eq!(common::sample(&samples, "kiln_leader", &[]), Some(0.0));
    assert!(common::sample(&samples, "kiln_db_connections", &[("state", "max")]).unwrap() >= 1.0);
    assert_eq!(
        common::sample(&samples, "kiln_launch_cache_capacity_bytes", &[]),
        Some(app::backend::db::LAUNCH_CACHE_BYTES as f64)
    );
    // The Grafana dashboard shipped in deploy/ asks only for series Kiln has.
    let dashboard = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/monitoring/grafana-dashboard.json"
    ))
    .unwrap();
    let asked: std::collections::BTreeSet<&str> = dashboard
        .split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .filter(|word| word.starts_with("kiln_"))
        .collect();
    assert!(asked.len() >= 10, "{asked:?}");
    for name in asked {
        assert!(
            samples.iter().any(|s| s.name == name),
            "the dashboard asks for {name}, which /metrics does not have"
        );
    }
}

#[tokio::test]
async fn signing_in_sets_a_safe_cookie_and_signing_out_ends_the_session() {
    let app = TestApp::with_roles().await;
    let client = app.client();
    let res = app
        .call(
            &client,
            "login",
            &[
                ("username", "member"),
                ("password", PASSWORD),
                ("next", "/x"),
            ],
        )
        .await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("kiln_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(res.headers()["location"], "/x");

    let me: serde_json::Value = app.call(&client, "me", &[]).await.json().await.unwrap();
    assert_eq!(me["name"], "member");
    assert_eq!(me["groups"], serde_json::json!([["ml", "member"]]));

    app.call(&client, "logout", &[]).await;
    let me: serde_json::Value = app.call(&client, "me", &[]).await.json().await.unwrap();
    assert_eq!(me, serde_json::Value::Null);
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_repeated_failures_slow_down() {
    let app = TestApp::with_roles().await;
    let client = app.client();
    for _ in 0..5 {
        let res = app
            .call(
                &client,
                "login",
                &[("username", "member"), ("password", "wrong")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert!(res.headers().get("set-cookie").is_none());
    }
    let res = app
        .call(
            &client,
            "login",
            &[("username", "member"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits out the lock"
    );
    let body = res.text().await.unwrap();
    assert!(
        body.contains("Too many failed sign-ins for member"),
        "{body}"
    );

    let res = app
        .call(
            &client,
            "login",
            &[("username", "g-admin"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "other accounts are not locked"
    );
    assert!(res.headers().get("set-cookie").is_some());
}

#[tokio::test]
async fn a_group_page_is_open_to_its_admins_and_system_admins_only() {
    let app = TestApp::with_roles().await;
    let anonymous = app.client();
    let res = app.call(&anonymous, "list_images", &list_form("ml")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    for (user, expected) in [
        ("loner", StatusCode::FORBIDDEN),
        ("member", StatusCode::FORBIDDEN),
        ("h-admin", StatusCode::FORBIDDEN),
        ("g-admin", StatusCode::OK),
        ("root", StatusCode::OK),
    ] {
        let client = app.signed_in(user).await;
        let res = app.call(&client, "list_images", &list_form("ml")).await;
        assert_eq!(res.status(), expected, "{user} on group ml");
    }

    let member = app.signed_in("member").await;
    let body = app
        .call(&member, "list_images", &list_form("ml"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Only the group admins of group ml can manage its images"),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_groups_are_named_only_to_system_admins() {
    let app = TestApp::with_roles().await;
    let root = app.signed_in("root").await;
    assert_eq!(
        app.call(&root, "list_images", &list_form("nope"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let admin = app.signed_in("g-admin").await;
    assert_eq!(
        app.call(&admin, "list_images", &list_form("nope"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn pages_render_with_the_status_of_their_answer() {
    let app = TestApp::with_roles().await;
    let anonymous = app.client();
    let res = app.page(&anonymous, "/groups/ml/images").await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/login?next=/groups/ml/images");

    let member = app.signed_in("member").await;
    let res = app.page(&member, "/groups/ml/images").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("ask one of its admins"));

    let admin = app.signed_in("g-admin").await;
    let res = app.page(&admin, "/groups/ml/images").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("No images in this group yet."), "{html}");
    assert_eq!(
        app.page(&admin, "/nowhere").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused_before_they_do_anything() {
    let app = TestApp::with_roles().await;
    let client = app.client();
    let res = client
        .post(app.url("/api/login"))
        .header("origin", "http://evil.example")
        .form(&[("username", "member"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get("set-cookie").is_none());
    let entries = app::backend::audit::recent(&app.db, 50).await.unwrap();
    assert!(
        entries.iter().all(|e| e.action != "session.login"),
        "nothing was done"
    );
}

#[tokio::test]
async fn proxy_mode_believes_only_trusted_addresses() {
    use app::backend::identity::{AuthMode, AuthSettings};
    let trusting = TestApp::spawn(AuthSettings {
        mode: AuthMode::Proxy,
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..AuthSettings::local()
    })
    .await;
    app::ops::accounts::add_group(&trusting.operator(), "ml")
        .await
        .unwrap();
    let me = |app: &TestApp| {
        let url = app.url("/api/me");
        let origin = format!("http://{}", app.addr);
        async move {
            reqwest::Client::new()
                .post(url)
                .header("origin", origin)
                .header("x-forwarded-user", "pat")
                .header("x-forwarded-groups", "ml")
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let pat = me(&trusting).await;
    assert_eq!(
        (pat["name"].as_str(), pat["via_proxy"].as_bool()),
        (Some("pat"), Some(true))
    );
    assert_eq!(pat["groups"], serde_json::json!([["ml", "member"]]));

    let untrusting = TestApp::spawn(AuthSettings {
        mode: AuthMode::Proxy,
        trusted_proxies: vec!["10.9.9.9/32".parse().unwrap()],
        ..AuthSettings::local()
    })
    .await;
    assert_eq!(me(&untrusting).await, serde_json::Value::Null);

    // A client that sends its own X-Forwarded-User beside the proxy's is refused, on the
    // pages' server functions and the REST API alike.
    for path in ["/api/me", "/api/v1/groups/ml/images"] {
        let twice = reqwest::Client::new()
            .request(
                if path == "/api/me" {
                    reqwest::Method::POST
                } else {
                    reqwest::Method::GET
                },
                trusting.url(path),
            )
            .header("origin", format!("http://{}", trusting.addr))
            .header("x-forwarded-user", "root")
            .header("x-forwarded-user", "pat")
            .send()
            .await
            .unwrap();
        assert_eq!(twice.status(), 400, "{path}");
        let body = twice.text().await.unwrap();
        assert!(body.contains("more than once"), "{path}: {body}");
    }
}

#[tokio::test]
async fn an_over_size_body_is_refused_with_413_before_it_is_read() {
    let app = TestApp::with_roles().await;
    let admin = app.signed_in("g-admin").await;
    let huge = "x".repeat(300 * 1024);
    // The sign-in route, a form server function, and a REST route.
    let login = app
        .call(
            &app.client(),
            "login",
            &[("username", "member"), ("password", &huge)],
        )
        .await;
    let form = app
        .call(&admin, "list_images", &[("group", "ml"), ("search", &huge)])
        .await;
    let rest = app
        .client()
        .post(app.url("/api/v1/groups/ml/images"))
        .header("origin", format!("http://{}", app.addr))
        .header("content-type", "application/json")
        .body(format!("{{\"name\":\"{huge}\"}}"))
        .send()
        .await
        .unwrap();
    for (what, res) in [("login", login), ("form", form), ("rest", rest)] {
        assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE, "{what}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "too_large", "{what}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("larger than 256 KiB"),
            "{what}: {body}"
        );
    }

    // 64 MiB declared and sent 1 MiB at a time: refused from its length, never read.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let before = common::peak_kib();
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/groups/ml/images HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.addr,
        64 * 1024 * 1024
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b'x'; 1024 * 1024];
    for _ in 0..64 {
        if stream.write_all(&chunk).await.is_err() {
            break; // Kiln answered and closed: it does not want the rest.
        }
    }
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).await.unwrap_or(0);
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    let grown = common::peak_kib().saturating_sub(before);
    assert!(
        grown < 16 * 1024,
        "Kiln's peak grew {grown} KiB for a 64 MiB body"
    );
}

/// How many wrong passwords were checked (each is audited).
async fn passwords_checked(app: &TestApp) -> usize {
    app::backend::audit::recent(&app.db, 500)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == "session.login_failed")
        .count()
}

/// 200 sign-ins sent at once, the `i`th with the user name and password `who(i)`.
async fn sign_ins_at_once(
    app: &TestApp,
    who: impl Fn(usize) -> (String, String),
) -> Vec<reqwest::Response> {
    let client = reqwest::Client::new();
    let tries = (0..200).map(|i| {
        let (client, (user, password)) = (client.clone(), who(i));
        let url = app.url("/api/login");
        let origin = format!("http://{}", app.addr);
        async move {
            client
                .post(url)
                .header("origin", origin)
                .form(&[("username", user), ("password", password)])
                .send()
                .await
                .unwrap()
        }
    });
    futures_util::future::join_all(tries).await
}

#[tokio::test]
async fn a_burst_of_guesses_for_one_name_checks_at_most_five_passwords() {
    let app = TestApp::with_roles().await;
    let answers = sign_ins_at_once(&app, |i| ("member".into(), format!("guess-{i}"))).await;
    let wrong = answers
        .iter()
        .filter(|r| r.status() == StatusCode::UNAUTHORIZED)
        .count();
    let slowed = answers
        .iter()
        .filter(|r| r.status() == StatusCode::TOO_MANY_REQUESTS)
        .inspect(|r| assert!(r.headers().contains_key("retry-after")))
        .count();
    assert_eq!(wrong + slowed, 200, "only 401 and 429");
    let checked = passwords_checked(&app).await;
    assert_eq!(checked, wrong);
    assert!(checked <= 5, "{checked} passwords were checked");
    assert!(checked >= 1);
}

#[tokio::test]
async fn a_burst_of_sign_ins_with_many_names_is_answered_in_bounded_memory() {
    // From many addresses, as a botnet would: no limit by address here, so that the cap on
    // password checks is what bounds memory.
    let auth = AuthSettings {
        sign_in_addresses: Arc::new(Addresses::new(0)),
        ..AuthSettings::local()
    };
    let app = TestApp::add_roles(TestApp::spawn(auth).await).await;
    let before = common::peak_kib();
    let answers = sign_ins_at_once(&app, |i| (format!("nobody-{i}"), "x".into())).await;
    let grown = common::peak_kib().saturating_sub(before);
    eprintln!("200 concurrent sign-ins: peak memory grew by {grown} KiB");
    for answer in &answers {
        let status = answer.status();
        assert!(
            status == StatusCode::UNAUTHORIZED
                || (status == StatusCode::TOO_MANY_REQUESTS
                    && answer.headers().contains_key("retry-after")),
            "{status}"
        );
    }
    // Each verification holds ~19 MiB: 200 at once would be ~3.8 GiB.
    assert!(grown < 512 * 1024, "peak grew {grown} KiB");
}

/// One wrong sign-in from `forwarded_for` (when given) through the test's client.
async fn wrong_sign_in(
    app: &TestApp,
    user: &str,
    forwarded_for: Option<&str>,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(app.url("/api/login"))
        .header("origin", format!("http://{}", app.addr))
        .form(&[("username", user), ("password", "wrong")]);
    if let Some(client) = forwarded_for {
        request = request.header("x-forwarded-for", client);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn one_address_trying_many_names_is_slowed_after_its_share() {
    let app = TestApp::with_roles().await;
    for i in 0..30 {
        let answer = wrong_sign_in(&app, &format!("name-{i}"), None).await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let slowed = wrong_sign_in(&app, "name-30", None).await;
    assert_eq!(slowed.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(slowed.headers().contains_key("retry-after"));
    assert!(
        slowed
            .text()
            .await
            .unwrap()
            .contains("Too many sign-ins from your address")
    );
    // Nothing was checked for the slowed attempt: 30 failures audited, not 31.
    let checked = passwords_checked(&app).await;
    assert_eq!(checked, 30);
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_share() {
    let auth = AuthSettings {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        sign_in_addresses: Arc::new(Addresses::new(3)),
        ..AuthSettings::local()
    };
    let app = TestApp::add_roles(TestApp::spawn(auth).await).await;
    for i in 0..3 {
        let answer = wrong_sign_in(&app, &format!("a-{i}"), Some("203.0.113.7")).await;
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
    }
    let slowed = wrong_sign_in(&app, "a-3", Some("203.0.113.7")).await;
    assert_eq!(slowed.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another client of the same proxy is not slowed by the first; a client writing its
    // own X-Forwarded-For before the proxy's entry is still counted by the proxy's.
    let other = wrong_sign_in(&app, "b-0", Some("203.0.113.8")).await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);
    let spoofed = wrong_sign_in(&app, "a-4", Some("198.51.100.1, 203.0.113.7")).await;
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_client_that_stalls_its_body_is_answered_503_when_the_time_is_up() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::with_roles().await;
    let timed = server::router::router_with(
        app.state.clone(),
        server::origin::AllowedOrigin::default(),
        server::deadline::RequestTimeout(std::time::Duration::from_secs(1)),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            timed.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    // A sign-in form that says 100 bytes, sends 10 and stops.
    let started = std::time::Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nusername=m"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("Kiln answers a stalled request")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"timeout\""), "{answer}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // The same with a chunked body, which Kiln reads before the handler to bound it.
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n\
         a\r\nusername=m\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut chunked_answer = vec![0u8; 4096];
    let n = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read(&mut chunked_answer),
    )
    .await
    .expect("Kiln answers a stalled chunked request")
    .unwrap();
    let chunked_answer = String::from_utf8_lossy(&chunked_answer[..n]).into_owned();
    assert!(
        chunked_answer.starts_with("HTTP/1.1 503"),
        "{chunked_answer}"
    );
}

#[tokio::test]
async fn oidc_mode_takes_no_passwords_and_says_when_the_provider_is_down() {
    use app::backend::identity::AuthMode;
    use app::backend::oidc::{OidcSettings, Provider};
    // A provider nobody answers at: Kiln starts anyway and says so at sign-in.
    let provider = Provider::new(OidcSettings {
        issuer: "http://127.0.0.1:9/".into(),
        client_id: "kiln".into(),
        client_secret: None,
        public_url: "http://kiln.test".into(),
        scopes: vec![],
        username_claim: "preferred_username".into(),
        groups_claim: Some("groups".into()),
        admin_group: None,
    })
    .unwrap();
    let auth = AuthSettings {
        mode: AuthMode::Oidc,
        oidc: Some(Arc::new(provider)),
        ..AuthSettings::local()
    };
    let app = TestApp::add_roles(TestApp::spawn(auth).await).await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    let password = no_redirects
        .post(app.url("/api/login"))
        .header("origin", format!("http://{}", app.addr))
        .form(&[("username", "member"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(password.status(), StatusCode::FORBIDDEN);
    assert!(
        password
            .text()
            .await
            .unwrap()
            .contains("passwords are not used here")
    );

    let mode = no_redirects
        .post(app.url("/api/how_to_sign_in"))
        .header("origin", format!("http://{}", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(mode.text().await.unwrap(), "\"Provider\"");

    let start = no_redirects
        .get(app.url("/auth/oidc/login?next=/launch"))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), StatusCode::SEE_OTHER);
    assert_eq!(start.headers()["location"], "/login?failed=unreachable");

    // Local mode has no OIDC routes.
    let local = TestApp::with_roles().await;
    let none = no_redirects
        .get(local.url("/auth/oidc/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_body_of_unknown_length_is_cut_at_the_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::with_roles().await;
    // Chunked: no Content-Length to refuse early, 1 MiB sent in 64 KiB chunks.
    for (path, content_type) in [
        ("/api/login", "application/x-www-form-urlencoded"),
        ("/api/v1/groups/ml/images", "application/json"),
    ] {
        let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
             Content-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n",
            addr = app.addr
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
        for _ in 0..16 {
            if stream.write_all(chunk.as_bytes()).await.is_err() {
                break; // Kiln answered and closed.
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
        let mut answer = vec![0u8; 8192];
        let n = stream.read(&mut answer).await.unwrap_or(0);
        let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
        assert!(answer.starts_with("HTTP/1.1 413"), "{path}: {answer}");
        assert!(answer.contains("too_large"), "{path}: {answer}");
    }
}

/// Posts the language switch as a browser without JavaScript would.
async fn switch_language(app: &TestApp, lang: &str, next: &str) -> reqwest::Response {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(app.url("/api/language"))
        .header("accept", "text/html")
        .header("origin", format!("http://{}", app.addr))
        .form(&[("lang", lang), ("next", next)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_language_switch_remembers_a_known_language_and_stays_on_this_site() {
    let app = TestApp::with_roles().await;
    let answer = switch_language(&app, "zh-TW", "/groups/ml/images?q=x").await;
    assert_eq!(answer.status(), StatusCode::FOUND);
    assert_eq!(answer.headers()["location"], "/groups/ml/images?q=x");
    let cookie = answer.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("kiln_lang=zh-TW;"), "{cookie}");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    // Another site is never where the switch goes.
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ] {
        let answer = switch_language(&app, "en", next).await;
        assert_eq!(answer.headers()["location"], "/", "{next}");
    }
    // A language this UI does not speak is refused, and nothing is remembered.
    // (Without JavaScript a refused form goes back where it came from, not to `next`.)
    let answer = switch_language(&app, "klingon", "/somewhere").await;
    assert!(answer.headers().get("set-cookie").is_none());
    assert_ne!(answer.headers()["location"], "/somewhere");
}

/// The body as sent, and its `content-encoding`.
async fn fetch_encoded(
    client: &reqwest::Client,
    url: &str,
    accept_encoding: Option<&str>,
) -> (Option<String>, Vec<u8>) {
    let mut request = client
        .get(url)
        .header("accept", "text/html, application/json");
    if let Some(accepted) = accept_encoding {
        request = request.header("accept-encoding", accepted);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    assert!(
        response.headers()["vary"]
            .to_str()
            .unwrap()
            .contains("accept-encoding"),
        "{url}"
    );
    let encoding = response
        .headers()
        .get("content-encoding")
        .map(|v| v.to_str().unwrap().to_owned());
    (encoding, response.bytes().await.unwrap().to_vec())
}

fn decode(encoding: &str, body: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    match encoding {
        "gzip" => flate2::read::GzDecoder::new(body)
            .read_to_end(&mut out)
            .unwrap(),
        "br" => brotli_decompressor::Decompressor::new(body, 4096)
            .read_to_end(&mut out)
            .unwrap(),
        other => panic!("unexpected encoding {other}"),
    };
    out
}

#[tokio::test]
async fn pages_and_json_are_compressed_as_the_client_accepts_and_a_live_log_is_not() {
    let app = TestApp::with_roles().await;
    let admin = app.signed_in("g-admin").await;
    // A list worth compressing: twenty images.
    let ml = app::backend::groups::find(&app.db, "ml")
        .await
        .unwrap()
        .unwrap();
    for n in 0..20 {
        let form = app::domain::ImageForm {
            display_name: format!("notebook-{n}"),
            image_type: "universal".into(),
            url: format!("registry.example/notebook-{n}:1"),
            ..Default::default()
        };
        app::backend::images::create(
            &mut *app::backend::db::testing::conn(&app.db).await,
            app::backend::images::Scope::Group(ml.id),
            &form.validate().unwrap(),
            None,
        )
        .await
        .unwrap();
    }
    for path in [
        "/groups/ml/images",
        "/api/v1/groups/ml/images",
        "/api/openapi.json",
    ] {
        let url = app.url(path);
        // Not asked for (or only `identity`): the plain body.
        let (encoding, plain) = fetch_encoded(&admin, &url, None).await;
        assert_eq!(encoding, None, "{path}");
        let (encoding, identity) = fetch_encoded(&admin, &url, Some("identity")).await;
        assert_eq!(encoding, None, "{path}");
        assert_eq!(identity.len(), plain.len(), "{path}");
        // Asked for: the encoding the client prefers (brotli over gzip when both), smaller,
        // and the same answer once decoded.
        for (accepted, expected) in [("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br")] {
            let (encoding, body) = fetch_encoded(&admin, &url, Some(accepted)).await;
            assert_eq!(
                encoding.as_deref(),
                Some(expected),
                "{path} with {accepted}"
            );
            assert!(
                body.len() * 2 < plain.len(),
                "{path} with {accepted}: {} bytes of {}",
                body.len(),
                plain.len()
            );
            let decoded = decode(expected, &body);
            if path.starts_with("/api/") {
                let decoded: serde_json::Value = serde_json::from_slice(&decoded).unwrap();
                let plain: serde_json::Value = serde_json::from_slice(&plain).unwrap();
                assert_eq!(decoded, plain, "{path}");
            } else {
                let html = String::from_utf8(decoded).unwrap();
                assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
                assert!(html.contains("Images"), "{html}");
            }
        }
    }

    // A live log, asked for by a client that accepts compression: sent as it is, each
    // event when it happens (an encoder would hold a short line back).
    let ml = app::backend::groups::find(&app.db, "ml")
        .await
        .unwrap()
        .unwrap();
    let (_, id) = app
        .queued_build(app::backend::images::Scope::Group(ml.id))
        .await;
    let mut events = admin
        .get(app.url(&format!("/api/v1/builds/{id}/log")))
        .header("accept", "text/event-stream")
        .header("accept-encoding", "gzip, deflate, br")
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    assert!(
        events.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert_eq!(events.headers().get("content-encoding"), None);
    app::backend::builds::append_log(&app.db, id, 1, "a line, live\n")
        .await
        .unwrap();
    let mut seen = String::new();
    let arrived = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while !seen.contains("data: a line, live") {
            let chunk = events.chunk().await.unwrap().expect("the stream ended");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    assert!(
        arrived.is_ok(),
        "the line did not arrive as it was written: {seen:?}"
    );
}
