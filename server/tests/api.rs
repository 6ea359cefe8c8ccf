//! The REST API v1 over real HTTP on a real database: every route for every kind of caller,
//! strict bodies, tokens, and the launch list following changes at once.

mod common;

use app::backend::builds;
use app::backend::db::testing::conn;
use app::backend::images::{self, Scope};
use app::backend::{base_updates, groups, users};
use app::domain::{ImageForm, Role};
use app::ops::tokens;
use common::TestApp;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// Every kind of caller the API knows.
const CALLERS: [&str; 8] = [
    "anonymous",
    "member",
    "admin of another group",
    "group admin",
    "system admin",
    "read token",
    "write token of the group admin",
    "read token of the group admin",
];

struct Api {
    app: TestApp,
    clients: Vec<(&'static str, Client)>,
}

impl Api {
    /// Groups `ml` and `ml-team` with their people (see `TestApp::with_roles`), and one client
    /// per caller.
    async fn start() -> Api {
        Api::on(TestApp::with_roles().await).await
    }

    /// [`Api::start`] on `app` (which has the people of `TestApp::add_roles`).
    async fn on(app: TestApp) -> Api {
        let op = app.operator();
        let read = tokens::create(&op, "hub", "read", None, "").await.unwrap();
        let write = tokens::create(&op, "script", "write", Some("g-admin"), "")
            .await
            .unwrap();
        let read_bound = tokens::create(&op, "report", "read", Some("g-admin"), "")
            .await
            .unwrap();
        let mut clients = Vec::new();
        for who in CALLERS {
            let client = match who {
                "anonymous" => app.client(),
                "member" => app.signed_in("member").await,
                "admin of another group" => app.signed_in("h-admin").await,
                "group admin" => app.signed_in("g-admin").await,
                "system admin" => app.signed_in("root").await,
                "read token" => app.bearer(&read),
                "write token of the group admin" => app.bearer(&write),
                _ => app.bearer(&read_bound),
            };
            clients.push((who, client));
        }
        Api { app, clients }
    }

    fn client(&self, who: &str) -> &Client {
        &self.clients.iter().find(|(w, _)| *w == who).unwrap().1
    }

    async fn send(
        &self,
        who: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client(who).request(method, self.app.url(path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A registered image in `scope`, named uniquely, for one request to act on.
    async fn image(&self, scope: Scope) -> String {
        let name = format!("img-{}", app::backend::random_hex(4));
        let form = ImageForm {
            display_name: name.clone(),
            image_type: "universal".into(),
            url: format!("registry.example/{name}:1"),
            ..ImageForm::default()
        };
        images::create(
            &mut *conn(&self.app.db).await,
            scope,
            &form.validate().unwrap(),
            None,
        )
        .await
        .unwrap();
        name
    }

    /// A custom image of `scope` with one queued build; returns the image name and build id.
    async fn queued_build(&self, scope: Scope) -> (String, i64) {
        self.app.queued_build(scope).await
    }

    async fn group_id(&self, name: &str) -> i64 {
        groups::find(&self.app.db, name).await.unwrap().unwrap().id
    }
}

fn new_image(display_name: &str) -> Value {
    json!({"display_name": display_name, "type": "cpu", "url": format!("registry.example/{display_name}:1")})
}

/// Expected statuses: for callers who may manage the group's images, those who may only
/// read it, and everyone else.
fn group_rule(who: &str, ok: u16, read_only: bool) -> u16 {
    match who {
        "anonymous" => 401,
        "group admin" | "system admin" | "write token of the group admin" => ok,
        "read token of the group admin" if read_only => ok,
        _ => 403,
    }
}

fn global_rule(who: &str, ok: u16) -> u16 {
    match who {
        "anonymous" => 401,
        "system admin" => ok,
        _ => 403,
    }
}

#[tokio::test]
async fn every_route_answers_each_caller_by_the_policy() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let mut failures = Vec::new();
    for who in CALLERS {
        let group_image = api.image(ml).await;
        let global_image = api.image(Scope::Global).await;
        let (built, build) = api.queued_build(ml).await;
        let (_, cancellable) = api.queued_build(ml).await;
        let (global_built, _) = api.queued_build(Scope::Global).await;
        let version = json!({"version": 1, "description": "edited"});
        let cases: Vec<(Method, String, Option<Value>, u16)> = vec![
            (
                Method::GET,
                "/api/v1/groups/ml/images".into(),
                None,
                group_rule(who, 200, true),
            ),
            (
                Method::POST,
                "/api/v1/groups/ml/images".into(),
                Some(new_image(&format!("new-{}", who.len()))),
                group_rule(who, 201, false),
            ),
            (
                Method::GET,
                format!("/api/v1/groups/ml/images/{group_image}"),
                None,
                group_rule(who, 200, true),
            ),
            (
                Method::PATCH,
                format!("/api/v1/groups/ml/images/{group_image}"),
                Some(version.clone()),
                group_rule(who, 200, false),
            ),
            (
                Method::PUT,
                format!("/api/v1/groups/ml/images/{group_image}/deprecation"),
                Some(json!({"retire_on": "2999-01-01"})),
                group_rule(who, 200, false),
            ),
            (
                Method::POST,
                format!("/api/v1/groups/ml/images/{group_image}/retire"),
                None,
                group_rule(who, 200, false),
            ),
            (
                Method::POST,
                format!("/api/v1/groups/ml/images/{group_image}/restore"),
                None,
                group_rule(who, 200, false),
            ),
            (
                Method::DELETE,
                format!("/api/v1/groups/ml/images/{group_image}"),
                None,
                group_rule(who, 204, false),
            ),
            (
                Method::GET,
                "/api/v1/images".into(),
                None,
                global_rule(who, 200),
            ),
            (
                Method::POST,
                "/api/v1/images".into(),
                Some(new_image(&format!("global-{}", who.len()))),
                global_rule(who, 201),
            ),
            (
                Method::GET,
                format!("/api/v1/images/{global_image}"),
                None,
                global_rule(who, 200),
            ),
            (
                Method::PATCH,
                format!("/api/v1/images/{global_image}"),
                Some(version.clone()),
                global_rule(who, 200),
            ),
            (
                Method::PUT,
                format!("/api/v1/images/{global_image}/deprecation"),
                Some(json!({})),
                global_rule(who, 200),
            ),
            (
                Method::POST,
                format!("/api/v1/images/{global_image}/retire"),
                None,
                global_rule(who, 200),
            ),
            (
                Method::POST,
                format!("/api/v1/images/{global_image}/restore"),
                None,
                global_rule(who, 200),
            ),
            (
                Method::DELETE,
                format!("/api/v1/images/{global_image}"),
                None,
                global_rule(who, 204),
            ),
            (
                Method::GET,
                format!("/api/v1/groups/ml/images/{built}/builds"),
                None,
                group_rule(who, 200, true),
            ),
            // Builds are not set up in this Kiln: a permitted rebuild is refused naming it.
            (
                Method::POST,
                format!("/api/v1/groups/ml/images/{built}/builds"),
                Some(json!({"base_image": "registry.example/base:2"})),
                group_rule(who, 422, false),
            ),
            (
                Method::GET,
                format!("/api/v1/images/{global_built}/builds"),
                None,
                global_rule(who, 200),
            ),
            (
                Method::POST,
                format!("/api/v1/images/{global_built}/builds"),
                Some(json!({"base_image": "registry.example/base:2"})),
                global_rule(who, 422),
            ),
            // Before its first success an image has no base image status to answer with.
            (
                Method::GET,
                format!("/api/v1/groups/ml/images/{built}/base"),
                None,
                group_rule(who, 204, false),
            ),
            (
                Method::GET,
                format!("/api/v1/images/{global_built}/base"),
                None,
                global_rule(who, 204),
            ),
            (
                Method::PUT,
                format!("/api/v1/groups/ml/images/{built}/base"),
                Some(json!({"auto_rebuild": true})),
                group_rule(who, 204, false),
            ),
            (
                Method::POST,
                format!("/api/v1/groups/ml/images/{built}/base/check"),
                None,
                group_rule(who, 422, false),
            ),
            (
                Method::PUT,
                format!("/api/v1/images/{global_built}/base"),
                Some(json!({"auto_rebuild": false})),
                global_rule(who, 204),
            ),
            (
                Method::POST,
                format!("/api/v1/images/{global_built}/base/check"),
                None,
                global_rule(who, 422),
            ),
            (
                Method::GET,
                "/api/v1/credentials".into(),
                None,
                global_rule(who, 200),
            ),
            (
                Method::POST,
                "/api/v1/credentials".into(),
                Some(
                    json!({"name": format!("cred-{}", who.len()), "registry": "registry.example",
                            "username": "robot", "password": "pw", "groups": ["ml"]}),
                ),
                global_rule(who, 201),
            ),
            (
                Method::PATCH,
                format!("/api/v1/credentials/cred-{}", who.len()),
                Some(json!({"password": "new-pw"})),
                match who {
                    "system admin" => 200,
                    other => global_rule(other, 404),
                },
            ),
            (
                Method::DELETE,
                format!("/api/v1/credentials/cred-{}", who.len()),
                None,
                match who {
                    "system admin" => 204,
                    other => global_rule(other, 404),
                },
            ),
            (
                Method::GET,
                "/api/v1/groups/ml/members".into(),
                None,
                group_rule(who, 200, false),
            ),
            (
                Method::PUT,
                "/api/v1/groups/ml/members/loner".into(),
                Some(json!({"role": "member"})),
                group_rule(who, 200, false),
            ),
            (
                Method::DELETE,
                "/api/v1/groups/ml/members/loner".into(),
                None,
                group_rule(who, 204, false),
            ),
            (
                Method::PATCH,
                "/api/v1/users/loner".into(),
                Some(json!({"disabled": false})),
                global_rule(who, 204),
            ),
            // One's own password, by session only (the wrong current one: nothing changes).
            (
                Method::PUT,
                "/api/v1/me/password".into(),
                Some(json!({"current_password": "wrong", "new_password": "long enough"})),
                match who {
                    "anonymous" => 401,
                    "member" | "admin of another group" | "group admin" | "system admin" => 422,
                    _ => 403,
                },
            ),
            (
                Method::GET,
                "/api/v1/groups".into(),
                None,
                global_rule(who, 200),
            ),
            (
                Method::POST,
                "/api/v1/groups".into(),
                Some(json!({"name": format!("made-{}", who.len())})),
                global_rule(who, 201),
            ),
            (
                Method::PATCH,
                format!("/api/v1/groups/made-{}", who.len()),
                Some(json!({"name": format!("renamed-{}", who.len())})),
                global_rule(who, 204),
            ),
            (
                Method::DELETE,
                format!("/api/v1/groups/renamed-{}", who.len()),
                None,
                global_rule(who, 204),
            ),
            // Clients are generated from it, by anyone.
            (Method::GET, "/api/openapi.json".into(), None, 200),
            (
                Method::GET,
                format!("/api/v1/builds/{build}"),
                None,
                group_rule(who, 200, true),
            ),
            (
                Method::GET,
                format!("/api/v1/builds/{build}/log"),
                None,
                group_rule(who, 200, true),
            ),
            // Who may read a build may ask for its SBOM: a queued one has none yet.
            (
                Method::GET,
                format!("/api/v1/builds/{build}/sbom"),
                None,
                group_rule(who, 409, true),
            ),
            (
                Method::POST,
                format!("/api/v1/builds/{cancellable}/cancel"),
                None,
                group_rule(who, 200, false),
            ),
            (
                Method::GET,
                "/api/v1/me/launchable-images".into(),
                None,
                match who {
                    "anonymous" => 401,
                    "read token" => 403,
                    _ => 200,
                },
            ),
            (
                Method::GET,
                "/api/v1/audit".into(),
                None,
                global_rule(who, 200),
            ),
            (
                Method::GET,
                "/api/v1/audit?group=ml&format=csv".into(),
                None,
                group_rule(who, 200, true),
            ),
            // One's own tokens: any user, by session or a token of theirs.
            (
                Method::GET,
                "/api/v1/me/tokens".into(),
                None,
                match who {
                    "anonymous" => 401,
                    "read token" => 403,
                    _ => 200,
                },
            ),
            // Revoking one's own: not by a read token; a name that is not one's own is not found.
            (
                Method::DELETE,
                "/api/v1/me/tokens/someone-elses".into(),
                None,
                match who {
                    "anonymous" => 401,
                    "read token" | "read token of the group admin" => 403,
                    _ => 404,
                },
            ),
            (
                Method::GET,
                "/api/v1/users/member/launchable-images".into(),
                None,
                match who {
                    "anonymous" => 401,
                    "member" | "system admin" => 200,
                    // A launch page's backend asks for whoever launches; a write token
                    // acts as its user only.
                    "read token" | "read token of the group admin" => 200,
                    _ => 403,
                },
            ),
        ];
        for (method, path, body, expected) in cases {
            let (status, answer) = api.send(who, method.clone(), &path, body).await;
            if status.as_u16() != expected {
                failures.push(format!(
                    "{who}: {method} {path} gave {status}, expected {expected}: {answer}"
                ));
            }
            if !status.is_success() {
                // Every refusal is the API's JSON error, with a message to show.
                let message = answer["error"]["message"].as_str().unwrap_or_default();
                if message.is_empty() || answer["error"]["code"].as_str().is_none() {
                    failures.push(format!(
                        "{who}: {method} {path}: not a JSON error: {answer}"
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn refusals_say_why_in_the_words_the_pages_use() {
    let api = Api::start().await;
    let (status, body) = api
        .send("anonymous", Method::GET, "/api/v1/groups/ml/images", None)
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (401, Some("unauthenticated"))
    );
    let (status, body) = api
        .send("member", Method::GET, "/api/v1/groups/ml/images", None)
        .await;
    assert_eq!(status, 403);
    assert_eq!(
        body["error"]["message"],
        "Only the group admins of group ml can manage its images. You are a member; ask one of its admins."
    );
    let (_, body) = api
        .send(
            "read token of the group admin",
            Method::POST,
            "/api/v1/groups/ml/images",
            Some(new_image("x")),
        )
        .await;
    assert_eq!(
        body["error"]["message"],
        "This token has the read scope; it cannot change anything."
    );
    let (status, body) = api
        .send(
            "system admin",
            Method::GET,
            "/api/v1/groups/nope/images",
            None,
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["message"].as_str()),
        (404, Some("There is no group nope."))
    );
    let (status, body) = api
        .send("group admin", Method::GET, "/api/v1/no-such-route", None)
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
}

#[tokio::test]
async fn bad_bodies_get_a_clear_4xx_naming_the_field_and_store_nothing() {
    let api = Api::start().await;
    let ml = api.group_id("ml").await;
    let before = images::list(&api.app.db, Scope::Group(ml), &Default::default())
        .await
        .unwrap()
        .total;
    let admin = "group admin";
    let post = |body: Value| api.send(admin, Method::POST, "/api/v1/groups/ml/images", Some(body));

    let (status, body) = post(json!({"display_name": 5, "type": "cpu", "url": "r/x:1"})).await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (400, Some("display_name")),
        "{body}"
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("invalid type"),
        "{body}"
    );

    let (status, body) =
        post(json!({"display_name": "x", "type": "cpu", "url": "r/x:1", "colour": "red"})).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `colour`"),
        "{body}"
    );

    let (status, body) = post(json!({"type": "cpu", "url": "r/x:1"})).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing field `display_name`"),
        "{body}"
    );

    for (display_name, url, field) in [
        ("x; rm -rf /", "r/x:1", "display_name"),
        ("ok-name", "r/x:1$(reboot)", "url"),
        ("ok-name", "r/x:1\nFROM evil", "url"),
        ("tor\u{0441}h", "r/x:1", "display_name"),
        (&"a".repeat(10_000), "r/x:1", "display_name"),
    ] {
        let (status, body) =
            post(json!({"display_name": display_name, "type": "cpu", "url": url})).await;
        assert_eq!(
            (status.as_u16(), body["error"]["field"].as_str()),
            (422, Some(field)),
            "{body}"
        );
    }
    let (status, body) = post(json!({"display_name": "x", "type": "tpu", "url": "r/x:1"})).await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (422, Some("type")),
        "{body}"
    );

    let (status, body) = post(json!({"display_name": "x", "type": "cpu", "build": {"base_image": "r/b:1", "apt": ["curl\nrm"]}})).await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (400, Some("build.apt[0]")),
        "{body}"
    );

    // A broken rule inside `build` is named as the body has it.
    for (build, field) in [
        (
            json!({"base_image": "r/b:1", "apt": ["curl", "not a package!"]}),
            "build.apt",
        ),
        (
            json!({"base_image": "r/b:1 x", "pip": ["six"]}),
            "build.base_image",
        ),
        (json!({"base_image": "r/b:1"}), "build.packages"),
        (
            json!({"base_image": "r/b:1", "pip": ["six"], "pull_secret": "nope"}),
            "build.pull_secret",
        ),
    ] {
        let (status, body) =
            post(json!({"display_name": "x", "type": "cpu", "build": build})).await;
        assert_eq!(
            (status.as_u16(), body["error"]["field"].as_str()),
            (422, Some(field)),
            "{build}: {body}"
        );
    }

    let raw = api
        .client(admin)
        .post(api.app.url("/api/v1/groups/ml/images"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let text = api
        .client(admin)
        .post(api.app.url("/api/v1/groups/ml/images"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(text.status(), 400);

    let (status, body) = api
        .send(
            admin,
            Method::GET,
            "/api/v1/groups/ml/images?sort=colour",
            None,
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (400, Some("sort"))
    );
    let (status, _) = api
        .send(admin, Method::GET, "/api/v1/groups/ml/images?page=x", None)
        .await;
    assert_eq!(status, 400);
    let (status, body) = api
        .send(
            "member",
            Method::GET,
            "/api/v1/me/launchable-images?accelerator=tpu",
            None,
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["field"].as_str()),
        (400, Some("accelerator"))
    );

    let after = images::list(&api.app.db, Scope::Group(ml), &Default::default())
        .await
        .unwrap()
        .total;
    assert_eq!(before, after, "nothing was stored");
}

#[tokio::test]
async fn bad_edits_and_rebuild_specs_are_refused_naming_the_field_and_change_nothing() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let admin = "group admin";
    let name = api.image(ml).await;
    let path = format!("/api/v1/groups/ml/images/{name}");
    let (_, stored) = api.send(admin, Method::GET, &path, None).await;
    let version = stored["version"].as_i64().unwrap();
    for (patch, status, field) in [
        (json!({"version": "one"}), 400, "version"),
        (json!({"description": "x"}), 400, ""),
        (json!({"version": version, "colour": "red"}), 400, ""),
        (json!({"version": version, "url": 7}), 400, "url"),
        (
            json!({"version": version, "url": "r/x:1$(reboot)"}),
            422,
            "url",
        ),
        (json!({"version": version, "type": "tpu"}), 422, "type"),
        (
            json!({"version": version, "display_name": "a; rm -rf /"}),
            422,
            "display_name",
        ),
    ] {
        let (got, body) = api
            .send(admin, Method::PATCH, &path, Some(patch.clone()))
            .await;
        assert_eq!(got.as_u16(), status, "{patch}: {body}");
        if !field.is_empty() {
            assert_eq!(body["error"]["field"], field, "{patch}: {body}");
        }
    }
    let (_, now) = api.send(admin, Method::GET, &path, None).await;
    assert_eq!(now, stored, "no edit was stored");

    let (built, _) = api.queued_build(ml).await;
    let builds = format!("/api/v1/groups/ml/images/{built}/builds");
    for (spec, field) in [
        (json!({"base_image": 5}), "base_image"),
        (json!({"apt": ["curl"]}), ""),
        (
            json!({"base_image": "r/b:1", "pip": ["six\nrm -rf /"]}),
            "pip[0]",
        ),
        (json!({"base_image": "r/b:1", "conda": "numpy"}), "conda"),
        (json!({"base_image": "r/b:1", "dockerfile": "RUN x"}), ""),
    ] {
        let (got, body) = api
            .send(admin, Method::POST, &builds, Some(spec.clone()))
            .await;
        assert_eq!(got, 400, "{spec}: {body}");
        if !field.is_empty() {
            assert_eq!(body["error"]["field"], field, "{spec}: {body}");
        }
    }
    let (_, history) = api.send(admin, Method::GET, &builds, None).await;
    assert_eq!(
        history["builds"].as_array().unwrap().len(),
        1,
        "nothing was queued"
    );
}

#[tokio::test]
async fn images_are_created_read_edited_with_their_version_and_deleted() {
    let api = Api::start().await;
    let admin = "write token of the group admin";
    let (status, created) = api
        .send(
            admin,
            Method::POST,
            "/api/v1/groups/ml/images",
            Some(json!({
                "display_name": "torch-2.1", "description": "PyTorch", "type": "universal",
                "url": "registry.example/torch:2.1", "gpu_url": "registry.example/torch-gpu:2.1"
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["name"], "torch-2-1");
    assert_eq!(created["owner"], json!({"group": "ml"}));
    assert_eq!(created["gpu_url"], "registry.example/torch-gpu:2.1");
    let version = created["version"].as_i64().unwrap();

    let (_, page) = api
        .send(
            admin,
            Method::GET,
            "/api/v1/groups/ml/images?q=pytorch",
            None,
        )
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["images"][0]["name"], "torch-2-1");

    let path = "/api/v1/groups/ml/images/torch-2-1";
    let (status, edited) = api
        .send(
            admin,
            Method::PATCH,
            path,
            Some(json!({"version": version, "gpu_url": null, "description": "Torch"})),
        )
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["gpu_url"], Value::Null);
    assert_eq!(edited["description"], "Torch");
    assert_eq!(
        edited["url"], "registry.example/torch:2.1",
        "unsent properties stay"
    );

    // A second edit on the old version is refused and overwrites nothing.
    let (status, stale) = api
        .send(
            admin,
            Method::PATCH,
            path,
            Some(json!({"version": version, "description": "lost"})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), stale["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    let (_, now) = api.send(admin, Method::GET, path, None).await;
    assert_eq!(now["description"], "Torch");

    let (status, _) = api.send(admin, Method::DELETE, path, None).await;
    assert_eq!(status, 204);
    let (status, _) = api.send(admin, Method::GET, path, None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once() {
    let api = Api::start().await;
    let (status, _) = api
        .send(
            "read token",
            Method::GET,
            "/api/v1/users/member/launchable-images",
            None,
        )
        .await;
    assert_eq!(status, 200);
    tokens::revoke(&api.app.operator(), "hub").await.unwrap();
    let (status, body) = api
        .send(
            "read token",
            Method::GET,
            "/api/v1/users/member/launchable-images",
            None,
        )
        .await;
    assert_eq!(
        (status.as_u16(), body["error"]["code"].as_str()),
        (401, Some("bad_token"))
    );
    assert_eq!(
        body["error"]["message"],
        "The service token is unknown or was revoked."
    );
    let (status, _) = api
        .send(
            "anonymous",
            Method::GET,
            "/api/v1/me/launchable-images",
            None,
        )
        .await;
    assert_eq!(status, 401);
    let made_up = api.app.bearer("kiln_0123");
    let response = made_up
        .get(api.app.url("/api/v1/me/launchable-images"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

/// Launch answers may come from a counter read begun up to `KILN_LAUNCH_MAX_STALENESS`
/// before the request (an hour here, to show it): another replica's change waits for that,
/// while what a request to this replica changed is in the next answer at once.
#[tokio::test]
async fn what_a_request_to_this_replica_changed_is_seen_at_once_however_stale_answers_may_be() {
    let db = app::backend::db::testing::fresh_db()
        .await
        .with_max_staleness(std::time::Duration::from_secs(3600));
    let app = TestApp::spawn_with(
        app::backend::identity::AuthSettings::local(),
        app::backend::builder::BuildQueue::disabled("No builder here."),
        db,
    )
    .await;
    let api = Api::on(TestApp::add_roles(app).await).await;
    let token = tokens::create(&api.app.operator(), "notebook", "read", Some("member"), "")
        .await
        .unwrap();
    let notebook = api.app.bearer(&token);
    let list = || async {
        let response = notebook
            .get(api.app.url("/api/v1/me/launchable-images"))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap_or_default();
        let names: Vec<String> = body["images"]
            .as_array()
            .map(|images| {
                images
                    .iter()
                    .map(|i| i["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        (status.as_u16(), names)
    };
    assert_eq!(list().await, (200, vec![]));

    // Written straight to the database, as another replica would: not seen yet.
    let elsewhere = api.image(Scope::Group(api.group_id("ml").await)).await;
    assert_eq!(list().await, (200, vec![]), "answered from the last read");

    // A group admin's request to this replica: seen at once, with the other change.
    let (status, made) = api
        .send(
            "group admin",
            Method::POST,
            "/api/v1/groups/ml/images",
            Some(new_image("made-here")),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let (status, mut names) = list().await;
    names.sort();
    let mut expected = vec![made["name"].as_str().unwrap().to_owned(), elsewhere];
    expected.sort();
    assert_eq!((status, names), (200, expected));

    // The member revokes the token through this replica: refused at once.
    let (status, _) = api
        .send("member", Method::DELETE, "/api/v1/me/tokens/notebook", None)
        .await;
    assert_eq!(status, 204);
    assert_eq!(list().await, (401, vec![]));
}

#[tokio::test]
async fn an_edit_or_a_membership_change_shows_in_the_launch_list_at_once() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let team = api.group_id("ml-team").await;
    let torch = api.image(ml).await;
    let other = api.image(Scope::Group(team)).await;
    let global = api.image(Scope::Global).await;
    let api = &api;
    let list = |query: &'static str| async move {
        let (status, body) = api
            .send(
                "read token",
                Method::GET,
                &format!("/api/v1/users/member/launchable-images{query}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    };
    let names = |body: &Value| -> Vec<String> {
        body["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = list("").await;
    let mut expected = vec![torch.clone(), global.clone()];
    expected.sort();
    assert_eq!(
        names(&first),
        expected,
        "global images and the member's group's, not ml-team's"
    );
    assert_eq!(first["images"][0]["available"], true);

    // A group admin edits an image: the next ask sees it.
    let path = format!("/api/v1/groups/ml/images/{torch}");
    let (_, stored) = api.send("group admin", Method::GET, &path, None).await;
    let patch = json!({"version": stored["version"], "type": "gpu"});
    let (status, _) = api
        .send("group admin", Method::PATCH, &path, Some(patch))
        .await;
    assert_eq!(status, 200);
    let on_cpu = list("?accelerator=cpu").await;
    let entry = on_cpu["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == torch.as_str())
        .unwrap();
    assert_eq!(
        (entry["available"].as_bool(), entry["url"].as_str()),
        (Some(false), None)
    );
    let on_gpu = list("?accelerator=gpu").await;
    let entry = on_gpu["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == torch.as_str())
        .unwrap();
    assert_eq!(entry["available"], true);

    // The member joins ml-team: its image is in the next answer.
    let member = users::find(&api.app.db, "member").await.unwrap().unwrap();
    groups::set_member(&mut *conn(&api.app.db).await, team, member.id, Role::Member)
        .await
        .unwrap();
    assert!(names(&list("").await).contains(&other));
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let api = Api::start().await;
    let (status, doc) = api
        .send("anonymous", Method::GET, "/api/openapi.json", None)
        .await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/api/v1/groups/{group}/images",
        "/api/v1/groups/{group}/images/{name}",
        "/api/v1/images",
        "/api/v1/images/{name}",
        "/api/v1/groups/{group}/images/{name}/builds",
        "/api/v1/builds/{id}",
        "/api/v1/builds/{id}/cancel",
        "/api/v1/builds/{id}/log",
        "/api/v1/builds/{id}/sbom",
        "/api/v1/groups/{group}/images/{name}/base",
        "/api/v1/groups/{group}/images/{name}/base/check",
        "/api/v1/me/launchable-images",
        "/api/v1/users/{user}/launchable-images",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
    for path in [
        "/api/v1/groups/{group}/images/{name}/base",
        "/api/v1/images/{name}/base",
    ] {
        for method in ["get", "put"] {
            assert!(
                doc["paths"][path][method].is_object(),
                "{method} {path} is documented"
            );
        }
    }
    for schema in [
        "Image",
        "NewImage",
        "ImagePatch",
        "Build",
        "LaunchList",
        "LaunchableImage",
        "ErrorBody",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} is documented"
        );
    }
    assert_eq!(
        doc["components"]["schemas"]["NewImage"]["additionalProperties"], false,
        "unknown properties are refused, and the document says so"
    );
}

#[tokio::test]
async fn a_token_is_created_only_where_its_secret_can_be_shown() {
    let api = Api::start().await;
    let root = api.app.signed_in("root").await;
    let before = tokens::list(&api.app.operator()).await.unwrap().len();
    // A plain HTML form post (JavaScript off) is answered with a redirect, which would
    // lose the secret: refused, nothing created.
    let plain = root
        .post(api.app.url("/api/create_token"))
        .header("origin", format!("http://{}", api.app.addr))
        .header("accept", "text/html")
        .form(&[("name", "lost"), ("scope", "read")])
        .send()
        .await
        .unwrap();
    assert!(!plain.status().is_success() || plain.status().is_redirection());
    assert_eq!(
        tokens::list(&api.app.operator()).await.unwrap().len(),
        before
    );
    // The page's script gets the secret in the answer.
    let answer = api
        .app
        .call(
            &root,
            "create_token",
            &[("name", "shown"), ("scope", "read")],
        )
        .await;
    assert_eq!(answer.status(), 200);
    let secret: String = answer.json().await.unwrap();
    assert!(secret.starts_with("kiln_"));
    assert_eq!(
        tokens::list(&api.app.operator()).await.unwrap().len(),
        before + 1
    );
}

#[tokio::test]
async fn a_long_log_downloads_whole_in_order() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let (_, id) = api.queued_build(ml).await;
    // More chunks than one read from the database brings: the download goes on batch by batch.
    let mut expected = String::new();
    for seq in 1..=300 {
        let text = format!("chunk {seq}: {}\n", "x".repeat(seq % 50));
        builds::append_log(&api.app.db, id, seq as i64, &text)
            .await
            .unwrap();
        expected.push_str(&text);
    }
    let response = api
        .client("group admin")
        .get(api.app.url(&format!("/api/v1/builds/{id}/log")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-disposition"],
        format!("attachment; filename=\"build-{id}.log\"").as_str()
    );
    assert_eq!(response.text().await.unwrap(), expected);
}

#[tokio::test]
async fn one_caller_may_follow_eight_live_logs_at_once_and_a_closed_one_frees_its_place() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let (_, id) = api.queued_build(ml).await;
    let admin = api.client("group admin");
    let open = || {
        admin
            .get(api.app.url(&format!("/api/v1/builds/{id}/log")))
            .header("accept", "text/event-stream")
            .send()
    };
    let mut streams = Vec::new();
    for _ in 0..8 {
        let stream = open().await.unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        streams.push(stream);
    }
    let ninth = open().await.unwrap();
    assert_eq!(ninth.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(ninth.headers().contains_key("retry-after"));
    let body: Value = ninth.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("following 8 live logs"),
        "{body}"
    );
    // Someone else is not counted against the admin.
    let root = api.client("system admin");
    let theirs = root
        .get(api.app.url(&format!("/api/v1/builds/{id}/log")))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.status(), StatusCode::OK);

    // A page closed: its place is free again once the server notices the stream is gone
    // (when it next writes to it: a new line of the log).
    drop(streams.pop());
    builds::append_log(&api.app.db, id, 1, "a new line\n")
        .await
        .unwrap();
    let mut reopened = None;
    for _ in 0..50 {
        let again = open().await.unwrap();
        if again.status() == StatusCode::OK {
            reopened = Some(again);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        reopened.is_some(),
        "the closed stream's place was not given back"
    );
}

#[tokio::test]
async fn a_user_sees_when_their_tokens_expire_and_were_used_and_revokes_one() {
    let api = Api::start().await;
    let op = api.app.operator();
    let notebook = tokens::create(&op, "notebook", "read", Some("member"), "90d")
        .await
        .unwrap();
    let old = tokens::create(&op, "old-laptop", "read", Some("member"), "")
        .await
        .unwrap();
    let use_token = |secret: &str| {
        api.app
            .client()
            .get(api.app.url("/api/v1/me/launchable-images"))
            .bearer_auth(secret.to_owned())
            .send()
    };
    assert_eq!(use_token(&notebook).await.unwrap().status(), 200);

    let (status, listed) = api
        .send("member", Method::GET, "/api/v1/me/tokens", None)
        .await;
    assert_eq!(status, 200, "{listed}");
    let listed = listed.as_array().unwrap();
    let names: Vec<&str> = listed.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["old-laptop", "notebook"],
        "only member's, newest first"
    );
    let notebook_row = &listed[1];
    assert_eq!(notebook_row["state"], "live");
    let expires = notebook_row["expires_at"].as_i64().unwrap();
    let created = notebook_row["created_at"].as_i64().unwrap();
    assert_eq!(expires - created, 90 * 86_400_000);
    assert!(notebook_row["last_used_at"].as_i64().unwrap() >= created);
    assert!(
        listed[0]["last_used_at"].is_null(),
        "old-laptop was never used"
    );
    assert!(listed[0]["expires_at"].is_null());

    // Revoking one's own: gone at once. Another user's token is not found.
    let (status, _) = api
        .send(
            "member",
            Method::DELETE,
            "/api/v1/me/tokens/old-laptop",
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(use_token(&old).await.unwrap().status(), 401);
    let (status, _) = api
        .send("member", Method::DELETE, "/api/v1/me/tokens/script", None)
        .await;
    assert_eq!(status, 404, "script is the group admin's");

    // Past its expiry (moved there in the database): 401 saying so, by name.
    sqlx::query("UPDATE service_tokens SET expires_at = 1000 WHERE name = 'notebook'")
        .execute(&api.app.db.pool)
        .await
        .unwrap();
    let expired = use_token(&notebook).await.unwrap();
    assert_eq!(expired.status(), 401);
    let body: Value = expired.json().await.unwrap();
    assert_eq!(body["error"]["code"], "token_expired");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("The service token notebook expired at 1970-01-01 00:00 UTC"),
        "{body}"
    );
    let (_, listed) = api
        .send("member", Method::GET, "/api/v1/me/tokens", None)
        .await;
    assert_eq!(listed[0]["state"], "expired");
}

#[tokio::test]
async fn a_group_admin_reads_and_downloads_their_groups_audit_entries_only() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    api.image(ml).await;
    let team = Scope::Group(api.group_id("ml-team").await);
    api.image(team).await;
    let (status, page) = api
        .send(
            "group admin",
            Method::GET,
            "/api/v1/audit?group=ml&limit=100",
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let targets: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["target"].as_str().unwrap())
        .collect();
    assert!(!targets.is_empty());
    assert!(
        targets
            .iter()
            .all(|t| *t == "group:ml" || t.starts_with("group:ml/")),
        "{targets:?}"
    );
    // ml-team's entries are not ml's, though the name starts the same.
    let (_, everything) = api
        .send(
            "system admin",
            Method::GET,
            "/api/v1/audit?limit=1000",
            None,
        )
        .await;
    assert!(
        everything["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["target"].as_str().unwrap().starts_with("group:ml-team"))
    );

    let (status, refused) = api
        .send(
            "group admin",
            Method::GET,
            "/api/v1/audit?group=ml&since=last-week",
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(refused["error"]["field"], "since");

    let csv = api
        .app
        .signed_in("g-admin")
        .await
        .get(
            api.app
                .url("/api/v1/audit?group=ml&format=csv&action=image."),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), 200);
    assert!(
        csv.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("kiln-audit.csv")
    );
    let csv = csv.text().await.unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("at,actor,action,target,detail"));
    assert!(lines.all(|l| l.contains(",image.")), "{csv}");

    let jsonl = api
        .app
        .signed_in("g-admin")
        .await
        .get(api.app.url("/api/v1/audit?group=ml&format=jsonl"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in jsonl.lines() {
        let entry: Value = serde_json::from_str(line).unwrap();
        assert!(entry["target"].as_str().unwrap().starts_with("group:ml"));
    }
    assert_eq!(jsonl.lines().count(), targets.len());
}

#[tokio::test]
async fn a_deprecated_image_names_its_successor_to_launch_pages_until_it_retires() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let old = api.image(ml).await;
    let new = api.image(ml).await;
    let global = api.image(Scope::Global).await;
    let launchable = || async {
        let (status, body) = api
            .send(
                "read token",
                Method::GET,
                "/api/v1/users/member/launchable-images",
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["images"].as_array().unwrap().clone()
    };
    let entry = |images: &[Value], name: &str| images.iter().find(|i| i["name"] == name).cloned();
    let deprecation = format!("/api/v1/groups/ml/images/{old}/deprecation");

    // Refusals name the field and change nothing.
    for (body, field, words) in [
        (
            json!({"successor": "nothing-here"}),
            "successor",
            "names no image",
        ),
        (json!({"successor": old}), "successor", "not this one"),
        (
            json!({"retire_on": "2020-01-01"}),
            "retire_on",
            "after today",
        ),
        (json!({"retire_on": "soon"}), "retire_on", "a date like"),
    ] {
        let (status, answer) = api
            .send("group admin", Method::PUT, &deprecation, Some(body.clone()))
            .await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["error"]["field"], field, "{answer}");
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
    }
    assert_eq!(
        entry(&launchable().await, &old).unwrap()["deprecated"],
        Value::Null
    );

    // Deprecated with a successor of its group: still offered, with the note.
    let (status, image) = api
        .send(
            "group admin",
            Method::PUT,
            &deprecation,
            Some(json!({"successor": new, "retire_on": "2999-01-01"})),
        )
        .await;
    assert_eq!(status, 200, "{image}");
    assert_eq!(image["deprecated"]["successor"]["name"], new.as_str());
    let listed = entry(&launchable().await, &old).expect("a deprecated image is still offered");
    assert_eq!(listed["available"], true);
    assert_eq!(listed["deprecated"]["successor"]["name"], new.as_str());
    assert_eq!(listed["deprecated"]["successor"]["owner"]["group"], "ml");
    assert_eq!(listed["deprecated"]["retire_at"], 32_472_144_000_000_i64);
    assert_eq!(
        listed["warning"],
        format!(
            "Deprecated — use {new} instead; it leaves the launch list on 2999-01-01 00:00 UTC."
        )
    );
    // The same warning coded, for a launch page in another language.
    assert_eq!(
        listed["warning_messages"],
        json!([{
            "message": listed["warning"],
            "code": "standing.deprecated_successor_until",
            "params": {"successor": new, "date": "2999-01-01 00:00 UTC"},
        }])
    );
    // A deprecated image succeeds nothing; a global image may succeed a group's.
    let (status, answer) = api
        .send(
            "group admin",
            Method::PUT,
            &format!("/api/v1/groups/ml/images/{new}/deprecation"),
            Some(json!({"successor": old})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), &answer["error"]["field"]),
        (422, &json!("successor"))
    );
    let (status, image) = api
        .send(
            "group admin",
            Method::PUT,
            &deprecation,
            Some(json!({"successor": global})),
        )
        .await;
    assert_eq!(status, 200, "{image}");
    assert_eq!(image["deprecated"]["successor"]["owner"], "system");

    // The retire date comes while the list is remembered: the next ask leaves it out.
    let soon = app::backend::now_ms() + 1_500;
    sqlx::query("UPDATE images SET retire_at = $1 WHERE name = $2")
        .bind(soon)
        .bind(&old)
        .execute(&api.app.db.pool)
        .await
        .unwrap();
    assert!(entry(&launchable().await, &old).is_some());
    tokio::time::sleep(std::time::Duration::from_millis(1_600)).await;
    assert!(
        entry(&launchable().await, &old).is_none(),
        "retired on its date"
    );
    let (_, catalog) = api
        .send("group admin", Method::GET, "/api/v1/groups/ml/images", None)
        .await;
    let kept = entry(catalog["images"].as_array().unwrap(), &old).expect("kept in the catalog");
    assert_eq!(kept["retired_at"], soon);

    // Restore: offered again, without a note; Retire now: gone at once.
    let (status, _) = api
        .send(
            "group admin",
            Method::POST,
            &format!("/api/v1/groups/ml/images/{old}/restore"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let restored = entry(&launchable().await, &old).unwrap();
    assert_eq!(
        (restored["deprecated"].clone(), restored["warning"].clone()),
        (Value::Null, Value::Null)
    );
    let (status, image) = api
        .send(
            "group admin",
            Method::POST,
            &format!("/api/v1/groups/ml/images/{new}/retire"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(image["retired_at"].is_i64());
    assert!(entry(&launchable().await, &new).is_none());

    let actions: Vec<String> = app::backend::audit::recent(&api.app.db, 4)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "image.retire",
            "image.restore",
            "image.deprecate",
            "image.deprecate"
        ]
    );
}

#[tokio::test]
async fn a_credential_gets_a_new_password_and_is_deleted_only_when_nothing_uses_it() {
    let api = Api::start().await;
    let new = json!({"name": "harbor", "registry": "harbor.example", "username": "robot",
                     "password": "first-pw", "groups": ["ml"]});
    let (status, body) = api
        .send(
            "system admin",
            Method::POST,
            "/api/v1/credentials",
            Some(new),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body,
        json!({"name": "harbor", "registry": "harbor.example",
                            "username": "robot", "groups": ["ml"]})
    );

    // Bad changes name the field and change nothing.
    for (patch, field) in [
        (json!({"username": "robot\u{7}"}), "username"),
        (json!({"groups": ["no-such-group"]}), "groups"),
        (json!({"username": "robot"}), "password"),
    ] {
        let (status, body) = api
            .send(
                "system admin",
                Method::PATCH,
                "/api/v1/credentials/harbor",
                Some(patch.clone()),
            )
            .await;
        assert_eq!(
            (status.as_u16(), &body["error"]["field"]),
            (422, &json!(field)),
            "{patch}: {body}"
        );
    }
    let key = &api.app.state.secret;
    let opened = app::backend::credentials::open_by_name(&api.app.db, key, "harbor")
        .await
        .unwrap();
    assert_eq!(
        opened,
        ("harbor.example".into(), "robot".into(), "first-pw".into())
    );

    let patch =
        json!({"username": "robot-2", "password": "rotated-pw", "groups": ["ml", "ml-team"]});
    let (status, body) = api
        .send(
            "system admin",
            Method::PATCH,
            "/api/v1/credentials/harbor",
            Some(patch),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["username"], &body["groups"]),
        (&json!("robot-2"), &json!(["ml", "ml-team"]))
    );
    assert!(
        !body.to_string().contains("rotated-pw"),
        "the password never comes back"
    );
    let opened = app::backend::credentials::open_by_name(&api.app.db, key, "harbor")
        .await
        .unwrap();
    assert_eq!(
        opened,
        (
            "harbor.example".into(),
            "robot-2".into(),
            "rotated-pw".into()
        )
    );

    // An image pulls with it: deleting is refused, naming the image.
    let image = json!({"display_name": "private", "type": "cpu", "url": "harbor.example/ml/private:1",
                       "pull_secret": "harbor"});
    let (status, body) = api
        .send(
            "group admin",
            Method::POST,
            "/api/v1/groups/ml/images",
            Some(image),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = api
        .send(
            "system admin",
            Method::DELETE,
            "/api/v1/credentials/harbor",
            None,
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("in use by ml/private"), "{message}");
    assert!(
        app::backend::credentials::require(&api.app.db, "harbor")
            .await
            .is_ok()
    );

    let (status, _) = api
        .send(
            "group admin",
            Method::DELETE,
            "/api/v1/groups/ml/images/private",
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = api
        .send(
            "system admin",
            Method::DELETE,
            "/api/v1/credentials/harbor",
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (_, list) = api
        .send("system admin", Method::GET, "/api/v1/credentials", None)
        .await;
    assert_eq!(list, json!([]));
    let actions: Vec<(String, String)> = app::backend::audit::recent(&api.app.db, 5)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.action, e.detail))
        .collect();
    assert_eq!(actions[0].0, "credential.delete");
    assert_eq!(
        actions[3],
        ("credential.groups".to_owned(), "ml,ml-team".to_owned())
    );
    assert_eq!(
        actions[4],
        (
            "credential.update".to_owned(),
            "username,password".to_owned()
        )
    );
}

#[tokio::test]
async fn a_credential_a_queued_build_pulls_its_base_with_is_not_deleted() {
    let api = Api::start().await;
    let op = api.app.operator();
    let new = app::backend::credentials::NewCredential {
        name: "base-pull",
        registry: "registry.example",
        username: "robot",
        password: "pw",
    };
    app::ops::credentials::create(&op, &new, &["ml".to_owned()])
        .await
        .unwrap();
    let (name, _) = api
        .queued_build(Scope::Group(api.group_id("ml").await))
        .await;
    sqlx::query("UPDATE builds SET spec = REPLACE(spec, '\"pull_secret\":null', '\"pull_secret\":\"base-pull\"')")
        .execute(&api.app.db.pool)
        .await
        .unwrap();
    let refused = app::ops::credentials::delete(&op, "base-pull")
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 409);
    assert!(
        refused
            .to_string()
            .contains(&format!("build 1 of ml/{name}")),
        "{refused}"
    );
}

#[tokio::test]
async fn a_disabled_user_is_refused_at_the_next_request_on_another_replica_too() {
    let api = Api::start().await;
    let second = TestApp::spawn_with(
        app::backend::identity::AuthSettings::local(),
        app::backend::builder::BuildQueue::disabled("No builder here."),
        app::backend::db::testing::another_replica(&api.app.db),
    )
    .await;
    let op = api.app.operator();
    let token = tokens::create(&op, "g-script", "write", Some("g-admin"), "")
        .await
        .unwrap();
    let on_second = second.bearer(&token);
    let session_on_second = second.signed_in("g-admin").await;
    let images = "/api/v1/groups/ml/images";
    // Both replicas remember the token's answer.
    for _ in 0..2 {
        assert_eq!(
            on_second
                .get(second.url(images))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        assert_eq!(
            api.send("write token of the group admin", Method::GET, images, None)
                .await
                .0,
            200
        );
    }

    let (status, body) = api
        .send(
            "system admin",
            Method::PATCH,
            "/api/v1/users/g-admin",
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let refused = on_second.get(second.url(images)).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("g-admin is disabled"),
        "{body}"
    );
    assert_eq!(
        session_on_second
            .get(second.url(images))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let sign_in = second
        .call(
            &second.client(),
            "login",
            &[("username", "g-admin"), ("password", common::PASSWORD)],
        )
        .await;
    assert_eq!(sign_in.status(), 403, "a disabled account does not sign in");
    let (status, _) = api
        .send(
            "system admin",
            Method::PATCH,
            "/api/v1/users/root",
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(status, 409, "nobody disables themselves");

    api.send(
        "system admin",
        Method::PATCH,
        "/api/v1/users/g-admin",
        Some(json!({"disabled": false})),
    )
    .await;
    assert_eq!(
        on_second
            .get(second.url(images))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // A grant revoked on one replica: the other refuses at the next request.
    let (status, _) = api
        .send(
            "system admin",
            Method::PUT,
            "/api/v1/groups/ml/members/g-admin",
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        on_second
            .get(second.url(images))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let (status, _) = api
        .send(
            "system admin",
            Method::DELETE,
            "/api/v1/groups/ml/members/g-admin",
            None,
        )
        .await;
    assert_eq!(status, 204);
    let launch = on_second
        .get(second.url("/api/v1/me/launchable-images"))
        .send()
        .await
        .unwrap();
    let body: Value = launch.json().await.unwrap();
    assert!(
        body["images"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["owner"] != json!({"group": "ml"}))
    );
}

#[tokio::test]
async fn a_group_admin_adds_and_removes_members_and_a_user_changes_their_password() {
    let api = Api::start().await;
    let members = "/api/v1/groups/ml/members";
    let (status, body) = api
        .send(
            "group admin",
            Method::PUT,
            &format!("{members}/loner"),
            Some(json!({"role": "member"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body.as_array()
            .unwrap()
            .iter()
            .any(|m| m["user"] == "loner" && m["role"] == "member")
    );
    let (status, _) = api
        .send(
            "admin of another group",
            Method::PUT,
            &format!("{members}/loner"),
            Some(json!({"role": "admin"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, body) = api
        .send(
            "group admin",
            Method::PUT,
            &format!("{members}/loner"),
            Some(json!({"role": "owner"})),
        )
        .await;
    // The same rule and words as the page's form: a 422 naming the field, coded.
    assert_eq!(
        (
            status.as_u16(),
            &body["error"]["field"],
            &body["error"]["message_code"]
        ),
        (422, &json!("role"), &json!("role.unknown"))
    );
    let (status, _) = api
        .send(
            "group admin",
            Method::DELETE,
            &format!("{members}/loner"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (_, body) = api.send("group admin", Method::GET, members, None).await;
    assert!(
        !body
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["user"] == "loner")
    );

    // One's own password: the current one is checked; the sessions end.
    let path = "/api/v1/me/password";
    let wrong = json!({"current_password": "guess", "new_password": "a new long password"});
    let (status, body) = api.send("member", Method::PUT, path, Some(wrong)).await;
    assert_eq!(
        (status.as_u16(), &body["error"]["field"]),
        (422, &json!("current_password"))
    );
    let short = json!({"current_password": common::PASSWORD, "new_password": "short"});
    let (status, body) = api.send("member", Method::PUT, path, Some(short)).await;
    assert_eq!(
        (status.as_u16(), &body["error"]["field"]),
        (422, &json!("password"))
    );
    let (status, _) = api
        .send("write token of the group admin", Method::PUT, path,
              Some(json!({"current_password": common::PASSWORD, "new_password": "a new long password"})))
        .await;
    assert_eq!(status, 403, "not with a token");
    let good = json!({"current_password": common::PASSWORD, "new_password": "a new long password"});
    let (status, body) = api.send("member", Method::PUT, path, Some(good)).await;
    assert_eq!(status, 204, "{body}");
    let (status, _) = api
        .send("member", Method::GET, "/api/v1/me/tokens", None)
        .await;
    assert_eq!(status, 401, "the session ended");
    let user = app::backend::users::find(&api.app.db, "member")
        .await
        .unwrap()
        .unwrap();
    assert!(
        app::backend::passwords::verify("a new long password".into(), user.password_hash)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_group_is_renamed_with_its_images_and_deleted_only_when_empty() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let torch = api.image(ml).await;
    let (status, _) = api
        .send(
            "system admin",
            Method::POST,
            "/api/v1/groups",
            Some(json!({"name": "spare"})),
        )
        .await;
    assert_eq!(status, 201);
    for (body, field) in [
        (json!({"name": "ml-team"}), None),
        (json!({"name": "Bad Name"}), Some("name")),
    ] {
        let (status, answer) = api
            .send(
                "system admin",
                Method::PATCH,
                "/api/v1/groups/ml",
                Some(body.clone()),
            )
            .await;
        assert!(status == 409 || status == 422, "{body}: {status} {answer}");
        if let Some(field) = field {
            assert_eq!(answer["error"]["field"], field);
        }
    }
    let (status, _) = api
        .send(
            "group admin",
            Method::PATCH,
            "/api/v1/groups/ml",
            Some(json!({"name": "ml2"})),
        )
        .await;
    assert_eq!(status, 403, "group admins don't rename their group");
    let (status, body) = api
        .send(
            "system admin",
            Method::PATCH,
            "/api/v1/groups/ml",
            Some(json!({"name": "ml2"})),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    // Its images, members and launch lists follow the new name.
    let (status, image) = api
        .send(
            "group admin",
            Method::GET,
            &format!("/api/v1/groups/ml2/images/{torch}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{image}");
    let (_, launch) = api
        .send(
            "read token",
            Method::GET,
            "/api/v1/users/member/launchable-images",
            None,
        )
        .await;
    let entry = launch["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == torch.as_str())
        .cloned();
    assert_eq!(entry.unwrap()["owner"]["group"], "ml2");

    let (status, body) = api
        .send("system admin", Method::DELETE, "/api/v1/groups/ml2", None)
        .await;
    assert_eq!(status, 409);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("still has 1 image"),
        "{body}"
    );
    assert_eq!(
        api.send("system admin", Method::DELETE, "/api/v1/groups/spare", None)
            .await
            .0,
        204
    );
    let (_, groups) = api
        .send("system admin", Method::GET, "/api/v1/groups", None)
        .await;
    let names: Vec<&str> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ml-team", "ml2"]);
    assert_eq!(groups[1]["images"], 1);
}

#[tokio::test]
async fn a_deleted_user_loses_their_sessions_memberships_and_tokens_at_once() {
    let api = Api::start().await;
    let op = api.app.operator();
    let token = tokens::create(&op, "member-laptop", "read", Some("member"), "")
        .await
        .unwrap();
    let by_token = api.app.bearer(&token);
    let mine = api.app.url("/api/v1/me/launchable-images");
    assert_eq!(by_token.get(&mine).send().await.unwrap().status(), 200);
    let (status, _) = api
        .send("system admin", Method::DELETE, "/api/v1/users/root", None)
        .await;
    assert_eq!(status, 409, "nobody deletes themselves");
    let (status, body) = api
        .send("system admin", Method::DELETE, "/api/v1/users/member", None)
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(by_token.get(&mine).send().await.unwrap().status(), 401);
    assert_eq!(
        api.send("member", Method::GET, "/api/v1/me/tokens", None)
            .await
            .0,
        401
    );
    let (_, members) = api
        .send(
            "group admin",
            Method::GET,
            "/api/v1/groups/ml/members",
            None,
        )
        .await;
    assert!(!members.to_string().contains("\"member\""), "{members}");
    let (status, _) = api
        .send("system admin", Method::DELETE, "/api/v1/users/member", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_gpu_url_on_an_image_that_is_not_universal_is_refused_naming_it() {
    let api = Api::start().await;
    let body = json!({"display_name": "cpu-only", "type": "cpu", "url": "registry.example/c:1",
                      "gpu_url": "registry.example/c:gpu"});
    let (status, answer) = api
        .send(
            "group admin",
            Method::POST,
            "/api/v1/groups/ml/images",
            Some(body),
        )
        .await;
    assert_eq!(
        (status.as_u16(), &answer["error"]["field"]),
        (422, &json!("gpu_url")),
        "{answer}"
    );
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only universal images")
    );
    let (_, list) = api
        .send("group admin", Method::GET, "/api/v1/groups/ml/images", None)
        .await;
    assert_eq!(list["total"], 0, "nothing was stored");

    // A universal image with its own GPU image, changed to cpu without dropping it: refused.
    let body = json!({"display_name": "both", "type": "universal", "url": "registry.example/b:1",
                      "gpu_url": "registry.example/b:gpu"});
    let (status, image) = api
        .send(
            "group admin",
            Method::POST,
            "/api/v1/groups/ml/images",
            Some(body),
        )
        .await;
    assert_eq!(status, 201, "{image}");
    let path = "/api/v1/groups/ml/images/both";
    let (status, answer) = api
        .send(
            "group admin",
            Method::PATCH,
            path,
            Some(json!({"version": image["version"], "type": "cpu"})),
        )
        .await;
    assert_eq!(
        (status.as_u16(), &answer["error"]["field"]),
        (422, &json!("gpu_url"))
    );
    let (status, changed) = api
        .send(
            "group admin",
            Method::PATCH,
            path,
            Some(json!({"version": image["version"], "type": "cpu", "gpu_url": null})),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["gpu_url"], Value::Null);
}

#[tokio::test]
async fn a_refusal_carries_its_message_code_and_params_for_any_language() {
    let api = Api::start().await;
    let body = json!({"display_name": "Bad", "type": "cpu", "url": "registry.example/c:1"});
    let (status, answer) = api
        .send(
            "group admin",
            Method::POST,
            "/api/v1/groups/ml/images",
            Some(body),
        )
        .await;
    assert_eq!(status, 422, "{answer}");
    assert_eq!(
        answer["error"],
        json!({
            "code": "invalid",
            "field": "display_name",
            "message": "may contain only lowercase letters, digits, '.' and '-', not 'B' (use lowercase)",
            "message_code": "display_name.uppercase",
            "params": {"found": "B"},
        })
    );
    let body =
        json!({"display_name": "x".repeat(64), "type": "cpu", "url": "registry.example/c:1"});
    let (_, answer) = api
        .send(
            "group admin",
            Method::POST,
            "/api/v1/groups/ml/images",
            Some(body),
        )
        .await;
    assert_eq!(answer["error"]["message_code"], "too_long");
    assert_eq!(answer["error"]["params"], json!({"max": "63"}));
    // A missing thing is coded too, with the name asked for.
    let (status, answer) = api
        .send(
            "group admin",
            Method::GET,
            "/api/v1/groups/ml/images/nothing",
            None,
        )
        .await;
    assert_eq!(status, 404);
    assert_eq!(answer["error"]["message_code"], "not_found.image");
    assert_eq!(answer["error"]["params"], json!({"name": "nothing"}));
    // Every refusal has params, empty when its message has none; so has a route that
    // does not exist, and a request without credentials.
    for (who, path, status, code) in [
        (
            "group admin",
            "/api/v1/audit",
            403,
            "forbidden.needs_system_admin",
        ),
        (
            "group admin",
            "/api/v1/no-such-route",
            404,
            "not_found.route",
        ),
    ] {
        let (got, answer) = api.send(who, Method::GET, path, None).await;
        assert_eq!(got, status, "{path}: {answer}");
        assert_eq!(answer["error"]["message_code"], code, "{path}");
        assert_eq!(answer["error"]["params"], json!({}), "{path}");
    }
}

#[tokio::test]
async fn a_permission_refusal_names_its_group_as_a_param() {
    let api = Api::start().await;
    let (status, answer) = api
        .send(
            "admin of another group",
            Method::GET,
            "/api/v1/groups/ml/images",
            None,
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        answer["error"],
        json!({
            "code": "forbidden",
            "message": "You are not a member of group ml.",
            "message_code": "forbidden.not_in_group",
            "params": {"group": "ml"},
        })
    );
    let (status, answer) = api
        .send(
            "member",
            Method::POST,
            "/api/v1/groups/ml/images",
            Some(json!({"display_name": "x", "type": "cpu", "url": "r.example/x:1"})),
        )
        .await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        answer["error"]["message_code"],
        "forbidden.needs_group_admin"
    );
    assert_eq!(answer["error"]["params"], json!({"group": "ml"}));
}

/// A record of installed packages as a build's last step writes it inside the image:
/// dpkg's, micromamba's (with its headers) and pip's.
const RECORD: &str = "apt curl\t7.88.1-10+deb12u5\n\
    apt libc6:amd64\t2.36-9+deb12u4\n\
    apt tzdata\t1:2024a-0+deb12u1\n\
    conda List of packages in environment: \"/opt/conda\"\n\
    conda   Name    Version  Build            Channel\n\
    conda   numpy   1.26.4   py311h64a7726_0  conda-forge\n\
    pip six==1.16.0\n\
    pip Typing_Extensions==4.12.2\n";

/// Ends a queued build as the builder does when it succeeds, with `record` read from the image.
async fn succeed(api: &Api, id: i64, record: &str) {
    let outcome = builds::Outcome::Succeeded {
        installed: record,
        compressed_size: None,
    };
    assert!(builds::finish(&api.app.db, id, outcome).await.unwrap());
}

/// Queues another build of the image `name` of `scope`, pushing to `target` (reused: the
/// registry has that image already, and it is recorded as succeeded at once).
async fn another_build(api: &Api, scope: Scope, name: &str, target: &str, reused: bool) -> i64 {
    let image = images::require(&api.app.db, scope, name).await.unwrap();
    let first = builds::history(&api.app.db, image.id).await.unwrap();
    let spec = first.last().unwrap().spec().unwrap();
    let new = builds::NewBuild {
        image_id: image.id,
        scope,
        spec: &spec,
        image_type: "cpu",
        base_digest: "sha256:00",
        base_user: "",
        target,
        created_by: "g-admin",
        compressed_size: None,
    };
    builds::enqueue(&mut *conn(&api.app.db).await, &new, reused)
        .await
        .unwrap()
        .id
}

async fn get_sbom(api: &Api, who: &str, id: i64) -> reqwest::Response {
    api.client(who)
        .get(api.app.url(&format!("/api/v1/builds/{id}/sbom")))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_successful_build_has_a_cyclonedx_sbom_that_cyclonedxs_own_library_validates() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let (name, id) = api.queued_build(ml).await;

    // Nothing is installed before the build succeeds.
    let queued = get_sbom(&api, "group admin", id).await;
    assert_eq!(queued.status(), StatusCode::CONFLICT);
    let body: Value = queued.json().await.unwrap();
    assert_eq!(body["error"]["message_code"], "conflict.build_has_no_sbom");
    assert_eq!(
        body["error"]["params"],
        json!({"build": "1", "image": name})
    );

    succeed(&api, id, RECORD).await;
    let answer = get_sbom(&api, "group admin", id).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.headers()["content-type"],
        "application/vnd.cyclonedx+json; version=1.5"
    );
    assert_eq!(
        answer.headers()["content-disposition"],
        format!("attachment; filename=\"{name}-build-1.cdx.json\"").as_str()
    );
    let text = answer.text().await.unwrap();
    let components = common::validate_sbom(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let listed: Vec<(&str, &str, Option<&str>)> = components
        .iter()
        .map(|c| {
            (
                c.kind.as_str(),
                c.purl_name.as_str(),
                c.purl_version.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("deb", "curl", Some("7.88.1-10+deb12u5")),
            ("deb", "libc6", Some("2.36-9+deb12u4")),
            ("deb", "tzdata", Some("1:2024a-0+deb12u1")),
            ("conda", "numpy", Some("1.26.4")),
            ("pypi", "six", Some("1.16.0")),
            ("pypi", "typing-extensions", Some("4.12.2")),
        ]
    );
    assert_eq!(
        components[1].purl,
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64"
    );
    assert_eq!(
        (
            components[5].name.as_str(),
            components[5].version.as_deref()
        ),
        ("Typing_Extensions", Some("4.12.2"))
    );
    let document: Value = serde_json::from_str(&text).unwrap();
    let image = &document["metadata"]["component"];
    assert_eq!(image["type"], "container");
    assert_eq!(image["name"], "registry.example/out");
    assert_eq!(image["version"], "1");
    // The same build's SBOM is the same document at every download.
    assert_eq!(
        get_sbom(&api, "group admin", id)
            .await
            .text()
            .await
            .unwrap(),
        text
    );

    // The validator does refuse what is not valid CycloneDX 1.5, or a purl not in its
    // canonical form.
    let mut broken = document.clone();
    broken["components"][0]["type"] = json!("libary");
    let reasons = common::validate_sbom(&broken.to_string()).unwrap_err();
    assert!(reasons.contains("libary"), "{reasons}");
    let mut unencoded = document.clone();
    unencoded["components"][0]["purl"] = json!("pkg:deb/debian/curl@7.88.1-10+deb12u5");
    assert!(common::validate_sbom(&unencoded.to_string()).is_err());

    // Who may read the build may read its SBOM, on its stored group.
    assert_eq!(
        get_sbom(&api, "read token of the group admin", id)
            .await
            .status(),
        StatusCode::OK
    );
    let theirs = get_sbom(&api, "admin of another group", id).await;
    assert_eq!(theirs.status(), StatusCode::FORBIDDEN);
    let missing = get_sbom(&api, "group admin", id + 1000).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["message_code"], "not_found.build");

    // A build that reused the image the registry had lists the packages of the build that
    // made it; one whose image Kiln never built has no record to list.
    let reused = another_build(&api, ml, &name, "registry.example/out:1", true).await;
    let again = get_sbom(&api, "group admin", reused)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(common::validate_sbom(&again).unwrap().len(), listed.len());
    let elsewhere = another_build(&api, ml, &name, "registry.example/out:9", true).await;
    let unrecorded = get_sbom(&api, "group admin", elsewhere).await;
    assert_eq!(unrecorded.status(), StatusCode::CONFLICT);
    let body: Value = unrecorded.json().await.unwrap();
    assert_eq!(
        body["error"]["message_code"],
        "conflict.build_sbom_unrecorded"
    );
}

#[tokio::test]
async fn whatever_an_image_writes_into_its_record_its_sbom_stays_valid() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let (_, id) = api.queued_build(ml).await;
    let hostile = format!(
        "apt evil\"}},{{\"x\t1.0\n\
         apt ok\t1.0\"]}}\n\
         apt \u{202e}gnp\t1.0\n\
         pip \u{2603}==1\n\
         pip real==2.0\u{7}\n\
         pip real_thing==2.0\n\
         conda x y z\n\
         pip {}==1\n\
         \u{feff}apt nul\t1\n",
        "a".repeat(10_000)
    );
    succeed(&api, id, &hostile).await;
    let text = get_sbom(&api, "group admin", id)
        .await
        .text()
        .await
        .unwrap();
    let components = common::validate_sbom(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let purls: Vec<&str> = components.iter().map(|c| c.purl.as_str()).collect();
    assert_eq!(purls, ["pkg:pypi/real-thing@2.0"]);
}

/// The Build Details page of image `name` of group ml, as its group admin reads it in `lang`.
async fn details_html(api: &Api, name: &str, lang: &str) -> String {
    let answer = api
        .client("group admin")
        .get(api.app.url(&format!("/groups/ml/images/{name}/builds")))
        .header("accept", "text/html")
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    answer.text().await.unwrap()
}

#[tokio::test]
async fn build_details_show_what_changed_since_the_previous_successful_build() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let (name, first) = api.queued_build(ml).await;
    assert!(
        !details_html(&api, &name, "en")
            .await
            .contains("Download SBOM")
    );

    succeed(&api, first, RECORD).await;
    let html = details_html(&api, &name, "en").await;
    assert!(html.contains("Download SBOM (CycloneDX)"), "{html}");
    assert!(
        html.contains(&format!("href=\"/api/v1/builds/{first}/sbom\"")),
        "{html}"
    );
    assert!(
        html.contains("Build 1 is the first successful build."),
        "{html}"
    );

    // A failed build in between is not the previous successful one; the next adds one package.
    let failed = another_build(&api, ml, &name, "registry.example/out:2", false).await;
    let outcome = builds::Outcome::Failed {
        reason: builds::FailReason::PackageNotFound,
        message: "E: Unable to locate package helo",
    };
    assert!(builds::finish(&api.app.db, failed, outcome).await.unwrap());
    let third = another_build(&api, ml, &name, "registry.example/out:3", false).await;
    succeed(&api, third, &format!("{RECORD}apt hello\t2.10-3\n")).await;

    let details = app::ops::builds::details(&api.app.operator(), Some("ml"), &name)
        .await
        .unwrap();
    let changes = details.changes.unwrap();
    assert_eq!((changes.revision, changes.previous), (3, Some(1)));
    let added: Vec<String> = changes.diff.added.iter().map(|p| p.to_string()).collect();
    assert_eq!(added, ["apt hello 2.10-3"]);
    assert!(changes.diff.removed.is_empty() && changes.diff.changed.is_empty());
    assert_eq!(changes.left_out, 0);

    let html = details_html(&api, &name, "en").await;
    assert!(
        html.contains("Build 3 against build 1, the previous successful build."),
        "{html}"
    );
    assert!(html.contains("Added (1)"), "{html}");
    assert!(html.contains("<code>apt hello 2.10-3</code>"), "{html}");
    assert!(
        html.contains(&format!("href=\"/api/v1/builds/{third}/sbom\"")),
        "{html}"
    );
    // In zh-TW too.
    let zh = details_html(&api, &name, "zh-TW").await;
    assert!(zh.contains("下載 SBOM（CycloneDX）"), "{zh}");
    assert!(zh.contains("新增（1）"), "{zh}");
}

#[tokio::test]
async fn a_built_images_compressed_size_is_listed_sorted_and_offered_to_launch_pages() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let registered = api.image(ml).await;
    let mut built = Vec::new();
    for size in [300_000_000_i64, 20_000_000] {
        let (name, id) = api.queued_build(ml).await;
        let outcome = builds::Outcome::Succeeded {
            installed: "",
            compressed_size: Some(size),
        };
        assert!(builds::finish(&api.app.db, id, outcome).await.unwrap());
        built.push(name);
    }
    let page = |dir: &'static str| {
        let api = &api;
        async move {
            let path = format!("/api/v1/groups/ml/images?sort=size&dir={dir}");
            let (status, body) = api.send("group admin", Method::GET, &path, None).await;
            assert_eq!(status, 200, "{body}");
            body["images"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["name"].as_str().unwrap().to_owned(),
                        i["compressed_size"].as_u64(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // The registered image's size is unknown: the smallest either way round, on both
    // databases (PostgreSQL would sort NULLs last when ascending).
    let ascending = page("asc").await;
    assert_eq!(
        ascending,
        [
            (registered.clone(), None),
            (built[1].clone(), Some(20_000_000)),
            (built[0].clone(), Some(300_000_000)),
        ]
    );
    let mut descending = page("desc").await;
    descending.reverse();
    assert_eq!(descending, ascending);

    let (status, body) = api
        .send("member", Method::GET, "/api/v1/me/launchable-images", None)
        .await;
    assert_eq!(status, 200, "{body}");
    let size_of = |name: &str| {
        body["images"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {body}"))
            .get("compressed_size")
            .cloned()
    };
    assert_eq!(size_of(&built[0]), Some(json!(300_000_000)));
    assert_eq!(size_of(&registered), None, "not known, not sent");
}

#[tokio::test]
async fn an_updated_base_image_is_marked_in_the_list_the_selection_api_and_build_details() {
    let api = Api::start().await;
    let ml = Scope::Group(api.group_id("ml").await);
    let (name, first) = api.queued_build(ml).await;
    succeed(&api, first, "").await;
    let image = images::require(&api.app.db, ml, &name).await.unwrap();
    let marked = |body: &Value, list: &str| {
        body[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name.as_str())
            .unwrap_or_else(|| panic!("{name} in {body}"))["base_updated"]
            .as_bool()
            .unwrap()
    };
    let list = "/api/v1/groups/ml/images";
    let launch = "/api/v1/me/launchable-images";
    let (_, body) = api.send("group admin", Method::GET, list, None).await;
    assert!(!marked(&body, "images"), "never checked: not marked");

    // The leader's check found the tag naming another image (the registry read itself is
    // covered by the real-registry test in builds.rs).
    let newer = "sha256:11";
    base_updates::record_check(&api.app.db, image.id, Ok(newer))
        .await
        .unwrap();
    let (_, body) = api.send("group admin", Method::GET, list, None).await;
    assert!(marked(&body, "images"), "{body}");
    let (_, body) = api.send("member", Method::GET, launch, None).await;
    assert!(
        marked(&body, "images"),
        "launch pages see it at once: {body}"
    );
    let html = details_html(&api, &name, "en").await;
    assert!(html.contains("now names a newer image"), "{html}");
    assert!(html.contains("Rebuild on the updated base image"));
    let html = details_html(&api, &name, "zh-TW").await;
    assert!(html.contains("已指向較新的映像檔"), "{html}");

    // The automatic rebuild, switched on by a group admin (a member may not).
    let base = format!("/api/v1/groups/ml/images/{name}/base");
    let on = json!({"auto_rebuild": true});
    let (status, _) = api
        .send("member", Method::PUT, &base, Some(on.clone()))
        .await;
    assert_eq!(status, 403);
    let (status, body) = api.send("group admin", Method::PUT, &base, Some(on)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["auto_rebuild"], true);
    assert_eq!(body["updated"], true);
    assert_eq!(body["built_on"], "sha256:00");
    assert_eq!(body["latest"], newer);
    assert_eq!(body["image"], "registry.example/base:1");
    let (status, read) = api.send("group admin", Method::GET, &base, None).await;
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, body, "GET answers what PUT did");
    let (status, _) = api.send("member", Method::GET, &base, None).await;
    assert_eq!(status, 403);
    let odd = json!({"auto_rebuild": true, "every": "1h"});
    let (status, body) = api.send("group admin", Method::PUT, &base, Some(odd)).await;
    assert!(status.is_client_error(), "{status} {body}");
    assert!(
        body.to_string().contains("every"),
        "names the field: {body}"
    );
    // Builds are off here: a check on demand says so rather than failing quietly.
    let check = format!("{base}/check");
    let (status, body) = api.send("group admin", Method::POST, &check, None).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["field"], "builder", "{body}");

    // A build on the new base succeeds: the mark goes.
    let second = another_build(&api, ml, &name, "registry.example/out:2", false).await;
    sqlx::query("UPDATE builds SET base_digest = $1 WHERE id = $2")
        .bind(newer)
        .bind(second)
        .execute(&api.app.db.pool)
        .await
        .unwrap();
    succeed(&api, second, "").await;
    let (_, body) = api.send("group admin", Method::GET, list, None).await;
    assert!(!marked(&body, "images"), "{body}");
    let (_, body) = api.send("member", Method::GET, launch, None).await;
    assert!(!marked(&body, "images"), "{body}");
}
