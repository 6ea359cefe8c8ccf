//! Configuration: command-line flags, each with a `KILN_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::backend::builder::kubernetes::{self, BuilderKind, KubeBuilder, KubeSettings};
use app::backend::builder::local::LocalBuildah;
use app::backend::builder::sandbox::Sandbox;
use app::backend::builder::{BuildQueue, BuildSettings};

use app::backend::identity::{AuthMode, AuthSettings};
use app::backend::oidc;
use clap::{Args, Parser, Subcommand, ValueEnum};
use ipnet::IpNet;

/// Kiln: the image catalog and image builder of a Kubernetes ML platform.
#[derive(Debug, Parser)]
#[command(name = "kiln", version)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Args, Clone)]
pub struct Config {
    /// Database: `sqlite://FILE` (created when missing) or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(
        long,
        env = "KILN_DATABASE_URL",
        default_value = "sqlite://data/kiln.db",
        global = true
    )]
    pub database_url: String,

    /// How long a change made elsewhere (on another replica, by the command line, or by
    /// this replica's builds and base checks) may take to reach launch lists and service
    /// token checks: each request is answered from a read of the change counter begun at
    /// most this long before it arrived. Changes made through this replica's own requests
    /// are seen at once. `0s` reads the counter for every request.
    #[arg(long, env = "KILN_LAUNCH_MAX_STALENESS", default_value = "10ms", value_parser = parse_duration, global = true)]
    pub launch_max_staleness: Duration,

    /// Address and port to serve on.
    #[arg(
        long,
        env = "KILN_LISTEN",
        default_value = "127.0.0.1:3000",
        global = true
    )]
    pub listen: SocketAddr,

    /// Folder for Kiln's own files (the generated secret key).
    #[arg(long, env = "KILN_DATA_DIR", default_value = "data", global = true)]
    pub data_dir: PathBuf,

    /// Key sealing stored registry credentials: 64 hex characters. Without it, Kiln
    /// generates one into DATA_DIR/secret.key on first start and reads it from there.
    #[arg(long, env = "KILN_SECRET_KEY", hide_env_values = true, global = true)]
    pub secret_key: Option<String>,

    /// How users sign in: `local` (Kiln's accounts and passwords), `oidc` (Kiln signs them
    /// in with an OpenID Connect provider: Keycloak, Dex, …) or `proxy` (an identity proxy
    /// such as oauth2-proxy names the user in request headers).
    #[arg(long, env = "KILN_AUTH_MODE", value_enum, default_value_t = AuthModeArg::Local, global = true)]
    pub auth_mode: AuthModeArg,

    /// Proxy mode: the header holding the user's name.
    #[arg(
        long,
        env = "KILN_PROXY_USER_HEADER",
        default_value = "X-Forwarded-User",
        global = true
    )]
    pub proxy_user_header: String,

    /// Proxy mode: the header holding the user's groups, comma separated. Groups Kiln
    /// knows become memberships; admin roles are given with `kiln member add --admin`.
    #[arg(
        long,
        env = "KILN_PROXY_GROUPS_HEADER",
        default_value = "X-Forwarded-Groups",
        global = true
    )]
    pub proxy_groups_header: String,

    /// Proxy mode: members of this proxy group are system admins.
    #[arg(long, env = "KILN_PROXY_SYSTEM_ADMIN_GROUP", global = true)]
    pub proxy_system_admin_group: Option<String>,

    /// Proxy mode: addresses (IPs or CIDRs, comma separated) whose identity headers are
    /// believed. Headers from anyone else are ignored.
    #[arg(long, env = "KILN_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_net, global = true)]
    pub trusted_proxies: Vec<IpNet>,

    /// The address users reach Kiln at, e.g. `https://kiln.example.org`. Requests that
    /// change something must come from this origin; without it, from the request's Host.
    /// An https URL also marks the session cookie `Secure`.
    #[arg(long, env = "KILN_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// OIDC mode: the provider's issuer URL (discovery reads
    /// ISSUER/.well-known/openid-configuration). Kiln's redirect URI to register at the
    /// provider is KILN_PUBLIC_URL/auth/oidc/callback.
    #[arg(long, env = "KILN_OIDC_ISSUER", global = true)]
    pub oidc_issuer: Option<String>,

    /// OIDC mode: Kiln's client id at the provider.
    #[arg(long, env = "KILN_OIDC_CLIENT_ID", global = true)]
    pub oidc_client_id: Option<String>,

    /// OIDC mode: Kiln's client secret (none for a public client; PKCE is always used).
    #[arg(
        long,
        env = "KILN_OIDC_CLIENT_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub oidc_client_secret: Option<String>,

    /// OIDC mode: scopes to ask for besides `openid`, comma separated.
    #[arg(
        long,
        env = "KILN_OIDC_SCOPES",
        value_delimiter = ',',
        default_value = "profile,email,groups",
        global = true
    )]
    pub oidc_scopes: Vec<String>,

    /// OIDC mode: the ID token claim that names the user in Kiln.
    #[arg(
        long,
        env = "KILN_OIDC_USERNAME_CLAIM",
        default_value = "preferred_username",
        global = true
    )]
    pub oidc_username_claim: String,

    /// OIDC mode: the ID token claim listing the user's groups (a list of names; Keycloak's
    /// `/name` paths work). Groups Kiln knows become memberships at each sign-in. Set it
    /// empty to manage memberships in Kiln instead.
    #[arg(
        long,
        env = "KILN_OIDC_GROUPS_CLAIM",
        default_value = "groups",
        global = true
    )]
    pub oidc_groups_claim: String,

    /// OIDC mode: holders of this value in the groups claim are system admins.
    #[arg(long, env = "KILN_OIDC_ADMIN_GROUP", global = true)]
    pub oidc_admin_group: Option<String>,

    /// How long a token bound to a proxy or OIDC user acts with the groups of that user's
    /// last sign-in (`12h`, `30m`, `90s`); after that it is refused (403) until they sign
    /// in again.
    #[arg(long, env = "KILN_EXTERNAL_GROUPS_TTL", default_value = "12h", value_parser = parse_duration, global = true)]
    pub external_groups_ttl: Duration,

    /// Sign-in attempts each client address may start a minute, in each replica (a
    /// success gives its attempt back); 0: no limit by address. The client address is the
    /// peer's, or the one a trusted proxy (KILN_TRUSTED_PROXIES) names in X-Forwarded-For.
    #[arg(
        long,
        env = "KILN_SIGN_INS_PER_ADDRESS",
        default_value_t = 30,
        global = true
    )]
    pub sign_ins_per_address: u32,

    /// How long Kiln works on one request before answering 503 (`60s`, `2m`): a client
    /// sending its body slowly, or something outside Kiln not answering. Log streams and
    /// downloads, once started, are not cut.
    #[arg(long, env = "KILN_REQUEST_TIMEOUT", default_value = "60s", value_parser = parse_duration, global = true)]
    pub request_timeout: Duration,

    /// Days audit entries are kept (every replica removes older ones hourly, recording
    /// it in the audit log); unset: forever.
    #[arg(long, env = "KILN_AUDIT_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub audit_retention_days: Option<u32>,

    /// Days a finished build's log is kept (its record stays; each image's newest
    /// successful build keeps its log); unset: forever.
    #[arg(long, env = "KILN_BUILD_LOG_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..), global = true)]
    pub build_log_retention_days: Option<u32>,

    /// Hours a sign-in lasts.
    #[arg(long, env = "KILN_SESSION_HOURS", default_value_t = 12, global = true)]
    pub session_hours: u64,

    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, env = "KILN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub builds: BuildConfig,
}

/// Where custom images are built and pushed.
#[derive(Debug, Clone, Args)]
pub struct BuildConfig {
    /// The builder: `auto` builds with buildah on this host when buildah and skopeo are
    /// installed and a build registry is set, `local` insists on that, `kubernetes` runs each
    /// build as a Job in the cluster (KILN_K8S_*), `none` turns builds off.
    #[arg(long, env = "KILN_BUILDER", value_enum, default_value_t = BuilderArg::Auto, global = true)]
    pub builder: BuilderArg,

    /// Where built images are pushed: `host[:port]/prefix`, e.g. `registry.example.org/kiln`.
    #[arg(long, env = "KILN_BUILD_REGISTRY", global = true)]
    pub build_registry: Option<String>,

    /// Username for pushing to the build registry.
    #[arg(long, env = "KILN_BUILD_REGISTRY_USERNAME", global = true)]
    pub build_registry_username: Option<String>,

    /// Password or token for pushing to the build registry.
    #[arg(
        long,
        env = "KILN_BUILD_REGISTRY_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub build_registry_password: Option<String>,

    /// Registry hosts reached over plain HTTP or unverified TLS, comma-separated (labs, tests).
    #[arg(
        long,
        env = "KILN_INSECURE_REGISTRIES",
        value_delimiter = ',',
        global = true
    )]
    pub insecure_registries: Vec<String>,

    /// Registry hosts inside your network that base images may come from, comma-separated
    /// (`host[:port]`); the build registry's host always may. Any other base image whose host
    /// resolves to a loopback, private, link-local or cluster-internal address is refused.
    #[arg(
        long,
        env = "KILN_INTERNAL_REGISTRIES",
        value_delimiter = ',',
        global = true
    )]
    pub internal_registries: Vec<String>,

    /// Seconds a build may take before it is stopped and failed with "timeout".
    #[arg(
        long,
        env = "KILN_BUILD_TIMEOUT",
        default_value_t = 3600,
        global = true
    )]
    pub build_timeout: u64,

    /// Bytes of a build's output that are stored; past them the log ends with a note
    /// (16 MiB by default).
    #[arg(
        long,
        env = "KILN_BUILD_LOG_LIMIT",
        default_value_t = 16 * 1024 * 1024,
        global = true
    )]
    pub build_log_limit: u64,

    /// Bytes the local builder's layer cache (buildah's storage) may hold; past them the
    /// cache is emptied after a build (20 GiB by default; 0 keeps no cache).
    #[arg(
        long,
        env = "KILN_BUILD_CACHE_LIMIT",
        default_value_t = 20 * 1024 * 1024 * 1024,
        global = true
    )]
    pub build_cache_limit: u64,

    /// Whether local builds also keep their layers in the build registry, under
    /// `PREFIX/<group>/cache/layers`, for builds on other replicas and hosts to reuse
    /// (`false` by default: on one machine buildah's storage is the cache, and the registry
    /// cache pushes every new layer twice, to the cache and to the image).
    #[arg(
        long,
        env = "KILN_BUILD_REGISTRY_CACHE",
        default_value_t = false,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub build_registry_cache: bool,

    /// How long a built image's smoke test may take before the build fails with
    /// `smoke-test` (on Kubernetes, pulling the image included).
    #[arg(long, env = "KILN_BUILD_SMOKE_TIMEOUT", default_value = "5m", value_parser = parse_duration, global = true)]
    pub smoke_timeout: Duration,

    /// How often the replica that leads checks whether the base image tags of built images
    /// name newer images (`6h`, `30m`, `90s`; `0s`: only when asked on Build Details).
    #[arg(long, env = "KILN_BASE_CHECK_INTERVAL", default_value = "6h", value_parser = parse_duration, global = true)]
    pub base_check_interval: Duration,

    /// Builds running at once, in all.
    #[arg(long, env = "KILN_BUILDS_TOTAL", default_value_t = 4, global = true)]
    pub builds_total: i64,

    /// Builds running at once per group; more wait in the queue.
    #[arg(
        long,
        env = "KILN_BUILDS_PER_GROUP",
        default_value_t = 2,
        global = true
    )]
    pub builds_per_group: i64,

    /// A CA bundle mounted into build steps and used by apt, conda and pip, for sites whose
    /// outbound TLS is intercepted (e.g. /etc/ssl/certs/ca-certificates.crt).
    #[arg(long, env = "KILN_BUILD_CA_BUNDLE", global = true)]
    pub build_ca_bundle: Option<PathBuf>,

    #[command(flatten)]
    pub kube: KubeConfig,
}

/// Build Jobs in Kubernetes (KILN_BUILDER=kubernetes).
#[derive(Debug, Clone, Args)]
pub struct KubeConfig {
    /// Namespace the build Jobs run in; default: Kiln's own (its service account's).
    #[arg(long, env = "KILN_K8S_NAMESPACE", global = true)]
    pub k8s_namespace: Option<String>,

    /// The builder in the Job: `buildkit` (rootless BuildKit) or `buildah`.
    #[arg(long, env = "KILN_K8S_BUILDER", value_enum, default_value_t = KubeBuilderArg::Buildkit, global = true)]
    pub k8s_builder: KubeBuilderArg,

    /// The builder's image; default: moby/buildkit:v0.32.2-rootless (buildkit) or
    /// quay.io/buildah/stable:v1.41.5 (buildah).
    #[arg(long, env = "KILN_K8S_BUILDER_IMAGE", global = true)]
    pub k8s_builder_image: Option<String>,

    /// The push step's image (sh, tar, gzip and skopeo; runs no build code and alone holds
    /// the push credential).
    #[arg(
        long,
        env = "KILN_K8S_PUSH_IMAGE",
        default_value = kubernetes::DEFAULT_PUSH_IMAGE,
        global = true
    )]
    pub k8s_push_image: String,

    /// Kiln's own image (the one this Deployment runs), for the build Pods' layer-cache
    /// step: BuildKit builds then import and export their layers in the build registry
    /// under `PREFIX/<group>/cache/layers`, through a step that alone holds the push
    /// credential. Unset: Kubernetes builds start from no cache.
    #[arg(long, env = "KILN_K8S_CACHE_IMAGE", global = true)]
    pub k8s_cache_image: Option<String>,

    /// BuildKit's process sandbox: each RUN step gets a PID namespace of its own. Needs
    /// user namespaces for Pods (Kubernetes 1.33+, `hostUsers: false`) and `procMount:
    /// Unmasked`; buildkit builder only.
    #[arg(
        long,
        env = "KILN_K8S_PROCESS_SANDBOX",
        default_value_t = false,
        global = true
    )]
    pub k8s_process_sandbox: bool,

    /// Addresses build Pods may not reach (their NetworkPolicy, `kiln kube render`): the
    /// cluster's Pod and Service ranges, private ranges and the metadata service.
    #[arg(
        long,
        env = "KILN_K8S_BUILD_EGRESS_EXCEPT",
        default_value = kubernetes::DEFAULT_EGRESS_EXCEPT,
        global = true
    )]
    pub k8s_build_egress_except: String,

    /// Addresses build Pods may reach despite the above (e.g. an in-cluster registry).
    #[arg(
        long,
        env = "KILN_K8S_BUILD_EGRESS_ALLOW",
        default_value = "",
        global = true
    )]
    pub k8s_build_egress_allow: String,

    /// CPU the build Pod requests.
    #[arg(
        long,
        env = "KILN_K8S_CPU_REQUEST",
        default_value = "500m",
        global = true
    )]
    pub k8s_cpu_request: String,

    /// CPU the build Pod may use.
    #[arg(long, env = "KILN_K8S_CPU_LIMIT", default_value = "2", global = true)]
    pub k8s_cpu_limit: String,

    /// Memory the build Pod requests.
    #[arg(
        long,
        env = "KILN_K8S_MEMORY_REQUEST",
        default_value = "1Gi",
        global = true
    )]
    pub k8s_memory_request: String,

    /// Memory the build Pod may use; a build over it fails with "out-of-memory".
    #[arg(
        long,
        env = "KILN_K8S_MEMORY_LIMIT",
        default_value = "4Gi",
        global = true
    )]
    pub k8s_memory_limit: String,

    /// Seconds a finished build Job stays (with its Pod and log) before Kubernetes removes it.
    #[arg(long, env = "KILN_K8S_TTL", default_value_t = 3600, global = true)]
    pub k8s_ttl: i32,

    /// Nodes build Pods may run on: `key=value,key=value`.
    #[arg(
        long,
        env = "KILN_K8S_NODE_SELECTOR",
        default_value = "",
        global = true
    )]
    pub k8s_node_selector: String,

    /// Tolerations of build Pods, as a JSON array as in a Pod spec.
    #[arg(long, env = "KILN_K8S_TOLERATIONS", default_value = "", global = true)]
    pub k8s_tolerations: String,

    /// Namespaces where notebooks start (comma-separated): Kiln keeps a
    /// kubernetes.io/dockerconfigjson Secret per registry credential in each, named like it,
    /// so the pull secrets launch pages pass on exist.
    #[arg(
        long,
        env = "KILN_K8S_PULL_SECRET_NAMESPACES",
        default_value = "",
        global = true
    )]
    pub k8s_pull_secret_namespaces: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KubeBuilderArg {
    Buildkit,
    Buildah,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuilderArg {
    Auto,
    Local,
    Kubernetes,
    None,
}

/// A duration in whole hours, minutes, seconds or milliseconds: `12h`, `30m`, `90s`, `10ms`.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, millis) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3_600_000)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60_000)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1_000)
    } else {
        return Err(format!("{s:?} needs a unit: h, m, s or ms (e.g. 12h)"));
    };
    let n: u64 = number.parse().map_err(|_| {
        format!("{s:?} is not a whole number of hours, minutes, seconds or milliseconds")
    })?;
    n.checked_mul(millis)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{s:?} is too long"))
}

/// An address or network: `10.0.0.7` means just that address, `10.0.0.0/8` the network.
fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is not an IP address or CIDR network"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthModeArg {
    Local,
    Proxy,
    Oidc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and API (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Create the demo groups and accounts, printing their passwords once; with --samples,
    /// also sample images, one built from KILN_DEMO_BASE_IMAGE when builds are on.
    ///
    /// The groups demo and sandbox, and the accounts demo-admin (admin of both) and
    /// demo-member (member of demo). `make run` calls `kiln demo --samples`. Run again,
    /// it adds nothing.
    Demo {
        /// Also register four notebook images in demo and, when builds are on and a base
        /// image is given, make the custom image debian-hello from it (APT package
        /// `hello`), its build queued at once. Images demo has already are left alone.
        #[arg(long)]
        samples: bool,
        /// With --samples: the base image (Debian, with apt) of debian-hello, e.g. one on
        /// the build registry; `make run` makes one in its loopback registry.
        #[arg(long, env = "KILN_DEMO_BASE_IMAGE")]
        base_image: Option<String>,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage group memberships.
    #[command(subcommand)]
    Member(MemberCommand),
    /// Manage service tokens for scripts and launch pages.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage registry credentials (the pull secrets images and builds use).
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// An image's life after publishing: deprecate, retire, restore.
    #[command(subcommand)]
    Image(ImageCommand),
    /// Kubernetes build Jobs.
    #[command(subcommand)]
    Kube(KubeCommand),
    /// The key that seals stored credentials.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Print the audit log, newest first.
    Audit {
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImageCommand {
    /// Deprecate an image: launch pages keep offering it with a note naming its successor;
    /// on the retire date it leaves their lists.
    Deprecate {
        /// The image name.
        name: String,
        /// Its group; without it, a global image.
        #[arg(long)]
        group: Option<String>,
        /// The image name of the image to use instead (of the same group, or global).
        #[arg(long)]
        successor: Option<String>,
        /// The day (YYYY-MM-DD, UTC) it leaves launch lists.
        #[arg(long)]
        retire_on: Option<String>,
    },
    /// Retire an image now: launch pages stop offering it; it stays in the catalog.
    Retire {
        name: String,
        #[arg(long)]
        group: Option<String>,
    },
    /// Undo deprecation and retirement.
    Restore {
        name: String,
        #[arg(long)]
        group: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Re-seal every stored credential under the configured key (KILN_SECRET_KEY, or
    /// DATA_DIR/secret.key), opening them with the previous key: set the new key, keep the
    /// old one in a file, run this once, then delete the file.
    Rotate {
        /// A file holding the previous key (64 hex digits, as secret.key does).
        #[arg(long)]
        old_key_file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KubeCommand {
    /// Print the Job, ConfigMap and Secret of an example build, and the build Pods'
    /// NetworkPolicy, as this configuration renders them (YAML stream, no cluster needed),
    /// for review and schema validation.
    Render {
        /// The namespace to render into (in a cluster, Kiln's own is the default).
        #[arg(long, default_value = "kiln")]
        namespace: String,
    },
    /// Serve a build Pod's layer cache (its `cache` step; not for people): forwards the
    /// registry calls on one cache repository, and nothing else, to the build registry with
    /// the push credential of an auth file.
    BuildCache {
        /// `registry/prefix/<group>/cache/layers`.
        #[arg(long)]
        repository: String,
        /// The auth file (docker config.json form) holding the registry's login.
        #[arg(long)]
        auth_file: std::path::PathBuf,
        /// Speak unverified TLS to the registry, else plain HTTP.
        #[arg(long)]
        insecure: bool,
        /// A CA bundle to trust besides the system's.
        #[arg(long)]
        ca_file: Option<std::path::PathBuf>,
        /// Where to listen (the Pod's loopback).
        #[arg(long, default_value = app::backend::builder::cache_proxy::ADDRESS)]
        address: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (only this once; Kiln keeps only its hash).
    Create {
        /// A name to revoke it by: lowercase letters, digits, '-', '_' and '.'.
        #[arg(long)]
        name: String,
        /// `read`: list images and launchable images; `write`: also change them.
        #[arg(long)]
        scope: String,
        /// The user the token acts as (required for write tokens). A read token without a
        /// user may only read launchable images, for any user.
        #[arg(long)]
        user: Option<String>,
        /// How long it works: `90d`, `12h` or `30m`; without it, until revoked. An expired
        /// token is refused with 401 saying so.
        #[arg(long)]
        expires_in: Option<String>,
    },
    /// Revoke a token: it stops working at once.
    Revoke { name: String },
    /// List tokens (never their secrets).
    List,
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Store a registry credential. Its password is read from the first line of standard
    /// input (never an argument: others could read it) and sealed with Kiln's secret key.
    Add {
        /// The name images choose it by: lowercase letters, digits, '-', '_' and '.'.
        name: String,
        /// The registry host, e.g. ghcr.io or registry.example.org:5000.
        #[arg(long)]
        registry: String,
        #[arg(long)]
        username: String,
        /// A group whose images may use it; repeat for several. Global images may use
        /// every credential.
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// List credentials and the groups that may use them (never their passwords).
    List,
    /// Change a credential's username and/or password (read from standard input, as for add).
    Change {
        name: String,
        #[arg(long)]
        username: Option<String>,
        /// Read a new password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Let exactly these groups use a credential (none: global images only).
    Groups {
        name: String,
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Delete a credential; refused while an image or an active build uses it.
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Disable an account: it can't sign in; its sessions and tokens stop at once.
    Disable { name: String },
    /// Enable a disabled account again.
    Enable { name: String },
    /// Delete an account with its sessions, memberships and tokens.
    Delete { name: String },
    /// Set a local account's password, read from the first line of standard input; its
    /// sessions end.
    Password { name: String },
    /// Create a local account. Prints a generated password unless --password-stdin is given.
    Add {
        name: String,
        /// Make the user a system admin.
        #[arg(long)]
        system_admin: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Add { name: String },
    /// Rename a group (its images keep their URLs).
    Rename { name: String, new_name: String },
    /// Delete a group without images.
    Delete { name: String },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// End USER's membership of GROUP (one Kiln made; the identity provider's stay).
    Remove { group: String, user: String },
    /// Add USER to GROUP as a member (or, with --admin, as a group admin).
    Add {
        group: String,
        user: String,
        /// Make the user an admin of the group.
        #[arg(long)]
        admin: bool,
    },
}

impl Config {
    /// How users sign in; in OIDC mode with the provider (checked by [`AuthSettings::check`]).
    pub fn auth(&self) -> Result<AuthSettings, String> {
        let oidc = match self.auth_mode {
            AuthModeArg::Oidc => self.oidc()?.map(Arc::new),
            _ => None,
        };
        Ok(AuthSettings {
            mode: match self.auth_mode {
                AuthModeArg::Local => AuthMode::Local,
                AuthModeArg::Proxy => AuthMode::Proxy,
                AuthModeArg::Oidc => AuthMode::Oidc,
            },
            proxy_user_header: self.proxy_user_header.clone(),
            proxy_groups_header: self.proxy_groups_header.clone(),
            proxy_system_admin_group: self.proxy_system_admin_group.clone(),
            trusted_proxies: self.trusted_proxies.clone(),
            secure_cookies: self
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://")),
            session_ttl: Duration::from_secs(self.session_hours * 3600),
            external_groups_ttl: self.external_groups_ttl,
            oidc,
            sign_in_addresses: Arc::new(app::backend::throttle::Addresses::new(
                self.sign_ins_per_address,
            )),
        })
    }

    /// The OpenID Connect provider, when its issuer, client id and Kiln's public URL are set.
    fn oidc(&self) -> Result<Option<oidc::Provider>, String> {
        let (Some(issuer), Some(client_id), Some(public_url)) =
            (&self.oidc_issuer, &self.oidc_client_id, &self.public_url)
        else {
            return Ok(None);
        };
        let nonempty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        oidc::Provider::new(oidc::OidcSettings {
            issuer: issuer.trim().to_owned(),
            client_id: client_id.trim().to_owned(),
            client_secret: self.oidc_client_secret.as_deref().and_then(nonempty),
            public_url: public_url.trim().trim_end_matches('/').to_owned(),
            scopes: self
                .oidc_scopes
                .iter()
                .filter_map(|s| nonempty(s))
                .collect(),
            username_claim: self.oidc_username_claim.trim().to_owned(),
            groups_claim: nonempty(&self.oidc_groups_claim),
            admin_group: self.oidc_admin_group.as_deref().and_then(nonempty),
        })
        .map(Some)
    }

    /// The build service this configuration asks for, or builds off with the reason.
    pub async fn builds(&self) -> Result<Arc<BuildQueue>, String> {
        let b = &self.builds;
        let off = |why: &str| Ok(BuildQueue::disabled(why));
        if b.builder == BuilderArg::None {
            return off("Builds are turned off (KILN_BUILDER=none).");
        }
        let Some(registry) = b.build_registry.clone().filter(|r| !r.trim().is_empty()) else {
            return match b.builder {
                BuilderArg::Local | BuilderArg::Kubernetes => Err(format!(
                    "KILN_BUILDER={} needs KILN_BUILD_REGISTRY",
                    if b.builder == BuilderArg::Local {
                        "local"
                    } else {
                        "kubernetes"
                    }
                )),
                _ => off(
                    "No build registry is configured: set KILN_BUILD_REGISTRY (where built images are pushed) and install buildah and skopeo.",
                ),
            };
        };
        let settings = self.build_settings(registry);
        let work_dir = self.data_dir.join("builds");
        if b.builder == BuilderArg::Kubernetes {
            let client = kubernetes::connect().await?;
            let kube = self.kube_settings(client.default_namespace())?;
            let builder = KubeBuilder::new(client, kube, settings.clone(), work_dir)?;
            return Ok(BuildQueue::new(Arc::new(builder), settings));
        }
        if let Some(missing) = LocalBuildah::missing_tools() {
            return match b.builder {
                BuilderArg::Local => Err(format!("KILN_BUILDER=local: {missing}")),
                _ => off(&format!("This host cannot build images: {missing}.")),
            };
        }
        let local = LocalBuildah::new(settings.clone(), work_dir, self.sandbox())
            .with_cache_limit(b.build_cache_limit);
        Ok(BuildQueue::new(Arc::new(local), settings))
    }

    /// What local builds must not see: Kiln's data folder (secret key, auth files) and the
    /// SQLite database, wherever it is.
    fn sandbox(&self) -> Sandbox {
        let mut hidden = vec![self.data_dir.clone()];
        if let Some(file) = sqlite_file(&self.database_url) {
            hidden.push(file);
        }
        Sandbox::hiding(hidden)
    }

    pub fn build_settings(&self, registry: String) -> BuildSettings {
        let b = &self.builds;
        BuildSettings {
            registry,
            registry_username: b.build_registry_username.clone(),
            registry_password: b.build_registry_password.clone(),
            insecure_registries: b.insecure_registries.clone(),
            timeout: Duration::from_secs(b.build_timeout),
            total_limit: b.builds_total.max(1),
            per_group_limit: b.builds_per_group.max(1),
            ca_bundle: b.build_ca_bundle.clone(),
            log_limit: b.build_log_limit.max(4096),
            internal_registries: b.internal_registries.clone(),
            smoke_timeout: b.smoke_timeout,
            registry_cache: b.build_registry_cache,
        }
    }

    /// The Kubernetes build settings, checked; `default_namespace` is Kiln's own.
    pub fn kube_settings(&self, default_namespace: &str) -> Result<KubeSettings, String> {
        let k = &self.builds.kube;
        let builder = match k.k8s_builder {
            KubeBuilderArg::Buildkit => BuilderKind::BuildKit,
            KubeBuilderArg::Buildah => BuilderKind::Buildah,
        };
        let settings = KubeSettings {
            namespace: k
                .k8s_namespace
                .clone()
                .unwrap_or_else(|| default_namespace.to_owned()),
            builder,
            image: k
                .k8s_builder_image
                .clone()
                .unwrap_or_else(|| builder.default_image().to_owned()),
            push_image: k.k8s_push_image.clone(),
            cache_image: k.k8s_cache_image.clone(),
            process_sandbox: k.k8s_process_sandbox,
            egress_except: kubernetes::parse_cidrs(
                "KILN_K8S_BUILD_EGRESS_EXCEPT",
                &k.k8s_build_egress_except,
            )?,
            egress_allow: kubernetes::parse_cidrs(
                "KILN_K8S_BUILD_EGRESS_ALLOW",
                &k.k8s_build_egress_allow,
            )?,
            cpu_request: k.k8s_cpu_request.clone(),
            cpu_limit: k.k8s_cpu_limit.clone(),
            memory_request: k.k8s_memory_request.clone(),
            memory_limit: k.k8s_memory_limit.clone(),
            ttl_seconds: k.k8s_ttl,
            node_selector: kubernetes::parse_node_selector(&k.k8s_node_selector)?,
            tolerations: kubernetes::parse_tolerations(&k.k8s_tolerations)?,
            pull_secret_namespaces: kubernetes::parse_namespaces(
                "KILN_K8S_PULL_SECRET_NAMESPACES",
                &k.k8s_pull_secret_namespaces,
            )?,
        };
        settings.check()?;
        Ok(settings)
    }

    /// The origin (`scheme://host[:port]`) of the public URL, if configured.
    pub fn public_origin(&self) -> Option<String> {
        let url = self.public_url.as_deref()?.trim_end_matches('/');
        let (scheme, rest) = url.split_once("://")?;
        Some(format!(
            "{scheme}://{}",
            rest.split('/').next().unwrap_or_default()
        ))
    }
}

/// The file of a `sqlite://FILE[?options]` database URL.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or_default();
    (!file.is_empty() && file != ":memory:").then(|| PathBuf::from(file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_sqlite_file_is_found_in_its_url_and_hidden_from_builds() {
        assert_eq!(
            sqlite_file("sqlite://data/kiln.db"),
            Some("data/kiln.db".into())
        );
        assert_eq!(
            sqlite_file("sqlite:///var/lib/k.db?mode=rwc"),
            Some("/var/lib/k.db".into())
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u:p@db/kiln"), None);
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn flags_parse_into_settings() {
        let cli = Cli::parse_from([
            "kiln",
            "--auth-mode",
            "proxy",
            "--trusted-proxies",
            "127.0.0.1,10.0.0.0/8",
            "--public-url",
            "https://kiln.example.org/ui/",
            "serve",
        ]);
        let auth = cli.config.auth().unwrap();
        assert_eq!(auth.mode, AuthMode::Proxy);
        assert_eq!(auth.trusted_proxies.len(), 2);
        assert!(auth.secure_cookies);
        assert_eq!(
            cli.config.public_origin().as_deref(),
            Some("https://kiln.example.org")
        );
        assert!(matches!(cli.command, Some(Command::Serve)));
    }

    #[test]
    fn kubernetes_build_settings_are_checked_and_a_bad_one_is_named() {
        let parse = |args: &[&str]| {
            let mut all = vec!["kiln"];
            all.extend_from_slice(args);
            Cli::parse_from(all).config.kube_settings("kiln")
        };
        let good = parse(&[
            "--k8s-memory-limit",
            "8Gi",
            "--k8s-cpu-request",
            "0.5",
            "--k8s-node-selector",
            "kiln.dev/builds=yes, zone=a",
            "--k8s-tolerations",
            r#"[{"key": "builds", "operator": "Exists"}]"#,
        ])
        .unwrap();
        assert_eq!(good.namespace, "kiln", "Kiln's own namespace by default");
        assert_eq!(good.image, "moby/buildkit:v0.32.2-rootless");
        assert_eq!(good.node_selector.len(), 2);
        assert_eq!(good.tolerations[0].key.as_deref(), Some("builds"));
        for (flag, value, named) in [
            ("--k8s-memory-limit", "4GB", "KILN_K8S_MEMORY_LIMIT"),
            ("--k8s-cpu-request", "half", "KILN_K8S_CPU_REQUEST"),
            ("--k8s-node-selector", "zone", "KILN_K8S_NODE_SELECTOR"),
            ("--k8s-tolerations", "{not json", "KILN_K8S_TOLERATIONS"),
            ("--k8s-ttl=-5", "", "KILN_K8S_TTL"),
        ] {
            let args: Vec<&str> = [flag, value]
                .into_iter()
                .filter(|a| !a.is_empty())
                .collect();
            let err = parse(&args).unwrap_err();
            assert!(err.starts_with(named), "{flag} {value}: {err}");
        }
    }

    #[test]
    fn a_bad_trusted_proxy_is_refused_by_name() {
        let err = Cli::try_parse_from(["kiln", "--trusted-proxies", "not-an-ip"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--trusted-proxies"), "{err}");
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_duration(" 30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("10mss").is_err());
        assert!(
            parse_duration("99999999999999999h")
                .unwrap_err()
                .contains("too long")
        );
        assert!(parse_duration("12").unwrap_err().contains("needs a unit"));
        assert!(
            parse_duration("h")
                .unwrap_err()
                .contains("not a whole number")
        );
        assert!(parse_duration("-1h").is_err());
    }

    #[test]
    fn the_smoke_tests_time_limit_reaches_both_builders() {
        let cli = Cli::try_parse_from(["kiln", "serve"]).unwrap();
        let settings = cli
            .config
            .build_settings("registry.example.org/kiln".into());
        assert_eq!(settings.smoke_timeout, Duration::from_secs(300));
        let cli = Cli::try_parse_from(["kiln", "--smoke-timeout", "20m", "serve"]).unwrap();
        let settings = cli
            .config
            .build_settings("registry.example.org/kiln".into());
        assert_eq!(settings.smoke_timeout, Duration::from_secs(1200));
        use app::backend::builder::kubernetes::objects;
        let kube = cli.config.kube_settings("kiln").unwrap();
        let job = objects::sample_job(&settings);
        let pod = objects::smoke_pod(
            &job,
            &kube,
            "registry.example.org/x@sha256:1",
            settings.smoke_timeout,
        );
        assert_eq!(pod.spec.unwrap().active_deadline_seconds, Some(1200));
    }

    #[test]
    fn oidc_mode_without_its_provider_refuses_to_start() {
        let cli = Cli::try_parse_from(["kiln", "--auth-mode", "oidc", "serve"]).unwrap();
        let refused = cli.config.auth().unwrap().check().unwrap_err();
        assert!(refused.contains("KILN_OIDC_ISSUER"), "{refused}");

        let cli = Cli::try_parse_from([
            "kiln",
            "--auth-mode",
            "oidc",
            "--oidc-issuer",
            "https://id.example.org/realms/ml",
            "--oidc-client-id",
            "kiln",
            "--public-url",
            "https://kiln.example.org/",
            "serve",
        ])
        .unwrap();
        let auth = cli.config.auth().unwrap();
        assert!(auth.check().is_ok());
        let provider = auth.oidc.expect("the provider is configured");
        assert_eq!(provider.settings().public_url, "https://kiln.example.org");
        assert_eq!(provider.settings().groups_claim.as_deref(), Some("groups"));
    }
}
