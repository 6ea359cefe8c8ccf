//! The authorization matrix, driven on the operations themselves: every operation × every
//! kind of caller, against a real database (SQLite, or PostgreSQL when
//! `KILN_TEST_DATABASE_URL` names one). The pages, the REST API and the command line are
//! adapters around these, so a rule that holds here holds for all three.

use super::testing::state;
use super::*;
use crate::backend::builds::testing::enqueued;
use crate::backend::credentials::NewCredential;
use crate::backend::{groups, images as stored_images};
use crate::domain::{
    Accelerator, BuildForm, ImageForm, ListQuery, Principal, Role, ServiceToken, TokenScope,
};
use crate::ops::launch::Whose;

/// Every kind of caller.
const ACTORS: [&str; 9] = [
    "anonymous",
    "member",
    "admin of another group",
    "group admin",
    "system admin",
    "read token",
    "write token of the group admin",
    "read token of the group admin",
    "operator",
];

/// Who may do what: the rule each operation follows, by caller.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    /// Read a group's catalog: its admins, system admins, read and write tokens of an admin.
    GroupRead,
    /// Change a group's catalog: as `GroupRead`, without read tokens.
    GroupWrite,
    /// Global images, credentials, accounts, tokens, the audit log.
    SystemAdmin,
    /// One's own launch list: any user, by session or token.
    OwnLaunchList,
    /// Another user's launch list (here: a user no caller is): system admins, read
    /// tokens, and the operator.
    AnyLaunchList,
    /// Anyone signed in as a user.
    SignedInUser,
    /// A change to what is one's own: a user by session or write token.
    OwnChange,
    /// A user by session only (their password).
    SessionUser,
}

fn allowed(rule: Rule, who: &str) -> bool {
    let users = [
        "member",
        "admin of another group",
        "group admin",
        "system admin",
        "write token of the group admin",
        "read token of the group admin",
    ];
    match rule {
        Rule::GroupRead => [
            "group admin",
            "system admin",
            "write token of the group admin",
            "read token of the group admin",
            "operator",
        ]
        .contains(&who),
        Rule::GroupWrite => [
            "group admin",
            "system admin",
            "write token of the group admin",
            "operator",
        ]
        .contains(&who),
        Rule::SystemAdmin => ["system admin", "operator"].contains(&who),
        Rule::OwnLaunchList | Rule::SignedInUser => users.contains(&who),
        Rule::OwnChange => users.contains(&who) && who != "read token of the group admin",
        Rule::SessionUser => users.contains(&who) && !who.contains("token"),
        Rule::AnyLaunchList => [
            "system admin",
            "read token",
            "read token of the group admin",
            "operator",
        ]
        .contains(&who),
    }
}

/// Every operation that a caller may be refused, with its rule. A new operation in `ops`
/// gets its row here.
const OPERATIONS: &[(&str, Rule)] = &[
    ("images::list group", Rule::GroupRead),
    ("images::list global", Rule::SystemAdmin),
    ("images::get", Rule::GroupRead),
    ("images::create", Rule::GroupWrite),
    ("images::create global", Rule::SystemAdmin),
    ("images::update", Rule::GroupWrite),
    ("images::delete", Rule::GroupWrite),
    ("images::pull_secret_choices", Rule::GroupWrite),
    ("images::deprecate", Rule::GroupWrite),
    ("images::retire", Rule::GroupWrite),
    ("images::restore", Rule::GroupWrite),
    ("images::successor_choices", Rule::GroupWrite),
    ("builds::check_spec", Rule::GroupWrite),
    ("builds::base_choices", Rule::GroupWrite),
    ("builds::create_custom", Rule::GroupWrite),
    ("builds::rebuild", Rule::GroupWrite),
    ("builds::image_build_state", Rule::GroupRead),
    ("builds::history", Rule::GroupRead),
    ("builds::details", Rule::GroupWrite),
    ("builds::build", Rule::GroupRead),
    ("builds::sbom", Rule::GroupRead),
    ("builds::cancel", Rule::GroupWrite),
    ("builds::cancel_of_image", Rule::GroupWrite),
    ("builds::status", Rule::SignedInUser),
    ("launch::launchable me", Rule::OwnLaunchList),
    ("launch::launchable of a user", Rule::AnyLaunchList),
    ("credentials::list", Rule::SystemAdmin),
    ("credentials::overview", Rule::SystemAdmin),
    ("credentials::create", Rule::SystemAdmin),
    ("credentials::set_groups", Rule::SystemAdmin),
    ("credentials::change", Rule::SystemAdmin),
    ("credentials::delete", Rule::SystemAdmin),
    ("tokens::list", Rule::SystemAdmin),
    ("tokens::overview", Rule::SystemAdmin),
    ("tokens::create", Rule::SystemAdmin),
    ("tokens::revoke", Rule::SystemAdmin),
    ("tokens::mine", Rule::SignedInUser),
    ("tokens::revoke_mine", Rule::OwnChange),
    ("accounts::add_user", Rule::SystemAdmin),
    ("accounts::add_group", Rule::SystemAdmin),
    ("accounts::groups_overview", Rule::SystemAdmin),
    ("accounts::users_overview", Rule::SystemAdmin),
    ("accounts::rename_group", Rule::SystemAdmin),
    ("accounts::delete_group", Rule::SystemAdmin),
    ("accounts::add_member", Rule::GroupWrite),
    ("accounts::remove_member", Rule::GroupWrite),
    ("accounts::members", Rule::GroupWrite),
    ("accounts::set_disabled", Rule::SystemAdmin),
    ("accounts::reset_password", Rule::SystemAdmin),
    ("accounts::delete_user", Rule::SystemAdmin),
    ("accounts::change_own_password", Rule::SessionUser),
    ("audit::recent", Rule::SystemAdmin),
    ("audit::search everything", Rule::SystemAdmin),
    ("audit::search of a group", Rule::GroupRead),
];

/// What the matrix works on: group `ml` with an image and a queued build per caller.
struct World {
    state: crate::backend::AppState,
    actors: Vec<(&'static str, Actor)>,
}

async fn world() -> World {
    let state = state().await;
    let op = Call::operator(state.clone());
    let ml = accounts::add_group(&op, "ml").await.unwrap();
    let team = accounts::add_group(&op, "ml-team").await.unwrap();
    for (user, admin) in [
        ("member", false),
        ("h-admin", false),
        ("g-admin", false),
        ("root", true),
        ("loner", false),
    ] {
        accounts::add_user(&op, user, "a long password", admin)
            .await
            .unwrap();
    }
    accounts::add_member(&op, "ml", "member", Role::Member)
        .await
        .unwrap();
    accounts::add_member(&op, "ml-team", "h-admin", Role::Admin)
        .await
        .unwrap();
    accounts::add_member(&op, "ml", "g-admin", Role::Admin)
        .await
        .unwrap();
    let user = |name: &str, id: i64, system_admin: bool, token: Option<TokenScope>| {
        let db = state.db.clone();
        let name = name.to_owned();
        async move {
            Actor::User(Principal {
                id,
                memberships: groups::memberships_of(&db, id).await.unwrap(),
                name,
                system_admin,
                token,
            })
        }
    };
    let id = |name: &'static str| {
        let db = state.db.clone();
        async move {
            crate::backend::users::find(&db, name)
                .await
                .unwrap()
                .unwrap()
                .id
        }
    };
    let (member, h_admin, g_admin, root) = (
        id("member").await,
        id("h-admin").await,
        id("g-admin").await,
        id("root").await,
    );
    let actors = vec![
        ("anonymous", Actor::Anonymous),
        ("member", user("member", member, false, None).await),
        (
            "admin of another group",
            user("h-admin", h_admin, false, None).await,
        ),
        ("group admin", user("g-admin", g_admin, false, None).await),
        ("system admin", user("root", root, true, None).await),
        (
            "read token",
            Actor::Service(ServiceToken {
                name: "hub".into(),
                scope: TokenScope::Read,
            }),
        ),
        (
            "write token of the group admin",
            user("g-admin", g_admin, false, Some(TokenScope::Write)).await,
        ),
        (
            "read token of the group admin",
            user("g-admin", g_admin, false, Some(TokenScope::Read)).await,
        ),
        ("operator", Actor::Operator),
    ];
    assert_eq!(actors.len(), ACTORS.len());
    let _ = (ml, team);
    World { state, actors }
}

fn image_form(display_name: &str) -> ImageForm {
    ImageForm {
        display_name: display_name.into(),
        image_type: "cpu".into(),
        url: "registry.example.org/tools:1".into(),
        ..Default::default()
    }
}

fn build_form(display_name: &str) -> BuildForm {
    BuildForm {
        display_name: display_name.into(),
        image_type: "cpu".into(),
        base_image: "debian:12".into(),
        apt: "curl".into(),
        ..Default::default()
    }
}

/// Runs operation `op` as the `i`th caller, on things made for that caller alone (so one
/// caller's success does not change what the next one meets).
async fn run(world: &World, (k, op): (usize, &str), i: usize, call: &Call) -> OpResult<()> {
    let operator = Call::operator(world.state.clone());
    let ml = Some("ml");
    let own = format!("img{k}.{i}");
    // What the operation needs, made by the operator first.
    let mut build_id = 0;
    if op.starts_with("images::get")
        || op.starts_with("images::update")
        || op.starts_with("images::delete")
        || op.starts_with("builds::rebuild")
        || ["images::deprecate", "images::retire", "images::restore"].contains(&op)
        || op == "images::successor_choices"
    {
        images::create(&operator, ml, image_form(&own))
            .await
            .unwrap();
    }
    if op.starts_with("builds::build")
        || op == "builds::sbom"
        || op.starts_with("builds::cancel")
        || op.starts_with("builds::history")
        || op.starts_with("builds::details")
        || op.starts_with("builds::image_build_state")
    {
        let (scope, image) = built_image(world, &own).await;
        build_id = enqueued(&world.state.db, scope, &image).await.id;
    }
    if op == "builds::sbom" {
        let outcome = crate::backend::builds::Outcome::Succeeded {
            installed: "apt curl\t7.88.1-10",
            compressed_size: None,
        };
        crate::backend::builds::finish(&world.state.db, build_id, outcome)
            .await
            .unwrap();
    }
    let query = ListQuery::default();
    match op {
        "images::list group" => images::list(call, ml, &query).await.map(drop),
        "images::list global" => images::list(call, None, &query).await.map(drop),
        "images::get" => images::get(call, ml, &own, Action::ViewGroupImages)
            .await
            .map(drop),
        "images::create" => images::create(call, ml, image_form(&own)).await.map(drop),
        "images::create global" => images::create(call, None, image_form(&own)).await.map(drop),
        "images::update" => images::update(call, ml, &own, 1, |f| ImageForm {
            description: "edited".into(),
            ..f
        })
        .await
        .map(drop),
        "images::delete" => images::delete(call, ml, &own).await,
        "images::pull_secret_choices" => images::pull_secret_choices(call, ml).await.map(drop),
        "images::deprecate" => images::deprecate(call, ml, &own, Default::default())
            .await
            .map(drop),
        "images::retire" => images::retire(call, ml, &own).await.map(drop),
        "images::restore" => images::restore(call, ml, &own).await.map(drop),
        "images::successor_choices" => images::successor_choices(call, ml, &own).await.map(drop),
        "builds::check_spec" => builds::check_spec(call, ml, build_form(&own))
            .await
            .map(drop),
        "builds::base_choices" => builds::base_choices(call, ml).await.map(drop),
        "builds::create_custom" => builds::create_custom(call, ml, build_form(&own))
            .await
            .map(drop),
        "builds::rebuild" => builds::rebuild(call, ml, &own, build_form(&own))
            .await
            .map(drop),
        "builds::image_build_state" => builds::image_build_state(call, ml, &own).await.map(drop),
        "builds::history" => builds::history(call, ml, &own).await.map(drop),
        "builds::details" => builds::details(call, ml, &own).await.map(drop),
        "builds::build" => builds::build(call, build_id, Action::ViewGroupImages)
            .await
            .map(drop),
        "builds::sbom" => builds::sbom(call, build_id).await.map(drop),
        "builds::cancel" => builds::cancel(call, build_id).await.map(drop),
        "builds::cancel_of_image" => builds::cancel_of_image(call, ml, &own, build_id).await,
        "builds::status" => builds::status(call).map(drop),
        "launch::launchable me" => {
            launch::launchable(call, Whose::Me, Accelerator::Cpu, false, None)
                .await
                .map(drop)
        }
        "launch::launchable of a user" => {
            launch::launchable(call, Whose::User("loner"), Accelerator::Cpu, false, None)
                .await
                .map(drop)
        }
        "credentials::list" => credentials::list(call).await.map(drop),
        "credentials::overview" => credentials::overview(call).await.map(drop),
        "credentials::create" => {
            let name = format!("cred{i}");
            let new = NewCredential {
                name: &name,
                registry: "registry.example.org",
                username: "bot",
                password: "secret",
            };
            credentials::create(call, &new, &["ml".to_owned()]).await
        }
        "credentials::set_groups" => {
            let name = format!("shared{i}");
            let new = NewCredential {
                name: &name,
                registry: "registry.example.org",
                username: "bot",
                password: "secret",
            };
            credentials::create(&operator, &new, &[]).await.unwrap();
            credentials::set_groups(call, &name, &["ml".to_owned()]).await
        }
        "credentials::change" | "credentials::delete" => {
            let name = format!("chg{k}x{i}");
            let new = NewCredential {
                name: &name,
                registry: "registry.example.org",
                username: "bot",
                password: "secret",
            };
            credentials::create(&operator, &new, &[]).await.unwrap();
            match op {
                "credentials::change" => credentials::change(call, &name, "bot-2", "").await,
                _ => credentials::delete(call, &name).await,
            }
        }
        "tokens::list" => tokens::list(call).await.map(drop),
        "tokens::overview" => tokens::overview(call).await.map(drop),
        "tokens::create" => tokens::create(call, &format!("t{i}"), "read", None, "")
            .await
            .map(drop),
        "tokens::revoke" => {
            let name = format!("r{i}");
            tokens::create(&operator, &name, "read", None, "")
                .await
                .unwrap();
            tokens::revoke(call, &name).await
        }
        "tokens::mine" => tokens::mine(call).await.map(drop),
        "tokens::revoke_mine" => match &call.actor {
            // A token of the caller's own, made for the occasion; others have none to revoke.
            crate::domain::Actor::User(user) => {
                let name = format!("m{i}");
                tokens::create(&operator, &name, "read", Some(&user.name), "")
                    .await
                    .unwrap();
                tokens::revoke_mine(call, &name).await
            }
            _ => tokens::revoke_mine(call, "none").await,
        },
        "accounts::add_user" => accounts::add_user(call, &format!("u{i}"), "long enough", false)
            .await
            .map(drop),
        "accounts::add_group" => accounts::add_group(call, &format!("g{i}")).await.map(drop),
        "accounts::add_member" => accounts::add_member(call, "ml", "loner", Role::Member)
            .await
            .map(drop),
        "accounts::remove_member" => {
            let user = format!("rm{i}");
            accounts::add_user(&operator, &user, "long enough", false)
                .await
                .unwrap();
            accounts::add_member(&operator, "ml", &user, Role::Member)
                .await
                .unwrap();
            accounts::remove_member(call, "ml", &user).await
        }
        "accounts::members" => accounts::members(call, "ml").await.map(drop),
        "accounts::groups_overview" => accounts::groups_overview(call).await.map(drop),
        "accounts::users_overview" => accounts::users_overview(call).await.map(drop),
        "accounts::rename_group" | "accounts::delete_group" => {
            let group = format!("grp{k}x{i}");
            accounts::add_group(&operator, &group).await.unwrap();
            match op {
                "accounts::rename_group" => {
                    accounts::rename_group(call, &group, &format!("{group}-new")).await
                }
                _ => accounts::delete_group(call, &group).await,
            }
        }
        "accounts::set_disabled" | "accounts::reset_password" | "accounts::delete_user" => {
            let user = format!("{}{i}", &op[10..13]);
            accounts::add_user(&operator, &user, "long enough", false)
                .await
                .unwrap();
            match op {
                "accounts::set_disabled" => accounts::set_disabled(call, &user, true).await,
                "accounts::delete_user" => accounts::delete_user(call, &user).await,
                _ => accounts::reset_password(call, &user, "another long one").await,
            }
        }
        // The wrong current password: nobody's changes, and those allowed hear why.
        "accounts::change_own_password" => {
            accounts::change_own_password(call, "not the password", "another long one").await
        }
        "audit::recent" => audit::recent(call, 10).await.map(drop),
        "audit::search everything" => audit::search(call, None, &Default::default(), None, 10)
            .await
            .map(drop),
        "audit::search of a group" => {
            audit::search(call, Some("ml"), &Default::default(), None, 10)
                .await
                .map(drop)
        }
        other => panic!("no way to run {other}"),
    }
}

/// A custom image of group `ml` named after `display_name`, stored without a build.
async fn built_image(world: &World, display_name: &str) -> (Scope, stored_images::ImageRow) {
    let db = &world.state.db;
    let ml = groups::require(db, "ml").await.unwrap().id;
    let valid = build_form(display_name).validate().unwrap();
    let mut conn = crate::backend::db::testing::conn(db).await;
    let image = stored_images::create_built(&mut conn, Scope::Group(ml), &valid, None)
        .await
        .unwrap();
    (Scope::Group(ml), image)
}

fn refused(e: &ApiError) -> bool {
    matches!(e, ApiError::Unauthenticated | ApiError::Forbidden(_))
}

#[tokio::test]
async fn every_operation_answers_each_caller_by_the_policy() {
    let world = world().await;
    let mut checked = 0;
    let mut wrong = Vec::new();
    for (k, (op, rule)) in OPERATIONS.iter().enumerate() {
        for (i, (who, actor)) in world.actors.iter().enumerate() {
            let call = Call::new(world.state.clone(), actor.clone());
            let result = run(&world, (k, op), i, &call).await;
            let expected = allowed(*rule, who);
            let ok = match &result {
                Ok(()) => expected,
                Err(e) if refused(e) => {
                    !expected && (*who != "anonymous" || *e == ApiError::Unauthenticated)
                }
                // Allowed, and then refused for another reason (builds are off, …).
                Err(_) => expected,
            };
            if !ok {
                wrong.push(format!("{op} as {who}: {result:?} (allowed: {expected})"));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(checked, OPERATIONS.len() * ACTORS.len());
}

#[tokio::test]
async fn refused_callers_change_nothing_and_leave_no_audit_entry() {
    let world = world().await;
    let db = &world.state.db;
    let entries = crate::backend::audit::recent(db, 1000).await.unwrap().len();
    for (who, actor) in &world.actors {
        if allowed(Rule::GroupWrite, who) {
            continue;
        }
        let call = Call::new(world.state.clone(), actor.clone());
        let err = images::create(&call, Some("ml"), image_form("sneaky"))
            .await
            .unwrap_err();
        assert!(refused(&err), "{who}: {err:?}");
    }
    let ml = groups::require(db, "ml").await.unwrap().id;
    assert!(
        stored_images::find(db, Scope::Group(ml), "sneaky")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        crate::backend::audit::recent(db, 1000).await.unwrap().len(),
        entries
    );
}
