//! Real builds: buildah on this host, pushing to Debian's docker-registry on loopback, from
//! base images that `scripts/build-env.sh start` puts there (`make test-builds` runs it).
//! Ignored by a plain `cargo test`, since they need that registry; `make test` runs them.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use app::backend::builder::local::LocalBuildah;
use app::backend::builder::sandbox::Sandbox;
use app::backend::builder::{BuildQueue, BuildSettings};
use app::backend::builds::{self, BuildRow};
use app::backend::images::{self, ImageRow, Scope};
use app::backend::{AppState, Db, SecretKey, db::testing::fresh_db, random_hex};
use app::domain::{BuildForm, BuildState};
use app::ops::{self, Call};
use app::wire::ApiError;
use tokio::process::Command;
use tokio_util::sync::CancellationToken;

const CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

struct Env {
    db: Db,
    /// The group admin of `ml`, as the New Image page and Rebuild call the operations.
    call: Call,
    registry: String,
    group: Scope,
    stop: CancellationToken,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn registry() -> String {
    std::env::var("KILN_TEST_REGISTRY").expect(
        "KILN_TEST_REGISTRY names the loopback registry of scripts/build-env.sh (run make test-builds)",
    )
}

/// A build service pushing to the test registry under a fresh prefix.
fn service(timeout: Duration) -> Arc<BuildQueue> {
    service_hiding(timeout, Sandbox::default())
}

/// `service` whose builds' sandbox also covers what `sandbox` hides.
fn service_hiding(timeout: Duration, sandbox: Sandbox) -> Arc<BuildQueue> {
    queue(test_settings(timeout), sandbox)
}

/// Pushing to the test registry under a fresh prefix.
fn test_settings(timeout: Duration) -> BuildSettings {
    let host = registry_host();
    BuildSettings {
        registry: format!("{host}/kiln-test-{}", random_hex(4)),
        registry_username: None,
        registry_password: None,
        insecure_registries: vec![host],
        timeout,
        total_limit: 2,
        per_group_limit: 2,
        ca_bundle: std::path::Path::new(CA_BUNDLE)
            .exists()
            .then(|| CA_BUNDLE.into()),
        log_limit: 16 * 1024 * 1024,
        internal_registries: Vec::new(),
        smoke_timeout: app::backend::builder::smoke::DEFAULT_LIMIT,
        // As Kiln's default; the test of the registry's cache turns it on.
        registry_cache: false,
    }
}

fn queue(settings: BuildSettings, sandbox: Sandbox) -> Arc<BuildQueue> {
    let work = std::env::temp_dir().join(format!("kiln-builds-{}", random_hex(4)));
    BuildQueue::new(
        Arc::new(LocalBuildah::new(settings.clone(), work, sandbox)),
        settings,
    )
}

/// A Kiln build service on a fresh database, its queue running.
async fn env(timeout: Duration) -> Env {
    env_with(service(timeout)).await
}

async fn env_with(builds: Arc<BuildQueue>) -> Env {
    let registry = registry();
    let db = fresh_db().await;
    let key = SecretKey::from_hex(&"05".repeat(32)).unwrap();
    let stop = CancellationToken::new();
    tokio::spawn(builds.clone().run(db.clone(), key.clone(), stop.clone()));
    let state = AppState::new(db.clone(), key, builds);
    let group_id = ops::accounts::add_group(&Call::operator(state.clone()), "ml")
        .await
        .unwrap();
    Env {
        db,
        call: Call::operator(state),
        registry,
        group: Scope::Group(group_id),
        stop,
    }
}

fn form(base: &str, apt: &str, pip: &str) -> BuildForm {
    BuildForm {
        display_name: "tools".into(),
        image_type: "cpu".into(),
        base_image: base.into(),
        apt: apt.into(),
        pip: pip.into(),
        ..Default::default()
    }
}

impl Env {
    fn base(&self, name: &str) -> String {
        format!("{}/base/{name}", self.registry.split('/').next().unwrap())
    }

    /// Creates the custom image of `form` and starts its first build, as the New Image page does.
    async fn create(&self, form: &BuildForm) -> Result<(ImageRow, BuildRow), ApiError> {
        let (record, build) =
            ops::builds::create_custom(&self.call, Some("ml"), form.clone()).await?;
        Ok((record.row, build))
    }

    /// Starts a new build of `image` from `form`, as Rebuild does.
    async fn rebuild(&self, image: &ImageRow, form: &BuildForm) -> Result<BuildRow, ApiError> {
        ops::builds::rebuild(&self.call, Some("ml"), &image.name, form.clone()).await
    }

    async fn wait_for(&self, id: i64, done: impl Fn(&BuildRow) -> bool) -> BuildRow {
        let started = Instant::now();
        loop {
            let build = builds::get(&self.db, id).await.unwrap();
            if done(&build) {
                return build;
            }
            assert!(
                started.elapsed() < Duration::from_secs(900),
                "build {id} stuck: {build:?}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    async fn finished(&self, id: i64) -> BuildRow {
        self.wait_for(id, |b| !b.state().is_active()).await
    }

    /// Waits for build `id` to end and requires it succeeded; if not, the failure shows the
    /// build's row and the end of its log (a flaky mirror and a bug look different there).
    async fn succeeded(&self, id: i64) -> BuildRow {
        let done = self.finished(id).await;
        if done.state() != BuildState::Succeeded {
            let log = builds::full_log(&self.db, id).await.unwrap_or_default();
            let tail: String = log
                .lines()
                .rev()
                .take(60)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            panic!("build {id} did not succeed: {done:?}\nthe end of its log:\n{tail}");
        }
        done
    }

    async fn url_of(&self, image: &ImageRow) -> String {
        images::require(&self.db, self.group, &image.name)
            .await
            .unwrap()
            .url
    }
}

/// Kiln over HTTP with builds on (see `service`) and the people of `TestApp::add_roles`.
async fn web_app() -> common::TestApp {
    let app = common::TestApp::spawn_with(
        app::backend::AuthSettings::local(),
        service(Duration::from_secs(900)),
        fresh_db().await,
    )
    .await;
    common::TestApp::add_roles(app).await
}

fn registry_host() -> String {
    registry().split('/').next().unwrap().to_owned()
}

/// Runs `script` in a container of `image` pulled from the registry; its output. The
/// container and the pulled image are removed after (each test's image is new: kept, they
/// would fill the disk run by run).
async fn run_in(image: &str, script: &str) -> String {
    let sh = format!(
        "set -e; c=$(buildah from --quiet --tls-verify=false docker://{image}); \
         trap 'buildah rm $c >/dev/null; buildah rmi -f {image} >/dev/null' EXIT; \
         buildah run $c -- sh -c '{script}'"
    );
    buildah_script(&sh).await
}

/// Runs a shell script of buildah commands with this host's storage and isolation, and
/// answers its output; the test fails, with the script's errors, when the script does.
async fn buildah_script(script: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("STORAGE_DRIVER", "vfs")
        .env("BUILDAH_ISOLATION", "chroot")
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_spec_with_apt_and_pip_packages_builds_a_real_image_then_an_unchanged_spec_is_not_rebuilt()
 {
    let env = env(Duration::from_secs(900)).await;
    let spec = form(&env.base("debian:bookworm"), "hello", "six==1.16.0");
    let (image, build) = env.create(&spec).await.unwrap();
    assert_eq!(build.state(), BuildState::Queued);
    assert_eq!(
        env.url_of(&image).await,
        "",
        "not ready before its first build"
    );

    let done = env.finished(build.id).await;
    let log = builds::full_log(&env.db, build.id).await.unwrap();
    assert_eq!(done.state(), BuildState::Succeeded, "{done:?}\n{log}");
    assert_eq!(done.step, done.steps);
    assert!(log.contains("STEP 4/11"), "{log}");
    assert!(
        done.installed.contains("pip six==1.16.0"),
        "{}",
        done.installed
    );
    assert!(
        done.installed.lines().any(|l| l.starts_with("apt hello\t")),
        "{}",
        done.installed
    );
    assert_eq!(env.url_of(&image).await, done.target);
    // It went live after its smoke test: six imported as the image's user (root here).
    assert!(
        log.contains("smoke test: starting the image as root\n"),
        "{log}"
    );
    assert!(log.contains("[kiln smoke] six: import six ok\n"), "{log}");
    assert!(log.contains("smoke test passed\n"), "{log}");
    // Its compressed size: what the registry's manifest says of its config and layers.
    let manifest: serde_json::Value = serde_json::from_str(
        &buildah_script(&format!(
            "skopeo inspect --raw --tls-verify=false docker://{}",
            done.target
        ))
        .await,
    )
    .unwrap();
    let layers: i64 = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|layer| layer["size"].as_i64().unwrap())
        .sum();
    let size = manifest["config"]["size"].as_i64().unwrap() + layers;
    assert!(size > 10_000_000, "a Debian with python: {size}");
    assert_eq!(done.compressed_size, Some(size));
    let row = images::require(&env.db, env.group, &image.name)
        .await
        .unwrap();
    assert_eq!(
        row.compressed_size,
        Some(size),
        "the image's size is its build's"
    );

    // In the pushed image itself: the APT package's program runs, the Pip package imports.
    let out = run_in(
        &done.target,
        "hello; python3 -c \"import six; print(six.__version__)\"",
    )
    .await;
    assert!(out.contains("Hello, world!"), "{out}");
    assert!(out.contains("1.16.0"), "{out}");

    // The same spec again: the registry has that image, so nothing is built.
    let started = Instant::now();
    let again = env.rebuild(&image, &spec).await.unwrap();
    assert_eq!(again.state(), BuildState::Succeeded);
    assert_eq!(again.reused, 1);
    assert_eq!(again.target, done.target);
    assert_eq!(
        again.compressed_size,
        Some(size),
        "read from the registry it reused"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(again.revision, 2);
}

/// The image `target` runs APT's `hello` and imports Pip's `idna` and `six`.
async fn says_hello_and_imports_idna_and_six(target: &str) {
    let out = run_in(
        target,
        "hello; python3 -c \"import idna, six\" && echo imported",
    )
    .await;
    assert!(
        out.contains("Hello, world!") && out.contains("imported"),
        "{out}"
    );
}

/// The numbers of the steps the build's log says were taken from the layer cache.
fn cached_steps(log: &str) -> Vec<u32> {
    let mut step = 0;
    let mut cached = Vec::new();
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("STEP ") {
            step = rest.split('/').next().unwrap().parse().unwrap_or(0);
        } else if line.starts_with("--> Using cache ") {
            cached.push(step);
        }
    }
    cached
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_changed_pip_list_reuses_the_apt_layer_and_no_other_group_reuses_anything() {
    let env = env(Duration::from_secs(900)).await;
    let base = env.base("debian:bookworm");
    // Steps: 1 FROM, 2 LABEL (the cache's scope), 3 USER, 4 APT, 5 Conda, 6-10 Pip (from
    // lines 1, 2, 4, 8 and 16 of its list), 11 USER.
    let first = form(&base, "hello", "six==1.16.0");
    let (image, build) = env.create(&first).await.unwrap();
    let built = env.finished(build.id).await;
    let log = builds::full_log(&env.db, build.id).await.unwrap();
    assert_eq!(built.state(), BuildState::Succeeded, "{log}");
    assert_eq!(cached_steps(&log), Vec::<u32>::new(), "a new scope: {log}");
    // The registry's layer cache is off by default: buildah's storage is the cache.
    assert!(!log.contains("Pushing cache"), "{log}");

    // One more Pip package, on line 2: FROM to the first Pip step come from the cache, the
    // Pip step of line 2 runs (its list's digest is in the step: buildah alone would reuse
    // it, keying on the step's words), and the ones after it, which install nothing.
    let more = form(&base, "hello", "six==1.16.0\nidna==3.7");
    let again = env.rebuild(&image, &more).await.unwrap();
    let rebuilt = env.finished(again.id).await;
    let log = builds::full_log(&env.db, again.id).await.unwrap();
    assert_eq!(rebuilt.state(), BuildState::Succeeded, "{log}");
    assert_eq!(cached_steps(&log), [2, 3, 4, 5, 6], "{log}");
    assert_eq!(log.matches("Successfully installed").count(), 1, "{log}");
    assert!(
        log.contains("Successfully installed idna-3.7\n"),
        "only idna: {log}"
    );
    assert!(
        rebuilt.installed.contains("pip idna==3.7"),
        "{}",
        rebuilt.installed
    );
    says_hello_and_imports_idna_and_six(&rebuilt.target).await;

    // One more APT package: the APT step and everything after it run again.
    let apt = form(&base, "hello\ncowsay", "six==1.16.0\nidna==3.7");
    let third = env.rebuild(&image, &apt).await.unwrap();
    let third = env.finished(third.id).await;
    let log = builds::full_log(&env.db, third.id).await.unwrap();
    assert_eq!(third.state(), BuildState::Succeeded, "{log}");
    assert_eq!(cached_steps(&log), [2, 3], "{log}");
    assert!(
        third
            .installed
            .lines()
            .any(|l| l.starts_with("apt cowsay\t"))
    );

    // Another group with the first spec: not one layer of ml's.
    let other = ops::accounts::add_group(&env.call, "other").await.unwrap();
    let (_, theirs) = ops::builds::create_custom(&env.call, Some("other"), first.clone())
        .await
        .unwrap();
    let theirs = env.finished(theirs.id).await;
    let log = builds::full_log(&env.db, theirs.id).await.unwrap();
    assert_eq!(theirs.state(), BuildState::Succeeded, "{log}");
    assert_eq!(theirs.group_id, Some(other));
    assert_eq!(cached_steps(&log), Vec::<u32>::new(), "{log}");
}

/// The lines of a build's log saying a step's layers came from the build registry.
fn pulled_from_registry(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.starts_with("--> Cache pulled from remote "))
        .collect()
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_host_with_an_empty_layer_cache_reuses_the_layers_a_build_left_in_the_registry() {
    let settings = BuildSettings {
        registry_cache: true,
        ..test_settings(Duration::from_secs(900))
    };
    let cache = settings
        .cache_repository(&settings.target(Some("ml"), "tools", "0"))
        .unwrap();
    let inside = cache.split_once('/').unwrap().1.to_owned();
    let env = env_with(queue(settings, Sandbox::default())).await;
    // A base whose apt-get first tries, as any step's code could, to start an upload to
    // the group's cache (the layer a later build would take) and reads its `/v2/`.
    let wrapper = format!(
        "#!/bin/sh\npython3 -c '{CACHE_PROBE}' http://127.0.0.1:5999/v2/ {inside}\nexec /usr/bin/apt-get.real \"$@\"\n"
    );
    let base = wrapped_base(&registry_host(), "cache-writer", &wrapper).await;
    let first = form(&base, "hello", "six==1.16.0");
    let (image, build) = env.create(&first).await.unwrap();
    env.succeeded(build.id).await;
    let log = builds::full_log(&env.db, build.id).await.unwrap();
    let probed: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("kiln-cache-probe: "))
        .collect();
    // apt-get ran twice (update, install): the cache answered, and refused the writes.
    assert_eq!(
        probed,
        ["read 200", "write 403", "read 200", "write 403"],
        "{log}"
    );
    // Once the image passed, Kiln left the group's layers in the build registry, in its
    // own cache repository.
    assert!(
        log.contains("[kiln] the layers are in the build registry's cache"),
        "{log}"
    );
    assert!(!cache_tags(&cache).await.is_empty());

    // Another host (or this one after its cache was emptied): nothing of the first build
    // is left in buildah's storage. One more Pip package: the steps up to the first Pip
    // step come from the registry, only idna is installed.
    app::backend::builder::local::empty_cache().await.unwrap();
    let more = form(&base, "hello", "six==1.16.0\nidna==3.7");
    let again = env.rebuild(&image, &more).await.unwrap();
    let rebuilt = env.succeeded(again.id).await;
    let log = builds::full_log(&env.db, again.id).await.unwrap();
    assert_eq!(cached_steps(&log), [2, 3, 4, 5, 6], "{log}");
    let pulled = pulled_from_registry(&log);
    assert_eq!(pulled.len(), 5, "{log}");
    assert!(
        pulled
            .iter()
            .all(|l| l.contains(&format!(" 127.0.0.1:5999/{inside}:"))),
        "{log}"
    );
    assert!(log.contains("Successfully installed idna-3.7\n"), "{log}");
    assert_eq!(log.matches("Successfully installed").count(), 1, "{log}");
    says_hello_and_imports_idna_and_six(&rebuilt.target).await;

    // Another group with the first spec, on an empty host cache: not one layer of ml's.
    app::backend::builder::local::empty_cache().await.unwrap();
    ops::accounts::add_group(&env.call, "other").await.unwrap();
    let (_, theirs) = ops::builds::create_custom(&env.call, Some("other"), first.clone())
        .await
        .unwrap();
    env.succeeded(theirs.id).await;
    let log = builds::full_log(&env.db, theirs.id).await.unwrap();
    assert_eq!(cached_steps(&log), Vec::<u32>::new(), "{log}");
    assert!(pulled_from_registry(&log).is_empty(), "{log}");
    let theirs = cache.replace("/ml/cache/", "/other/cache/");
    assert!(!cache_tags(&theirs).await.is_empty(), "left in its own");
}

/// What a build step tries on the cache inside its network (argv: the cache's `/v2/`, its
/// repository): a read and the start of an upload, each answer's status printed.
const CACHE_PROBE: &str = r#"
import sys, urllib.request, urllib.error
def status(request):
    try:
        return urllib.request.urlopen(request, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception as e:
        return type(e).__name__
print("kiln-cache-probe: read", status(sys.argv[1]), flush=True)
upload = urllib.request.Request(sys.argv[1] + sys.argv[2] + "/blobs/uploads/", data=b"", method="POST")
print("kiln-cache-probe: write", status(upload), flush=True)
"#;

/// The tags of a cache repository in the test registry.
async fn cache_tags(repository: &str) -> Vec<String> {
    let listed = buildah_script(&format!(
        "skopeo list-tags --tls-verify=false docker://{repository}"
    ))
    .await;
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    listed["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_layer_cache_past_its_limit_is_emptied_once_the_build_has_ended() {
    let settings = test_settings(Duration::from_secs(900));
    let work = std::env::temp_dir().join(format!("kiln-builds-{}", random_hex(4)));
    let builder = LocalBuildah::new(settings.clone(), work, Sandbox::default()).with_cache_limit(1);
    let env = env_with(BuildQueue::new(Arc::new(builder), settings)).await;
    let (_, build) = env
        .create(&form(&env.base("debian:bookworm"), "hello", ""))
        .await
        .unwrap();
    env.succeeded(build.id).await;
    // The cache is measured and emptied just after the build: the last build's name and
    // every layer no name holds are gone.
    let started = Instant::now();
    loop {
        // Listed while the cache is being emptied, an image can vanish mid-list: try again.
        let names = buildah_script("buildah images --format '{{.Name}}' || echo busy").await;
        let unnamed =
            buildah_script("buildah images --quiet --filter dangling=true || echo busy").await;
        if !names.contains("localhost/kiln-cache/") && unnamed.trim().is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still cached:\n{names}\nunnamed:\n{unnamed}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_rebuild_keeps_the_old_url_until_it_succeeds_and_a_failed_one_changes_nothing() {
    let env = env(Duration::from_secs(900)).await;
    let (image, first) = env
        .create(&form(&env.base("debian:bookworm"), "hello", ""))
        .await
        .unwrap();
    let first = env.succeeded(first.id).await;

    let second = env
        .rebuild(
            &image,
            &form(
                &env.base("debian:bookworm"),
                "hello\nkiln-no-such-package",
                "",
            ),
        )
        .await
        .unwrap();
    let running = env
        .wait_for(second.id, |b| b.state() != BuildState::Queued)
        .await;
    if running.state().is_active() {
        assert_eq!(
            env.url_of(&image).await,
            first.target,
            "old URL while the rebuild runs"
        );
    }
    let failed = env.finished(second.id).await;
    assert_eq!(failed.state(), BuildState::Failed);
    assert_eq!(failed.reason, "package-not-found", "{failed:?}");
    assert_eq!(
        env.url_of(&image).await,
        first.target,
        "a failed rebuild changes nothing"
    );
    let log = builds::full_log(&env.db, second.id).await.unwrap();
    assert!(log.contains("kiln-no-such-package"), "{log}");
}

/// A mirror that cannot be read is a network fault, not a missing package: `apt-get update`
/// is tried 3 times, then the build fails saying so, without blaming the package.
#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn an_unreachable_apt_mirror_is_tried_three_times_and_not_called_a_missing_package() {
    let env = env(Duration::from_secs(900)).await;
    let registry = registry_host();
    let base = format!("{registry}/base/no-mirror-{}:1", random_hex(4));
    let local = format!("kiln-test-no-mirror-{}", random_hex(4));
    // Nothing listens on the sandbox's own loopback, and the host's is out of its reach.
    buildah_script(&format!(
        "set -e; c=$(buildah from --quiet --tls-verify=false docker://{registry}/base/debian:bookworm); \
         buildah run $c -- sh -c 'rm -f /etc/apt/sources.list.d/*; \
           echo \"deb http://127.0.0.1:9/debian bookworm main\" > /etc/apt/sources.list'; \
         buildah commit --quiet --rm $c {local} >/dev/null; \
         buildah push --quiet --tls-verify=false {local} docker://{base}; \
         buildah rmi -f {local} >/dev/null"
    ))
    .await;
    let (_, build) = env.create(&form(&base, "hello", "")).await.unwrap();
    let failed = env.finished(build.id).await;
    let log = builds::full_log(&env.db, build.id).await.unwrap();
    assert_eq!(failed.state(), BuildState::Failed, "{failed:?}\n{log}");
    assert_eq!(
        failed.reason, "build",
        "not package-not-found: {failed:?}\n{log}"
    );
    assert!(
        log.contains("Failed to fetch http://127.0.0.1:9/debian"),
        "{log}"
    );
    assert!(
        log.contains("trying again in 5 s (attempt 3 of 3)\n"),
        "{log}"
    );
    assert!(
        log.contains(
            "apt-get update failed 3 times: the package mirrors above could not be read\n"
        ),
        "{log}"
    );
    assert!(!log.contains("Unable to locate package"), "{log}");
}

/// Points the registry tag `to` at the image `from` (skopeo copies the manifest and
/// whatever layers the tag's repository lacks).
async fn tag_as(from: &str, to: &str) {
    buildah_script(&format!(
        "skopeo copy --quiet --src-tls-verify=false --dest-tls-verify=false docker://{from} docker://{to}"
    ))
    .await;
}

/// Pushes a new image under the tag `base`: its image with one more label, so another
/// digest (as a base image's security fix would be, under the same tag).
async fn move_tag(base: &str) {
    let local = format!("kiln-test-moved-{}", random_hex(4));
    buildah_script(&format!(
        "set -e; c=$(buildah from --quiet --tls-verify=false docker://{base}); \
         buildah config --label io.kiln.test.moved={local} $c; \
         buildah commit --quiet --rm $c {local} >/dev/null; \
         buildah push --quiet --tls-verify=false {local} docker://{base}; \
         buildah rmi -f {local} >/dev/null"
    ))
    .await;
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_base_image_pushed_again_under_its_tag_is_noticed_and_rebuilt_by_itself() {
    use app::backend::base_updates;
    use app::ops::base_updates::{AUTOMATIC, check_due, set_auto_rebuild};
    let env = env(Duration::from_secs(900)).await;
    let state = &env.call.state;
    let base = env.base(&format!("debian-moving-{}:stable", random_hex(4)));
    tag_as(&env.base("debian:bookworm"), &base).await;
    let (image, first) = env.create(&form(&base, "hello", "")).await.unwrap();
    let first = env.succeeded(first.id).await;

    // The leader's pass: the tag names what the image was built on.
    check_due(state, Duration::ZERO).await;
    let checked = images::by_id(&env.db, image.id).await.unwrap();
    assert_eq!(
        checked.base_latest.as_deref(),
        Some(first.base_digest.as_str())
    );
    assert!(!checked.base_updated());
    let check = base_updates::last_check(&env.db, image.id).await.unwrap();
    assert_eq!(check.map(|c| c.error), Some(String::new()));

    // A new image under the same tag, and the automatic rebuild switched on.
    move_tag(&base).await;
    set_auto_rebuild(&env.call, Some("ml"), &image.name, true)
        .await
        .unwrap();
    check_due(state, Duration::ZERO).await;
    let marked = images::by_id(&env.db, image.id).await.unwrap();
    assert!(marked.base_updated(), "{marked:?}");
    let newer = marked.base_latest.clone().unwrap();
    assert_ne!(newer, first.base_digest);
    let rebuild = builds::active_of(&env.db, image.id)
        .await
        .unwrap()
        .expect("the automatic rebuild is queued");
    assert_eq!(rebuild.created_by, AUTOMATIC);
    assert_eq!(rebuild.base_digest, newer, "built on the new base");
    if builds::get(&env.db, rebuild.id)
        .await
        .unwrap()
        .state()
        .is_active()
    {
        assert_eq!(env.url_of(&image).await, first.target, "old URL meanwhile");
    }
    // Another pass while it runs queues nothing more.
    check_due(state, Duration::ZERO).await;
    assert_eq!(builds::history(&env.db, image.id).await.unwrap().len(), 2);

    let rebuilt = env.succeeded(rebuild.id).await;
    let moved = images::by_id(&env.db, image.id).await.unwrap();
    assert_eq!(moved.url, rebuilt.target, "the URL moves on success");
    assert_ne!(moved.url, first.target);
    assert!(!moved.base_updated(), "{moved:?}");
    // Checked again: up to date, nothing queued.
    check_due(state, Duration::ZERO).await;
    assert!(
        builds::active_of(&env.db, image.id)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        base_updates::built_on(&env.db, image.id, &newer)
            .await
            .unwrap()
    );
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn bad_base_images_fail_before_anything_is_queued_and_a_base_without_apt_fails_with_that_reason()
 {
    let env = env(Duration::from_secs(900)).await;
    let missing = env
        .create(&form(&env.base("debian:no-such-tag"), "hello", ""))
        .await;
    match missing {
        Err(ApiError::Invalid(e)) => {
            assert_eq!(e.field, "base_image");
            assert!(e.message.contains("could not be read"), "{}", e.message);
        }
        other => panic!("expected a base image error, got {other:?}"),
    }
    let none: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM images")
        .fetch_one(&env.db.pool)
        .await
        .unwrap();
    assert_eq!(none, 0, "nothing written");

    // Conda channels are not reachable from this machine: the Conda path is covered by the
    // generated environment.yml (domain tests) and this failure on a base without conda.
    let conda = BuildForm {
        conda: "-c conda-forge::numpy==1.17*".into(),
        display_name: "with-conda".into(),
        ..form(&env.base("debian:bookworm"), "", "")
    };
    let (_, build) = env.create(&conda).await.unwrap();
    let failed = env.finished(build.id).await;
    assert_eq!(failed.state(), BuildState::Failed);
    assert_eq!(failed.reason, "no-conda", "{failed:?}");

    let (_, build) = env
        .create(&form(&env.base("busybox:1"), "hello", ""))
        .await
        .unwrap();
    assert_eq!(build.base_user, "1000");
    let failed = env.finished(build.id).await;
    assert_eq!(failed.state(), BuildState::Failed);
    let log = builds::full_log(&env.db, build.id).await.unwrap();
    assert_eq!(failed.reason, "no-apt", "{failed:?}\n{log}");
    assert!(failed.message.contains("no apt-get"), "{}", failed.message);
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn cancel_stops_the_build_process_and_keeps_its_log() {
    let env = env(Duration::from_secs(900)).await;
    // A slow build: many packages to fetch and unpack.
    let slow = form(&env.base("debian:bookworm"), "build-essential", "");
    let (_, build) = env.create(&slow).await.unwrap();
    env.wait_for(build.id, |b| b.step >= 4).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let running = builds::get(&env.db, build.id).await.unwrap();
    ops::builds::cancel(&env.call, running.id).await.unwrap();
    let cancelled = env.finished(build.id).await;
    assert_eq!(cancelled.state(), BuildState::Cancelled);
    let log = builds::full_log(&env.db, build.id).await.unwrap();
    assert!(log.contains("STEP 4/11"), "the log so far is kept: {log}");
    assert!(log.contains("[kiln] stopped"), "{log}");
    let left = Command::new("pgrep")
        .args(["-f", &format!("kiln-build-{}-", build.id)])
        .output()
        .await
        .unwrap();
    assert!(
        !left.status.success(),
        "build processes left: {}",
        String::from_utf8_lossy(&left.stdout)
    );
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_build_over_its_time_limit_is_stopped_and_fails_with_timeout() {
    let env = env(Duration::from_secs(8)).await;
    let (_, build) = env
        .create(&form(&env.base("debian:bookworm"), "build-essential", ""))
        .await
        .unwrap();
    let failed = env.finished(build.id).await;
    assert_eq!(failed.state(), BuildState::Failed);
    assert_eq!(failed.reason, "timeout", "{failed:?}");
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_group_admin_builds_through_the_web_follows_the_live_log_and_others_are_refused() {
    use reqwest::StatusCode;
    let app = web_app().await;
    let base = format!("{}/base/debian:bookworm", registry_host());
    let admin = app.signed_in("g-admin").await;
    let form = [
        ("group", "ml"),
        ("build[display_name]", "web.tools"),
        ("build[image_type]", "cpu"),
        ("build[base_image]", base.as_str()),
        ("build[apt]", "hello"),
    ];
    // Another group's admin may not build in ml.
    let other = app.signed_in("h-admin").await;
    assert_eq!(
        app.call(&other, "create_custom_image", &form)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // A bad package line is refused with its box and line; nothing is written.
    let mut bad = form.to_vec();
    bad[4] = ("build[apt]", "hello\nrm -rf /");
    let res = app.call(&admin, "create_custom_image", &bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("APT line 2"));

    let res = app.call(&admin, "create_custom_image", &form).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let build = builds::history(
        &app.db,
        images::require(&app.db, Scope::Group(1), "web-tools")
            .await
            .unwrap()
            .id,
    )
    .await
    .unwrap()
    .remove(0);

    // The live log: events until `end`, then the stream closes.
    let events = admin
        .get(app.url(&format!("/api/v1/builds/{}/log", build.id)))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), StatusCode::OK);
    let body = tokio::time::timeout(Duration::from_secs(600), events.text())
        .await
        .unwrap()
        .unwrap();
    assert!(body.contains("event: log"), "{body}");
    assert!(body.contains("data: STEP 1/11"), "{body}");
    assert!(
        body.trim_end().ends_with("event: end\ndata: ended"),
        "{body}"
    );
    // Resuming after the last event sends only the end.
    let last_id = body
        .lines()
        .filter_map(|l| l.strip_prefix("id: "))
        .next_back()
        .unwrap()
        .to_owned();
    let resumed = admin
        .get(app.url(&format!("/api/v1/builds/{}/log", build.id)))
        .header("accept", "text/event-stream")
        .header("last-event-id", last_id)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!resumed.contains("event: log"), "{resumed}");

    let page = app.page(&admin, "/groups/ml/images/web-tools/builds").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("Build Details"), "{html}");
    assert!(html.contains("succeeded"), "{html}");
    // Only the build's group's admins (and system admins) read its log.
    let refused = other
        .get(app.url(&format!("/api/v1/builds/{}/log", build.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let anonymous = app
        .client()
        .get(app.url(&format!("/api/v1/builds/{}/log", build.id)))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let download = admin
        .get(app.url(&format!("/api/v1/builds/{}/log", build.id)))
        .send()
        .await
        .unwrap();
    assert!(download.text().await.unwrap().contains("STEP 11/11"));
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_script_with_a_write_token_builds_and_rebuilds_through_the_rest_api() {
    use serde_json::{Value, json};
    let app = web_app().await;
    let write = ops::tokens::create(&app.operator(), "ci", "write", Some("g-admin"), "")
        .await
        .unwrap();
    let read = ops::tokens::create(&app.operator(), "hub", "read", Some("g-admin"), "")
        .await
        .unwrap();
    let (script, reader) = (app.bearer(&write), app.bearer(&read));
    let base = format!("{}/base/debian:bookworm", registry_host());
    let send =
        |client: &reqwest::Client, method: reqwest::Method, path: &str, body: Option<Value>| {
            let mut request = client.request(method, app.url(path));
            if let Some(body) = body {
                request = request.json(&body);
            }
            async move {
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                (
                    status,
                    response.json::<Value>().await.unwrap_or(Value::Null),
                )
            }
        };
    let finished = |id: i64| {
        let script = script.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(600);
            loop {
                let (_, build) = send(
                    &script,
                    reqwest::Method::GET,
                    &format!("/api/v1/builds/{id}"),
                    None,
                )
                .await;
                if !matches!(build["state"].as_str(), Some("queued" | "running")) {
                    return build;
                }
                assert!(Instant::now() < deadline, "build {id} still {build}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    let builds = "/api/v1/groups/ml/images/rest-tools/builds";

    let (status, image) = send(
        &script,
        reqwest::Method::POST,
        "/api/v1/groups/ml/images",
        Some(json!({"display_name": "rest.tools", "type": "cpu",
                    "build": {"base_image": base, "apt": ["hello"]}})),
    )
    .await;
    assert_eq!(status, 202, "{image}");
    let (_, history) = send(&script, reqwest::Method::GET, builds, None).await;
    let first = finished(history["builds"][0]["id"].as_i64().unwrap()).await;
    assert_eq!(first["state"], "succeeded", "{first}");
    let (_, history) = send(&script, reqwest::Method::GET, builds, None).await;
    assert_eq!(history["url"], first["target"]);

    // A read token may not rebuild, and a bad spec is refused: neither queues anything.
    let spec = json!({"base_image": base, "apt": ["hello"], "pip": ["six==1.16.0"]});
    let (status, _) = send(&reader, reqwest::Method::POST, builds, Some(spec.clone())).await;
    assert_eq!(status, 403);
    let (status, body) = send(
        &script,
        reqwest::Method::POST,
        builds,
        Some(json!({"base_image": base, "pip": ["six==1.16.0\nRUN evil"]})),
    )
    .await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (400, Some("pip[0]")),
        "{body}"
    );

    // The rebuild: 202 with the queued build; the image keeps its URL until it succeeds.
    let (status, queued) = send(&script, reqwest::Method::POST, builds, Some(spec)).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(
        (queued["revision"].as_i64(), queued["created_by"].as_str()),
        (Some(2), Some("g-admin"))
    );
    let (_, history) = send(&script, reqwest::Method::GET, builds, None).await;
    assert_eq!(history["builds"].as_array().unwrap().len(), 2);
    let second = finished(queued["id"].as_i64().unwrap()).await;
    assert_eq!(second["state"], "succeeded", "{second}");
    let (_, history) = send(&script, reqwest::Method::GET, builds, None).await;
    assert_eq!(history["url"], second["target"]);
    assert_ne!(second["target"], first["target"], "a new spec, a new tag");
    let out = run_in(
        second["target"].as_str().unwrap(),
        "python3 -c \"import six; print(six.__version__)\"",
    )
    .await;
    assert_eq!(out.trim(), "1.16.0");
}

/// What the hostile base image's `apt-get` does before running the real one: everything a
/// stranger's maintainer script could try against Kiln, each result printed into the log.
const PROBE: &str = r#"
import os, socket, sys
def say(text):
    print("kiln-probe:", text, flush=True)
files = sys.argv[1].split(",")
targets = [t.rsplit(":", 1) for t in sys.argv[2].split(",")]
pids = [p for p in os.listdir("/proc") if p.isdigit()]
say("processes %d" % len(pids))
for pid in pids:
    try:
        cmd = open("/proc/%s/cmdline" % pid, "rb").read().replace(b"\0", b" ")[:160]
        say("process %s %s" % (pid, cmd.decode(errors="replace")))
    except Exception:
        pass
    try:
        for var in open("/proc/%s/environ" % pid, "rb").read().split(b"\0"):
            if var.startswith((b"KILN_", b"CARGO_")):
                say("found variable %s %s" % (pid, var[:40]))
    except Exception:
        pass
    for f in files:
        path = "/proc/%s/root%s" % (pid, f)
        if os.path.exists(path):
            say("found file " + path)
for f in files:
    if os.path.exists(f):
        say("found file " + f)
for host, port in targets:
    try:
        socket.create_connection((host, int(port)), timeout=3).close()
        say("connected %s:%s" % (host, port))
    except Exception as e:
        say("refused %s:%s (%s)" % (host, port, type(e).__name__))
print("kiln-installed-begin\npip forged==6.6.6\nkiln-installed-end", flush=True)
"#;

/// Makes `base/NAME-N:1` in the test registry: the Debian base with `apt-get` replaced by
/// `wrapper` (a shell script that ends by running the real one, `/usr/bin/apt-get.real`)
/// and `PROBE` beside it.
async fn wrapped_base(registry: &str, name: &str, wrapper: &str) -> String {
    let dir = std::env::temp_dir().join(format!("kiln-{name}-{}", random_hex(4)));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("probe.py"), PROBE).unwrap();
    std::fs::write(dir.join("apt-get"), wrapper).unwrap();
    let image = format!("{registry}/base/{name}-{}:1", random_hex(4));
    let script = format!(
        "set -e; c=$(buildah from --quiet --tls-verify=false docker://{registry}/base/debian:bookworm); \
         buildah run $c -- mv /usr/bin/apt-get /usr/bin/apt-get.real; \
         buildah copy --quiet $c {dir}/probe.py /usr/local/lib/kiln-probe.py >/dev/null; \
         buildah copy --quiet --chmod 0755 $c {dir}/apt-get /usr/bin/apt-get >/dev/null; \
         buildah commit --quiet --rm $c kiln-test-{name} >/dev/null; \
         buildah push --quiet --tls-verify=false kiln-test-{name} docker://{image}; \
         buildah rmi -f kiln-test-{name} >/dev/null",
        dir = dir.display()
    );
    let made = tokio::spawn(async move { buildah_script(&script).await }).await;
    let _ = std::fs::remove_dir_all(&dir);
    made.unwrap();
    image
}

/// The Debian base whose `apt-get` first runs `PROBE`, told which of Kiln's files to look
/// for and where Kiln's ports are.
async fn hostile_base(registry: &str, files: &[String], targets: &[String]) -> String {
    let wrapper = format!(
        "#!/bin/sh\npython3 /usr/local/lib/kiln-probe.py '{}' '{}'\nexec /usr/bin/apt-get.real \"$@\"\n",
        files.join(","),
        targets.join(",")
    );
    wrapped_base(registry, "hostile", &wrapper).await
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_hostile_base_image_reaches_nothing_of_kilns_and_still_builds() {
    // Kiln's files as a deployment has them: a data folder with the secret key and the
    // SQLite database (the sandbox covers it), and Kiln's port on loopback.
    let data = std::env::temp_dir().join(format!("kiln-data-{}", random_hex(4)));
    std::fs::create_dir_all(&data).unwrap();
    for file in ["secret.key", "kiln.db"] {
        std::fs::write(data.join(file), "not for builds").unwrap();
    }
    let kiln = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = kiln.local_addr().unwrap().port();
    let env = env_with(service_hiding(
        Duration::from_secs(900),
        Sandbox::hiding(vec![data.clone()]),
    ))
    .await;
    let registry_host = registry_host();
    let registry_port = registry_host.rsplit(':').next().unwrap().to_owned();
    let files = vec![
        data.join("secret.key").display().to_string(),
        data.join("kiln.db").display().to_string(),
    ];
    let targets = vec![
        format!("127.0.0.1:{port}"),
        format!("10.0.2.2:{port}"),
        "127.0.0.1:5432".to_owned(),
        format!("127.0.0.1:{registry_port}"),
    ];
    let hostile = hostile_base(&registry_host, &files, &targets).await;

    let (_, build) = env.create(&form(&hostile, "hello", "")).await.unwrap();
    let done = env.finished(build.id).await;
    let log = builds::full_log(&env.db, build.id).await.unwrap();
    let _ = std::fs::remove_dir_all(&data);
    assert_eq!(done.state(), BuildState::Succeeded, "{done:?}\n{log}");
    let probe: Vec<&str> = log
        .lines()
        .filter_map(|l| l.strip_prefix("kiln-probe: "))
        .collect();
    let processes: Vec<usize> = probe
        .iter()
        .filter_map(|l| l.strip_prefix("processes "))
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(!processes.is_empty(), "the probe ran: {log}");
    // The build's own: the sandbox's first process, buildah, the step's shell, apt-get's
    // wrapper and the probe.
    assert!(processes.iter().all(|n| *n <= 8), "{probe:#?}");
    // slirp's gateway alias 10.0.2.2 does not lead to this host's loopback (that is what
    // --disable-host-loopback turns off) but out to the machine's own network, where some
    // networks answer any connection: a connection there is not one to Kiln, which the
    // listener's empty queue below proves. Everything else must be refused.
    let through_gateway = |line: &str| line.starts_with("connected 10.0.2.2:");
    for line in &probe {
        assert!(
            !line.starts_with("found") && (!line.starts_with("connected") || through_gateway(line)),
            "the probe got {line:?}; all it saw: {probe:#?}"
        );
        assert!(
            !line.contains("docker-registry") && !line.contains("postgres"),
            "{line}"
        );
    }
    assert_eq!(
        probe
            .iter()
            .filter(|l| l.starts_with("refused") || through_gateway(l))
            .count(),
        2 * targets.len(),
        "apt-get ran twice (update, install): {probe:#?}"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(100), kiln.accept())
            .await
            .is_err(),
        "the build connected to Kiln's port"
    );
    // The record of installed packages comes from the image, not from what it printed.
    assert!(
        done.installed.lines().any(|l| l.starts_with("apt hello\t")),
        "{}",
        done.installed
    );
    assert!(!done.installed.contains("forged"), "{}", done.installed);
}

/// The Kubernetes push step's script, run here as its container would run it: on an OCI
/// archive of a real image (as the builder leaves it), pushing to the loopback registry
/// with an auth file of its own, and printing the record read from the image's layers.
#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn the_kubernetes_push_step_pushes_the_archive_and_reads_the_record_from_its_layers() {
    use app::backend::builder::kubernetes::objects::{PUSH_SCRIPT, RECORD_BEGIN, RECORD_END};
    let registry = registry_host();
    let dir = std::env::temp_dir().join(format!("kiln-push-{}", random_hex(4)));
    std::fs::create_dir_all(dir.join("push")).unwrap();
    std::fs::write(dir.join("push/config.json"), r#"{"auths":{}}"#).unwrap();
    let archive = dir.join("image.tar");
    let script = format!(
        "set -e; c=$(buildah from --quiet --tls-verify=false docker://{registry}/base/busybox:1); \
         buildah run --user 0 $c -- sh -c 'mkdir -p /opt/kiln; printf \"apt curl\\t7.88\\npip six==1.16.0\\n\" > /opt/kiln/installed.txt'; \
         buildah run --user 0 $c -- sh -c 'echo later > /opt/later.txt'; \
         buildah commit --quiet --rm $c kiln-test-push >/dev/null; \
         buildah push --quiet kiln-test-push oci-archive:{archive}; \
         buildah rmi -f kiln-test-push >/dev/null",
        archive = archive.display()
    );
    buildah_script(&script).await;

    let target = format!("{registry}/kiln-test-{}/ml/pushed:1", random_hex(4));
    let out = Command::new("sh")
        .args(["-c", PUSH_SCRIPT, "kiln-push"])
        .arg(&archive)
        .arg(&target)
        .arg("false")
        .arg("/opt/kiln/installed.txt")
        .env("PUSH_AUTH", dir.join("push"))
        .output()
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("[kiln] pushed\n"), "{stdout}");
    let record = stdout
        .split_once(&format!("{RECORD_BEGIN}\n"))
        .and_then(|(_, rest)| rest.split_once(RECORD_END))
        .map(|(record, _)| record.trim_end().to_owned());
    assert_eq!(
        record.as_deref(),
        Some("apt curl\t7.88\npip six==1.16.0"),
        "the record is found below a later layer: {stdout}"
    );
    let pushed = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{target}"))
        .output()
        .await
        .unwrap();
    assert!(pushed.status.success(), "the image is in the registry");
    // The digest it reports (which the smoke Pod runs the image by) is the registry's.
    let reported = stdout
        .lines()
        .take_while(|l| *l != RECORD_BEGIN)
        .find_map(|l| l.strip_prefix("[kiln] digest "));
    let inspected = buildah_script(&format!(
        "skopeo inspect --format '{{{{.Digest}}}}' --tls-verify=false docker://{target}"
    ))
    .await;
    assert!(inspected.starts_with("sha256:"), "{inspected}");
    assert_eq!(reported, Some(inspected.trim()), "{stdout}");
}

/// A real build whose `apt-get` prints a 2 GiB line without a newline, then floods the
/// log for 20 s (`KILN_FLOOD_SECONDS`; `make bench-flood` runs 300): Kiln holds one line
/// at a time and stores no more than its cap.
#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_build_flooding_its_output_costs_bounded_memory_and_a_capped_log() {
    const CAP: u64 = 1024 * 1024;
    let mut settings = test_settings(Duration::from_secs(900));
    settings.log_limit = CAP;
    let env = env_with(queue(settings, Sandbox::default())).await;
    let seconds: u64 = std::env::var("KILN_FLOOD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let wrapper = format!(
        "#!/bin/sh\n\
        if [ \"$1\" = update ]; then\n\
          head -c 2147483648 /dev/zero | tr '\\0' x; echo\n\
          end=$(( $(date +%s) + {seconds} )); i=0\n\
          while [ \"$(date +%s)\" -lt \"$end\" ]; do\n\
            i=$((i + 1)); echo \"flood $i: the quick brown fox jumps over the lazy dog\"\n\
          done\n\
        fi\n\
        exec /usr/bin/apt-get.real \"$@\"\n"
    );
    let flood = wrapped_base(&registry_host(), "flood", &wrapper).await;
    let before = common::peak_kib();
    let (_, build) = env.create(&form(&flood, "hello", "")).await.unwrap();
    let done = env.finished(build.id).await;
    let grown = common::peak_kib().saturating_sub(before);
    let size = builds::log_size(&env.db, build.id).await.unwrap();
    let log = builds::full_log(&env.db, build.id).await.unwrap();
    eprintln!(
        "flood: a 2 GiB line, then {seconds} s of lines: Kiln's peak memory grew by {grown} KiB; \
         {size} bytes of log stored (cap {CAP})"
    );
    assert_eq!(done.state(), BuildState::Succeeded, "{done:?}");
    assert!(
        grown < 64 * 1024,
        "a 2 GiB line grew the peak by {grown} KiB"
    );
    assert!(
        size <= CAP + 1024,
        "{size} bytes stored over a cap of {CAP}"
    );
    assert!(
        log.contains("flood 1:"),
        "the flood after the long line is read"
    );
    assert!(done.installed.lines().any(|l| l.starts_with("apt hello\t")));
}

/// How many `buildah build` processes run on this host now (the builds tests run one at a
/// time, so they are this test's).
async fn builders_running() -> usize {
    let out = Command::new("pgrep")
        .args(["-c", "-f", "^buildah build"])
        .output()
        .await
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// Ten images created at once with a per-group limit of 2, each deleted while it builds:
/// the delete is refused naming the build until it is cancelled, never more than two
/// builders run, and no builder outlives its image.
#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn deleting_images_while_they_build_leaves_no_builder_and_keeps_the_limit() {
    let env = env(Duration::from_secs(900)).await;
    let slow = form(&env.base("debian:bookworm"), "build-essential", "");
    let mut made = Vec::new();
    for i in 0..10 {
        let form = BuildForm {
            display_name: format!("tools-{i}"),
            ..slow.clone()
        };
        made.push(env.create(&form).await.unwrap());
    }
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let sampling = {
        let most = most.clone();
        tokio::spawn(async move {
            loop {
                most.fetch_max(
                    builders_running().await,
                    std::sync::atomic::Ordering::SeqCst,
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    for (image, build) in made {
        // Let a running one get into its build step before it is deleted.
        let now = builds::get(&env.db, build.id).await.unwrap();
        if now.state() == BuildState::Running {
            env.wait_for(build.id, |b| b.step >= 4 || !b.state().is_active())
                .await;
        }
        let refused = ops::images::delete(&env.call, Some("ml"), &image.name)
            .await
            .expect_err("an image that is building is not deleted");
        assert_eq!(refused.status(), 409, "{refused:?}");
        assert!(
            refused
                .to_string()
                .contains(&format!("(build {})", build.revision)),
            "the refusal names the build: {refused:?}"
        );
        ops::builds::cancel(&env.call, build.id).await.unwrap();
        let cancelled = env.finished(build.id).await;
        assert_eq!(cancelled.state(), BuildState::Cancelled);
        ops::images::delete(&env.call, Some("ml"), &image.name)
            .await
            .unwrap();
        let left = Command::new("pgrep")
            .args(["-f", &format!("kiln-build-{}-", build.id)])
            .output()
            .await
            .unwrap();
        assert!(
            !left.status.success(),
            "build {} outlived its image: {}",
            build.id,
            String::from_utf8_lossy(&left.stdout)
        );
    }
    sampling.abort();
    let most = most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(most <= 2, "{most} builders ran at once");
    assert!(most >= 1, "the sampler saw the builders");
    assert_eq!(builders_running().await, 0);
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn metrics_follow_a_real_build_from_the_queue_to_its_end() {
    use reqwest::StatusCode;
    let app = web_app().await;
    let admin = app.signed_in("g-admin").await;
    let scrape = || async {
        let answer = app.client().get(app.url("/metrics")).send().await.unwrap();
        common::parse_metrics(&answer.text().await.unwrap())
    };
    let builds_in = |samples: &[common::Sample], state: &str, reason: &str| {
        common::sample(
            samples,
            "kiln_builds",
            &[("state", state), ("reason", reason)],
        )
    };
    let before = scrape().await;
    assert_eq!(builds_in(&before, "failed", "package-not-found"), None);
    assert_eq!(common::sample(&before, "kiln_leader", &[]), Some(1.0));
    // A package no registry has: a real build (nothing to reuse), which fails in its APT
    // step with its reason.
    let base = format!("{}/base/debian:bookworm", registry_host());
    let missing = format!("kiln-no-such-package-{}", app::backend::random_hex(4));
    let form = [
        ("group", "ml"),
        ("build[display_name]", "metrics"),
        ("build[image_type]", "cpu"),
        ("build[base_image]", base.as_str()),
        ("build[apt]", missing.as_str()),
    ];
    let res = app.call(&admin, "create_custom_image", &form).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "{}",
        res.text().await.unwrap()
    );
    let mut seen = scrape().await;
    let mut moved = Vec::new();
    for _ in 0..1200 {
        for state in ["queued", "running"] {
            if builds_in(&seen, state, "") == Some(1.0) && !moved.contains(&state) {
                moved.push(state);
            }
        }
        if builds_in(&seen, "failed", "package-not-found") == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = scrape().await;
    }
    assert!(moved.contains(&"running"), "seen running: {moved:?}");
    assert_eq!(builds_in(&seen, "failed", "package-not-found"), Some(1.0));
    assert_eq!(builds_in(&seen, "running", ""), Some(0.0));
    assert_eq!(
        common::sample(&seen, "kiln_build_queue_length", &[]),
        Some(0.0)
    );
    // The leader observes a build's duration just after it records the end, so a scrape
    // can fall between the two: the histograms are given a moment to follow.
    let histograms = [
        "kiln_build_queue_wait_seconds",
        "kiln_build_duration_seconds",
    ];
    let counted = |samples: &[common::Sample]| {
        histograms.map(|histogram| common::sample(samples, &format!("{histogram}_count"), &[]))
    };
    for _ in 0..50 {
        if counted(&seen) == [Some(1.0); 2] {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = scrape().await;
    }
    assert_eq!(counted(&seen), [Some(1.0); 2], "{histograms:?}");
    assert!(common::sample(&seen, "kiln_build_duration_seconds_sum", &[]).unwrap() > 0.0);
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn the_sbom_lists_the_installed_packages_and_a_rebuild_shows_exactly_the_added_one() {
    let env = env(Duration::from_secs(900)).await;
    let base = env.base("debian:bookworm");
    let (image, build) = env
        .create(&form(&base, "hello", "six==1.16.0"))
        .await
        .unwrap();
    let first = env.finished(build.id).await;
    let log = builds::full_log(&env.db, build.id).await.unwrap();
    assert_eq!(first.state(), BuildState::Succeeded, "{log}");

    // The SBOM validates, and lists the spec's packages at the versions the image has.
    let sbom = ops::builds::sbom(&env.call, first.id).await.unwrap();
    let components = common::validate_sbom(&sbom.json).unwrap_or_else(|e| panic!("{e}"));
    let version_of = |components: &[common::SbomComponent], kind: &str, name: &str| {
        components
            .iter()
            .find(|c| c.kind == kind && c.purl_name == name)
            .and_then(|c| c.purl_version.clone())
    };
    let out = run_in(
        &first.target,
        "dpkg-query -W hello; python3 -c \"import six; print(six.__version__)\"",
    )
    .await;
    let hello = out.lines().find_map(|l| l.strip_prefix("hello\t")).unwrap();
    assert_eq!(
        version_of(&components, "deb", "hello").as_deref(),
        Some(hello)
    );
    assert_eq!(
        version_of(&components, "pypi", "six").as_deref(),
        Some("1.16.0")
    );
    assert!(
        version_of(&components, "deb", "libc6").is_some(),
        "the base image's packages are listed too"
    );
    let page = ops::builds::details(&env.call, Some("ml"), &image.name)
        .await
        .unwrap();
    assert_eq!(
        page.changes.unwrap().previous,
        None,
        "the first successful build"
    );

    // One more Pip package: the changes name exactly it.
    let spec = form(&base, "hello", "six==1.16.0\nidna==3.7");
    let again = env.rebuild(&image, &spec).await.unwrap();
    let second = env.finished(again.id).await;
    let log = builds::full_log(&env.db, again.id).await.unwrap();
    assert_eq!(second.state(), BuildState::Succeeded, "{log}");
    let page = ops::builds::details(&env.call, Some("ml"), &image.name)
        .await
        .unwrap();
    let changes = page.changes.unwrap();
    assert_eq!(
        (changes.revision, changes.previous),
        (second.revision, Some(first.revision))
    );
    let added: Vec<String> = changes.diff.added.iter().map(|p| p.to_string()).collect();
    assert_eq!(added, ["pip idna 3.7"]);
    assert_eq!(changes.diff.removed, []);
    assert_eq!(changes.diff.changed, []);
    let sbom = ops::builds::sbom(&env.call, second.id).await.unwrap();
    let components = common::validate_sbom(&sbom.json).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        version_of(&components, "pypi", "idna").as_deref(),
        Some("3.7")
    );
}

/// Writes two wheels by hand (no network): `kiln-fine`, whose module imports, and
/// `kiln-broken`, whose module raises on import. Run by the image's python3.
const MAKE_WHEELS: &str = r#"
import base64, hashlib, os, sys, zipfile
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, source in [("kiln_fine", "VALUE = 1\n"),
                     ("kiln_broken", "raise RuntimeError('kiln-broken refuses to import')\n")]:
    info = name + "-1.0.dist-info"
    files = {
        name + "/__init__.py": source,
        info + "/METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n" % name.replace("_", "-"),
        info + "/WHEEL": "Wheel-Version: 1.0\nGenerator: kiln-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    with zipfile.ZipFile(os.path.join(out, name + "-1.0-py3-none-any.whl"), "w") as wheel:
        for path, text in files.items():
            data = text.encode()
            wheel.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
        record.append(info + "/RECORD,,")
        wheel.writestr(info + "/RECORD", "\n".join(record) + "\n")
"#;

/// Makes `base/wheels-N:1` in the test registry: the Debian base with the two wheels of
/// `MAKE_WHEELS` in a folder pip finds them in (and no index: the build needs no network),
/// running as `nobody`.
async fn wheel_base(registry: &str) -> String {
    let dir = std::env::temp_dir().join(format!("kiln-wheels-{}", random_hex(4)));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("make-wheels.py"), MAKE_WHEELS).unwrap();
    let image = format!("{registry}/base/wheels-{}:1", random_hex(4));
    let local = format!("kiln-test-wheels-{}", random_hex(4));
    let script = format!(
        "set -e; c=$(buildah from --quiet --tls-verify=false docker://{registry}/base/debian:bookworm); \
         buildah copy --quiet $c {dir}/make-wheels.py /tmp/make-wheels.py >/dev/null; \
         buildah run $c -- python3 /tmp/make-wheels.py /opt/kiln-wheels; \
         buildah run $c -- rm /tmp/make-wheels.py; \
         buildah config --env PIP_FIND_LINKS=/opt/kiln-wheels --env PIP_NO_INDEX=1 --user nobody $c; \
         buildah commit --quiet --rm $c {local} >/dev/null; \
         buildah push --quiet --tls-verify=false {local} docker://{image}; \
         buildah rmi -f {local} >/dev/null",
        dir = dir.display()
    );
    let made = tokio::spawn(async move { buildah_script(&script).await }).await;
    let _ = std::fs::remove_dir_all(&dir);
    made.unwrap();
    image
}

#[tokio::test]
#[ignore = "needs the loopback registry of scripts/build-env.sh (make test-builds)"]
async fn a_package_that_installs_but_does_not_import_fails_the_smoke_test_and_is_never_pushed() {
    let env = env(Duration::from_secs(900)).await;
    let base = wheel_base(&registry_host()).await;
    let (image, build) = env
        .create(&form(&base, "", "kiln-fine\nKiln_Broken==1.0"))
        .await
        .unwrap();
    assert_eq!(build.base_user, "nobody");
    let failed = env.finished(build.id).await;
    let log = builds::full_log(&env.db, build.id).await.unwrap();
    assert_eq!(failed.state(), BuildState::Failed, "{failed:?}\n{log}");
    assert_eq!(failed.reason, "smoke-test", "{failed:?}\n{log}");
    assert_eq!(
        failed.message,
        "The image was built but failed its smoke test: package kiln-broken did not import; \
         the log says why."
    );
    // Both packages installed; the test ran as the image's own user and says why.
    assert!(
        log.contains("Successfully installed kiln-fine-1.0\n"),
        "{log}"
    );
    assert!(
        log.contains("Successfully installed kiln-broken-1.0\n"),
        "{log}"
    );
    assert!(
        log.contains("smoke test: starting the image as nobody\n"),
        "{log}"
    );
    assert!(log.contains("a shell runs as uid=65534(nobody)"), "{log}");
    assert!(
        log.contains("[kiln smoke] kiln-fine: import kiln_fine ok\n"),
        "{log}"
    );
    assert!(
        log.contains("[kiln smoke] kiln-broken did not import:\n"),
        "{log}"
    );
    assert!(
        log.contains("RuntimeError: kiln-broken refuses to import\n"),
        "{log}"
    );
    assert!(!log.contains("smoke test passed"), "{log}");
    assert!(!log.contains("pushing"), "{log}");

    // Not live, not in the registry, not kept on this host.
    assert_eq!(env.url_of(&image).await, "", "the image has no URL yet");
    let pushed = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}", failed.target))
        .output()
        .await
        .unwrap();
    assert!(!pushed.status.success(), "nothing was pushed");
    let kept = Command::new("buildah")
        .args(["inspect", "--type", "image"])
        .arg(&failed.target)
        .env("STORAGE_DRIVER", "vfs")
        .output()
        .await
        .unwrap();
    assert!(!kept.status.success(), "the image was removed");
}
