//! The objects one build is made of in the cluster: a ConfigMap with the build context, a
//! `kubernetes.io/dockerconfigjson` Secret with the registry logins, and the Job that runs
//! the builder. Pure functions of the build and the settings: what Kiln sends is what the
//! tests (and `kiln kube render`) see.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    AppArmorProfile, ConfigMap, ConfigMapVolumeSource, Container, EmptyDirVolumeSource, EnvVar,
    KeyToPath, PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements, SeccompProfile,
    Secret, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};

use super::{BuilderKind, KubeSettings};
use crate::backend::builder::context::CA_PATH;
use crate::backend::builder::{BuildJob, BuildSettings, registry_of};

/// The labels every build object carries; the build id finds them again after a restart.
pub const BUILD_ID: &str = "kiln.dev/build-id";
pub const IMAGE_ID: &str = "kiln.dev/image-id";
/// The builder's container, whose log is the build log.
pub const CONTAINER: &str = "build";
/// Where the builder finds the context, its registry logins and its configuration.
const CONTEXT_DIR: &str = "/kiln/context";
const DOCKER_DIR: &str = "/kiln/docker";
const CONFIG_DIR: &str = "/kiln/config";
/// The files of the context: mounted one by one (`subPath`), so the builder sees plain files
/// rather than a ConfigMap volume's symbolic links, which BuildKit would copy as links.
const CONTEXT_FILES: [&str; 4] = [
    "Containerfile",
    "apt.txt",
    "environment.yml",
    "requirements.txt",
];
/// The user BuildKit's rootless image runs as (the image is made for this uid and gid).
const ROOTLESS_UID: i64 = 1000;

/// One build's objects, ready to create: the Job first, then the others owned by it.
pub struct BuildObjects {
    pub job: Job,
    pub config_map: ConfigMap,
    pub secret: Secret,
}

/// The name all three objects of a build share.
pub fn name(build_id: i64) -> String {
    format!("kiln-build-{build_id}")
}

/// `kiln.dev/build-id=N`: the label selector of one build's Job and Pod.
pub fn selector(build_id: i64) -> String {
    format!("{BUILD_ID}={build_id}")
}

pub fn render(
    job: &BuildJob,
    kube: &KubeSettings,
    build: &BuildSettings,
    ca_bundle: Option<&str>,
) -> BuildObjects {
    let meta = metadata(job, kube);
    let mut data = BTreeMap::new();
    for (file, content) in &job.context.files {
        let content = if *file == "Containerfile" && ca_bundle.is_some() {
            with_ca_mounts(content, kube.builder)
        } else {
            content.clone()
        };
        data.insert((*file).to_owned(), content);
    }
    data.insert(
        "buildkitd.toml".into(),
        buildkitd_toml(job, build, ca_bundle.is_some()),
    );
    if let Some(ca) = ca_bundle {
        data.insert("ca.crt".into(), ca.to_owned());
    }
    let config_map = ConfigMap {
        metadata: meta.clone(),
        data: Some(data),
        ..Default::default()
    };
    let secret = Secret {
        metadata: meta.clone(),
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        data: Some(BTreeMap::from([(
            ".dockerconfigjson".to_owned(),
            ByteString(job.auth.to_json().into_bytes()),
        )])),
        ..Default::default()
    };
    BuildObjects {
        job: build_job(job, kube, build, meta, ca_bundle.is_some()),
        config_map,
        secret,
    }
}

/// The objects of an example build (APT, Conda and Pip packages, a pull secret), as these
/// settings would render them: for review (`kiln kube render`) and schema validation.
pub fn sample(kube: &KubeSettings, build: &BuildSettings, ca_bundle: Option<&str>) -> BuildObjects {
    use crate::backend::builder::context::build_context;
    use crate::domain::BuildForm;
    let form = BuildForm {
        display_name: "example-tools".into(),
        image_type: "cpu".into(),
        base_image: "registry.example.org/base/python:3.12".into(),
        apt: "curl".into(),
        conda: "-c conda-forge\nnumpy=1.26".into(),
        pip: "requests==2.32.3".into(),
        use_pull_secret: true,
        pull_secret: "example-pull".into(),
        ..Default::default()
    };
    let spec = form.validate().expect("the example spec is valid").spec;
    let digest = format!("sha256:{}", "0".repeat(64));
    let context = build_context(&spec, &digest, "1000").expect("the example context");
    let mut auth = build.push_auth();
    auth.add("registry.example.org", "puller", "example-password");
    let job = BuildJob {
        build_id: 42,
        image_id: 7,
        base: spec.base_image.as_str().to_owned(),
        target: build.target(Some("ml"), "example-tools", &spec.content_tag(&digest)),
        context,
        auth,
        log_cursor: String::new(),
    };
    render(&job, kube, build, ca_bundle)
}

/// Makes `owner` (the created Job) the owner of `meta`'s object: it goes when the Job goes.
pub fn owned_by(meta: &mut ObjectMeta, owner: &Job) {
    meta.owner_references = Some(vec![OwnerReference {
        api_version: "batch/v1".into(),
        kind: "Job".into(),
        name: owner.metadata.name.clone().unwrap_or_default(),
        uid: owner.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }]);
}

fn metadata(job: &BuildJob, kube: &KubeSettings) -> ObjectMeta {
    ObjectMeta {
        name: Some(name(job.build_id)),
        namespace: Some(kube.namespace.clone()),
        labels: Some(labels(job)),
        ..Default::default()
    }
}

fn labels(job: &BuildJob) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "kiln-build".to_owned()),
        ("app.kubernetes.io/managed-by".to_owned(), "kiln".to_owned()),
        (BUILD_ID.to_owned(), job.build_id.to_string()),
        (IMAGE_ID.to_owned(), job.image_id.to_string()),
    ])
}

fn build_job(
    job: &BuildJob,
    kube: &KubeSettings,
    build: &BuildSettings,
    meta: ObjectMeta,
    with_ca: bool,
) -> Job {
    let name = name(job.build_id);
    let mut volumes = vec![
        Volume {
            name: "context".into(),
            config_map: Some(ConfigMapVolumeSource {
                name: name.clone(),
                ..Default::default()
            }),
            ..Default::default()
        },
        Volume {
            name: "docker".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(name.clone()),
                items: Some(vec![KeyToPath {
                    key: ".dockerconfigjson".into(),
                    path: "config.json".into(),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            ..Default::default()
        },
    ];
    let mut mounts: Vec<VolumeMount> = CONTEXT_FILES
        .iter()
        .map(|file| VolumeMount {
            name: "context".into(),
            mount_path: format!("{CONTEXT_DIR}/{file}"),
            sub_path: Some((*file).into()),
            read_only: Some(true),
            ..Default::default()
        })
        .collect();
    mounts.push(VolumeMount {
        name: "docker".into(),
        mount_path: DOCKER_DIR.into(),
        read_only: Some(true),
        ..Default::default()
    });
    let config_files = ["buildkitd.toml"]
        .into_iter()
        .chain(with_ca.then_some("ca.crt"));
    mounts.extend(config_files.map(|file| VolumeMount {
        name: "context".into(),
        mount_path: format!("{CONFIG_DIR}/{file}"),
        sub_path: Some(file.into()),
        read_only: Some(true),
        ..Default::default()
    }));
    // The builder's working storage: an emptyDir, not the image's volume, which some
    // node file systems mount nosuid.
    let state_dir = match kube.builder {
        BuilderKind::BuildKit => "/home/user/.local/share/buildkit",
        BuilderKind::Buildah => "/home/build/.local/share/containers",
    };
    volumes.push(Volume {
        name: "state".into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    });
    mounts.push(VolumeMount {
        name: "state".into(),
        mount_path: state_dir.into(),
        ..Default::default()
    });

    let (command, args, env) = builder_command(job, kube, build, with_ca);
    let container = Container {
        name: CONTAINER.into(),
        image: Some(kube.image.clone()),
        command: Some(command),
        args: Some(args),
        env: Some(env),
        resources: Some(resources(kube)),
        security_context: Some(builder_security()),
        volume_mounts: Some(mounts),
        ..Default::default()
    };
    let pod = PodSpec {
        restart_policy: Some("Never".into()),
        automount_service_account_token: Some(false),
        enable_service_links: Some(false),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            fs_group: Some(ROOTLESS_UID),
            ..Default::default()
        }),
        node_selector: (!kube.node_selector.is_empty()).then(|| kube.node_selector.clone()),
        tolerations: (!kube.tolerations.is_empty()).then(|| kube.tolerations.clone()),
        containers: vec![container],
        volumes: Some(volumes),
        ..Default::default()
    };
    Job {
        metadata: meta.clone(),
        spec: Some(JobSpec {
            // Created suspended: its Pod starts once the ConfigMap and Secret it mounts exist.
            suspend: Some(true),
            backoff_limit: Some(0),
            active_deadline_seconds: Some(build.timeout.as_secs().max(1) as i64),
            ttl_seconds_after_finished: Some(kube.ttl_seconds),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: meta.labels,
                    ..Default::default()
                }),
                spec: Some(pod),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The builder's command line. No shell: every argument is passed as it is.
fn builder_command(
    job: &BuildJob,
    kube: &KubeSettings,
    build: &BuildSettings,
    with_ca: bool,
) -> (Vec<String>, Vec<String>, Vec<EnvVar>) {
    let env = |name: &str, value: &str| EnvVar {
        name: name.into(),
        value: Some(value.into()),
        ..Default::default()
    };
    let insecure_target = build.is_insecure(&job.target);
    match kube.builder {
        BuilderKind::BuildKit => {
            let mut output = format!("type=image,name={},push=true", job.target);
            if insecure_target {
                output.push_str(",registry.insecure=true");
            }
            let mut args = vec![
                "build".to_owned(),
                "--progress=plain".into(),
                "--frontend=dockerfile.v0".into(),
                format!("--local=context={CONTEXT_DIR}"),
                format!("--local=dockerfile={CONTEXT_DIR}"),
                "--opt=filename=Containerfile".into(),
                format!("--output={output}"),
            ];
            if with_ca {
                args.push(format!("--secret=id=kiln-ca,src={CONFIG_DIR}/ca.crt"));
            }
            let flags =
                format!("--oci-worker-no-process-sandbox --config={CONFIG_DIR}/buildkitd.toml");
            (
                vec!["buildctl-daemonless.sh".into()],
                args,
                vec![
                    env("BUILDKITD_FLAGS", &flags),
                    env("DOCKER_CONFIG", DOCKER_DIR),
                ],
            )
        }
        BuilderKind::Buildah => {
            // buildah builds, then pushes: two commands, so a shell runs them; everything
            // variable is a positional argument, never part of the script.
            let script = r#"set -eu
buildah build --layers=false --tls-verify="$1" -f /kiln/context/Containerfile -t "$3" $4 /kiln/context
buildah push --tls-verify="$2" $5 "$3" "docker://$3"
echo "[kiln] pushed""#;
            let verify_base = !build.is_insecure(&job.base);
            // The CA bundle: trusted for registries (--cert-dir reads its *.crt) and
            // mounted into the build steps.
            let (build_extra, push_extra) = if with_ca {
                (
                    format!("--cert-dir={CONFIG_DIR} --volume={CONFIG_DIR}/ca.crt:{CA_PATH}:ro"),
                    format!("--cert-dir={CONFIG_DIR}"),
                )
            } else {
                (String::new(), String::new())
            };
            (
                vec!["sh".into(), "-c".into(), script.into(), "kiln-build".into()],
                vec![
                    verify_base.to_string(),
                    (!insecure_target).to_string(),
                    job.target.clone(),
                    build_extra,
                    push_extra,
                ],
                vec![
                    env("STORAGE_DRIVER", "vfs"),
                    env("BUILDAH_ISOLATION", "chroot"),
                    env("REGISTRY_AUTH_FILE", &format!("{DOCKER_DIR}/config.json")),
                ],
            )
        }
    }
}

/// Rootless, as BuildKit documents for Kubernetes: an unprivileged user, with the seccomp
/// and AppArmor profiles unconfined so that it can make the user namespace it builds in.
fn builder_security() -> SecurityContext {
    SecurityContext {
        run_as_user: Some(ROOTLESS_UID),
        run_as_group: Some(ROOTLESS_UID),
        run_as_non_root: Some(true),
        privileged: Some(false),
        seccomp_profile: Some(SeccompProfile {
            type_: "Unconfined".into(),
            ..Default::default()
        }),
        app_armor_profile: Some(AppArmorProfile {
            type_: "Unconfined".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn resources(kube: &KubeSettings) -> ResourceRequirements {
    let quantities = |cpu: &str, memory: &str| {
        BTreeMap::from([
            ("cpu".to_owned(), Quantity(cpu.to_owned())),
            ("memory".to_owned(), Quantity(memory.to_owned())),
        ])
    };
    ResourceRequirements {
        requests: Some(quantities(&kube.cpu_request, &kube.memory_request)),
        limits: Some(quantities(&kube.cpu_limit, &kube.memory_limit)),
        ..Default::default()
    }
}

/// The BuildKit daemon's registry settings: plain HTTP for insecure registries, the CA
/// bundle for the registries this build talks to.
fn buildkitd_toml(job: &BuildJob, build: &BuildSettings, with_ca: bool) -> String {
    let mut seen = Vec::new();
    let mut out = String::new();
    for reference in [&job.base, &job.target] {
        let host = registry_of(reference);
        let insecure = build.is_insecure(reference);
        if seen.contains(&host) || (!insecure && !with_ca) {
            continue;
        }
        // Hosts are registry names that passed the image reference grammar.
        out.push_str(&format!("[registry.\"{host}\"]\n"));
        seen.push(host);
        if insecure {
            // As Kiln's insecure registries mean: TLS without verification, else plain HTTP.
            out.push_str("  http = true\n  insecure = true\n");
        }
        if with_ca {
            out.push_str(&format!("  ca = [\"{CONFIG_DIR}/ca.crt\"]\n"));
        }
    }
    out
}

/// The Containerfile with the CA bundle mounted into every RUN step as a build secret: the
/// way BuildKit lends a build step a file (buildah mounts it with `--volume` instead).
fn with_ca_mounts(containerfile: &str, builder: BuilderKind) -> String {
    if builder == BuilderKind::Buildah {
        return containerfile.to_owned();
    }
    containerfile
        .lines()
        .map(|line| match line.strip_prefix("RUN ") {
            Some(rest) => format!(
                "RUN --mount=type=secret,id=kiln-ca,target={CA_PATH},required=false {rest}\n"
            ),
            None => format!("{line}\n"),
        })
        .collect()
}
