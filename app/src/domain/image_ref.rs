//! Container image references (`registry/path:tag@digest`), checked by the grammar of the
//! OCI distribution reference, in the browser and on the server alike.

use serde::{Deserialize, Serialize};

use super::{FieldError, messages};

/// A valid image reference, kept exactly as typed (after trimming).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageRef {
    text: String,
    /// Byte ranges of the parts, for the accessors.
    domain_end: Option<usize>,
    name_end: usize,
    tag: Option<(usize, usize)>,
    digest_start: Option<usize>,
}

const MAX_NAME: usize = 255;
const MAX_TAG: usize = 128;

impl ImageRef {
    pub fn parse(field: &str, input: &str) -> Result<ImageRef, FieldError> {
        let invalid =
            |why: String| FieldError::coded(field, messages::IMAGE_REFERENCE, &[("why", &why)]);
        let fail = |why: String| Err(invalid(why));
        let text = input.trim();
        if text.is_empty() {
            return Err(FieldError::coded(field, messages::REQUIRED, &[]));
        }
        if let Some(c) = text.chars().find(|c| !c.is_ascii_graphic()) {
            return fail(format!(
                "contains {c:?}, which no image reference may contain"
            ));
        }
        let (before_digest, digest_start) = match text.split_once('@') {
            Some((head, digest)) => {
                check_digest(digest).map_err(invalid)?;
                (head, Some(head.len() + 1))
            }
            None => (text, None),
        };
        // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
        let last_slash = before_digest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match before_digest[last_slash..].find(':') {
            Some(i) => (
                &before_digest[..last_slash + i],
                Some(&before_digest[last_slash + i + 1..]),
            ),
            None => (before_digest, None),
        };
        if let Some(tag) = tag {
            check_tag(tag).map_err(invalid)?;
        }
        if name.len() > MAX_NAME {
            return fail(format!(
                "has a repository name longer than {MAX_NAME} characters"
            ));
        }
        let (domain, path) = split_domain(name);
        if let Some(domain) = domain {
            check_domain(domain).map_err(invalid)?;
        }
        check_path(path).map_err(invalid)?;
        Ok(ImageRef {
            domain_end: domain.map(str::len),
            name_end: name.len(),
            tag: tag.map(|t| (name.len() + 1, name.len() + 1 + t.len())),
            digest_start,
            text: text.to_owned(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The registry host (and port), when the reference names one.
    pub fn registry(&self) -> Option<&str> {
        self.domain_end.map(|end| &self.text[..end])
    }

    /// The repository, without registry, tag or digest.
    pub fn repository(&self) -> &str {
        let start = self.domain_end.map_or(0, |end| end + 1);
        &self.text[start..self.name_end]
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.map(|(s, e)| &self.text[s..e])
    }

    pub fn digest(&self) -> Option<&str> {
        self.digest_start.map(|s| &self.text[s..])
    }
}

/// The first component is a registry when it looks like a host: it has a `.` or a `:`
/// (a port), or is `localhost`. Otherwise the whole name is a path (Docker Hub style).
fn split_domain(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':']) || first == "localhost" || first.starts_with('[') =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn check_domain(domain: &str) -> Result<(), String> {
    let (host, port) = if let Some(v6) = domain.strip_prefix('[') {
        let (addr, rest) = v6
            .split_once(']')
            .ok_or("has an unclosed '[' in the registry address")?;
        if addr.is_empty() || !addr.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(format!("has an invalid IPv6 registry address [{addr}]"));
        }
        match rest {
            "" => return Ok(()),
            _ => (
                None,
                Some(
                    rest.strip_prefix(':')
                        .ok_or("has text after the IPv6 registry address")?,
                ),
            ),
        }
    } else {
        match domain.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("has an invalid registry port {port:?}"));
    }
    if let Some(host) = host {
        let ok_component = |c: &str| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !c.starts_with('-')
                && !c.ends_with('-')
        };
        if !host.split('.').all(ok_component) {
            return Err(format!("has an invalid registry host {host:?}"));
        }
    }
    Ok(())
}

/// Path components: lowercase letters and digits, joined by `.`, `_`, `__` or dashes.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("needs a repository name".into());
    }
    for component in path.split('/') {
        if !valid_path_component(component) {
            return Err(format!(
                "has an invalid repository part {component:?}: use lowercase letters and digits, \
                 separated by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}

fn valid_path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(&bytes[i]) {
            i += 1;
            continue;
        }
        // A separator run: one '.', one or two '_', or any number of '-'.
        let start = i;
        while i < bytes.len() && !alnum(&bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn check_tag(tag: &str) -> Result<(), String> {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let ok = !tag.is_empty()
        && tag.len() <= MAX_TAG
        && word(tag.as_bytes()[0])
        && tag.bytes().all(|b| word(b) || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "has an invalid tag {tag:?}: up to {MAX_TAG} letters, digits, '_', '.' and '-', not starting with '.' or '-'"
        ))
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "has an invalid digest {digest:?}: expected e.g. sha256:<64 hex digits>"
        ))
    };
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return bad();
    };
    let algorithm_ok = algorithm.split(['+', '.', '-', '_']).all(|c| {
        c.starts_with(|ch: char| ch.is_ascii_alphabetic())
            && c.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    let hex_ok = hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    let sha256_ok = algorithm != "sha256" || hex.len() == 64;
    if algorithm_ok && hex_ok && sha256_ok {
        Ok(())
    } else {
        bad()
    }
}

impl TryFrom<String> for ImageRef {
    type Error = FieldError;
    fn try_from(s: String) -> Result<Self, FieldError> {
        Self::parse("image", &s)
    }
}

impl From<ImageRef> for String {
    fn from(r: ImageRef) -> String {
        r.text
    }
}

impl std::fmt::Display for ImageRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parts(s: &str) -> (Option<String>, String, Option<String>, Option<String>) {
        let r = ImageRef::parse("url", s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (
            r.registry().map(Into::into),
            r.repository().into(),
            r.tag().map(Into::into),
            r.digest().map(Into::into),
        )
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn common_references_parse_into_their_parts() {
        assert_eq!(parts("ubuntu"), (None, "ubuntu".into(), None, None));
        assert_eq!(
            parts("jupyter/base-notebook:python-3.11"),
            (
                None,
                "jupyter/base-notebook".into(),
                Some("python-3.11".into()),
                None
            )
        );
        assert_eq!(
            parts("nvcr.io/nvidia/pytorch:24.01-py3"),
            (
                Some("nvcr.io".into()),
                "nvidia/pytorch".into(),
                Some("24.01-py3".into()),
                None
            )
        );
        assert_eq!(
            parts("localhost:5000/a/b__c.d-e"),
            (
                Some("localhost:5000".into()),
                "a/b__c.d-e".into(),
                None,
                None
            )
        );
        assert_eq!(
            parts(&format!("127.0.0.1:5000/kiln/x:1@{DIGEST}")),
            (
                Some("127.0.0.1:5000".into()),
                "kiln/x".into(),
                Some("1".into()),
                Some(DIGEST.into())
            )
        );
        assert_eq!(
            parts(&format!("busybox@{DIGEST}")).3.as_deref(),
            Some(DIGEST)
        );
        assert_eq!(parts("[::1]:5000/img:v1").0.as_deref(), Some("[::1]:5000"));
        assert_eq!(
            parts("  ubuntu:22.04 \n").1,
            "ubuntu",
            "surrounding whitespace is trimmed"
        );
    }

    #[test]
    fn malformed_references_are_refused_with_the_reason() {
        let reason = |s: &str| ImageRef::parse("container_image_url", s).unwrap_err();
        assert_eq!(reason("").message, "is required");
        assert!(
            reason("Ubuntu")
                .message
                .contains("invalid repository part \"Ubuntu\"")
        );
        assert!(reason("ubuntu:").message.contains("invalid tag"));
        assert!(reason("ubuntu:-x").message.contains("invalid tag"));
        assert!(
            reason(&format!("ubuntu:{}", "a".repeat(129)))
                .message
                .contains("invalid tag")
        );
        assert!(
            reason("ubuntu@sha256:abc")
                .message
                .contains("invalid digest")
        );
        assert!(reason("a..b/c").message.contains("invalid registry host"));
        assert!(reason("a..b").message.contains("invalid repository part"));
        assert!(
            reason("reg.io:99x/a")
                .message
                .contains("invalid registry port")
        );
        assert!(
            reason("-reg.io/a")
                .message
                .contains("invalid repository part")
                || reason("-reg.io/a").message.contains("registry")
        );
        assert!(reason("reg.io/").message.contains("repository"));
        assert!(reason("a//b").message.contains("invalid repository part"));
        assert_eq!(reason("X").field, "container_image_url");
    }

    #[test]
    fn hostile_strings_are_refused() {
        for hostile in [
            "ubuntu\nRUN rm -rf /",
            "ubuntu; rm -rf /",
            "ubuntu$(id)",
            "ubuntu`id`",
            "ubuntu && echo",
            "ubuntu|sh",
            "ubuntu:lat\r\nest",
            "ubuntu:la test",
            "ｕbuntu",        // fullwidth u
            "ubuntu:lаtest",  // Cyrillic a
            "ubuntu\u{200b}", // zero-width space
            "../../etc/passwd",
            "ubuntu:'x'",
            "ubuntu\0",
        ] {
            assert!(
                ImageRef::parse("url", hostile).is_err(),
                "{hostile:?} should be refused"
            );
        }
        let huge = "a".repeat(10_000);
        assert!(ImageRef::parse("url", &huge).is_err());
        assert!(ImageRef::parse("url", &format!("reg.io/{huge}:v1")).is_err());
    }

    proptest! {
        #[test]
        fn generated_valid_references_parse_and_keep_their_parts(
            host in proptest::option::of("[a-z][a-z0-9-]{0,10}[a-z0-9](\\.[a-z][a-z0-9]{0,5}){1,2}(:[0-9]{2,5})?"),
            // Without a registry, a first part with '.' would read as a host, as in Docker.
            path in "[a-z0-9]{1,8}((_|__|-{1,3})[a-z0-9]{1,8}){0,2}(/[a-z0-9]{1,8}((\\.|_|__|-)[a-z0-9]{1,4})?){0,2}",
            tag in proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}"),
        ) {
            let mut text = host.clone().map(|h| format!("{h}/")).unwrap_or_default();
            text.push_str(&path);
            if let Some(t) = &tag { text.push(':'); text.push_str(t); }
            let r = ImageRef::parse("url", &text).unwrap();
            prop_assert_eq!(r.registry(), host.as_deref());
            prop_assert_eq!(r.repository(), path.as_str());
            prop_assert_eq!(r.tag(), tag.as_deref());
            prop_assert_eq!(r.as_str(), text.as_str());
        }

        #[test]
        fn a_parsed_reference_is_printable_ascii_without_shell_metacharacters(s in "\\PC{0,300}") {
            if let Ok(r) = ImageRef::parse("url", &s) {
                prop_assert!(r.as_str().bytes().all(|b| b.is_ascii_alphanumeric() || b"./:-_@[]".contains(&b)));
            }
        }
    }
}
