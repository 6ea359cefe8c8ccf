//! Software bills of materials. A successful build keeps the record of installed packages
//! that its last step wrote inside the image (`backend::builder::context::RECORD_PATH`):
//! `apt NAME\tVERSION` lines from `dpkg-query -W` (NAME may carry `:ARCH`), `conda …` lines
//! from `micromamba list` or `conda list` (name, version, build, channel; their headers
//! too) and `pip …` lines from `pip freeze` (`NAME==VERSION`, `NAME @ URL`). Here the record
//! becomes packages, a CycloneDX 1.5 JSON document (server only) and the changes between
//! two builds.
//!
//! Whatever the image ran could write anything into the record, so it is read as hostile:
//! a line that is not one of those forms, or whose name or version has characters its
//! ecosystem never uses, is skipped; lines, fields and the number of packages are bounded;
//! nothing here panics, and the document is built by `serde_json`, never by pasting text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most packages read from one record (a Debian image has a few hundred).
pub const MAX_PACKAGES: usize = 20_000;
/// Longer lines are skipped unread.
const MAX_LINE: usize = 4096;
/// The longest name, version, build string or channel kept.
const MAX_FIELD: usize = 256;

/// Where a package came from: the image's dpkg, conda or pip database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Apt,
    Conda,
    Pip,
}

impl Ecosystem {
    /// As the record (and the page) names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Ecosystem::Apt => "apt",
            Ecosystem::Conda => "conda",
            Ecosystem::Pip => "pip",
        }
    }
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub ecosystem: Ecosystem,
    /// As recorded; an APT package's with `:ARCH` when dpkg gave one.
    pub name: String,
    /// Empty when the record gives none (a pip requirement installed from a URL).
    pub version: String,
    /// Conda's build string and channel, when recorded (else empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub build: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
}

impl Package {
    /// What identifies the package across builds: its ecosystem and its name in normal form
    /// (pip's by PEP 503, conda's lowercase; dpkg's are lowercase already, with the arch).
    fn key(&self) -> (Ecosystem, String) {
        let name = match self.ecosystem {
            Ecosystem::Pip => pep503(&self.name),
            _ => self.name.to_ascii_lowercase(),
        };
        (self.ecosystem, name)
    }

    /// The package URL (purl) of the package: `pkg:deb/debian/NAME@VERSION?arch=ARCH`,
    /// `pkg:pypi/NAME@VERSION`, `pkg:conda/NAME@VERSION?build=…&channel=…`, each part
    /// percent-encoded as the purl specification says.
    pub fn purl(&self) -> String {
        let (kind, name, qualifiers) = match self.ecosystem {
            Ecosystem::Apt => {
                let (name, arch) = match self.name.split_once(':') {
                    Some((name, arch)) => (name, arch),
                    None => (self.name.as_str(), ""),
                };
                ("deb/debian", name.to_owned(), vec![("arch", arch)])
            }
            Ecosystem::Pip => (
                "pypi",
                self.name.to_ascii_lowercase().replace('_', "-"),
                Vec::new(),
            ),
            Ecosystem::Conda => (
                "conda",
                self.name.to_ascii_lowercase(),
                vec![("build", self.build.as_str()), ("channel", &self.channel)],
            ),
        };
        let mut purl = format!("pkg:{kind}/{}", encode(&name, false));
        if !self.version.is_empty() {
            purl.push('@');
            purl.push_str(&encode(&self.version, false));
        }
        purl.push_str(&qualifier_string(&qualifiers));
        purl
    }
}

/// `?key=value&…` of the non-empty qualifiers, given sorted by key; empty when none.
fn qualifier_string(qualifiers: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (key, value) in qualifiers.iter().filter(|(_, v)| !v.is_empty()) {
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(key);
        out.push('=');
        out.push_str(&encode(value, true));
    }
    out
}

/// `apt curl 7.88.1-10`: the ecosystem, name and version, as the page lists it.
impl std::fmt::Display for Package {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.ecosystem.as_str(), self.name)?;
        match self.version.as_str() {
            "" => Ok(()),
            version => write!(f, " {version}"),
        }
    }
}

/// Percent-encodes a purl component: every octet but the letters, digits, `.-_~` and `:`
/// (never encoded), and `/` too in a qualifier value (as the reference implementations
/// write a `repository_url`).
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        let kept = byte.is_ascii_alphanumeric()
            || matches!(byte, b'.' | b'-' | b'_' | b'~' | b':')
            || (keep_slash && byte == b'/');
        if kept {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A Python package name in PEP 503's normal form: lowercase, each run of `-_.` one `-`.
/// Here rather than beside the Pip grammar (`packages.rs`, server only): the SBOM's
/// package keys need it in the browser too.
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// The packages of a record, one per name (the first line wins), sorted by ecosystem and
/// name; lines that are not a package are skipped, and reading stops at [`MAX_PACKAGES`].
pub fn parse_record(record: &str) -> Vec<Package> {
    let mut packages = BTreeMap::new();
    for line in record.lines() {
        if packages.len() >= MAX_PACKAGES {
            break;
        }
        if let Some(package) = parse_line(line) {
            packages.entry(package.key()).or_insert(package);
        }
    }
    packages.into_values().collect()
}

fn parse_line(line: &str) -> Option<Package> {
    if line.len() > MAX_LINE {
        return None;
    }
    let line = line.strip_suffix('\r').unwrap_or(line);
    let (kind, rest) = line.split_once(' ')?;
    match kind {
        "apt" => apt(rest),
        "conda" => conda(rest),
        "pip" => pip(rest),
        _ => None,
    }
}

/// A field of at most [`MAX_FIELD`] characters, each one `allowed`.
fn field(text: &str, allowed: impl Fn(char) -> bool) -> Option<String> {
    (!text.is_empty() && text.len() <= MAX_FIELD && text.chars().all(allowed))
        .then(|| text.to_owned())
}

fn package(ecosystem: Ecosystem, name: String, version: String) -> Package {
    Package {
        ecosystem,
        name,
        version,
        build: String::new(),
        channel: String::new(),
    }
}

/// `NAME[:ARCH]\tVERSION`, by Debian's rules for names (`[a-z0-9][a-z0-9+.-]+`), arches and
/// versions. A package with no version (removed, its configuration kept) is skipped.
fn apt(rest: &str) -> Option<Package> {
    let (name, version) = rest.split_once('\t')?;
    let (bare, arch) = match name.split_once(':') {
        Some((bare, arch)) => (bare, Some(arch)),
        None => (name, None),
    };
    let debian = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    field(bare, |c| debian(c) || matches!(c, '+' | '.' | '-'))
        .filter(|n| n.len() >= 2 && n.starts_with(debian))?;
    if let Some(arch) = arch {
        field(arch, |c| debian(c) || c == '-')?;
    }
    let version = field(version.trim_end(), |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '~' | ':' | '-')
    })
    .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))?;
    Some(package(Ecosystem::Apt, name.to_owned(), version))
}

/// A row of `micromamba list` or `conda list`: name, version, build and channel, split by
/// blanks. Headers, comments and rules have no version starting with a digit and are
/// skipped, and so are the packages conda lists from pip (channel `pypi`): pip's own
/// lines have them.
fn conda(rest: &str) -> Option<Package> {
    let mut columns = rest.split_whitespace();
    let name = field(columns.next()?, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '+')
    })?;
    let version = field(columns.next()?, |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '!' | '-')
    })
    .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))?;
    let build = columns.next().and_then(|b| {
        field(b, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')
        })
    });
    let channel = columns.next().and_then(|ch| {
        field(ch, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '/')
        })
    });
    if channel.as_deref() == Some("pypi") {
        return None;
    }
    Some(Package {
        build: build.unwrap_or_default(),
        channel: channel.unwrap_or_default(),
        ..package(Ecosystem::Conda, name, version)
    })
}

/// A line of `pip freeze`: `NAME==VERSION` (or `===`), or `NAME @ URL`, which has no
/// version. Editable installs (`-e …`) and comments are skipped.
fn pip(rest: &str) -> Option<Package> {
    let (name, version) = match rest.split_once(" @ ") {
        Some((name, _url)) => (name, ""),
        None => {
            let (name, version) = rest.split_once("==")?;
            (name, version.strip_prefix('=').unwrap_or(version))
        }
    };
    // PEP 508: letters, digits and `._-`, starting and ending with a letter or digit.
    let name = field(name.trim(), |c| {
        c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
    })
    .filter(|n| n.starts_with(|c: char| c.is_ascii_alphanumeric()))
    .filter(|n| n.ends_with(|c: char| c.is_ascii_alphanumeric()))?;
    let version = match version.trim() {
        "" => String::new(),
        v => field(v, |c| {
            c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!' | '_' | '-' | '*')
        })?,
    };
    Some(package(Ecosystem::Pip, name, version))
}

/// A package whose version differs between two builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionChange {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub old: String,
    pub new: String,
}

/// `apt curl 7.88.1-10 → 7.88.1-10+deb12u5`.
impl std::fmt::Display for VersionChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ecosystem, name) = (self.ecosystem.as_str(), &self.name);
        write!(f, "{ecosystem} {name} {} \u{2192} {}", self.old, self.new)
    }
}

/// What changed from one build's packages to another's, each list sorted by ecosystem and
/// name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageDiff {
    pub added: Vec<Package>,
    pub removed: Vec<Package>,
    pub changed: Vec<VersionChange>,
}

impl PackageDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// Keeps the first `n` of each list; returns how many were left out.
    pub fn truncate(&mut self, n: usize) -> usize {
        let left_out = self.added.len().saturating_sub(n)
            + self.removed.len().saturating_sub(n)
            + self.changed.len().saturating_sub(n);
        self.added.truncate(n);
        self.removed.truncate(n);
        self.changed.truncate(n);
        left_out
    }
}

/// The packages added, removed and changed in version from `old` to `new`.
pub fn diff(old: &[Package], new: &[Package]) -> PackageDiff {
    let old: BTreeMap<_, _> = old.iter().map(|p| (p.key(), p)).collect();
    let new: BTreeMap<_, _> = new.iter().map(|p| (p.key(), p)).collect();
    let mut diff = PackageDiff::default();
    for (key, package) in &new {
        match old.get(key) {
            None => diff.added.push((*package).clone()),
            Some(before) if before.version != package.version => diff.changed.push(VersionChange {
                ecosystem: package.ecosystem,
                name: package.name.clone(),
                old: before.version.clone(),
                new: package.version.clone(),
            }),
            Some(_) => {}
        }
    }
    diff.removed = old
        .iter()
        .filter(|(key, _)| !new.contains_key(*key))
        .map(|(_, p)| (*p).clone())
        .collect();
    diff
}

/// The image a bill of materials describes: the build that made it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub build_id: i64,
    /// The image reference the build pushed, `REGISTRY/REPOSITORY:TAG`.
    pub target: &'a str,
    /// When the build ended, in milliseconds since the Unix epoch.
    pub finished_at: i64,
}

impl Subject<'_> {
    /// The repository and the tag of the target (`latest` when it names none).
    pub fn repository_and_tag(&self) -> (&str, &str) {
        let slash = self.target.rfind('/').map_or(0, |i| i + 1);
        match self.target[slash..].rfind(':') {
            Some(colon) => (
                &self.target[..slash + colon],
                &self.target[slash + colon + 1..],
            ),
            None => (self.target, "latest"),
        }
    }

    /// The image's purl: `pkg:oci/NAME?repository_url=REPOSITORY&tag=TAG`.
    pub fn purl(&self) -> String {
        let (repository, tag) = self.repository_and_tag();
        let name = repository.rsplit('/').next().unwrap_or(repository);
        format!(
            "pkg:oci/{}{}",
            encode(&name.to_ascii_lowercase(), false),
            qualifier_string(&[("repository_url", repository), ("tag", tag)])
        )
    }
}

/// The CycloneDX 1.5 JSON document of an image's packages: the image as the metadata's
/// component (a container named by its repository, its tag the version), each package a
/// library with its version and purl. The serial number is derived from the build, so a
/// build's document is the same at every download.
#[cfg(feature = "ssr")]
pub fn cyclonedx(packages: &[Package], subject: &Subject<'_>) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let (repository, tag) = subject.repository_and_tag();
    let timestamp = jiff::Timestamp::from_millisecond(subject.finished_at)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let components: Vec<Value> = packages
        .iter()
        .map(|p| {
            let purl = p.purl();
            let mut component = Map::new();
            component.insert("type".into(), "library".into());
            component.insert("bom-ref".into(), purl.clone().into());
            component.insert("name".into(), p.name.clone().into());
            if !p.version.is_empty() {
                component.insert("version".into(), p.version.clone().into());
            }
            component.insert("purl".into(), purl.into());
            Value::Object(component)
        })
        .collect();
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial_number(subject),
        "version": 1,
        "metadata": {
            "timestamp": timestamp.to_string(),
            "tools": {"components": [{
                "type": "application",
                "name": "kiln",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": {
                "type": "container",
                "bom-ref": subject.purl(),
                "name": repository,
                "version": tag,
                "purl": subject.purl(),
            },
        },
        "components": components,
    })
}

/// `urn:uuid:…` from a hash of the build's id, target and end: the same build always gets
/// the same one. CycloneDX 1.5 takes UUID versions 1 to 5 only, so it is shaped as a
/// version 4 (random-looking) UUID.
#[cfg(feature = "ssr")]
fn serial_number(subject: &Subject<'_>) -> String {
    use sha2::{Digest, Sha256};
    let hash = Sha256::new()
        .chain_update(b"kiln-sbom\0")
        .chain_update(subject.build_id.to_be_bytes())
        .chain_update(subject.finished_at.to_be_bytes())
        .chain_update(subject.target.as_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hash[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A record as the Containerfile's last step writes it, with micromamba's headers.
    const RECORD: &str = "apt curl\t7.88.1-10+deb12u5\n\
        apt libc6:amd64\t2.36-9+deb12u4\n\
        apt tzdata\t2024a-0+deb12u1\n\
        apt removed-pkg\t\n\
        conda List of packages in environment: \"/opt/conda\"\n\
        conda \n\
        conda   Name          Version   Build           Channel\n\
        conda \u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\u{2500}\n\
        conda   numpy         1.26.4    py311h64a7726_0 conda-forge\n\
        conda   six           1.16.0    pypi_0          pypi\n\
        conda # packages in environment at /opt/conda:\n\
        pip six==1.16.0\n\
        pip Typing_Extensions==4.12.2\n\
        pip torch==2.3.0+cpu\n\
        pip mypkg @ file:///tmp/mypkg\n\
        pip -e git+https://example.org/repo.git@abc#egg=editable\n\
        pip # Editable install with no version control (foo==1.0)\n";

    fn names(packages: &[Package]) -> Vec<String> {
        packages.iter().map(Package::to_string).collect()
    }

    #[test]
    fn the_record_becomes_packages_and_the_rest_is_skipped() {
        assert_eq!(
            names(&parse_record(RECORD)),
            [
                "apt curl 7.88.1-10+deb12u5",
                "apt libc6:amd64 2.36-9+deb12u4",
                "apt tzdata 2024a-0+deb12u1",
                "conda numpy 1.26.4",
                "pip mypkg",
                "pip six 1.16.0",
                "pip torch 2.3.0+cpu",
                "pip Typing_Extensions 4.12.2",
            ]
        );
        let numpy = &parse_record(RECORD)[3];
        assert_eq!(
            (numpy.build.as_str(), numpy.channel.as_str()),
            ("py311h64a7726_0", "conda-forge")
        );
        // `conda list`'s own layout: comments, then unindented rows (channel may be absent).
        let conda_list = "conda # packages in environment at /opt/conda:\nconda #\n\
            conda # Name                    Version                   Build  Channel\n\
            conda _libgcc_mutex             0.1                        main\n";
        assert_eq!(
            names(&parse_record(conda_list)),
            ["conda _libgcc_mutex 0.1"]
        );
    }

    #[test]
    fn purls_follow_the_specification() {
        let packages = parse_record(RECORD);
        let purls: Vec<String> = packages.iter().map(Package::purl).collect();
        assert_eq!(
            purls,
            [
                "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5",
                "pkg:deb/debian/libc6@2.36-9%2Bdeb12u4?arch=amd64",
                "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1",
                "pkg:conda/numpy@1.26.4?build=py311h64a7726_0&channel=conda-forge",
                "pkg:pypi/mypkg",
                "pkg:pypi/six@1.16.0",
                "pkg:pypi/torch@2.3.0%2Bcpu",
                "pkg:pypi/typing-extensions@4.12.2",
            ]
        );
        // An epoch's colon is never encoded.
        let epoch = parse_record("apt tzdata\t1:2024a-0\n");
        assert_eq!(epoch[0].purl(), "pkg:deb/debian/tzdata@1:2024a-0");
        let subject = Subject {
            build_id: 7,
            target: "127.0.0.1:5055/kiln/ml/tools:3f2a",
            finished_at: 0,
        };
        assert_eq!(
            subject.purl(),
            "pkg:oci/tools?repository_url=127.0.0.1:5055/kiln/ml/tools&tag=3f2a"
        );
        assert_eq!(
            Subject {
                target: "localhost:5000/tools",
                ..subject
            }
            .repository_and_tag(),
            ("localhost:5000/tools", "latest")
        );
    }

    #[test]
    fn hostile_lines_are_skipped() {
        let record = "apt evil\"name\t1.0\n\
            apt ok\t1.0\"}],\"x\":{\"\n\
            apt \t1.0\n\
            apt UPPER\t1.0\n\
            apt a:b:c\t1.0\n\
            pip ../../etc==1\n\
            pip a b==1\n\
            pip good==1 ; rm -rf\n\
            conda x\u{0}y 1.0 b c\n\
            apt\tcurl\t1.0\n\
            dpkg curl\t1.0\n";
        assert_eq!(parse_record(record), Vec::new());
        // Bounded: a long line is skipped, and so are packages past the limit.
        let long = format!("pip {}==1\npip short==1\n", "a".repeat(MAX_LINE));
        assert_eq!(names(&parse_record(&long)), ["pip short 1"]);
        let many: String = (0..MAX_PACKAGES + 10)
            .map(|i| format!("pip p{i}==1\n"))
            .collect();
        assert_eq!(parse_record(&many).len(), MAX_PACKAGES);
    }

    #[test]
    fn the_diff_names_exactly_what_was_added_removed_and_changed() {
        let old = parse_record(
            "apt curl\t7.88.1-10\napt wget\t1.21\npip six==1.16.0\npip Foo_Bar==1.0\n",
        );
        let new = parse_record(
            "apt curl\t7.88.1-10+deb12u5\napt hello\t2.10-3\npip six==1.16.0\npip foo-bar==1.0\n",
        );
        let diff = diff(&old, &new);
        assert_eq!(names(&diff.added), ["apt hello 2.10-3"]);
        assert_eq!(names(&diff.removed), ["apt wget 1.21"]);
        assert_eq!(
            diff.changed,
            [VersionChange {
                ecosystem: Ecosystem::Apt,
                name: "curl".into(),
                old: "7.88.1-10".into(),
                new: "7.88.1-10+deb12u5".into(),
            }]
        );
        assert_eq!(
            diff.changed[0].to_string(),
            "apt curl 7.88.1-10 \u{2192} 7.88.1-10+deb12u5"
        );
        assert!(super::diff(&new, &new).is_empty());
        let mut big = super::diff(&[], &new);
        assert_eq!(big.truncate(1), 3);
        assert_eq!(big.added.len(), 1);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn the_document_is_cyclonedx_1_5_and_the_same_for_the_same_build() {
        let subject = Subject {
            build_id: 42,
            target: "registry.example/kiln/ml/tools:abc123",
            finished_at: 1_767_225_600_123,
        };
        let doc = cyclonedx(&parse_record(RECORD), &subject);
        assert_eq!(doc["bomFormat"], "CycloneDX");
        assert_eq!(doc["specVersion"], "1.5");
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["metadata"]["timestamp"], "2026-01-01T00:00:00.123Z");
        let image = &doc["metadata"]["component"];
        assert_eq!(image["type"], "container");
        assert_eq!(image["name"], "registry.example/kiln/ml/tools");
        assert_eq!(image["version"], "abc123");
        let components = doc["components"].as_array().unwrap();
        assert_eq!(components.len(), 8);
        assert_eq!(components[0]["type"], "library");
        assert_eq!(components[0]["name"], "curl");
        assert_eq!(components[0]["version"], "7.88.1-10+deb12u5");
        assert!(components[4].get("version").is_none(), "pip mypkg has none");
        let serial = doc["serialNumber"].as_str().unwrap();
        let uuid = serial.strip_prefix("urn:uuid:").unwrap();
        assert_eq!(uuid.len(), 36);
        assert_eq!(&uuid[14..15], "4");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
        assert_eq!(cyclonedx(&[], &subject)["serialNumber"], serial);
        let other = Subject {
            build_id: 43,
            ..subject
        };
        assert_ne!(cyclonedx(&[], &other)["serialNumber"], serial);
    }

    proptest! {
        /// Whatever an image writes into its record, reading it never panics, every name
        /// and version kept is plain, and the document is JSON that reads back.
        #[test]
        fn any_record_reads_without_panicking(
            lines in prop::collection::vec(
                "(apt|conda|pip|dpkg)[ \t](\\PC|[\t\"\\\\{}:@=/ ]){0,40}",
                0..40,
            ),
            noise in "\\PC{0,200}",
        ) {
            let record = format!("{}\n{noise}", lines.join("\n"));
            let packages = parse_record(&record);
            for p in &packages {
                prop_assert!(!p.name.is_empty());
                prop_assert!(p.name.chars().chain(p.version.chars()).all(|c| c.is_ascii_graphic()));
                prop_assert!(!p.purl().contains(['"', '\\', ' ', '\t']));
            }
            let d = diff(&packages, &parse_record(&noise));
            prop_assert!(d.added.len() + d.changed.len() <= MAX_PACKAGES);
            #[cfg(feature = "ssr")]
            {
                let subject = Subject { build_id: 1, target: &noise, finished_at: i64::MAX };
                let text = cyclonedx(&packages, &subject).to_string();
                let back: serde_json::Value = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(back["components"].as_array().unwrap().len(), packages.len());
            }
        }
    }
}
