//! A build's context: the package lists as files and the fixed Containerfile that reads
//! them, `FROM` the base image pinned by digest. Nothing typed ever reaches an instruction.

use crate::domain::build::BuildSpec;
use crate::domain::packages::Packages;
use crate::domain::{FieldError, ImageRef};

/// The files of a build context, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildContext {
    /// The base image pinned by digest, as `FROM` names it (pulled before the build).
    pub base: String,
    pub files: Vec<(&'static str, String)>,
    /// The smoke test's names file: the Pip packages to import once the image is built
    /// (`smoke::packages_file`). Not a build input: no build step reads it.
    pub smoke_packages: String,
    /// The user the image runs as: the base image's, restored by the last step.
    pub user: String,
}

/// How many steps the Containerfile has, for the progress bar: FROM, the cache scope,
/// USER, APT, Conda, five Pip steps, USER.
pub const BUILD_STEPS: u32 = 11;

/// Where build steps find the optional CA bundle (mounted read-only when configured).
pub const CA_PATH: &str = "/run/kiln/ca.crt";

/// Where the last build step writes the record of installed packages, one per line
/// (`apt NAME\tVERSION`, `conda …`, `pip NAME==VERSION`). Kiln reads it from the built
/// image, never from the log, which any package can print into.
pub const RECORD_PATH: &str = "/opt/kiln/installed.txt";

/// The most of the record Kiln keeps.
pub const RECORD_LIMIT: u64 = 1024 * 1024;

/// The build context for `spec` on the base image pinned by digest. `base_user` is the
/// base image's configured user, restored at the end; it comes from the image's config,
/// so it is checked like user input. `scope` is whose layer cache the build may use.
pub fn build_context(
    spec: &BuildSpec,
    base_digest: &str,
    base_user: &str,
    scope: &CacheScope,
) -> Result<BuildContext, FieldError> {
    let pinned = pinned_base(&spec.base_image, base_digest)?;
    let user = if base_user.is_empty() {
        "root"
    } else {
        base_user
    };
    let user_ok = user
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.:-".contains(c));
    if !user_ok {
        return Err(FieldError::coded(
            "base_image",
            crate::domain::messages::BASE_IMAGE_USER,
            &[],
        ));
    }
    let apt = lines(&spec.packages.apt);
    let conda = environment_yml(&spec.packages);
    let (pip_steps, pip_files) = pip_steps(&spec.packages.pip);
    let containerfile = CONTAINERFILE
        .replace("{pip_steps}", &pip_steps)
        .replace("{base}", &pinned)
        .replace("{scope}", &scope.0)
        .replace("{apt_key}", &input_key(&apt))
        .replace("{conda_key}", &input_key(&conda))
        .replace("{user}", user)
        .replace("{ca}", CA_PATH)
        .replace("{record}", RECORD_PATH);
    let mut files = vec![
        ("Containerfile", containerfile),
        ("apt.txt", apt),
        ("environment.yml", conda),
    ];
    files.extend(pip_files);
    Ok(BuildContext {
        base: pinned,
        files,
        smoke_packages: super::smoke::packages_file(&spec.packages.pip),
        user: user.to_owned(),
    })
}

/// Whose layer cache a build may use: one owner (a group, or the global images) of one
/// build registry, as a digest. Written into the Containerfile before every step, so two
/// scopes never share a cached layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheScope(String);

impl CacheScope {
    /// The scope of `group_id`'s builds (`None`: the global images') pushed under
    /// `registry` (the build registry with its prefix).
    pub fn new(registry: &str, group_id: Option<i64>) -> Self {
        let owner = match group_id {
            Some(id) => format!("group {id}"),
            None => "global".to_owned(),
        };
        CacheScope(input_key(&format!("{registry}\n{owner}")))
    }
}

/// What a step's cache is keyed on: the first 16 hex digits of the SHA-256 of its list.
pub(super) fn input_key(content: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(content.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `registry/repo@sha256:…`: the base image exactly as resolved.
fn pinned_base(base: &ImageRef, digest: &str) -> Result<String, FieldError> {
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(FieldError::coded(
            "base_image",
            crate::domain::messages::BASE_IMAGE_DIGEST,
            &[],
        ));
    }
    Ok(match base.registry() {
        Some(registry) => format!("{registry}/{}@{digest}", base.repository()),
        None => format!("{}@{digest}", base.repository()),
    })
}

fn lines(items: &[String]) -> String {
    items.iter().map(|l| format!("{l}\n")).collect()
}

/// The Conda packages as an environment file; empty when there are none. Each entry is
/// a JSON string, which YAML reads as a quoted scalar.
fn environment_yml(packages: &Packages) -> String {
    if packages.conda.is_empty() {
        return String::new();
    }
    let quoted = |s: &String| serde_json::to_string(s).unwrap_or_default();
    let mut out = String::from("channels:\n");
    for channel in &packages.conda_channels {
        out.push_str(&format!("  - {}\n", quoted(channel)));
    }
    out.push_str("dependencies:\n");
    for spec in &packages.conda {
        out.push_str(&format!("  - {}\n", quoted(spec)));
    }
    out
}

/// The Containerfile. Nothing a user typed is in it: `{base}` is a digest-pinned
/// reference that passed the grammar, `{user}` a checked user name, `{scope}` and the
/// `{…_key}`s hex digests (of the owner, of the package files), `{ca}` and `{record}`
/// constants. The steps run as uid 0 by number: an image without `/etc/passwd` has no
/// user named root to look up.
///
/// APT, Conda and Pip are layers of their own, in that order, so that a change to a later
/// list reuses the layers before it; Pip has five, by line (see [`PIP_FIRST_LINES`]), so
/// that one package added at its end installs only that package. A step reads its list
/// through a bind mount, which
/// builders do not key their layer cache on (buildah does not), so the list's digest is
/// written into the step: a new list is a new step. The scope label comes before every
/// step, so two groups never share a cached layer. The last Pip step ends by writing the
/// record of installed packages (whatever installed them).
/// Each step prints `kiln-error: REASON:` before failing for a reason Kiln names.
/// `apt-get update` fails when a mirror cannot be read (it only warns by default, and the
/// install then says "Unable to locate package", blaming a package for a network fault),
/// and is tried 3 times, 5 s apart, before the build fails.
const CONTAINERFILE: &str = r#"FROM {base}
LABEL io.kiln.cache-scope="{scope}"
USER 0
RUN --mount=type=bind,source=apt.txt,target=/tmp/kiln/apt.txt set -eu; : kiln-input {apt_key}; \
if [ -s /tmp/kiln/apt.txt ]; then \
  command -v apt-get >/dev/null 2>&1 || { echo "kiln-error: no-apt: the base image has no apt-get, which the APT packages need" >&2; exit 1; }; \
  if [ -f {ca} ]; then echo 'Acquire::https::CAInfo "{ca}";' > /etc/apt/apt.conf.d/99kiln-ca; fi; \
  n=1; until apt-get update -o APT::Update::Error-Mode=any; do \
    [ "$n" -lt 3 ] || { echo "apt-get update failed 3 times: the package mirrors above could not be read" >&2; exit 1; }; \
    n=$((n + 1)); echo "apt-get update failed; trying again in 5 s (attempt $n of 3)" >&2; sleep 5; \
  done; \
  DEBIAN_FRONTEND=noninteractive xargs -a /tmp/kiln/apt.txt apt-get install -y --no-install-recommends; \
  rm -rf /var/lib/apt/lists/* /etc/apt/apt.conf.d/99kiln-ca; \
fi
RUN --mount=type=bind,source=environment.yml,target=/tmp/kiln/environment.yml set -eu; : kiln-input {conda_key}; \
if [ -s /tmp/kiln/environment.yml ]; then \
  if [ -f {ca} ]; then export CONDA_SSL_VERIFY={ca} MAMBA_SSL_VERIFY={ca} REQUESTS_CA_BUNDLE={ca}; fi; \
  if command -v micromamba >/dev/null 2>&1; then micromamba install -y -n base -f /tmp/kiln/environment.yml; \
  elif command -v mamba >/dev/null 2>&1; then mamba env update -n base -f /tmp/kiln/environment.yml; \
  elif command -v conda >/dev/null 2>&1; then conda env update -n base -f /tmp/kiln/environment.yml; \
  else echo "kiln-error: no-conda: the base image has no conda, mamba or micromamba, which the Conda packages need" >&2; exit 1; fi; \
fi
{pip_steps}USER {user}
"#;

/// One Pip step: `{file}` is the list up to this step's last line (pip resolves them all
/// together), installed when the list reaches line `{first}`; otherwise the step does
/// nothing.
const PIP_STEP: &str = r#"RUN --mount=type=bind,source={file},target=/tmp/kiln/requirements.txt set -eu; : kiln-input {key}; \
if [ "$(wc -l < /tmp/kiln/requirements.txt)" -ge {first} ]; then \
  if [ -f {ca} ]; then export PIP_CERT={ca}; fi; \
  py=$(command -v python3 || command -v python || true); \
  [ -n "$py" ] || { echo "kiln-error: no-python: the base image has no python3, which the Pip packages need" >&2; exit 1; }; \
  PIP_BREAK_SYSTEM_PACKAGES=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
    "$py" -m pip install --no-input -r /tmp/kiln/requirements.txt; \
fi"#;

/// The end of the last Pip step: the record of installed packages (whatever installed them).
const RECORD: &str = r#"; \
set +e; mkdir -p /opt/kiln; \
(dpkg-query -W 2>/dev/null || true) > /opt/kiln/apt-installed.txt; \
( (command -v micromamba >/dev/null 2>&1 && micromamba list -n base) || (command -v conda >/dev/null 2>&1 && conda list -n base) || true) > /opt/kiln/conda-installed.txt 2>/dev/null; \
py=$(command -v python3 || command -v python || true); \
( [ -n "$py" ] && "$py" -m pip freeze 2>/dev/null || true) > /opt/kiln/pip-installed.txt; \
{ sed 's/^/apt /' /opt/kiln/apt-installed.txt; sed 's/^/conda /' /opt/kiln/conda-installed.txt; sed 's/^/pip /' /opt/kiln/pip-installed.txt; } > {record}; \
true"#;

/// The first line of each Pip step: lines 1, 2–3, 4–7, 8–15 and 16 on. A package added at
/// the end of the list reinstalls only the step it falls in and those after it, which
/// install nothing until the list reaches them.
const PIP_FIRST_LINES: [usize; 5] = [1, 2, 4, 8, 16];

/// The Pip steps, and their files: `requirements-N.txt`, the list up to step N's last
/// line; the last step's is the whole list, `requirements.txt`.
fn pip_steps(pip: &[String]) -> (String, Vec<(&'static str, String)>) {
    const FILES: [&str; 5] = [
        "requirements-1.txt",
        "requirements-2.txt",
        "requirements-3.txt",
        "requirements-4.txt",
        "requirements.txt",
    ];
    let mut steps = String::new();
    let mut files = Vec::new();
    for (n, first) in PIP_FIRST_LINES.into_iter().enumerate() {
        let upto = PIP_FIRST_LINES
            .get(n + 1)
            .map_or(pip.len(), |next| (next - 1).min(pip.len()));
        let list = lines(&pip[..upto]);
        steps.push_str(
            &PIP_STEP
                .replace("{file}", FILES[n])
                .replace("{key}", &input_key(&list))
                .replace("{first}", &first.to_string()),
        );
        if n + 1 == PIP_FIRST_LINES.len() {
            steps.push_str(RECORD);
        }
        steps.push('\n');
        files.push((FILES[n], list));
    }
    (steps, files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::build::*;
    use proptest::prelude::*;

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn form() -> BuildForm {
        BuildForm {
            display_name: "torch.2".into(),
            image_type: "gpu".into(),
            base_image: "127.0.0.1:5000/base/debian:12".into(),
            apt: "curl\n".into(),
            conda: "-c conda-forge::numpy==1.17*".into(),
            pip: "torch==2.3.0+cu121\n".into(),
            ..Default::default()
        }
    }

    fn scope(group: Option<i64>) -> CacheScope {
        CacheScope::new("127.0.0.1:5000/kiln", group)
    }

    fn containerfile(spec: &BuildSpec) -> String {
        build_context(spec, DIGEST, "jovyan", &scope(Some(7)))
            .unwrap()
            .files[0]
            .1
            .clone()
    }

    /// The Containerfile with each step's input key blanked: the instructions alone.
    fn instructions(spec: &BuildSpec) -> String {
        let file = containerfile(spec);
        let keys = input_keys(&file);
        keys.iter()
            .fold(file, |file, key| file.replace(key.as_str(), "KEY"))
    }

    /// The keys written into the steps, in order.
    fn input_keys(containerfile: &str) -> Vec<String> {
        containerfile
            .split(": kiln-input ")
            .skip(1)
            .map(|rest| rest.split(';').next().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn each_list_keys_only_its_own_layer_and_groups_never_share_one() {
        let spec = form().validate_spec().unwrap();
        let keys = input_keys(&containerfile(&spec));
        assert_eq!(keys.len(), 7, "APT, Conda and five Pip steps");
        for key in &keys {
            assert_eq!(key.len(), 16);
            assert!(key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
        }
        // The form's Pip list has one line; a second falls in the second Pip step.
        let one_more_pip = BuildForm {
            pip: "torch==2.3.0+cu121\nsix\n".into(),
            ..form()
        };
        let changed = input_keys(&containerfile(&one_more_pip.validate_spec().unwrap()));
        assert_eq!(
            changed[..3],
            keys[..3],
            "APT, Conda and the first Pip step are reused"
        );
        assert_ne!(changed[3], keys[3], "the Pip step of line 2 runs");
        let one_more_apt = BuildForm {
            apt: "curl\ngit\n".into(),
            ..form()
        };
        let changed = input_keys(&containerfile(&one_more_apt.validate_spec().unwrap()));
        assert_ne!(changed[0], keys[0]);
        assert_eq!(changed[1..], keys[1..]);
        // A Pip step installs the list up to its own last line, once the list reaches it.
        let long = BuildForm {
            pip: (1..=20).map(|i| format!("p{i}\n")).collect(),
            ..form()
        };
        let context = build_context(
            &long.validate_spec().unwrap(),
            DIGEST,
            "jovyan",
            &scope(Some(7)),
        )
        .unwrap();
        let file = |name: &str| {
            context
                .files
                .iter()
                .find(|(n, _)| *n == name)
                .unwrap()
                .1
                .lines()
                .count()
        };
        assert_eq!(
            [
                "requirements-1.txt",
                "requirements-2.txt",
                "requirements-3.txt",
                "requirements-4.txt",
                "requirements.txt"
            ]
            .map(file),
            [1, 3, 7, 15, 20]
        );
        assert_eq!(
            context.files[0].1.matches("-ge ").count(),
            5,
            "each Pip step says from which line it installs"
        );

        let label = |scope: CacheScope| {
            build_context(&spec, DIGEST, "jovyan", &scope)
                .unwrap()
                .files[0]
                .1
                .lines()
                .nth(1)
                .unwrap()
                .to_owned()
        };
        let ml = label(scope(Some(7)));
        assert!(ml.starts_with("LABEL io.kiln.cache-scope=\""), "{ml}");
        assert_eq!(ml, label(scope(Some(7))), "stable");
        assert_ne!(ml, label(scope(Some(8))), "another group");
        assert_ne!(ml, label(scope(None)), "the global images");
        let elsewhere = CacheScope::new("127.0.0.1:5000/other-kiln", Some(7));
        assert_ne!(ml, label(elsewhere), "another registry's group 7");
    }

    #[test]
    fn a_valid_form_becomes_a_spec_and_a_fixed_context() {
        let build = form().validate().unwrap();
        assert_eq!(build.name.as_str(), "torch-2");
        let context = build_context(&build.spec, DIGEST, "jovyan", &scope(Some(7))).unwrap();
        let file = |name: &str| {
            context
                .files
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, c)| c.clone())
                .unwrap()
        };
        assert!(file("Containerfile").starts_with(&format!(
            "FROM 127.0.0.1:5000/base/debian@{DIGEST}\nLABEL io.kiln.cache-scope=\"{}\"\nUSER 0\n",
            scope(Some(7)).0
        )));
        assert!(file("Containerfile").ends_with("USER jovyan\n"));
        assert_eq!(
            file("Containerfile")
                .lines()
                .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
                .count(),
            BUILD_STEPS as usize
        );
        assert_eq!(file("apt.txt"), "curl\n");
        assert_eq!(file("requirements.txt"), "torch==2.3.0+cu121\n");
        assert_eq!(
            file("environment.yml"),
            "channels:\n  - \"conda-forge\"\ndependencies:\n  - \"conda-forge::numpy 1.17.*\"\n"
        );
    }

    #[test]
    fn errors_name_their_fields_and_nothing_is_built_from_a_bad_form() {
        let bad = BuildForm {
            display_name: "Bad".into(),
            base_image: "not an image".into(),
            apt: "ok\nBAD".into(),
            ..form()
        };
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["display_name", "base_image", "apt"]);
        assert!(
            errors[2].message.starts_with("APT line 2:"),
            "{}",
            errors[2].message
        );
    }

    #[test]
    fn the_tag_follows_spec_base_digest_and_nothing_else() {
        let spec = form().validate_spec().unwrap();
        let tag = spec.content_tag(DIGEST);
        assert_eq!(tag.len(), 16);
        assert_eq!(tag, spec.content_tag(DIGEST), "stable");
        let spaced = BuildForm {
            apt: "  curl  \n\n".into(),
            ..form()
        };
        assert_eq!(
            spaced.validate_spec().unwrap().content_tag(DIGEST),
            tag,
            "whitespace is not content"
        );
        let more = BuildForm {
            apt: "curl\ngit".into(),
            ..form()
        };
        assert_ne!(more.validate_spec().unwrap().content_tag(DIGEST), tag);
        assert_ne!(
            spec.content_tag(&DIGEST.replace('0', "f")),
            tag,
            "a new base digest"
        );
    }

    #[test]
    fn rebuild_shows_the_spec_as_it_was_parsed() {
        let spec = form().validate_spec().unwrap();
        let again = BuildForm {
            display_name: "torch.2".into(),
            image_type: "gpu".into(),
            ..spec.to_form()
        };
        assert_eq!(again.validate_spec().unwrap(), spec);
    }

    #[test]
    fn a_base_user_that_is_not_a_name_is_refused() {
        let spec = form().validate_spec().unwrap();
        assert!(build_context(&spec, DIGEST, "root\nRUN evil", &scope(None)).is_err());
        assert!(build_context(&spec, DIGEST, "1000:1000", &scope(None)).is_ok());
        assert!(build_context(&spec, "sha256:short", "root", &scope(None)).is_err());
    }

    proptest! {
        /// Whatever the boxes hold, either the spec is refused or the Containerfile is the
        /// same one: user strings only ever reach the package files.
        #[test]
        fn no_input_changes_the_build_instructions(
            apt in "(\\PC|[\n\r\t;&|$`'\"\\\\])*",
            conda in "(\\PC|[\n\r\t;&|$`'\"\\\\])*",
            pip in "(\\PC|[\n\r\t;&|$`'\"\\\\])*",
        ) {
            let reference = instructions(&form().validate_spec().unwrap());
            let hostile = BuildForm { apt: format!("curl\n{apt}"), conda, pip, ..form() };
            if let Ok(spec) = hostile.validate_spec() {
                prop_assert_eq!(instructions(&spec), reference.clone());
                for key in input_keys(&containerfile(&spec)) {
                    prop_assert!(key.len() == 16 && key.chars().all(|c| c.is_ascii_hexdigit()));
                }
                let context = build_context(&spec, DIGEST, "jovyan", &scope(Some(7))).unwrap();
                for (name, content) in &context.files[1..] {
                    for line in content.lines() {
                        prop_assert!(!line.contains('\r'), "{} has a CR", name);
                        prop_assert!(!line.starts_with('-'), "{}: option line {:?}", name, line);
                    }
                }
            }
        }

        #[test]
        fn hostile_package_lines_never_reach_the_files_unparsed(line in "[ -~]{1,40}") {
            let hostile = BuildForm { apt: line.clone(), conda: String::new(), pip: String::new(), ..form() };
            if let Ok(spec) = hostile.validate_spec() {
                let apt = &spec.packages.apt[0];
                prop_assert!(apt.chars().all(|c| c.is_ascii_alphanumeric() || "+-.=:~".contains(c)), "{:?}", apt);
            }
        }
    }
}
