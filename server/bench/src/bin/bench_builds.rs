//! `make bench-builds`: Kiln's local build time against plain `buildah build` + `buildah push`
//! of the same Containerfile and files, and the time to "rebuild" an unchanged spec. Needs
//! the loopback registry and base image of `scripts/build-env.sh` (the make target starts it).

use std::time::{Duration, Instant};

use app::backend::builder::BuildSettings;
use app::backend::builder::context::{CA_PATH, CacheScope, build_context};
use app::backend::builder::local::buildah;
use app::backend::builds;
use app::backend::{AppState, Db, SecretKey, random_hex};
use app::domain::BuildForm;
use app::ops::{self, Call};
use tokio_util::sync::CancellationToken;

const RUNS: usize = 3;

#[tokio::main]
async fn main() {
    let registry = std::env::var("KILN_TEST_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5055".into());
    let base = format!("{registry}/base/debian:bookworm");
    let form = BuildForm {
        display_name: "bench".into(),
        image_type: "cpu".into(),
        base_image: base.clone(),
        apt: "hello".into(),
        pip: "six==1.16.0".into(),
        ..Default::default()
    };
    let db = bench::scratch_db("bench-builds", "bench").await;
    let key = SecretKey::from_hex(&"00".repeat(32)).unwrap();

    let mut kiln = Vec::new();
    let mut plain = Vec::new();
    let mut last = None;
    for run in 0..=RUNS {
        // A fresh push prefix each run, so the registry never already has the image.
        let (service, settings) =
            bench::local_builds(&registry, "bench", Duration::from_secs(1800));
        let stop = CancellationToken::new();
        tokio::spawn(service.clone().run(db.clone(), key.clone(), stop.clone()));
        // The group's builds, as its admin asks for them (here: the operator).
        let call = Call::operator(AppState::new(db.clone(), key.clone(), service.clone()));
        let run_form = BuildForm {
            display_name: format!("bench.{run}"),
            ..form.clone()
        };
        let valid = run_form.validate().unwrap();
        let started = Instant::now();
        let (image, build) = ops::builds::create_custom(&call, Some("bench"), run_form.clone())
            .await
            .expect("create");
        let done = wait(&db, build.id).await;
        let kiln_time = started.elapsed();
        assert_eq!(done.state, "succeeded", "{done:?}");

        let started = Instant::now();
        plain_buildah(
            &settings,
            &valid.spec,
            &done.base_digest,
            &done.base_user,
            run,
        )
        .await;
        let plain_time = started.elapsed();
        if run > 0 {
            // Run 0 warms the base image into local storage for both.
            kiln.push(kiln_time);
            plain.push(plain_time);
            println!(
                "run {run}: Kiln {:.2} s, plain buildah {:.2} s",
                kiln_time.as_secs_f64(),
                plain_time.as_secs_f64()
            );
        }
        last = Some((call, image.row.name, run_form, stop));
    }
    let (kiln, plain) = (median(&mut kiln), median(&mut plain));
    println!(
        "build (apt: hello, pip: six): Kiln p50 {kiln:.2} s, plain buildah build+push p50 {plain:.2} s, ratio {:.3}",
        kiln / plain
    );

    // Rebuild of an unchanged spec: the registry has the image; nothing is built.
    let (call, image, form, stop) = last.unwrap();
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let build = ops::builds::rebuild(&call, Some("bench"), &image, form.clone())
            .await
            .expect("rebuild");
        assert_eq!(build.reused, 1);
        times.push(started.elapsed());
    }
    println!(
        "rebuild of an unchanged spec: p50 {:.3} s",
        median(&mut times)
    );
    stop.cancel();
}

async fn wait(db: &Db, id: i64) -> builds::BuildRow {
    loop {
        let build = builds::get(db, id).await.unwrap();
        if !build.state().is_active() {
            return build;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The same context built and pushed by hand, as an operator would with buildah alone,
/// keeping the output in a log file as Kiln keeps it in its database.
async fn plain_buildah(
    settings: &BuildSettings,
    spec: &app::domain::build::BuildSpec,
    digest: &str,
    user: &str,
    run: usize,
) {
    let dir = std::env::temp_dir().join(format!("kiln-bench-plain-{}", random_hex(4)));
    std::fs::create_dir_all(&dir).unwrap();
    // Its own cache scope: plain buildah reuses none of Kiln's layers.
    let scope = CacheScope::new(&format!("{}/plain-{run}", settings.registry), None);
    for (name, content) in build_context(spec, digest, user, &scope).unwrap().files {
        std::fs::write(dir.join(name), content).unwrap();
    }
    let target = format!("{}/plain:{run}", settings.registry);
    let mut build = buildah();
    build.args([
        "build",
        "--quiet",
        "--layers",
        "--pull=missing",
        "--tls-verify=false",
        "-t",
        &target,
    ]);
    if let Some(ca) = &settings.ca_bundle {
        build
            .arg("-v")
            .arg(format!("{}:{CA_PATH}:ro", ca.display()));
    }
    let status = build
        .arg("-f")
        .arg(dir.join("Containerfile"))
        .arg(&dir)
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let status = buildah()
        .args([
            "push",
            "--quiet",
            "--tls-verify=false",
            &target,
            &format!("docker://{target}"),
        ])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let _ = buildah().args(["rmi", "-f", &target]).output().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn median(times: &mut [Duration]) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64()
}
