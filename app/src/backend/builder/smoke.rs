//! The smoke test a built image passes before its URL moves, the same for both backends:
//! the image is started once as its own user, whose shell runs [`SCRIPT`]. It imports each
//! requested Pip package (the top-level modules its installed distribution names) and runs
//! `jupyter --version` where Jupyter is installed. Everything the image prints is treated as
//! hostile: it goes into the build log as bounded lines, and the verdict is the script's
//! exit status alone ([`failure`]), never text read from its output.
//!
//! The package names reach the image as a file of validated names ([`packages_file`]), one
//! a line, read by Python: no name is ever part of a command line or a script.

use std::time::Duration;

use super::BuildFailure;
use crate::backend::builds::FailReason;

/// Where the image sees the smoke test's folder (read-only): the script and the names file.
pub const DIR: &str = "/run/kiln/smoke";
/// The files in it.
pub const SCRIPT_FILE: &str = "smoke.sh";
pub const PACKAGES_FILE: &str = "packages.txt";

/// How long the smoke run may take unless configured (`KILN_BUILD_SMOKE_TIMEOUT`; on
/// Kubernetes, pulling the image included).
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(300);

/// The command that starts the test in the image: the image's own `/bin/sh`.
pub fn command() -> Vec<String> {
    vec![
        "/bin/sh".into(),
        format!("{DIR}/{SCRIPT_FILE}"),
        format!("{DIR}/{PACKAGES_FILE}"),
    ]
}

/// Exit statuses of [`SCRIPT`] that name what failed; 20 + i: the i-th package (from 0)
/// of the names file did not import (the last such status stands for all after it). Clear
/// of the shell's own (1, 2, 126, 127, 128 + signal).
const NO_PYTHON: i32 = 10;
const BAD_NAMES: i32 = 11;
const JUPYTER: i32 = 12;
const FIRST_PACKAGE: i32 = 20;
const LAST_PACKAGE: i32 = 99;

/// The smoke test. `$1` is the names file. Runs as the image's user, with its environment.
/// The Python program has no single quote, so that it can be a shell literal.
pub const SCRIPT: &str = r#"packages=$1
echo "[kiln smoke] a shell runs as $(id 2>/dev/null || echo "uid unknown")"
if [ -s "$packages" ]; then
  py=$(command -v python3 || command -v python || true)
  [ -n "$py" ] || { echo "[kiln smoke] no python3 in the image to import the Pip packages with"; exit 10; }
  "$py" -c '
import importlib, re, sys, traceback
try:
    from importlib import metadata
except ImportError:
    import importlib_metadata as metadata
NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
SKIP = {"test", "tests", "testing", "__pycache__"}

def distribution(name):
    try:
        return metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return metadata.distribution(name.replace("-", "_"))

def modules(dist):
    top = dist.read_text("top_level.txt")
    if top:
        found = [line.strip().replace("/", ".") for line in top.splitlines()]
    else:
        found = []
        for path in dist.files or []:
            parts = path.parts
            if not parts or parts[0].startswith("..") or parts[0] == "__pycache__":
                continue
            if parts[0].endswith((".dist-info", ".egg-info", ".data")):
                continue
            if len(parts) == 2 and parts[1] == "__init__.py":
                found.append(parts[0])
            elif len(parts) == 1 and parts[0].endswith(".py"):
                found.append(parts[0][:-3])
    return sorted({m for m in found if MODULE.match(m) and m.split(".")[0] not in SKIP})

names = open(sys.argv[1]).read().split()
first_failed = None
for index, name in enumerate(names):
    if not NAME.match(name):
        print("[kiln smoke] not a package name:", repr(name[:80]), flush=True)
        sys.exit(11)
    try:
        dist = distribution(name)
        found = modules(dist)
        if not found:
            print("[kiln smoke] %s: no top-level module to import" % name, flush=True)
        for module in found:
            importlib.import_module(module)
            print("[kiln smoke] %s: import %s ok" % (name, module), flush=True)
    except BaseException:
        print("[kiln smoke] %s did not import:" % name, flush=True)
        traceback.print_exc()
        sys.stderr.flush()
        if first_failed is None:
            first_failed = index
if first_failed is not None:
    sys.exit(20 + min(first_failed, 79))
' "$packages" || exit $?
fi
if command -v jupyter >/dev/null 2>&1; then
  echo "[kiln smoke] jupyter --version"
  jupyter --version || { echo "[kiln smoke] jupyter --version failed"; exit 12; }
fi
echo "[kiln smoke] passed"
"#;

/// The names file for the spec's Pip lines: each requirement's name (PEP 508), normalised
/// as PEP 503 says, one a line, each once. A line whose name is not plainly one is left
/// out rather than passed on.
pub fn packages_file(pip: &[String]) -> String {
    let mut names: Vec<String> = Vec::new();
    for name in pip.iter().filter_map(|line| package_name(line)) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names.iter().map(|n| format!("{n}\n")).collect()
}

/// The PEP 503 name of a PEP 508 requirement (`Torch[cuda]==2.3` → `torch`,
/// `typing_extensions` → `typing-extensions`); `None` unless it is a plain name: ASCII
/// letters and digits, separated by single `-`, at most 200 characters.
pub fn package_name(requirement: &str) -> Option<String> {
    use crate::domain::{packages::pip_name, sbom::pep503};
    let name = pep503(pip_name(requirement));
    let plain =
        !name.is_empty() && name.len() <= 200 && !name.starts_with('-') && !name.ends_with('-');
    plain.then_some(name)
}

/// What a smoke run that exited with `code` means, in words; `None` when it passed.
/// `packages` is the names file the run was given (Kiln's own, not the image's output).
pub fn failure(code: i32, packages: &str) -> Option<BuildFailure> {
    let what = match code {
        0 => return None,
        NO_PYTHON => "the image has no python3 to import its Pip packages with".to_owned(),
        BAD_NAMES => "the list of packages to import was refused".to_owned(),
        JUPYTER => "jupyter --version failed".to_owned(),
        FIRST_PACKAGE..=LAST_PACKAGE => {
            let index = (code - FIRST_PACKAGE) as usize;
            match packages.lines().nth(index) {
                Some(name) if code < LAST_PACKAGE => format!("package {name} did not import"),
                Some(name) => format!("package {name} or one after it did not import"),
                None => "a package did not import".to_owned(),
            }
        }
        126 | 127 => "the image's user could not run /bin/sh".to_owned(),
        code => format!("the test exited with status {code}"),
    };
    Some(failed(&what))
}

/// A smoke-test failure saying `what` failed.
pub fn failed(what: &str) -> BuildFailure {
    BuildFailure::new(
        FailReason::SmokeTest,
        format!("The image was built but failed its smoke test: {what}; the log says why."),
    )
}

/// The smoke run did not end within `limit` ([`LIMIT`]).
pub fn timed_out(limit: Duration) -> BuildFailure {
    failed(&format!(
        "it did not finish within {} s",
        limit.as_secs_f64()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_from_pep508_lines_and_normalised_as_pep503_says() {
        assert_eq!(package_name("six==1.16.0").as_deref(), Some("six"));
        assert_eq!(
            package_name("Torch[cuda]>=2.3 ; python_version>'3'").as_deref(),
            Some("torch")
        );
        assert_eq!(
            package_name("typing_extensions").as_deref(),
            Some("typing-extensions")
        );
        assert_eq!(
            package_name("Zope.Interface").as_deref(),
            Some("zope-interface")
        );
        assert_eq!(package_name("a__-.b").as_deref(), Some("a-b"));
        assert_eq!(
            packages_file(&["six==1.16.0".into(), "Six".into(), "numpy".into()]),
            "six\nnumpy\n",
            "one line each, once"
        );
    }

    #[test]
    fn the_names_file_refuses_anything_that_is_not_plainly_a_name() {
        for odd in [
            "",
            "-r other.txt",
            "$(reboot)",
            "'; rm -rf /",
            "\nsix",
            "_private",
            "name_",
            "ünicode",
            "@ https://example.org/x.whl",
        ] {
            assert_eq!(package_name(odd), None, "{odd:?}");
        }
        let long = "a".repeat(201);
        assert_eq!(package_name(&long), None);
        let file = packages_file(&["$(reboot)".into(), "six;x".into(), "a b".into()]);
        assert_eq!(file, "six\na\n", "only the names, each a plain one");
        for line in file.lines() {
            assert!(
                line.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            );
        }
    }

    #[test]
    fn the_verdict_is_the_exit_status_and_names_the_package_from_kilns_own_list() {
        let packages = "six\nkiln-broken\n";
        assert!(failure(0, packages).is_none());
        let broken = failure(21, packages).unwrap();
        assert_eq!(broken.reason, FailReason::SmokeTest);
        assert_eq!(
            broken.message,
            "The image was built but failed its smoke test: package kiln-broken did not import; \
             the log says why."
        );
        assert!(
            failure(20 + 7, packages)
                .unwrap()
                .message
                .contains("a package did not")
        );
        assert!(
            failure(12, packages)
                .unwrap()
                .message
                .contains("jupyter --version")
        );
        assert!(failure(127, packages).unwrap().message.contains("/bin/sh"));
        assert!(failure(1, packages).unwrap().message.contains("status 1"));
    }

    #[test]
    fn the_script_takes_names_only_from_its_file_and_exits_with_the_documented_statuses() {
        // Run by the host's sh and python3 against a names file: a module that raises on
        // import fails with 20 + its index; a good one passes.
        let Ok(python) = which_python3() else {
            return;
        };
        let dir =
            std::env::temp_dir().join(format!("kiln-smoke-{}", crate::backend::random_hex(4)));
        let site = dir.join("site");
        std::fs::create_dir_all(site.join("kiln_fine")).unwrap();
        std::fs::create_dir_all(site.join("kiln_fine-1.0.dist-info")).unwrap();
        std::fs::create_dir_all(site.join("kiln_broken-1.0.dist-info")).unwrap();
        std::fs::write(site.join("kiln_fine/__init__.py"), "").unwrap();
        std::fs::write(
            site.join("kiln_broken.py"),
            "raise RuntimeError('refused')\n",
        )
        .unwrap();
        for (dist, files) in [
            ("kiln_fine-1.0.dist-info", "kiln_fine/__init__.py,,\n"),
            (
                "kiln_broken-1.0.dist-info",
                "kiln_broken.py,,\n../../bin/x,,\n",
            ),
        ] {
            let name = dist.split('-').next().unwrap().replace('_', "-");
            std::fs::write(
                site.join(dist).join("METADATA"),
                format!("Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"),
            )
            .unwrap();
            std::fs::write(site.join(dist).join("RECORD"), files).unwrap();
        }
        std::fs::write(dir.join("smoke.sh"), SCRIPT).unwrap();
        let run = |names: &str| {
            std::fs::write(dir.join("packages.txt"), names).unwrap();
            let out = std::process::Command::new("sh")
                .arg(dir.join("smoke.sh"))
                .arg(dir.join("packages.txt"))
                .env("PYTHONPATH", &site)
                .env(
                    "PATH",
                    format!(
                        "{}:{}:/usr/bin:/bin",
                        dir.join("bin").display(),
                        python.parent().unwrap().display()
                    ),
                )
                .output()
                .unwrap();
            (
                out.status.code().unwrap(),
                String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr),
            )
        };
        let (code, out) = run("kiln-fine\n");
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("kiln-fine: import kiln_fine ok"), "{out}");
        assert!(out.contains("[kiln smoke] passed"), "{out}");
        let (code, out) = run("kiln-fine\nkiln-broken\n");
        assert_eq!(code, 21, "{out}");
        assert!(out.contains("RuntimeError: refused"), "{out}");
        let (code, out) = run("kiln-fine\n$(touch /tmp/x)\n");
        assert_eq!(code, 11, "{out}");
        let (code, out) = run("not-installed-anywhere-kiln\n");
        assert_eq!(code, 20, "{out}");
        // `jupyter --version` runs where jupyter is on PATH, and its failure is its own.
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let jupyter = dir.join("bin/jupyter");
        for (body, expected) in [("echo jupyter_core 5.7.2", 0), ("exit 3", 12)] {
            std::fs::write(&jupyter, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&jupyter, std::fs::Permissions::from_mode(0o755)).unwrap();
            let (code, out) = run("");
            assert_eq!(code, expected, "{out}");
            assert!(out.contains("[kiln smoke] jupyter --version\n"), "{out}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn which_python3() -> Result<std::path::PathBuf, ()> {
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|dir| dir.join("python3"))
            .find(|p| p.exists())
            .ok_or(())
    }
}
