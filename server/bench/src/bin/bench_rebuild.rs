//! `make bench-rebuild`: a spec with real packages (APT `build-essential`, Pip `numpy pandas
//! scikit-learn`) built cold, then the same spec plus one small Pip package, as a group
//! admin's Rebuild does. Prints the p50 time of each, their ratio (goal ≤ 0.25) and the
//! bytes each push added to the registry (goal ≤ 10 %). Needs the loopback registry and
//! base image of `scripts/build-env.sh` (the make target starts it).
//!
//! Then the same again as on another host (or a Kubernetes Pod): with the build registry's
//! layer cache on (`KILN_BUILD_REGISTRY_CACHE`), this host's cache is emptied between the
//! cold build and the rebuild, which takes its unchanged steps from the registry.
//!
//! Each run pushes under a new prefix: a new cache scope, so its first build reuses no layer
//! of an earlier run's. "Bytes pushed" is what the registry's storage grew by: a layer the
//! registry already holds is not sent again (buildah asks first, or mounts it from another
//! repository), so it adds nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use app::backend::builds;
use app::backend::{AppState, Db, SecretKey};
use app::domain::BuildForm;
use app::ops::{self, Call};
use tokio_util::sync::CancellationToken;

const APT: &str = "build-essential";
const PIP: &str = "numpy\npandas\nscikit-learn";
/// Not a dependency of the others: installing it changes only the Pip layer.
const ONE_MORE: &str = "idna==3.7";

#[tokio::main]
async fn main() {
    let registry = std::env::var("KILN_TEST_REGISTRY").unwrap_or_else(|_| "127.0.0.1:5055".into());
    let storage = PathBuf::from(
        std::env::var("KILN_BENCH_REGISTRY_DIR")
            .unwrap_or_else(|_| "target/build-env/registry".into()),
    );
    assert!(
        storage.is_dir(),
        "{} is not the registry's storage (KILN_BENCH_REGISTRY_DIR)",
        storage.display()
    );
    let runs: usize = std::env::var("KILN_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let cold_form = BuildForm {
        display_name: "bench".into(),
        image_type: "cpu".into(),
        base_image: format!("{registry}/base/debian:bookworm"),
        apt: APT.into(),
        pip: PIP.into(),
        ..Default::default()
    };
    let warm_form = BuildForm {
        pip: format!("{PIP}\n{ONE_MORE}"),
        ..cold_form.clone()
    };
    let db = bench::scratch_db("bench-rebuild", "bench").await;
    let key = SecretKey::from_hex(&"00".repeat(32)).unwrap();

    for (mode, registry_cache) in [
        ("this host's layer cache", false),
        ("another host: the registry's layer cache", true),
    ] {
        println!("{mode}:");
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for run in 1..=runs {
            let (service, _) = bench::local_builds_caching(
                &registry,
                "bench-rebuild",
                Duration::from_secs(3600),
                registry_cache,
            );
            let stop = CancellationToken::new();
            tokio::spawn(service.clone().run(db.clone(), key.clone(), stop.clone()));
            let call = Call::operator(AppState::new(db.clone(), key.clone(), service));
            let form = BuildForm {
                display_name: format!("bench.{}.{run}", u8::from(registry_cache)),
                ..cold_form.clone()
            };
            let before = bytes_in(&storage).await;
            let started = Instant::now();
            let (image, build) = ops::builds::create_custom(&call, Some("bench"), form)
                .await
                .expect("create");
            let first = finished(&db, build.id).await;
            let cold_time = started.elapsed();
            let cold_bytes = bytes_in(&storage).await - before;
            if registry_cache {
                // Nothing of the cold build is left on this host.
                app::backend::builder::local::empty_cache()
                    .await
                    .expect("empty the layer cache");
            }

            let before = bytes_in(&storage).await;
            let started = Instant::now();
            let form = BuildForm {
                display_name: format!("bench.{}.{run}", u8::from(registry_cache)),
                ..warm_form.clone()
            };
            let build = ops::builds::rebuild(&call, Some("bench"), &image.row.name, form)
                .await
                .expect("rebuild");
            let second = finished(&db, build.id).await;
            let warm_time = started.elapsed();
            let warm_bytes = bytes_in(&storage).await - before;
            assert!(
                second.installed.contains("pip idna==3.7"),
                "the rebuild installed the new package"
            );
            let log = builds::full_log(&db, second.id).await.unwrap();
            let reused = log.matches("--> Using cache ").count();
            let pulled = log.matches("--> Cache pulled from remote ").count();
            println!(
                "run {run}: cold {:.1} s, {} pushed ({} steps); one more Pip package {:.1} s, {} pushed ({reused} steps from the cache, {pulled} of them pulled from the registry)",
                cold_time.as_secs_f64(),
                mb(cold_bytes),
                first.steps,
                warm_time.as_secs_f64(),
                mb(warm_bytes),
            );
            cold.push((cold_time, cold_bytes));
            warm.push((warm_time, warm_bytes));
            stop.cancel();
        }
        let (cold_time, warm_time) = (p50(cold.iter().map(|c| c.0)), p50(warm.iter().map(|w| w.0)));
        let (cold_bytes, warm_bytes) =
            (p50(cold.iter().map(|c| c.1)), p50(warm.iter().map(|w| w.1)));
        println!(
            "{mode}: build-essential + numpy pandas scikit-learn: cold p50 {:.1} s, {} pushed; plus {ONE_MORE}: p50 {:.1} s, {} pushed; time ratio {:.3} (goal ≤ 0.25), bytes ratio {:.3} (goal ≤ 0.10)",
            cold_time.as_secs_f64(),
            mb(cold_bytes),
            warm_time.as_secs_f64(),
            mb(warm_bytes),
            warm_time.as_secs_f64() / cold_time.as_secs_f64(),
            warm_bytes as f64 / cold_bytes.max(1) as f64,
        );
    }
}

async fn finished(db: &Db, id: i64) -> builds::BuildRow {
    loop {
        let build = builds::get(db, id).await.unwrap();
        if !build.state().is_active() {
            let log = builds::full_log(db, id).await.unwrap_or_default();
            assert_eq!(build.state, "succeeded", "{build:?}\n{log}");
            return build;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The bytes under `dir` (`du -sb`).
async fn bytes_in(dir: &Path) -> u64 {
    let out = tokio::process::Command::new("du")
        .arg("-sb")
        .arg(dir)
        .output()
        .await
        .expect("du");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("du's count")
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

fn p50<T: Ord + Copy>(values: impl Iterator<Item = T>) -> T {
    let mut values: Vec<T> = values.collect();
    values.sort();
    values[values.len() / 2]
}
