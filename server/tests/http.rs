//! Black-box tests of the running server: probes, sign-in, permissions, cross-site refusal.

mod common;

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
        ..AuthSettings::local()
    })
    .await;
    assert_eq!(me(&untrusting).await, serde_json::Value::Null);
}
