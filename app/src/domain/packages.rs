//! The three package boxes of "Build custom image": one package per line, each line parsed
//! by its ecosystem's own grammar, and refused with the box, the line number and the reason.
//!
//! APT lines follow Debian's rules for package names and versions (written here); Conda
//! lines are conda match specs read by rattler's parser, with conda's `-c CHANNEL` option
//! handled here; Pip lines are PEP 508 requirements read by `pep508_rs`, and pip's own
//! options are refused. The parsers are too heavy for the browser bundle, so this module
//! is the server's and the build form asks the server while the user types: one code path
//! for create, rebuild, the form and the API.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::{FieldError, messages};

/// Which box a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ecosystem {
    Apt,
    Conda,
    Pip,
}

impl Ecosystem {
    pub const ALL: [Ecosystem; 3] = [Ecosystem::Apt, Ecosystem::Conda, Ecosystem::Pip];

    /// The form field, as posted and as named in errors.
    pub fn field(self) -> &'static str {
        match self {
            Ecosystem::Apt => "apt",
            Ecosystem::Conda => "conda",
            Ecosystem::Pip => "pip",
        }
    }

    /// The box's label on screen.
    pub fn label(self) -> &'static str {
        match self {
            Ecosystem::Apt => "APT",
            Ecosystem::Conda => "Conda",
            Ecosystem::Pip => "Pip",
        }
    }
}

/// The parsed boxes, each line in its normal form, in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Packages {
    pub apt: Vec<String>,
    /// Extra conda channels, from `-c CHANNEL` lines and `CHANNEL::name` specs, in order.
    pub conda_channels: Vec<String>,
    pub conda: Vec<String>,
    pub pip: Vec<String>,
}

impl Packages {
    pub fn is_empty(&self) -> bool {
        self.apt.is_empty() && self.conda.is_empty() && self.pip.is_empty()
    }

    /// Parses the three boxes; the first bad line of each box is reported, and at least
    /// one package must be given.
    pub fn parse(apt: &str, conda: &str, pip: &str) -> Result<Packages, Vec<FieldError>> {
        let mut packages = Packages::default();
        let mut errors = Vec::new();
        for (ecosystem, text) in [
            (Ecosystem::Apt, apt),
            (Ecosystem::Conda, conda),
            (Ecosystem::Pip, pip),
        ] {
            if let Err(e) = packages.add_box(ecosystem, text) {
                errors.push(e);
            }
        }
        if errors.is_empty() && packages.is_empty() {
            errors.push(FieldError::coded("packages", messages::PACKAGES_NONE, &[]));
        }
        if errors.is_empty() {
            Ok(packages)
        } else {
            Err(errors)
        }
    }

    fn add_box(&mut self, ecosystem: Ecosystem, text: &str) -> Result<(), FieldError> {
        if text.len() > MAX_BOX_BYTES {
            return Err(FieldError::coded(
                ecosystem.field(),
                messages::PACKAGES_BOX_TOO_BIG,
                &[
                    ("box", ecosystem.label()),
                    ("max", &MAX_BOX_BYTES.to_string()),
                ],
            ));
        }
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || (ecosystem != Ecosystem::Apt && line.starts_with('#')) {
                continue;
            }
            let refuse = |why: String| {
                FieldError::coded(
                    ecosystem.field(),
                    messages::PACKAGES_LINE,
                    &[
                        ("box", ecosystem.label()),
                        ("line", &(index + 1).to_string()),
                        ("text", &shorten(line)),
                        ("why", &why),
                    ],
                )
            };
            match ecosystem {
                Ecosystem::Apt => self.apt.push(apt_line(line).map_err(refuse)?),
                Ecosystem::Conda => match conda_line(line).map_err(refuse)? {
                    CondaLine::Channel(channel) => self.add_channel(channel),
                    CondaLine::Spec { channel, spec } => {
                        if let Some(channel) = channel {
                            self.add_channel(channel);
                        }
                        self.conda.push(spec);
                    }
                },
                Ecosystem::Pip => self.pip.push(pip_line(line).map_err(refuse)?),
            }
        }
        Ok(())
    }

    fn add_channel(&mut self, channel: String) {
        if !self.conda_channels.contains(&channel) {
            self.conda_channels.push(channel);
        }
    }
}

/// A box holds at most this much text.
const MAX_BOX_BYTES: usize = 64 * 1024;

/// A line quoted in an error: long ones are cut, control characters shown as `?`.
fn shorten(line: &str) -> String {
    let cut: String = line
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if cut.len() < line.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// `name` or `name=version`, by Debian policy: names are lowercase letters, digits and
/// `+ - .`, at least two characters, starting with a letter or digit; versions are
/// `[epoch:]upstream[-revision]` with the upstream part starting with a digit.
fn apt_line(line: &str) -> Result<String, String> {
    let (name, version) = match line.split_once('=') {
        Some((name, version)) => (name, Some(version)),
        None => (line, None),
    };
    let name_ok = name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    if !name_ok {
        return Err(
            "is not a Debian package name (lowercase letters, digits, '+', '-', '.'; \
                    at least 2 characters), optionally followed by =version"
                .into(),
        );
    }
    if let Some(version) = version {
        debian_version(version)?;
    }
    Ok(line.to_owned())
}

fn debian_version(version: &str) -> Result<(), String> {
    let (epoch, rest) = match version.split_once(':') {
        Some((epoch, rest)) => (Some(epoch), rest),
        None => (None, version),
    };
    if epoch.is_some_and(|e| e.is_empty() || !e.chars().all(|c| c.is_ascii_digit())) {
        return Err("has a version whose epoch (before ':') is not a number".into());
    }
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((upstream, revision)) => (upstream, Some(revision)),
        None => (rest, None),
    };
    let upstream_ok = upstream.starts_with(|c: char| c.is_ascii_digit())
        && upstream.chars().all(|c| {
            c.is_ascii_alphanumeric() || ".+~-".contains(c) || (c == ':' && epoch.is_some())
        });
    if !upstream_ok {
        return Err(
            "has a version that is not a Debian version (it starts with a digit; letters, \
             digits and . + ~ - follow)"
                .into(),
        );
    }
    if revision.is_some_and(|r| {
        r.is_empty()
            || !r
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.~".contains(c))
    }) {
        return Err("has a version whose Debian revision (after the last '-') is not valid".into());
    }
    Ok(())
}

enum CondaLine {
    /// `-c CHANNEL`: one more channel to install from.
    Channel(String),
    /// A match spec in its normal form, and the channel it names, if any.
    Spec {
        channel: Option<String>,
        spec: String,
    },
}

/// A conda match spec, e.g. `numpy>=1.2`, `conda-forge::numpy==1.17*`, or with conda's
/// channel option in front: `-c conda-forge numpy`, `-c conda-forge::numpy==1.17*`
/// (numpy 1.17.* from conda-forge), or `-c conda-forge` alone.
fn conda_line(line: &str) -> Result<CondaLine, String> {
    let option = ["-c ", "--channel ", "--channel="]
        .into_iter()
        .find_map(|prefix| line.strip_prefix(prefix));
    if let Some(rest) = option {
        let rest = rest.trim_start();
        let (channel, spec) = match rest.split_once("::") {
            Some((channel, spec)) => (channel, Some(spec)),
            None => match rest.split_once(char::is_whitespace) {
                Some((channel, spec)) => (channel, Some(spec.trim())),
                None => (rest, None),
            },
        };
        let channel = conda_channel(channel)?;
        return match spec {
            None => Ok(CondaLine::Channel(channel)),
            Some(spec) => conda_spec(&format!("{channel}::{spec}")),
        };
    }
    if line.starts_with('-') {
        return Err("is an option; only -c CHANNEL is allowed in Conda".into());
    }
    conda_spec(line)
}

/// A channel name (`conda-forge`, `nvidia/label/cuda-12.1`) or an https URL.
fn conda_channel(channel: &str) -> Result<String, String> {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./".contains(c);
    let is_url =
        channel.starts_with("https://") && channel[8..].chars().all(|c| plain(c) || c == ':');
    let is_name = !channel.is_empty()
        && channel.starts_with(|c: char| c.is_ascii_alphanumeric())
        && channel.chars().all(plain);
    if is_url || is_name {
        Ok(channel.trim_end_matches('/').to_owned())
    } else {
        Err("names a channel that is not a channel name or an https URL".into())
    }
}

fn conda_spec(text: &str) -> Result<CondaLine, String> {
    use rattler_conda_types::{MatchSpec, PackageNameMatcher, ParseStrictness};
    let spec = MatchSpec::from_str(text, ParseStrictness::Lenient)
        .map_err(|e| format!("is not a conda match spec: {e}"))?;
    if !matches!(spec.name, PackageNameMatcher::Exact(_)) {
        return Err("names no single package (globs and patterns cannot be installed)".into());
    }
    let channel = match text.split_once("::") {
        Some((channel, _)) => Some(conda_channel(channel)?),
        None => None,
    };
    // The spec is written back without the channel, which goes to `channels:` and to the
    // `channel::` prefix below; anything the parser dropped would not be installed.
    let mut bare = spec.clone();
    bare.channel = None;
    bare.namespace = None;
    let bare = bare.to_string();
    let spec = match &channel {
        Some(channel) => format!("{channel}::{bare}"),
        None => bare,
    };
    Ok(CondaLine::Spec { channel, spec })
}

/// A PEP 508 requirement: `numpy>=1.2`, `torch==2.3.0+cu121`, `pandas[excel]<3`. Lines
/// starting with `-` are pip options (`-r`, `-e`, `--index-url`, …) and are refused.
/// The name a PEP 508 requirement starts with (`Torch[cuda]==2.3` → `Torch`): the run of
/// the characters a name may hold; the name rule itself is checked by [`pip_line`].
pub fn pip_name(requirement: &str) -> &str {
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || "._-".contains(c)))
        .unwrap_or(requirement.len());
    &requirement[..end]
}

fn pip_line(line: &str) -> Result<String, String> {
    if line.starts_with('-') {
        return Err(
            "is a pip option; only requirements (name, extras, versions) are allowed".into(),
        );
    }
    // pep508_rs 0.9.2 panics on a name that ends in '-', '_' or '.' (found by the property
    // test in `build.rs`): check the name by PEP 508's rule first, and never let a parser
    // panic take the request down.
    let name = pip_name(line);
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        return Err(
            "is not a PEP 508 requirement: the name must start and end with a letter or digit"
                .into(),
        );
    }
    let parsed = std::panic::catch_unwind(|| {
        pep508_rs::Requirement::<pep508_rs::VerbatimUrl>::from_str(line)
            .map(|r| r.to_string())
            .map_err(|e| e.message.to_string())
    });
    match parsed {
        Ok(Ok(requirement)) => Ok(requirement),
        Ok(Err(message)) => Err(format!("is not a PEP 508 requirement: {message}")),
        Err(_) => Err("is not a PEP 508 requirement".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(apt: &str, conda: &str, pip: &str) -> Result<Packages, Vec<String>> {
        Packages::parse(apt, conda, pip).map_err(|errors| {
            errors
                .into_iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect()
        })
    }

    #[test]
    fn apt_names_and_versions_follow_debian_policy() {
        let ok = parse(
            "curl\n  libssl3=3.0.11-1~deb12u2  \n\ng++\npython3.11=3.11.2-6\nfoo=1:2.0-1",
            "",
            "",
        )
        .unwrap();
        assert_eq!(
            ok.apt,
            [
                "curl",
                "libssl3=3.0.11-1~deb12u2",
                "g++",
                "python3.11=3.11.2-6",
                "foo=1:2.0-1"
            ]
        );
        for bad in [
            "Curl",
            "a",
            "curl; rm -rf /",
            "curl=",
            "curl=abc",
            "curl=1:",
            "-y",
            "curl git",
            "$(id)",
        ] {
            let errors = parse(bad, "", "").unwrap_err();
            assert!(
                errors[0].starts_with("apt: APT line 1: "),
                "{bad}: {errors:?}"
            );
        }
    }

    #[test]
    fn errors_name_the_box_the_line_and_the_reason() {
        let errors = parse("curl\n\nBad Name", "numpy\n-x", "numpy\n-r other.txt").unwrap_err();
        assert_eq!(errors.len(), 3);
        assert!(
            errors[0].starts_with(
                "apt: APT line 3: \u{201c}Bad Name\u{201d} is not a Debian package name"
            ),
            "{}",
            errors[0]
        );
        assert!(
            errors[1].starts_with("conda: Conda line 2: \u{201c}-x\u{201d} is an option"),
            "{}",
            errors[1]
        );
        assert!(
            errors[2].starts_with("pip: Pip line 2: \u{201c}-r other.txt\u{201d} is a pip option"),
            "{}",
            errors[2]
        );
    }

    #[test]
    fn at_least_one_package_is_needed() {
        let errors = parse(" \n", "# only a comment", "").unwrap_err();
        assert_eq!(
            errors,
            ["packages: give at least one package, in APT, Conda or Pip"]
        );
    }

    #[test]
    fn conda_takes_match_specs_and_the_channel_option() {
        let ok = parse(
            "",
            "numpy>=1.2\n-c conda-forge::numpy==1.17*\n-c pytorch\nconda-forge::scipy\n-c nvidia cuda-toolkit=12.1",
            "",
        )
        .unwrap();
        assert_eq!(ok.conda_channels, ["conda-forge", "pytorch", "nvidia"]);
        // The manual's `-c conda-forge::numpy==1.17*` means numpy 1.17.* from conda-forge.
        assert_eq!(
            ok.conda,
            [
                "numpy >=1.2",
                "conda-forge::numpy 1.17.*",
                "conda-forge::scipy",
                "nvidia::cuda-toolkit 12.1.*"
            ]
        );
        for bad in [
            "numpy >>= 1",
            "-c",
            "-c 'evil'::numpy",
            "--override-channels",
            "numpy\u{0}",
        ] {
            assert!(parse("", bad, "").is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn pip_takes_pep508_requirements_and_refuses_options() {
        let ok = parse("", "", "numpy>=1.2\ntorch==2.3.0+cu121\npandas[excel]<3\n# a comment\nrequests ; python_version >= \"3.8\"").unwrap();
        assert_eq!(ok.pip.len(), 4);
        assert_eq!(ok.pip[1], "torch==2.3.0+cu121");
        assert!(ok.pip[2].starts_with("pandas[excel]"), "{:?}", ok.pip);
        for bad in [
            "-r requirements.txt",
            "-e .",
            "--index-url https://evil",
            "numpy>=",
            "numpy; rm -rf /",
            "num py",
            "4G-",
            "a_ >1",
        ] {
            assert!(parse("", "", bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn hostile_lines_are_cut_and_sanitised_in_messages() {
        let long = "x".repeat(10_000);
        let errors = parse(&format!("{long}!"), "", "").unwrap_err();
        assert!(errors[0].len() < 400, "{}", errors[0].len());
        let errors = parse("a\u{7}b", "", "").unwrap_err();
        assert!(errors[0].contains("a?b"), "{}", errors[0]);
        let errors = parse(&"y".repeat(70_000), "", "").unwrap_err();
        assert!(errors[0].contains("at most"), "{}", errors[0]);
    }
}
