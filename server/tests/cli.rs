//! The `kiln` command line, run as an operator would: clear output, clear errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

struct Kiln {
    db_url: String,
}

impl Kiln {
    fn new() -> Kiln {
        let dir = std::env::temp_dir().join(format!("kiln-cli-{}", app::backend::random_hex(6)));
        Kiln {
            db_url: format!("sqlite://{}/kiln.db", dir.display()),
        }
    }

    fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kiln"))
            .args(args)
            .env("KILN_DATABASE_URL", &self.db_url)
            .env("RUST_LOG", "warn")
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
        "error: user \"ann\" already exists\n"
    );
    assert_eq!(
        kiln.fails(&["group", "add", "ml"], None),
        "error: group \"ml\" already exists\n"
    );
    assert_eq!(
        kiln.fails(&["member", "add", "cv", "ann"], None),
        "error: group \"cv\" does not exist\n"
    );
    assert_eq!(
        kiln.fails(&["member", "add", "ml", "bob"], None),
        "error: user \"bob\" does not exist\n"
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
