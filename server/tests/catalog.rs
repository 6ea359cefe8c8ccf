//! The image catalog over HTTP: who may do what to which group's images, bad input, and
//! edits on stale copies. Every refusal leaves the database as it was.

mod common;

use app::backend::images::{self, Scope};
use app::backend::{audit, credentials, groups};
use app::domain::ListQuery;
use common::TestApp;
use reqwest::StatusCode;

fn image_form<'a>(
    group: Option<&'a str>,
    display: &'a str,
    url: &'a str,
) -> Vec<(&'static str, &'a str)> {
    let mut form = vec![
        ("image[display_name]", display),
        ("image[description]", "A test image"),
        ("image[image_type]", "cpu"),
        ("image[url]", url),
    ];
    if let Some(g) = group {
        form.push(("group", g));
    }
    form
}

async fn count(app: &TestApp, scope: Scope) -> i64 {
    images::list(&app.db, scope, &ListQuery::default())
        .await
        .unwrap()
        .total
}

async fn ml(app: &TestApp) -> Scope {
    Scope::Group(groups::require(&app.db, "ml").await.unwrap().id)
}

#[tokio::test]
async fn a_group_admin_creates_edits_and_deletes_an_image_of_their_group() {
    let app = TestApp::with_roles().await;
    let admin = app.signed_in("g-admin").await;
    let res = app
        .call(
            &admin,
            "create_image",
            &image_form(Some("ml"), "tf-2.3", "tensorflow/tensorflow:2.3.0"),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let stored = images::require(&app.db, ml(&app).await, "tf-2-3")
        .await
        .unwrap();
    assert_eq!(
        (stored.display_name.as_str(), stored.gpu_url.as_str()),
        ("tf-2.3", "tensorflow/tensorflow:2.3.0")
    );

    let version = stored.version.to_string();
    let mut edit = image_form(Some("ml"), "tf-2.3", "tensorflow/tensorflow:2.3.1");
    edit.extend([("name", "tf-2-3"), ("version", version.as_str())]);
    assert_eq!(
        app.call(&admin, "update_image", &edit).await.status(),
        StatusCode::OK
    );
    // The same edit again comes from a stale copy (the version moved on).
    let stale = app.call(&admin, "update_image", &edit).await;
    assert_eq!(stale.status(), StatusCode::CONFLICT);
    assert!(
        stale
            .text()
            .await
            .unwrap()
            .contains("changed by someone else")
    );

    let res = app
        .call(
            &admin,
            "delete_image",
            &[("group", "ml"), ("name", "tf-2-3")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(count(&app, ml(&app).await).await, 0);
    let actions: Vec<_> = audit::recent(&app.db, 3)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(actions, ["image.delete", "image.update", "image.create"]);
}

#[tokio::test]
async fn nobody_else_reads_changes_or_creates_a_groups_images() {
    let app = TestApp::with_roles().await;
    let admin = app.signed_in("g-admin").await;
    app.call(
        &admin,
        "create_image",
        &image_form(Some("ml"), "tf", "tensorflow/tensorflow:2"),
    )
    .await;

    for user in ["loner", "member", "h-admin"] {
        let client = app.signed_in(user).await;
        let create = app
            .call(
                &client,
                "create_image",
                &image_form(Some("ml"), "evil", "evil/evil:1"),
            )
            .await;
        assert_eq!(
            create.status(),
            StatusCode::FORBIDDEN,
            "{user} creating in ml"
        );
        let read = app
            .call(&client, "get_image", &[("group", "ml"), ("name", "tf")])
            .await;
        assert_eq!(
            read.status(),
            StatusCode::FORBIDDEN,
            "{user} reading ml's image"
        );
        let mut edit = image_form(Some("ml"), "tf", "evil/evil:1");
        edit.extend([("name", "tf"), ("version", "1")]);
        assert_eq!(
            app.call(&client, "update_image", &edit).await.status(),
            StatusCode::FORBIDDEN,
            "{user} editing"
        );
        let delete = app
            .call(&client, "delete_image", &[("group", "ml"), ("name", "tf")])
            .await;
        assert_eq!(delete.status(), StatusCode::FORBIDDEN, "{user} deleting");
    }
    let stored = images::require(&app.db, ml(&app).await, "tf")
        .await
        .unwrap();
    assert_eq!(
        (stored.url.as_str(), stored.version),
        ("tensorflow/tensorflow:2", 1)
    );
    assert_eq!(count(&app, ml(&app).await).await, 1);

    let anonymous = app.client();
    let res = app
        .call(
            &anonymous,
            "delete_image",
            &[("group", "ml"), ("name", "tf")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_input_names_the_field_and_stores_nothing() {
    let app = TestApp::with_roles().await;
    let admin = app.signed_in("g-admin").await;
    for (display, url, field) in [
        ("TF", "tensorflow/tensorflow:2", "display_name"),
        ("tf", "tensorflow/tensorflow:2\nRUN id", "url"),
        ("tf;rm -rf /", "tensorflow/tensorflow:2", "display_name"),
        ("tf", "", "url"),
    ] {
        let res = app
            .call(
                &admin,
                "create_image",
                &image_form(Some("ml"), display, url),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{display:?} {url:?}"
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["Invalid"]["field"], field, "{body}");
    }
    let mut typed = image_form(Some("ml"), "tf", "tensorflow/tensorflow:2");
    typed[2] = ("image[image_type]", "both");
    let body: serde_json::Value = app
        .call(&admin, "create_image", &typed)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["Invalid"]["message"], "must be cpu, gpu or universal");
    assert_eq!(count(&app, ml(&app).await).await, 0);
}

#[tokio::test]
async fn a_pull_secret_must_be_granted_to_the_group() {
    let app = TestApp::with_roles().await;
    let new = credentials::NewCredential {
        name: "ghcr",
        registry: "ghcr.io",
        username: "bot",
        password: "s3cret",
    };
    app::ops::credentials::create(&app.operator(), &new, &[])
        .await
        .unwrap();
    let admin = app.signed_in("g-admin").await;
    let mut form = image_form(Some("ml"), "private", "ghcr.io/acme/private:1");
    form.extend([
        ("image[use_pull_secret]", "on"),
        ("image[pull_secret]", "ghcr"),
    ]);

    let refused = app.call(&admin, "create_image", &form).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().await.unwrap().contains("pull_secret"));

    app::ops::credentials::set_groups(&app.operator(), "ghcr", &["ml".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        app.call(&admin, "create_image", &form).await.status(),
        StatusCode::OK
    );
    let ml_id = groups::require(&app.db, "ml").await.unwrap().id;
    let id = credentials::require(&app.db, "ghcr").await.unwrap().id;
    let stored = images::require(&app.db, Scope::Group(ml_id), "private")
        .await
        .unwrap();
    assert_eq!(stored.credential_id, Some(id));

    let choices: Vec<String> = app
        .call(&admin, "pull_secret_choices", &[("group", "ml")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(choices, ["ghcr"]);
}

#[tokio::test]
async fn global_images_are_for_system_admins() {
    let app = TestApp::with_roles().await;
    let admin = app.signed_in("g-admin").await;
    let res = app
        .call(
            &admin,
            "create_image",
            &image_form(None, "base", "debian:12"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let root = app.signed_in("root").await;
    assert_eq!(
        app.call(
            &root,
            "create_image",
            &image_form(None, "base", "debian:12")
        )
        .await
        .status(),
        StatusCode::OK
    );
    assert_eq!(count(&app, Scope::Global).await, 1);
    assert_eq!(
        count(&app, ml(&app).await).await,
        0,
        "a global image belongs to no group"
    );
}

#[tokio::test]
async fn credential_passwords_never_come_back() {
    let app = TestApp::with_roles().await;
    let root = app.signed_in("root").await;
    let form = [
        ("name", "ghcr"),
        ("registry", "ghcr.io"),
        ("username", "bot"),
        ("password", "s3cret-token"),
        ("groups[]", "ml"),
    ];
    assert_eq!(
        app.call(&root, "create_credential", &form).await.status(),
        StatusCode::OK
    );
    let page = app
        .call(&root, "credentials_overview", &[])
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("ghcr.io") && page.contains("\"ml\""),
        "{page}"
    );
    assert!(!page.contains("s3cret-token"));
    let html = app
        .page(&root, "/admin/credentials")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("s3cret-token"));

    let admin = app.signed_in("g-admin").await;
    assert_eq!(
        app.call(&admin, "credentials_overview", &[]).await.status(),
        StatusCode::FORBIDDEN
    );
}
