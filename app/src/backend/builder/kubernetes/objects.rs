//! The objects one build is made of in the cluster: a ConfigMap with the build context, a
//! Secret with the registry logins, and the Job. Its Pod has two steps: the builder (an init
//! container, which runs the build's RUN steps) writes the image as an OCI archive to an
//! emptyDir, holding only the base image's pull secret; then the push container (skopeo,
//! no build code) pushes that archive with the push credential, which the builder's
//! container never mounts, and prints the record of installed packages from the archive.
//! Also the smoke-test Pod that starts the pushed image once, with its pull secret, and the
//! NetworkPolicy build Pods (the smoke Pod too) run under. Pure functions of the build and
//! the settings: what Kiln sends is what the tests (and `kiln kube render`) see.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::ByteString;
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    AppArmorProfile, Capabilities, ConfigMap, ConfigMapVolumeSource, Container,
    EmptyDirVolumeSource, EnvVar, ExecAction, KeyToPath, LocalObjectReference, Pod,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile,
    Secret, SecretVolumeSource, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{BuilderKind, KubeSettings};
use crate::backend::builder::context::{CA_PATH, RECORD_PATH};
use crate::backend::builder::{
    BuildJob, BuildSettings, RegistryAuth, cache_proxy, registry_of, smoke,
};

/// The labels every build object carries; the build id finds them again after a restart.
pub const BUILD_ID: &str = "kiln.dev/build-id";
pub const IMAGE_ID: &str = "kiln.dev/image-id";
/// The builder's container (the Pod's init container), whose log is the build log.
pub const CONTAINER: &str = "build";
/// The container that pushes the built archive; its log ends with the record.
pub const PUSH_CONTAINER: &str = "push";
/// The Secret's keys: the base image's logins (for the builder) and the push credential.
const PULL_KEY: &str = "pull.json";
const PUSH_KEY: &str = "push.json";
/// Where the builder leaves the image for the push step.
const OUT_DIR: &str = "/kiln/out";
const ARCHIVE: &str = "/kiln/out/image.tar";
const PUSH_AUTH_DIR: &str = "/kiln/push";
/// The lines framing the record in the push container's log.
pub const RECORD_BEGIN: &str = "kiln-record-begin";
pub const RECORD_END: &str = "kiln-record-end";
/// Where the builder finds the context, its registry logins and its configuration.
const CONTEXT_DIR: &str = "/kiln/context";
const DOCKER_DIR: &str = "/kiln/docker";
const CONFIG_DIR: &str = "/kiln/config";
/// The label of a build's smoke-test Pod (the build's id). Not [`BUILD_ID`]: the build's
/// own Pod is found by that label, and the smoke Pod must never be taken for it.
pub const SMOKE_OF: &str = "kiln.dev/smoke-test-of";
/// The smoke Pod's container.
pub const SMOKE_CONTAINER: &str = "smoke";
/// The smoke test's files in the build's ConfigMap.
const SMOKE_SCRIPT_KEY: &str = "smoke.sh";
const SMOKE_PACKAGES_KEY: &str = "smoke-packages.txt";
/// The user BuildKit's rootless image runs as (the image is made for this uid and gid).
const ROOTLESS_UID: i64 = 1000;
/// The layer-cache step: Kiln's own image serving the build registry's cache to the
/// builder on the Pod's loopback (`kiln kube build-cache`), a native sidecar.
pub const CACHE_CONTAINER: &str = "cache";

/// Where this build's BuildKit imports and exports its layers, if it does: the cache
/// step's image and the group's cache repository.
fn layer_cache<'a>(job: &'a BuildJob, kube: &'a KubeSettings) -> Option<(&'a str, &'a str)> {
    match (kube.builder, &kube.cache_image, &job.cache) {
        (BuilderKind::BuildKit, Some(image), Some(repository)) => Some((image, repository)),
        _ => None,
    }
}

/// The cache as BuildKit names it: on the Pod's loopback, one tag per image (two images of
/// a group building at once do not overwrite each other's).
fn cache_ref(job: &BuildJob, repository: &str) -> String {
    let path = repository
        .split_once('/')
        .map_or(repository, |(_, path)| path);
    let image = job
        .target
        .rsplit_once('/')
        .map_or(job.target.as_str(), |(_, last)| last);
    let image = image.split_once(':').map_or(image, |(name, _)| name);
    format!("{}/{path}:buildkit-{image}", cache_proxy::ADDRESS)
}

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
        buildkitd_toml(
            job,
            build,
            ca_bundle.is_some(),
            layer_cache(job, kube).is_some(),
        ),
    );
    if let Some(ca) = ca_bundle {
        data.insert("ca.crt".into(), ca.to_owned());
    }
    // For the smoke Pod after the push; no build step mounts them.
    data.insert(SMOKE_SCRIPT_KEY.into(), smoke::SCRIPT.into());
    data.insert(
        SMOKE_PACKAGES_KEY.into(),
        job.context.smoke_packages.clone(),
    );
    let config_map = ConfigMap {
        metadata: meta.clone(),
        data: Some(data),
        ..Default::default()
    };
    let secret = Secret {
        metadata: meta.clone(),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([
            (
                PULL_KEY.to_owned(),
                ByteString(job.base_auth.to_json().into_bytes()),
            ),
            (
                PUSH_KEY.to_owned(),
                ByteString(build.push_auth().to_json().into_bytes()),
            ),
        ])),
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
    render(&sample_job(build), kube, build, ca_bundle)
}

/// The example build of [`sample`].
pub fn sample_job(build: &BuildSettings) -> BuildJob {
    use crate::backend::builder::context::{CacheScope, build_context};
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
    let context = build_context(
        &spec,
        &digest,
        "1000",
        &CacheScope::new(&build.registry, Some(1)),
    )
    .expect("the example context");
    let mut base_auth = RegistryAuth::default();
    base_auth.add("registry.example.org", "puller", "example-password");
    let mut auth = build.push_auth();
    auth.entries.extend(base_auth.entries.iter().cloned());
    BuildJob {
        build_id: 42,
        image_id: 7,
        base: spec.base_image.as_str().to_owned(),
        target: build.target(Some("ml"), "example-tools", &spec.content_tag(&digest)),
        context,
        auth,
        base_auth,
        log_cursor: String::new(),
        cache: build.cache_repository(&build.target(Some("ml"), "example-tools", "0")),
    }
}

/// The NetworkPolicy of build Pods (in the builds' namespace): nothing may connect to
/// them; they may ask the cluster's DNS and reach the outside, but not the ranges of
/// `KILN_K8S_BUILD_EGRESS_EXCEPT` (the cluster's own, Kiln, PostgreSQL, the metadata
/// service) unless listed in `KILN_K8S_BUILD_EGRESS_ALLOW` (e.g. an in-cluster registry).
/// Shipped in `deploy/` for the defaults; `kiln kube render` prints it for other settings.
pub fn network_policy(kube: &KubeSettings) -> NetworkPolicy {
    let port = |protocol: &str| NetworkPolicyPort {
        port: Some(IntOrString::Int(53)),
        protocol: Some(protocol.into()),
        ..Default::default()
    };
    let dns = NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            namespace_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "kubernetes.io/metadata.name".to_owned(),
                    "kube-system".to_owned(),
                )])),
                ..Default::default()
            }),
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "k8s-app".to_owned(),
                    "kube-dns".to_owned(),
                )])),
                ..Default::default()
            }),
            ..Default::default()
        }]),
        ports: Some(vec![port("UDP"), port("TCP")]),
    };
    let block = |cidr: &str, except: Option<Vec<String>>| NetworkPolicyPeer {
        ip_block: Some(IPBlock {
            cidr: cidr.into(),
            except,
        }),
        ..Default::default()
    };
    let v4_except: Vec<String> = kube
        .egress_except
        .iter()
        .filter(|c| !c.contains(':'))
        .cloned()
        .collect();
    let v6_except: Vec<String> = kube
        .egress_except
        .iter()
        .filter(|c| c.contains(':'))
        .cloned()
        .collect();
    let mut outside = vec![
        block("0.0.0.0/0", (!v4_except.is_empty()).then_some(v4_except)),
        // IPv6: the outside, but not unique-local (fc00::/7) or link-local (fe80::/10).
        block(
            "::/0",
            Some(
                ["fc00::/7".to_owned(), "fe80::/10".to_owned()]
                    .into_iter()
                    .chain(v6_except)
                    .collect(),
            ),
        ),
    ];
    outside.extend(kube.egress_allow.iter().map(|cidr| block(cidr, None)));
    NetworkPolicy {
        metadata: ObjectMeta {
            name: Some("kiln-builds".into()),
            namespace: Some(kube.namespace.clone()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_owned(),
                "kiln".to_owned(),
            )])),
            ..Default::default()
        },
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([(
                    "app.kubernetes.io/name".to_owned(),
                    "kiln-build".to_owned(),
                )])),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
            ingress: Some(Vec::new()),
            egress: Some(vec![
                dns,
                NetworkPolicyEgressRule {
                    to: Some(outside),
                    ports: None,
                },
            ]),
        }),
    }
}

/// The name of a build's smoke-test Pod, and of its pull secret.
pub fn smoke_name(build_id: i64) -> String {
    format!("kiln-build-{build_id}-smoke")
}

/// The smoke Pod's pull secret: the image's own pull secret (the spec's, which the build's
/// base image is pulled with too) as a `kubernetes.io/dockerconfigjson` Secret, never the
/// push credential: the Pod can pull the image and nothing more. `None` without one.
pub fn smoke_pull_secret(job: &BuildJob, kube: &KubeSettings) -> Option<Secret> {
    if job.base_auth.entries.is_empty() {
        return None;
    }
    Some(Secret {
        metadata: smoke_metadata(job, kube),
        type_: Some("kubernetes.io/dockerconfigjson".into()),
        data: Some(BTreeMap::from([(
            ".dockerconfigjson".to_owned(),
            ByteString(job.base_auth.to_json().into_bytes()),
        )])),
        ..Default::default()
    })
}

/// The smoke test's Pod: `image` (the pushed image, by digest where known) started once as
/// its own user, running [`smoke::SCRIPT`] from the build's ConfigMap. Short-lived
/// (`activeDeadlineSeconds`), no service account token or Service links, no privilege
/// escalation, no capabilities, the runtime's seccomp profile, the build's resources and
/// nodes, and the build Pods' label so that their NetworkPolicy applies.
pub fn smoke_pod(job: &BuildJob, kube: &KubeSettings, image: &str, limit: Duration) -> Pod {
    let name = name(job.build_id);
    let pull_secrets = smoke_pull_secret(job, kube).map(|secret| {
        vec![LocalObjectReference {
            name: secret.metadata.name.unwrap_or_default(),
        }]
    });
    let files = [
        (SMOKE_SCRIPT_KEY, smoke::SCRIPT_FILE),
        (SMOKE_PACKAGES_KEY, smoke::PACKAGES_FILE),
    ];
    let volume = Volume {
        name: "smoke".into(),
        config_map: Some(ConfigMapVolumeSource {
            name,
            items: Some(
                files
                    .iter()
                    .map(|(key, path)| KeyToPath {
                        key: (*key).into(),
                        path: (*path).into(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            // Readable by whichever user the image runs as.
            default_mode: Some(0o444),
            ..Default::default()
        }),
        ..Default::default()
    };
    let container = Container {
        name: SMOKE_CONTAINER.into(),
        image: Some(image.to_owned()),
        command: Some(smoke::command()),
        resources: Some(resources(kube)),
        security_context: Some(unprivileged()),
        volume_mounts: Some(vec![mount("smoke", smoke::DIR, true)]),
        ..Default::default()
    };
    Pod {
        metadata: smoke_metadata(job, kube),
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            active_deadline_seconds: Some(limit.as_secs().max(1) as i64),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            security_context: Some(PodSecurityContext {
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            node_selector: (!kube.node_selector.is_empty()).then(|| kube.node_selector.clone()),
            tolerations: (!kube.tolerations.is_empty()).then(|| kube.tolerations.clone()),
            image_pull_secrets: pull_secrets,
            containers: vec![container],
            volumes: Some(vec![volume]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The smoke objects' metadata: the build Pods' labels but for [`BUILD_ID`], which is
/// [`SMOKE_OF`] instead.
fn smoke_metadata(job: &BuildJob, kube: &KubeSettings) -> ObjectMeta {
    let mut labels = labels(job);
    labels.remove(BUILD_ID);
    labels.insert(SMOKE_OF.to_owned(), job.build_id.to_string());
    ObjectMeta {
        name: Some(smoke_name(job.build_id)),
        namespace: Some(kube.namespace.clone()),
        labels: Some(labels),
        ..Default::default()
    }
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
        // One key of the Secret each: a volume projects only the items it lists.
        secret_volume("pull-auth", &name, PULL_KEY),
        secret_volume("push-auth", &name, PUSH_KEY),
        empty_dir("out"),
        empty_dir("push-tmp"),
    ];
    // The context's files (the Containerfile and every list it reads), mounted one by one
    // (`subPath`), so the builder sees plain files rather than a ConfigMap volume's
    // symbolic links, which BuildKit would copy as links.
    let mut mounts: Vec<VolumeMount> = job
        .context
        .files
        .iter()
        .map(|(file, _)| VolumeMount {
            name: "context".into(),
            mount_path: format!("{CONTEXT_DIR}/{file}"),
            sub_path: Some((*file).into()),
            read_only: Some(true),
            ..Default::default()
        })
        .collect();
    mounts.push(mount("pull-auth", DOCKER_DIR, true));
    mounts.push(mount("out", OUT_DIR, false));
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
    volumes.push(empty_dir("state"));
    mounts.push(mount("state", state_dir, false));

    let (command, args, env) = builder_command(job, kube, build, with_ca);
    let builder = Container {
        name: CONTAINER.into(),
        image: Some(kube.image.clone()),
        command: Some(command),
        args: Some(args),
        env: Some(env),
        resources: Some(resources(kube)),
        security_context: Some(builder_security(kube.process_sandbox)),
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
        host_users: kube.process_sandbox.then_some(false),
        init_containers: Some(
            layer_cache(job, kube)
                .map(|(image, repository)| cache_container(image, repository, build, with_ca))
                .into_iter()
                .chain([builder])
                .collect(),
        ),
        containers: vec![push_container(job, kube, build, with_ca)],
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
    match kube.builder {
        BuilderKind::BuildKit => {
            let output = format!("type=oci,dest={ARCHIVE}");
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
            if let Some((_, repository)) = layer_cache(job, kube) {
                let cache = cache_ref(job, repository);
                args.push(format!("--import-cache=type=registry,ref={cache}"));
                // Every step's layers (mode=max); a cache that cannot be written never
                // fails the build.
                args.push(format!(
                    "--export-cache=type=registry,ref={cache},mode=max,oci-mediatypes=true,image-manifest=true,ignore-error=true"
                ));
            }
            // With the process sandbox BuildKit gives each RUN step a PID namespace of its
            // own (it needs an unmasked /proc); without, RUN steps see the daemon's.
            let sandbox = if kube.process_sandbox {
                ""
            } else {
                "--oci-worker-no-process-sandbox "
            };
            let flags = format!("{sandbox}--config={CONFIG_DIR}/buildkitd.toml");
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
            // buildah builds, then writes the archive: two commands, so a shell runs them;
            // everything variable is a positional argument, never part of the script.
            let script = r#"set -eu
buildah build --layers=false --tls-verify="$1" -f /kiln/context/Containerfile -t kiln-build $2 /kiln/context
buildah push kiln-build "oci-archive:$3""#;
            let verify_base = !build.is_insecure(&job.base);
            // The CA bundle: trusted for registries (--cert-dir reads its *.crt) and
            // mounted into the build steps.
            let build_extra = if with_ca {
                format!("--cert-dir={CONFIG_DIR} --volume={CONFIG_DIR}/ca.crt:{CA_PATH}:ro")
            } else {
                String::new()
            };
            (
                vec!["sh".into(), "-c".into(), script.into(), "kiln-build".into()],
                vec![verify_base.to_string(), build_extra, ARCHIVE.into()],
                vec![
                    env("STORAGE_DRIVER", "vfs"),
                    env("BUILDAH_ISOLATION", "chroot"),
                    env("REGISTRY_AUTH_FILE", &format!("{DOCKER_DIR}/config.json")),
                ],
            )
        }
    }
}

/// The push step. Runs no build code: skopeo copies the archive the builder left to the
/// target with the push credential and prints the pushed manifest's digest (`[kiln] digest
/// sha256:…`), then the record of installed packages is read from the archive's layers (the
/// newest layer holding it) and printed between markers.
/// Everything variable is a positional argument.
pub const PUSH_SCRIPT: &str = r#"set -eu
archive=$1 target=$2 verify=$3 record=${4#/}
tmp=$(mktemp -d)
echo "[kiln] pushing $target"
skopeo copy --quiet --retry-times 3 --authfile "$PUSH_AUTH/config.json" --dest-tls-verify="$verify" \
  --digestfile "$tmp/digest" "oci-archive:$archive" "docker://$target"
echo "[kiln] pushed"
# From here on nothing fails the step: the image is pushed; a missing record is empty.
set +e
# Before the record, which comes from the image: the smoke Pod runs the image by it.
echo "[kiln] digest $(cat "$tmp/digest")"
tar -xOf "$archive" index.json > "$tmp/index.json"
manifest=$(grep -o 'sha256:[0-9a-f]\{64\}' "$tmp/index.json" | head -n 1 | cut -d: -f2)
tar -xOf "$archive" "blobs/sha256/$manifest" > "$tmp/manifest.json"
echo "kiln-record-begin"
# Newest first; digests that are not blobs of the archive (annotations) are skipped.
for blob in $(grep -o 'sha256:[0-9a-f]\{64\}' "$tmp/manifest.json" | cut -d: -f2 | tac); do
  tar -xOf "$archive" "blobs/sha256/$blob" > "$tmp/layer" 2>/dev/null || continue
  if tar -xzOf "$tmp/layer" "$record" > "$tmp/record" 2>/dev/null || tar -xOf "$tmp/layer" "$record" > "$tmp/record" 2>/dev/null; then
    head -c 1048576 "$tmp/record"; echo; break
  fi
done
echo "kiln-record-end"
rm -rf "$tmp""#;

fn push_container(
    job: &BuildJob,
    kube: &KubeSettings,
    build: &BuildSettings,
    with_ca: bool,
) -> Container {
    let mut env = vec![EnvVar {
        name: "PUSH_AUTH".into(),
        value: Some(PUSH_AUTH_DIR.into()),
        ..Default::default()
    }];
    let mut mounts = vec![
        mount("out", OUT_DIR, true),
        mount("push-auth", PUSH_AUTH_DIR, true),
        mount("push-tmp", "/tmp", false),
    ];
    if with_ca {
        // Go programs (skopeo) add the *.crt files of SSL_CERT_DIR to the system's roots.
        env.push(EnvVar {
            name: "SSL_CERT_DIR".into(),
            value: Some(CONFIG_DIR.into()),
            ..Default::default()
        });
        mounts.push(ca_mount());
    }
    Container {
        name: PUSH_CONTAINER.into(),
        image: Some(kube.push_image.clone()),
        command: Some(vec![
            "sh".into(),
            "-c".into(),
            PUSH_SCRIPT.into(),
            "kiln-push".into(),
        ]),
        args: Some(vec![
            ARCHIVE.into(),
            job.target.clone(),
            (!build.is_insecure(&job.target)).to_string(),
            RECORD_PATH.into(),
        ]),
        env: Some(env),
        resources: Some(step_resources(("100m", "128Mi"), ("1", "1Gi"))),
        security_context: Some(no_build_code()),
        volume_mounts: Some(mounts),
        ..Default::default()
    }
}

/// The layer-cache step: started before the builder and kept running beside it (a native
/// sidecar: an init container that restarts always), it serves the group's cache
/// repository on the Pod's loopback with the push credential, which the builder's container
/// never mounts; it runs no build code. The builder starts once it listens.
fn cache_container(
    image: &str,
    repository: &str,
    build: &BuildSettings,
    with_ca: bool,
) -> Container {
    let mut args = vec![
        "kube".to_owned(),
        "build-cache".into(),
        format!("--repository={repository}"),
        format!("--auth-file={PUSH_AUTH_DIR}/config.json"),
        format!("--address={}", cache_proxy::ADDRESS),
    ];
    if build.is_insecure(repository) {
        args.push("--insecure".into());
    }
    let mut mounts = vec![mount("push-auth", PUSH_AUTH_DIR, true)];
    if with_ca {
        args.push(format!("--ca-file={CONFIG_DIR}/ca.crt"));
        mounts.push(ca_mount());
    }
    Container {
        name: CACHE_CONTAINER.into(),
        image: Some(image.into()),
        restart_policy: Some("Always".into()),
        command: Some(vec!["kiln".into()]),
        args: Some(args),
        // Started once it listens: the probe connects from inside the Pod.
        startup_probe: Some(Probe {
            exec: Some(ExecAction {
                command: Some(vec![
                    "bash".into(),
                    "-c".into(),
                    format!("exec 3<>/dev/tcp/127.0.0.1/{}", cache_proxy::PORT),
                ]),
            }),
            period_seconds: Some(1),
            failure_threshold: Some(120),
            ..Default::default()
        }),
        resources: Some(step_resources(("50m", "64Mi"), ("1", "256Mi"))),
        security_context: Some(no_build_code()),
        volume_mounts: Some(mounts),
        ..Default::default()
    }
}

/// The CA bundle of the build's ConfigMap, mounted as a plain file.
fn ca_mount() -> VolumeMount {
    VolumeMount {
        name: "context".into(),
        mount_path: format!("{CONFIG_DIR}/ca.crt"),
        sub_path: Some("ca.crt".into()),
        read_only: Some(true),
        ..Default::default()
    }
}

/// What a step that runs no build code requests and may use: (cpu, memory) each.
fn step_resources(request: (&str, &str), limit: (&str, &str)) -> ResourceRequirements {
    let quantities = |(cpu, memory): (&str, &str)| {
        Some(BTreeMap::from([
            ("cpu".to_owned(), Quantity(cpu.to_owned())),
            ("memory".to_owned(), Quantity(memory.to_owned())),
        ]))
    };
    ResourceRequirements {
        requests: quantities(request),
        limits: quantities(limit),
        ..Default::default()
    }
}

fn secret_volume(name: &str, secret: &str, key: &str) -> Volume {
    Volume {
        name: name.into(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(secret.into()),
            items: Some(vec![KeyToPath {
                key: key.into(),
                path: "config.json".into(),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}

fn mount(volume: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: volume.into(),
        mount_path: path.into(),
        read_only: read_only.then_some(true),
        ..Default::default()
    }
}

/// Rootless, as BuildKit documents for Kubernetes: an unprivileged user, with the seccomp
/// and AppArmor profiles unconfined so that it can make the user namespace it builds in.
/// With the process sandbox, `/proc` is unmasked (allowed only in a Pod with a user
/// namespace of its own: `hostUsers: false`).
/// A container that needs no privilege: none, no way to gain any, no capability, the
/// runtime's default seccomp profile.
fn unprivileged() -> SecurityContext {
    SecurityContext {
        privileged: Some(false),
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            ..Default::default()
        }),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A step that runs no build code: unprivileged, as the rootless user, with a read-only
/// root file system.
fn no_build_code() -> SecurityContext {
    SecurityContext {
        run_as_user: Some(ROOTLESS_UID),
        run_as_group: Some(ROOTLESS_UID),
        run_as_non_root: Some(true),
        read_only_root_filesystem: Some(true),
        ..unprivileged()
    }
}

fn builder_security(process_sandbox: bool) -> SecurityContext {
    SecurityContext {
        proc_mount: process_sandbox.then(|| "Unmasked".to_owned()),
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
fn buildkitd_toml(
    job: &BuildJob,
    build: &BuildSettings,
    with_ca: bool,
    with_cache: bool,
) -> String {
    let mut seen = Vec::new();
    let mut out = String::new();
    if with_cache {
        // The cache step on the Pod's loopback speaks plain HTTP.
        out.push_str(&format!(
            "[registry.\"{}\"]\n  http = true\n",
            cache_proxy::ADDRESS
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::builder::kubernetes::{
        DEFAULT_EGRESS_EXCEPT, DEFAULT_PUSH_IMAGE, parse_cidrs,
    };
    use std::time::Duration;

    fn settings(builder: BuilderKind, process_sandbox: bool) -> (KubeSettings, BuildSettings) {
        let kube = KubeSettings {
            namespace: "kiln-builds".into(),
            builder,
            image: builder.default_image().into(),
            push_image: DEFAULT_PUSH_IMAGE.into(),
            cache_image: None,
            process_sandbox,
            egress_except: parse_cidrs("except", DEFAULT_EGRESS_EXCEPT).unwrap(),
            egress_allow: vec!["10.20.0.5/32".into()],
            cpu_request: "500m".into(),
            cpu_limit: "2".into(),
            memory_request: "1Gi".into(),
            memory_limit: "4Gi".into(),
            ttl_seconds: 600,
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            pull_secret_namespaces: Vec::new(),
        };
        let build = BuildSettings {
            registry: "registry.example.org/kiln".into(),
            registry_username: Some("pusher".into()),
            registry_password: Some("push-secret".into()),
            insecure_registries: Vec::new(),
            timeout: Duration::from_secs(600),
            total_limit: 2,
            per_group_limit: 2,
            ca_bundle: None,
            log_limit: 1024,
            internal_registries: Vec::new(),
            smoke_timeout: crate::backend::builder::smoke::DEFAULT_LIMIT,
            registry_cache: true,
        };
        (kube, build)
    }

    #[test]
    fn no_container_that_runs_build_steps_can_read_the_push_credential() {
        let kinds = [BuilderKind::BuildKit, BuilderKind::Buildah];
        for (builder, cache) in kinds.into_iter().flat_map(|b| [(b, false), (b, true)]) {
            let (mut kube, build) = settings(builder, false);
            kube.cache_image = cache.then(|| "registry.example.org/platform/kiln:0.1.0".into());
            let objects = sample(&kube, &build, Some("-----BEGIN CERTIFICATE-----"));
            let pod = objects.job.spec.unwrap().template.spec.unwrap();
            let inits = pod.init_containers.as_ref().unwrap();
            let builder_container = inits.iter().find(|c| c.name == CONTAINER).unwrap();
            let volumes = pod.volumes.as_ref().unwrap();
            // Which Secret keys a container can read, through the volumes it mounts.
            let keys = |container: &Container| -> Vec<String> {
                let mounted: Vec<&str> = container
                    .volume_mounts
                    .iter()
                    .flatten()
                    .map(|m| m.name.as_str())
                    .collect();
                volumes
                    .iter()
                    .filter(|v| mounted.contains(&v.name.as_str()))
                    .filter_map(|v| v.secret.as_ref())
                    .flat_map(|s| s.items.iter().flatten().map(|i| i.key.clone()))
                    .collect()
            };
            assert_eq!(keys(builder_container), ["pull.json"], "{builder:?}");
            assert_eq!(keys(&pod.containers[0]), ["push.json"], "{builder:?}");
            // The layer-cache step (BuildKit's) runs no build code and holds the push login.
            for other in inits.iter().filter(|c| c.name != CONTAINER) {
                assert_eq!(other.name, CACHE_CONTAINER);
                assert_eq!(keys(other), ["push.json"], "{builder:?}");
            }
            assert!(builder_container.env_from.is_none());
            let secret = objects.secret.data.unwrap();
            let pull = String::from_utf8(secret["pull.json"].0.clone()).unwrap();
            use base64::Engine;
            let pusher = base64::engine::general_purpose::STANDARD.encode("pusher:push-secret");
            assert!(
                !pull.contains(&pusher),
                "the push login is not in the builder's file"
            );
            let push = String::from_utf8(secret["push.json"].0.clone()).unwrap();
            assert!(push.contains(&pusher));
            assert_eq!(pod.automount_service_account_token, Some(false));
        }
    }

    #[test]
    fn with_a_cache_image_buildkit_takes_and_leaves_its_layers_in_the_groups_cache() {
        let (mut kube, mut build) = settings(BuilderKind::BuildKit, false);
        // Without Kiln's image for the cache step: no cache, as before.
        let pod = sample_pod(&kube, &build);
        assert_eq!(pod.init_containers.as_ref().unwrap().len(), 1);
        let args = pod.init_containers.as_ref().unwrap()[0]
            .args
            .clone()
            .unwrap();
        assert!(!args.iter().any(|a| a.contains("cache")), "{args:?}");

        kube.cache_image = Some("registry.example.org/platform/kiln:0.1.0".into());
        build.insecure_registries = vec!["registry.example.org".into()];
        let objects = sample(&kube, &build, None);
        let pod = objects.job.spec.unwrap().template.spec.unwrap();
        let inits = pod.init_containers.unwrap();
        // The cache step first, kept running beside the builder (a native sidecar), which
        // starts once it answers.
        assert_eq!(
            inits.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            [CACHE_CONTAINER, CONTAINER]
        );
        let cache = &inits[0];
        assert_eq!(cache.restart_policy.as_deref(), Some("Always"));
        assert!(cache.startup_probe.is_some());
        assert_eq!(
            cache.image.as_deref(),
            Some("registry.example.org/platform/kiln:0.1.0")
        );
        let security = cache.security_context.as_ref().unwrap();
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert_eq!(
            cache.args.as_ref().unwrap(),
            &[
                "kube",
                "build-cache",
                "--repository=registry.example.org/kiln/ml/cache/layers",
                "--auth-file=/kiln/push/config.json",
                "--address=127.0.0.1:5999",
                "--insecure",
            ]
        );
        // The builder reaches it on the Pod's loopback, over plain HTTP; one tag per image.
        let args = inits[1].args.as_ref().unwrap();
        let cache_ref = "127.0.0.1:5999/kiln/ml/cache/layers:buildkit-example-tools";
        assert!(
            args.contains(&format!("--import-cache=type=registry,ref={cache_ref}")),
            "{args:?}"
        );
        let export = args
            .iter()
            .find(|a| a.starts_with("--export-cache="))
            .unwrap();
        assert!(
            export.contains(&format!("ref={cache_ref},mode=max,"))
                && export.contains("ignore-error=true"),
            "{export}"
        );
        let toml = &objects.config_map.data.as_ref().unwrap()["buildkitd.toml"];
        assert!(
            toml.contains("[registry.\"127.0.0.1:5999\"]\n  http = true\n"),
            "{toml}"
        );

        // buildah's builds keep no registry cache on Kubernetes.
        kube.builder = BuilderKind::Buildah;
        let pod = sample_pod(&kube, &build);
        assert_eq!(pod.init_containers.as_ref().unwrap().len(), 1);
    }

    fn sample_pod(kube: &KubeSettings, build: &BuildSettings) -> PodSpec {
        let job = sample(kube, build, None).job;
        job.spec.unwrap().template.spec.unwrap()
    }

    #[test]
    fn every_file_the_containerfile_mounts_is_in_the_builders_context() {
        for builder in [BuilderKind::BuildKit, BuilderKind::Buildah] {
            let (kube, build) = settings(builder, false);
            let objects = sample(&kube, &build, None);
            let data = objects.config_map.data.clone().unwrap();
            let containerfile = &data["Containerfile"];
            let sources: Vec<&str> = containerfile
                .split("source=")
                .skip(1)
                .map(|rest| rest.split([',', ' ']).next().unwrap())
                .collect();
            assert!(
                sources.len() >= 7,
                "APT, Conda and five Pip steps: {sources:?}"
            );
            let pod = sample_pod(&kube, &build);
            let mounted: Vec<String> = pod.init_containers.as_ref().unwrap()[0]
                .volume_mounts
                .iter()
                .flatten()
                .filter(|m| m.name == "context")
                .filter_map(|m| m.sub_path.clone())
                .collect();
            for source in sources {
                assert!(
                    mounted.iter().any(|m| m == source),
                    "{builder:?}: {source} is mounted ({mounted:?})"
                );
                assert!(data.contains_key(source), "{source} is in the ConfigMap");
            }
        }
    }

    #[test]
    fn the_process_sandbox_unmasks_proc_in_a_pod_with_its_own_user_namespace() {
        let (kube, build) = settings(BuilderKind::BuildKit, false);
        let pod = sample_pod(&kube, &build);
        let flags = |pod: &PodSpec| {
            pod.init_containers.as_ref().unwrap()[0]
                .env
                .iter()
                .flatten()
                .find(|e| e.name == "BUILDKITD_FLAGS")
                .and_then(|e| e.value.clone())
                .unwrap()
        };
        assert!(flags(&pod).contains("--oci-worker-no-process-sandbox"));
        assert_eq!(pod.host_users, None);

        let (kube, build) = settings(BuilderKind::BuildKit, true);
        let pod = sample_pod(&kube, &build);
        assert!(!flags(&pod).contains("no-process-sandbox"));
        assert_eq!(pod.host_users, Some(false));
        let security = pod.init_containers.as_ref().unwrap()[0]
            .security_context
            .clone()
            .unwrap();
        assert_eq!(security.proc_mount.as_deref(), Some("Unmasked"));
    }

    #[test]
    fn the_smoke_pod_runs_the_image_as_its_own_user_can_only_pull_and_has_no_privileges() {
        let (kube, build) = settings(BuilderKind::BuildKit, false);
        let mut job = sample_job(&build);
        let image = format!(
            "registry.example.org/kiln/ml/example-tools@sha256:{}",
            "1".repeat(64)
        );
        let pod = smoke_pod(&job, &kube, &image, smoke::DEFAULT_LIMIT);
        let labels = pod.metadata.labels.clone().unwrap();
        let policy = network_policy(&kube).spec.unwrap().pod_selector.unwrap();
        for (key, value) in policy.match_labels.unwrap() {
            assert_eq!(
                labels.get(&key),
                Some(&value),
                "the builds' NetworkPolicy applies"
            );
        }
        assert_eq!(labels[SMOKE_OF], "42");
        assert!(
            !labels.contains_key(BUILD_ID),
            "never taken for the build's own Pod"
        );
        assert_eq!(pod.metadata.name.as_deref(), Some("kiln-build-42-smoke"));

        let spec = pod.spec.unwrap();
        assert_eq!(spec.restart_policy.as_deref(), Some("Never"));
        assert_eq!(spec.active_deadline_seconds, Some(300));
        assert_eq!(spec.automount_service_account_token, Some(false));
        assert_eq!(spec.enable_service_links, Some(false));
        let runtime_default = Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            ..Default::default()
        });
        assert_eq!(
            spec.security_context.unwrap().seccomp_profile,
            runtime_default
        );
        let container = &spec.containers[0];
        assert_eq!(container.image.as_deref(), Some(image.as_str()));
        assert_eq!(container.command, Some(smoke::command()));
        assert_eq!(
            container.resources,
            Some(resources(&kube)),
            "the build's limits"
        );
        let security = container.security_context.clone().unwrap();
        assert_eq!(security.allow_privilege_escalation, Some(false));
        assert_eq!(security.privileged, Some(false));
        assert_eq!(
            security.capabilities.unwrap().drop,
            Some(vec!["ALL".to_owned()])
        );
        assert_eq!(security.seccomp_profile, runtime_default);
        assert_eq!(security.run_as_user, None, "the image's own user");
        assert!(container.env.is_none() && container.env_from.is_none());

        // It mounts the smoke test's two files of the ConfigMap and no Secret at all.
        let volumes = spec.volumes.unwrap();
        assert_eq!(volumes.len(), 1);
        assert!(volumes[0].secret.is_none());
        let items = volumes[0].config_map.clone().unwrap().items.unwrap();
        let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["smoke.sh", "smoke-packages.txt"]);
        let data = render(&job, &kube, &build, None).config_map.data.unwrap();
        assert_eq!(data["smoke.sh"], smoke::SCRIPT);
        assert_eq!(data["smoke-packages.txt"], "requests\n");

        // Its pull secret is the image's pull secret; the push credential is not in it.
        assert_eq!(
            spec.image_pull_secrets.unwrap()[0].name,
            "kiln-build-42-smoke"
        );
        let secret = smoke_pull_secret(&job, &kube).unwrap();
        assert_eq!(
            secret.type_.as_deref(),
            Some("kubernetes.io/dockerconfigjson")
        );
        let config =
            String::from_utf8(secret.data.unwrap()[".dockerconfigjson"].0.clone()).unwrap();
        use base64::Engine;
        let engine = base64::engine::general_purpose::STANDARD;
        assert!(
            config.contains(&engine.encode("puller:example-password")),
            "{config}"
        );
        assert!(
            !config.contains(&engine.encode("pusher:push-secret")),
            "{config}"
        );
        assert!(!config.contains("registry.example.org/kiln"), "{config}");

        // An image without a pull secret is pulled without one.
        job.base_auth = RegistryAuth::default();
        assert!(smoke_pull_secret(&job, &kube).is_none());
        assert!(
            smoke_pod(&job, &kube, &image, smoke::DEFAULT_LIMIT)
                .spec
                .unwrap()
                .image_pull_secrets
                .is_none()
        );
    }

    #[test]
    fn build_pods_take_no_connections_and_reach_only_dns_and_the_outside() {
        let (kube, _) = settings(BuilderKind::BuildKit, false);
        let policy = network_policy(&kube);
        assert_eq!(policy.metadata.namespace.as_deref(), Some("kiln-builds"));
        let spec = policy.spec.unwrap();
        assert_eq!(
            spec.pod_selector.unwrap().match_labels.unwrap()["app.kubernetes.io/name"],
            "kiln-build",
            "the label every build Pod carries"
        );
        assert_eq!(spec.ingress, Some(Vec::new()), "no ingress at all");
        let egress = spec.egress.unwrap();
        let dns = &egress[0];
        assert!(
            dns.ports
                .iter()
                .flatten()
                .all(|p| p.port == Some(IntOrString::Int(53)))
        );
        let blocks: Vec<IPBlock> = egress[1]
            .to
            .iter()
            .flatten()
            .filter_map(|peer| peer.ip_block.clone())
            .collect();
        let v4 = blocks.iter().find(|b| b.cidr == "0.0.0.0/0").unwrap();
        let except = v4.except.clone().unwrap();
        for internal in [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "169.254.0.0/16",
        ] {
            assert!(
                except.contains(&internal.to_owned()),
                "{internal} is not excepted"
            );
        }
        assert!(
            blocks.iter().any(|b| b.cidr == "10.20.0.5/32"),
            "the allowed registry"
        );
        assert!(egress[1].ports.is_none());
    }
}
