//! The `kiln` command line, run as an operator would: clear output, clear errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Kiln {
    dir: std::path::PathBuf,
    /// Settings every command of this Kiln gets besides its database and data folder.
    env: Vec<(&'static str, String)>,
}

impl Kiln {
    fn new() -> Kiln {
        let dir = std::env::temp_dir().join(format!("kiln-cli-{}", app::backend::random_hex(6)));
        Kiln {
            dir,
            env: Vec::new(),
        }
    }

    /// `kiln ARGS` with this Kiln's database, data folder and settings.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kiln"));
        command
            .args(args)
            .env(
                "KILN_DATABASE_URL",
                format!("sqlite://{}/kiln.db", self.dir.display()),
            )
            .env("KILN_DATA_DIR", &self.dir)
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        command
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    }
}

#[test]
fn accounts_groups_and_memberships_are_made_and_bad_input_is_named() {
    let kiln = Kiln::new();
    assert_eq!(kiln.ok(&["migrate"], None), "Database is up to date.\n");
    assert_eq!(
        kiln.ok(&["group", "add", "ml"], None),
        "Created group ml.\n"
    );
    let out = kiln.ok(&["user", "add", "ann"], None);
    assert!(
        out.starts_with("Created user ann.\nPassword (shown once): "),
        "{out}"
    );
    kiln.ok(
        &["user", "add", "root", "--system-admin", "--password-stdin"],
        Some("a long password\n"),
    );
    assert_eq!(
        kiln.ok(&["member", "add", "ml", "ann", "--admin"], None),
        "ann is now an admin of ml.\n"
    );

    assert_eq!(
        kiln.fails(&["user", "add", "ann"], None),
        "error: There is a user ann already.\n"
    );
    assert_eq!(
        kiln.fails(&["group", "add", "ml"], None),
        "error: There is a group ml already.\n"
    );
    assert_eq!(
        kiln.fails(&["member", "add", "cv", "ann"], None),
        "error: There is no group cv.\n"
    );
    assert_eq!(
        kiln.fails(&["member", "add", "ml", "bob"], None),
        "error: There is no user bob.\n"
    );
    assert!(
        kiln.fails(&["group", "add", "Bad Name"], None)
            .starts_with("error: group: may contain only")
    );
    assert_eq!(
        kiln.fails(&["user", "add", "bo", "--password-stdin"], Some("short\n")),
        "error: password: must be at least 8 characters\n"
    );
}

#[test]
fn a_token_is_printed_once_listed_without_its_secret_and_revoked_by_name() {
    let kiln = Kiln::new();
    kiln.ok(&["user", "add", "ann"], None);
    let out = kiln.run(
        &["token", "create", "--name", "hub", "--scope", "read"],
        None,
    );
    assert!(out.status.success());
    let secret = String::from_utf8(out.stdout).unwrap();
    let secret = secret.strip_suffix('\n').unwrap();
    assert!(
        secret.len() == 69
            && secret.starts_with("kiln_")
            && secret[5..].bytes().all(|b| b.is_ascii_hexdigit()),
        "only the secret on stdout: {secret:?}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("shown only now"));
    let again = kiln.ok(
        &[
            "token",
            "create",
            "--name",
            "script",
            "--scope",
            "write",
            "--user",
            "ann",
            "--expires-in",
            "90d",
        ],
        None,
    );
    assert_ne!(again.trim(), secret);

    let list = kiln.ok(&["token", "list"], None);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0][..4], ["script", "write", "live", "ann"], "{list}");
    assert_eq!(rows[1][..3], ["hub", "read", "live"], "{list}");
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines[0].contains("expires: 20"), "{list}");
    assert!(
        lines[1].ends_with("expires: never; last used: never"),
        "{list}"
    );
    assert!(
        !list.contains(secret) && !list.contains(again.trim()),
        "{list}"
    );

    assert_eq!(
        kiln.fails(
            &["token", "create", "--name", "hub", "--scope", "read"],
            None
        ),
        "error: There is a token hub already.\n"
    );
    assert_eq!(
        kiln.fails(
            &["token", "create", "--name", "w", "--scope", "write"],
            None
        ),
        "error: user: is required for a write token: it acts as that user\n"
    );
    assert_eq!(
        kiln.fails(
            &["token", "create", "--name", "x", "--scope", "admin"],
            None
        ),
        "error: scope: must be read or write\n"
    );
    assert_eq!(
        kiln.fails(
            &[
                "token", "create", "--name", "x", "--scope", "read", "--user", "bob"
            ],
            None
        ),
        "error: There is no user bob.\n"
    );

    assert_eq!(
        kiln.ok(&["token", "revoke", "hub"], None),
        "Revoked token hub.\n"
    );
    assert_eq!(
        kiln.fails(&["token", "revoke", "hub"], None),
        "error: There is no token hub.\n"
    );
    let list = kiln.ok(&["token", "list"], None);
    assert!(
        list.lines()
            .any(|l| l.starts_with("hub") && l.contains("revoked")),
        "{list}"
    );
    // The name of a revoked token may be given to a new one.
    kiln.ok(
        &["token", "create", "--name", "hub", "--scope", "read"],
        None,
    );
}

#[test]
fn a_registry_credential_is_stored_sealed_for_its_groups_and_bad_input_is_named() {
    let kiln = Kiln::new();
    kiln.ok(&["group", "add", "ml"], None);
    kiln.ok(&["group", "add", "cv"], None);
    fn add<'a>(args: &[&'a str]) -> Vec<&'a str> {
        [&["credential", "add"], args].concat()
    }
    assert_eq!(
        kiln.ok(
            &add(&[
                "ghcr",
                "--registry",
                "ghcr.io",
                "--username",
                "bot",
                "--group",
                "ml",
                "--group",
                "cv"
            ]),
            Some("p4ss word\n")
        ),
        "Created credential ghcr for ml, cv.\n"
    );
    assert_eq!(
        kiln.ok(
            &add(&[
                "mirror",
                "--registry",
                "registry.example.org:5000",
                "--username",
                "kiln"
            ]),
            Some("x\n")
        ),
        "Created credential mirror (for global images only).\n"
    );
    let list = kiln.ok(&["credential", "list"], None);
    let rows: Vec<Vec<&str>> = list
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["ghcr", "ghcr.io", "bot", "cv,ml"],
            vec!["mirror", "registry.example.org:5000", "kiln"],
        ]
    );
    // The password is sealed with the data folder's key, never stored as given.
    for file in ["kiln.db", "kiln.db-wal"] {
        let bytes = std::fs::read(kiln.dir.join(file)).unwrap_or_default();
        assert!(!bytes.windows(9).any(|w| w == b"p4ss word"), "{file}");
    }
    assert!(kiln.dir.join("secret.key").exists());

    for (args, stdin, error) in [
        (
            add(&["ghcr", "--registry", "ghcr.io", "--username", "bot"]),
            "x\n",
            "error: There is a credential ghcr already.\n",
        ),
        (
            add(&["q", "--registry", "https://quay.io", "--username", "bot"]),
            "x\n",
            "error: registry: must be a registry host, e.g. ghcr.io or registry.example.org:5000\n",
        ),
        (
            add(&["q", "--registry", "quay.io", "--username", "bot"]),
            "\n",
            "error: password: is required\n",
        ),
        (
            add(&[
                "q",
                "--registry",
                "quay.io",
                "--username",
                "bot",
                "--group",
                "nlp",
            ]),
            "x\n",
            "error: groups: there is no group nlp\n",
        ),
        (
            add(&["Q Q", "--registry", "quay.io", "--username", "bot"]),
            "x\n",
            "error: name: may contain only lowercase letters, digits, '-', '_' and '.'\n",
        ),
    ] {
        assert_eq!(kiln.fails(&args, Some(stdin)), error, "{args:?}");
    }
    assert_eq!(
        kiln.ok(&["credential", "list"], None).lines().count(),
        2,
        "nothing half-written"
    );
}

#[test]
fn the_demo_prints_passwords_once() {
    let kiln = Kiln::new();
    let first = kiln.ok(&["demo"], None);
    assert!(
        first.contains("demo-admin") && first.contains("demo-member"),
        "{first}"
    );
    let again = kiln.ok(&["demo"], None);
    assert!(
        again.starts_with("The demo accounts exist already"),
        "{again}"
    );
}

/// The images of the group demo by name, and how many builds each has.
async fn demo_images(kiln: &Kiln) -> Vec<(String, usize)> {
    use app::backend::{builds, groups, images};
    let db = app::backend::Db::connect(&format!("sqlite://{}/kiln.db", kiln.dir.display()))
        .await
        .unwrap();
    let demo = groups::find(&db, "demo").await.unwrap().unwrap().id;
    let mut found = Vec::new();
    for image in images::all_of(&db, images::Scope::Group(demo))
        .await
        .unwrap()
    {
        let builds = builds::history(&db, image.id).await.unwrap().len();
        found.push((image.name, builds));
    }
    db.pool.close().await;
    found.sort();
    found
}

#[tokio::test]
async fn the_demo_samples_are_registered_once_and_with_builds_off_no_custom_image_is_made() {
    let kiln = Kiln::new();
    // Plain `kiln demo` (the browser tests' seed) makes accounts and no images.
    kiln.ok(&["demo"], None);
    assert_eq!(demo_images(&kiln).await, []);

    let base = ["--base-image", "127.0.0.1:5055/base/debian:bookworm"];
    let samples = [&["demo", "--samples", "--builder", "none"][..], &base].concat();
    let first = kiln.ok(&samples, None);
    assert_eq!(
        first,
        "The demo accounts exist already; their passwords were shown when they were created.\n\
         Registered in demo: scipy-notebook, r-notebook, pytorch-cuda12, tensorflow-notebook.\n\
         No custom image: builds are off on this Kiln. Builds are turned off (KILN_BUILDER=none).\n"
    );
    let registered = [
        ("pytorch-cuda12".to_owned(), 0),
        ("r-notebook".to_owned(), 0),
        ("scipy-notebook".to_owned(), 0),
        ("tensorflow-notebook".to_owned(), 0),
    ];
    assert_eq!(demo_images(&kiln).await, registered);

    let again = kiln.ok(&samples, None);
    assert!(
        again.contains("The sample images of demo exist already.\n"),
        "{again}"
    );
    assert_eq!(demo_images(&kiln).await, registered, "nothing added");

    // Builds on in the settings but not on this host's terms is off too, saying why.
    let no_registry = kiln.ok(&["demo", "--samples"], None);
    assert!(
        no_registry.contains("No custom image: builds are off on this Kiln. No build registry"),
        "{no_registry}"
    );
}

#[test]
fn the_demo_samples_on_a_fresh_database_make_the_accounts_too() {
    let kiln = Kiln::new();
    let out = kiln.ok(&["demo", "--samples", "--builder", "none"], None);
    assert!(
        out.contains("demo-admin") && out.contains("Registered in demo: scipy-notebook"),
        "{out}"
    );
}

#[test]
fn help_names_the_demo_base_image_setting() {
    let kiln = Kiln::new();
    assert!(kiln.ok(&["--help"], None).contains("KILN_DEMO_BASE_IMAGE"));
    let demo = kiln.ok(&["demo", "--help"], None);
    assert!(
        demo.contains("--samples") && demo.contains("[env: KILN_DEMO_BASE_IMAGE=]"),
        "{demo}"
    );
}

/// What `make run` does when builds can be on: the demo queues debian-hello from the
/// loopback registry's Debian base, and `kiln serve` with the same settings builds it.
#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn with_builds_on_the_demo_queues_debian_hello_and_kiln_serve_builds_it() {
    use app::backend::{builds, groups, images};
    let registry = std::env::var("KILN_TEST_REGISTRY").expect(
        "KILN_TEST_REGISTRY names the loopback registry of scripts/build-env.sh (run make test-builds)",
    );
    let host = registry.split('/').next().unwrap().to_owned();
    let base = format!("{host}/base/debian:bookworm");
    let prefix = format!("{host}/kiln-demo-{}", app::backend::random_hex(4));
    let mut kiln = Kiln::new();
    kiln.env = vec![
        ("KILN_BUILDER", "local".into()),
        ("KILN_BUILD_REGISTRY", prefix.clone()),
        ("KILN_INSECURE_REGISTRIES", host.clone()),
        ("KILN_DEMO_BASE_IMAGE", base.clone()),
    ];
    let ca = "/etc/ssl/certs/ca-certificates.crt";
    if std::path::Path::new(ca).exists() {
        kiln.env.push(("KILN_BUILD_CA_BUNDLE", ca.into()));
    }
    let out = kiln.ok(&["demo", "--samples"], None);
    assert!(
        out.contains(&format!(
            "Made the custom image debian-hello from {base}; its build is queued"
        )),
        "{out}"
    );
    let seeded = demo_images(&kiln).await;
    assert!(
        seeded.contains(&("debian-hello".to_owned(), 1)) && seeded.len() == 5,
        "{seeded:?}"
    );

    let mut serve = kiln
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let db = app::backend::Db::connect(&format!("sqlite://{}/kiln.db", kiln.dir.display()))
        .await
        .unwrap();
    let demo = groups::find(&db, "demo").await.unwrap().unwrap().id;
    let image = images::require(&db, images::Scope::Group(demo), "debian-hello")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let build = loop {
        let build = builds::history(&db, image.id).await.unwrap().remove(0);
        if !build.state().is_active() {
            break build;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(900),
            "debian-hello still building: {build:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert_eq!(
        build.state(),
        app::domain::BuildState::Succeeded,
        "{build:?}"
    );
    let built = images::require(&db, images::Scope::Group(demo), "debian-hello")
        .await
        .unwrap();
    assert!(
        built
            .url
            .starts_with(&format!("{prefix}/demo/debian-hello:")),
        "{}",
        built.url
    );
    db.pool.close().await;

    let again = kiln.ok(&["demo", "--samples"], None);
    assert!(
        again.contains("The custom image debian-hello exists already."),
        "{again}"
    );
    assert_eq!(demo_images(&kiln).await, seeded, "no second build");
}

#[test]
fn help_documents_every_setting_and_its_environment_variable() {
    let help = Kiln::new().ok(&["--help"], None);
    for var in [
        "KILN_DATABASE_URL",
        "KILN_LISTEN",
        "KILN_DATA_DIR",
        "KILN_SECRET_KEY",
        "KILN_AUTH_MODE",
        "KILN_PROXY_USER_HEADER",
        "KILN_PROXY_GROUPS_HEADER",
        "KILN_TRUSTED_PROXIES",
        "KILN_PUBLIC_URL",
    ] {
        assert!(help.contains(var), "--help lacks {var}");
    }
}

#[test]
fn a_key_rotation_reseals_credentials_under_the_new_key() {
    let kiln = Kiln::new();
    std::fs::create_dir_all(&kiln.dir).unwrap();
    // Kiln generated its key into the data folder; it is kept aside as the old one.
    kiln.ok(
        &[
            "credential",
            "add",
            "harbor",
            "--registry",
            "r.example.org",
            "--username",
            "u",
        ],
        Some("the-password\n"),
    );
    let old = kiln.dir.join("old.key");
    std::fs::rename(kiln.dir.join("secret.key"), &old).unwrap();
    let said = kiln.ok(
        &["secret", "rotate", "--old-key-file", old.to_str().unwrap()],
        None,
    );
    assert!(
        said.starts_with("Re-sealed 1 credentials under key "),
        "{said}"
    );
    let again = kiln.ok(
        &["secret", "rotate", "--old-key-file", old.to_str().unwrap()],
        None,
    );
    assert!(again.starts_with("Re-sealed 0 credentials"), "{again}");
}

#[test]
fn proxy_mode_trusting_no_proxy_refuses_to_start() {
    let kiln = Kiln::new();
    let refused = kiln.fails(
        &[
            "serve",
            "--auth-mode",
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--builder",
            "none",
        ],
        None,
    );
    assert!(
        refused.contains("KILN_AUTH_MODE=proxy needs KILN_TRUSTED_PROXIES"),
        "{refused}"
    );
}

#[test]
fn a_bad_database_url_is_named() {
    let out = Command::new(env!("CARGO_BIN_EXE_kiln"))
        .args(["migrate", "--database-url", "mysql://x"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: database_url: must start with sqlite:// (a file) or postgres:// (a server)\n"
    );
}

#[test]
fn the_command_lines_changes_are_audited_as_the_operator() {
    let kiln = Kiln::new();
    kiln.ok(&["group", "add", "ml"], None);
    kiln.ok(
        &["user", "add", "ann", "--password-stdin"],
        Some("a long password\n"),
    );
    kiln.ok(&["member", "add", "ml", "ann", "--admin"], None);
    kiln.ok(
        &["token", "create", "--name", "hub", "--scope", "read"],
        None,
    );
    let audit = kiln.ok(&["audit"], None);
    let rows: Vec<Vec<&str>> = audit
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let actions: Vec<(&str, &str)> = rows.iter().map(|r| (r[1], r[2])).collect();
    assert_eq!(
        actions,
        [
            ("operator:cli", "token.create"),
            ("operator:cli", "membership.set"),
            ("operator:cli", "user.create"),
            ("operator:cli", "group.create"),
        ],
        "{audit}"
    );
}

#[tokio::test]
async fn an_image_is_deprecated_retired_and_restored_from_the_command_line() {
    let kiln = Kiln::new();
    kiln.ok(&["group", "add", "ml"], None);
    // The command line registers no images: one is stored as a page would.
    let db = app::backend::Db::connect(&format!("sqlite://{}/kiln.db", kiln.dir.display()))
        .await
        .unwrap();
    let ml = app::backend::groups::find(&db, "ml")
        .await
        .unwrap()
        .unwrap()
        .id;
    for name in ["torch", "torch-2"] {
        let form = app::domain::ImageForm {
            display_name: name.into(),
            image_type: "cpu".into(),
            url: format!("registry.example/{name}:1"),
            ..Default::default()
        };
        let mut conn = app::backend::db::testing::conn(&db).await;
        app::backend::images::create(
            &mut conn,
            app::backend::images::Scope::Group(ml),
            &form.validate().unwrap(),
            None,
        )
        .await
        .unwrap();
    }
    db.pool.close().await;

    let said = kiln.ok(
        &[
            "image",
            "deprecate",
            "torch",
            "--group",
            "ml",
            "--successor",
            "torch-2",
            "--retire-on",
            "2999-01-01",
        ],
        None,
    );
    assert_eq!(
        said,
        "torch: Deprecated — use torch-2 instead; it leaves the launch list on 2999-01-01 00:00 UTC.\n"
    );
    let refused = kiln.fails(
        &[
            "image",
            "deprecate",
            "torch-2",
            "--group",
            "ml",
            "--successor",
            "torch",
        ],
        None,
    );
    assert!(
        refused.contains("successor: torch is deprecated itself"),
        "{refused}"
    );
    let refused = kiln.fails(&["image", "retire", "torch"], None);
    assert!(
        refused.contains("torch"),
        "a global image of that name: {refused}"
    );
    assert!(
        kiln.ok(&["image", "retire", "torch", "--group", "ml"], None)
            .contains("Retired on")
    );
    assert_eq!(
        kiln.ok(&["image", "restore", "torch", "--group", "ml"], None),
        "torch: In use: launch pages offer it.\n"
    );
}

#[test]
fn a_credential_is_changed_regranted_and_deleted_from_the_command_line() {
    let kiln = Kiln::new();
    kiln.ok(&["group", "add", "ml"], None);
    kiln.ok(
        &[
            "credential",
            "add",
            "ghcr",
            "--registry",
            "ghcr.io",
            "--username",
            "bot",
        ],
        Some("first\n"),
    );
    assert_eq!(
        kiln.ok(
            &[
                "credential",
                "change",
                "ghcr",
                "--username",
                "bot-2",
                "--password-stdin"
            ],
            Some("second\n")
        ),
        "Changed credential ghcr.\n"
    );
    let refused = kiln.fails(&["credential", "change", "ghcr"], None);
    assert!(
        refused.contains("password: enter a new username or password"),
        "{refused}"
    );
    assert_eq!(
        kiln.ok(&["credential", "groups", "ghcr", "--group", "ml"], None),
        "Credential ghcr is for ml.\n"
    );
    let listed = kiln.ok(&["credential", "list"], None);
    assert!(
        listed.contains("bot-2") && listed.contains("ml"),
        "{listed}"
    );
    assert_eq!(
        kiln.ok(&["credential", "delete", "ghcr"], None),
        "Deleted credential ghcr.\n"
    );
    assert_eq!(kiln.ok(&["credential", "list"], None), "");
    assert!(
        kiln.fails(&["credential", "delete", "ghcr"], None)
            .contains("ghcr")
    );
}

#[test]
fn an_account_is_disabled_enabled_given_a_password_and_a_membership_removed() {
    let kiln = Kiln::new();
    kiln.ok(&["group", "add", "ml"], None);
    kiln.ok(
        &["user", "add", "ann", "--password-stdin"],
        Some("a long password\n"),
    );
    kiln.ok(&["member", "add", "ml", "ann"], None);
    assert_eq!(
        kiln.ok(&["user", "disable", "ann"], None),
        "Disabled ann: their sessions and tokens no longer work.\n"
    );
    assert_eq!(kiln.ok(&["user", "enable", "ann"], None), "Enabled ann.\n");
    let short = kiln.fails(&["user", "password", "ann"], Some("short\n"));
    assert!(
        short.contains("password: must be at least 8 characters"),
        "{short}"
    );
    kiln.ok(&["user", "password", "ann"], Some("another long one\n"));
    assert_eq!(
        kiln.ok(&["member", "remove", "ml", "ann"], None),
        "ann is no longer a member of ml.\n"
    );
    assert!(
        kiln.fails(&["member", "remove", "ml", "ann"], None)
            .contains("not a member of group ml")
    );
    assert_eq!(
        kiln.ok(&["user", "delete", "ann"], None),
        "Deleted ann with their memberships and tokens.\n"
    );
    let audit = kiln.ok(&["audit", "--limit", "5"], None);
    for action in [
        "membership.remove",
        "user.password",
        "user.enable",
        "user.disable",
    ] {
        assert!(audit.contains(action), "{audit}");
    }
}

#[test]
fn a_group_is_renamed_and_deleted_from_the_command_line() {
    let kiln = Kiln::new();
    kiln.ok(&["group", "add", "ml"], None);
    assert_eq!(
        kiln.ok(&["group", "rename", "ml", "ml-2"], None),
        "Renamed group ml to ml-2.\n"
    );
    let refused = kiln.fails(&["group", "rename", "ml-2", "global"], None);
    assert!(refused.contains("name: is reserved"), "{refused}");
    assert_eq!(
        kiln.ok(&["group", "delete", "ml-2"], None),
        "Deleted group ml-2.\n"
    );
    assert!(
        kiln.fails(&["group", "delete", "ml-2"], None)
            .contains("ml-2")
    );
}

#[tokio::test]
async fn the_build_cache_step_serves_its_repository_and_refuses_others_paths() {
    use app::backend::builder::cache_proxy::testing;
    let kiln = Kiln::new();
    std::fs::create_dir_all(&kiln.dir).unwrap();
    let auth = kiln.dir.join("push.json");
    std::fs::write(&auth, r#"{"auths":{}}"#).unwrap();
    let auth = auth.to_str().unwrap();
    // A registry that does not answer: the step says so and ends (its Pod restarts it).
    let unreachable = kiln.run(
        &[
            "kube",
            "build-cache",
            "--repository=127.0.0.1:9/kiln/ml/cache/layers",
            &format!("--auth-file={auth}"),
            "--insecure",
        ],
        None,
    );
    assert!(!unreachable.status.success());
    let said = String::from_utf8_lossy(&unreachable.stderr);
    assert!(said.contains("the registry could not be reached"), "{said}");

    if !testing::available() {
        eprintln!("needs Debian's docker-registry (make test-tools): not checked");
        return;
    }
    let (_registry, host) = testing::registry(&kiln.dir, testing::Login::None).await;
    let address = {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        free.local_addr().unwrap().to_string()
    };
    let mut step = tokio::process::Command::from(kiln.command(&[
        "kube",
        "build-cache",
        &format!("--repository={host}/kiln/ml/cache/layers"),
        &format!("--auth-file={auth}"),
        "--insecure",
        &format!("--address={address}"),
    ]));
    let _step = step.kill_on_drop(true).spawn().unwrap();
    let client = reqwest::Client::new();
    let mut ping = None;
    for _ in 0..100 {
        if let Ok(answer) = client.get(format!("http://{address}/v2/")).send().await {
            ping = Some(answer.status().as_u16());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ping, Some(200));
    for (path, expected) in [
        // Forwarded: the registry itself says the repository has no tags yet.
        ("/v2/kiln/ml/cache/layers/tags/list", 404),
        ("/v2/kiln/other/cache/layers/tags/list", 403),
        ("/v2/kiln/ml/tools/tags/list", 403),
    ] {
        let answer = client.get(format!("http://{address}{path}")).send().await;
        assert_eq!(answer.unwrap().status().as_u16(), expected, "{path}");
    }
    let _ = std::fs::remove_dir_all(&kiln.dir);
}
