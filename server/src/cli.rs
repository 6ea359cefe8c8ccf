//! What each `kiln` subcommand does. Every change goes through the same operations as
//! the pages and the API (`app::ops`), as the operator: checked, and audited as
//! `operator:cli`.

use std::io::BufRead;

use app::backend::builder::BuildQueue;
use app::backend::credentials::NewCredential;
use app::backend::{AppState, BackendError, Db, SecretKey};
use app::domain::Role;
use app::ops::{self, Call};
use app::wire::ApiError;
use leptos::config::{LeptosOptions, get_configuration};

use crate::config::{
    Command, Config, CredentialCommand, GroupCommand, ImageCommand, KubeCommand, MemberCommand,
    SecretCommand, TokenCommand, UserCommand,
};
use crate::origin::AllowedOrigin;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Backend(#[from] BackendError),
    #[error("{0}")]
    Op(#[from] ApiError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

pub async fn run(config: Config, command: Command) -> Result<(), CliError> {
    match command {
        Command::Serve => return serve(config).await,
        Command::Kube(KubeCommand::Render { namespace }) => {
            return render_build(&config, &namespace);
        }
        Command::Kube(KubeCommand::BuildCache {
            repository,
            auth_file,
            insecure,
            ca_file,
            address,
        }) => return build_cache(&repository, &auth_file, insecure, ca_file, &address).await,
        Command::Demo {
            samples,
            base_image,
        } => return demo(&config, samples, base_image.as_deref()).await,
        _ => {}
    }
    let state = AppState::new(
        open_db(&config).await?,
        secret_key(&config)?,
        BuildQueue::disabled("The command line builds nothing."),
    );
    let call = Call::operator(state);
    match command {
        Command::Serve | Command::Kube(_) | Command::Demo { .. } => {
            unreachable!("handled above")
        }
        Command::Migrate => println!("Database is up to date."),
        Command::User(UserCommand::Add {
            name,
            system_admin,
            password_stdin,
        }) => {
            let (password, generated) = if password_stdin {
                (read_password()?, false)
            } else {
                (app::backend::passwords::generate(), true)
            };
            ops::accounts::add_user(&call, &name, &password, system_admin).await?;
            println!(
                "Created user {name}{}.",
                if system_admin { " (system admin)" } else { "" }
            );
            if generated {
                println!("Password (shown once): {password}");
            }
        }
        Command::User(UserCommand::Disable { name }) => {
            ops::accounts::set_disabled(&call, &name, true).await?;
            println!("Disabled {name}: their sessions and tokens no longer work.");
        }
        Command::User(UserCommand::Delete { name }) => {
            ops::accounts::delete_user(&call, &name).await?;
            println!("Deleted {name} with their memberships and tokens.");
        }
        Command::User(UserCommand::Enable { name }) => {
            ops::accounts::set_disabled(&call, &name, false).await?;
            println!("Enabled {name}.");
        }
        Command::User(UserCommand::Password { name }) => {
            ops::accounts::reset_password(&call, &name, &read_password()?).await?;
            println!("Set the password of {name}; their sessions ended.");
        }
        Command::Member(MemberCommand::Remove { group, user }) => {
            ops::accounts::remove_member(&call, &group, &user).await?;
            println!("{user} is no longer a member of {group}.");
        }
        Command::Group(GroupCommand::Rename { name, new_name }) => {
            ops::accounts::rename_group(&call, &name, &new_name).await?;
            println!("Renamed group {name} to {new_name}.");
        }
        Command::Group(GroupCommand::Delete { name }) => {
            ops::accounts::delete_group(&call, &name).await?;
            println!("Deleted group {name}.");
        }
        Command::Group(GroupCommand::Add { name }) => {
            ops::accounts::add_group(&call, &name).await?;
            println!("Created group {name}.");
        }
        Command::Member(MemberCommand::Add { group, user, admin }) => {
            let role = if admin { Role::Admin } else { Role::Member };
            ops::accounts::add_member(&call, &group, &user, role).await?;
            println!(
                "{user} is now {} of {group}.",
                if admin { "an admin" } else { "a member" }
            );
        }
        Command::Token(command) => token(&call, command).await?,
        Command::Image(command) => image(&call, command).await?,
        Command::Credential(command) => credential(&call, command).await?,
        Command::Secret(SecretCommand::Rotate { old_key_file }) => {
            let old = SecretKey::from_hex(&std::fs::read_to_string(&old_key_file)?)?;
            let resealed = ops::credentials::rotate_key(&call, &old).await?;
            println!(
                "Re-sealed {resealed} credentials under key {} (previous key {}).",
                call.state.secret.id(),
                old.id()
            );
        }
        Command::Audit { limit } => {
            for e in ops::audit::recent(&call, limit).await? {
                println!(
                    "{} {:<16} {:<20} {:<32} {}",
                    e.at, e.actor, e.action, e.target, e.detail
                );
            }
        }
    }
    Ok(())
}

async fn token(call: &Call, command: TokenCommand) -> Result<(), CliError> {
    use app::domain::time::utc_minute;
    match command {
        TokenCommand::Create {
            name,
            scope,
            user,
            expires_in,
        } => {
            let expires_in = expires_in.unwrap_or_default();
            let secret =
                ops::tokens::create(call, &name, &scope, user.as_deref(), &expires_in).await?;
            eprintln!("Created token {name}. It is shown only now; store it safely:");
            println!("{secret}");
        }
        TokenCommand::Revoke { name } => {
            ops::tokens::revoke(call, &name).await?;
            println!("Revoked token {name}.");
        }
        TokenCommand::List => {
            for t in ops::tokens::list(call).await? {
                let user = t.user_name.as_deref().unwrap_or("(any user's launch list)");
                let now = app::backend::now_ms();
                let status = match (t.revoked_at, t.expires_at) {
                    (Some(_), _) => "revoked",
                    (None, Some(at)) if at <= now => "expired",
                    _ => "live",
                };
                let expires = t.expires_at.map_or("never".to_owned(), utc_minute);
                let used = t.last_used_at.map_or("never".to_owned(), utc_minute);
                println!(
                    "{:<24} {:<5} {:<8} {user:<24} expires: {expires}; last used: {used}",
                    t.name, t.scope, status
                );
            }
        }
    }
    Ok(())
}

async fn image(call: &Call, command: ImageCommand) -> Result<(), CliError> {
    let record = match command {
        ImageCommand::Deprecate {
            name,
            group,
            successor,
            retire_on,
        } => {
            let form = app::domain::DeprecationForm {
                successor: successor.unwrap_or_default(),
                retire_on: retire_on.unwrap_or_default(),
            };
            ops::images::deprecate(call, group.as_deref(), &name, form).await?
        }
        ImageCommand::Retire { name, group } => {
            ops::images::retire(call, group.as_deref(), &name).await?
        }
        ImageCommand::Restore { name, group } => {
            ops::images::restore(call, group.as_deref(), &name).await?
        }
    };
    println!("{}: {}", record.row.name, record.standing.summary());
    Ok(())
}

async fn credential(call: &Call, command: CredentialCommand) -> Result<(), CliError> {
    match command {
        CredentialCommand::Add {
            name,
            registry,
            username,
            groups,
        } => {
            let password = read_password()?;
            let new = NewCredential {
                name: &name,
                registry: &registry,
                username: &username,
                password: &password,
            };
            ops::credentials::create(call, &new, &groups).await?;
            match groups.as_slice() {
                [] => println!("Created credential {name} (for global images only)."),
                names => println!("Created credential {name} for {}.", names.join(", ")),
            }
        }
        CredentialCommand::Change {
            name,
            username,
            password_stdin,
        } => {
            let password = if password_stdin {
                read_password()?
            } else {
                String::new()
            };
            let username = username.unwrap_or_default();
            ops::credentials::change(call, &name, &username, &password).await?;
            println!("Changed credential {name}.");
        }
        CredentialCommand::Groups { name, groups } => {
            ops::credentials::set_groups(call, &name, &groups).await?;
            match groups.as_slice() {
                [] => println!("Credential {name} is for global images only."),
                names => println!("Credential {name} is for {}.", names.join(", ")),
            }
        }
        CredentialCommand::Delete { name } => {
            ops::credentials::delete(call, &name).await?;
            println!("Deleted credential {name}.");
        }
        CredentialCommand::List => {
            for c in ops::credentials::list(call).await? {
                let groups = c.groups.join(",");
                println!(
                    "{:<24} {:<32} {:<16} {groups}",
                    c.name, c.registry, c.username
                );
            }
        }
    }
    Ok(())
}

/// The key that seals registry passwords: the configured one, else the data folder's.
fn secret_key(config: &Config) -> Result<SecretKey, CliError> {
    Ok(match &config.secret_key {
        Some(hex) => SecretKey::from_hex(hex)?,
        None => SecretKey::load_or_create(&config.data_dir.join("secret.key"))?,
    })
}

/// Connects and migrates: every command works on an up-to-date schema.
async fn open_db(config: &Config) -> Result<Db, CliError> {
    let db = Db::connect(&config.database_url)
        .await?
        .with_max_staleness(config.launch_max_staleness);
    db.migrate().await?;
    Ok(db)
}

fn read_password() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `kiln demo`: the accounts, and with `samples` the sample images. The custom sample is
/// queued only where `kiln serve` with the same settings would build it: the build
/// settings decide, as they do for `serve`.
async fn demo(config: &Config, samples: bool, base_image: Option<&str>) -> Result<(), CliError> {
    let builds = if samples {
        config.builds().await.map_err(CliError::Config)?
    } else {
        BuildQueue::disabled("The command line builds nothing.")
    };
    let state = AppState::new(open_db(config).await?, secret_key(config)?, builds);
    let call = Call::operator(state);
    print_demo_accounts(&call, config).await?;
    if samples {
        print_samples(&call, config, base_image).await?;
    }
    Ok(())
}

async fn print_demo_accounts(call: &Call, config: &Config) -> Result<(), CliError> {
    use ops::demo;
    let created = demo::seed(call).await?;
    if created.is_empty() {
        println!(
            "The demo accounts exist already; their passwords were shown when they were created."
        );
        return Ok(());
    }
    println!(
        "Demo groups {} created. Sign in at http://{} with (shown once):",
        demo::GROUPS.join(" and "),
        config.listen
    );
    for (user, password) in created {
        let what = if user == demo::ADMIN {
            "admin of demo and sandbox"
        } else {
            "member of demo"
        };
        println!("  {user:<12} {password}   ({what})");
    }
    Ok(())
}

async fn print_samples(
    call: &Call,
    config: &Config,
    base_image: Option<&str>,
) -> Result<(), CliError> {
    use ops::demo::{self, CUSTOM, Custom, SAMPLE_GROUP};
    let samples = demo::seed_samples(call, base_image).await?;
    match samples.registered.as_slice() {
        [] => println!("The sample images of {SAMPLE_GROUP} exist already."),
        names => println!("Registered in {SAMPLE_GROUP}: {}.", names.join(", ")),
    }
    let base = base_image.unwrap_or_default().trim();
    match samples.custom {
        Custom::Queued { reused: false, .. } => println!(
            "Made the custom image {CUSTOM} from {base}; its build is queued and starts when \
             Kiln serves: http://{}/groups/{SAMPLE_GROUP}/images/{CUSTOM}/builds",
            config.listen
        ),
        Custom::Queued { reused: true, .. } => println!(
            "Made the custom image {CUSTOM} from {base}; the build registry holds its image \
             already, so it is ready."
        ),
        Custom::Exists => println!("The custom image {CUSTOM} exists already."),
        Custom::BuildsOff(reason) => {
            println!("No custom image: builds are off on this Kiln. {reason}")
        }
        Custom::NoBase => println!(
            "No custom image: builds are on, but no base image was given (set \
             KILN_DEMO_BASE_IMAGE to a Debian image with apt to build {CUSTOM} from)."
        ),
        Custom::Refused(why) => {
            return Err(CliError::Config(format!(
                "the custom image {CUSTOM} was not made from {base}: {why}"
            )));
        }
    }
    Ok(())
}

async fn serve(config: Config) -> Result<(), CliError> {
    let auth = config.auth().map_err(CliError::Config)?;
    auth.check().map_err(CliError::Config)?;
    let db = open_db(&config).await?;
    let secret = secret_key(&config)?;
    let builds = config.builds().await.map_err(CliError::Config)?;
    if !builds.enabled() {
        tracing::info!(reason = %builds.disabled_reason, "builds are disabled");
    }
    let state = AppState::new(db.clone(), secret.clone(), builds.clone())
        .with_auth(auth)
        .with_leptos_options(leptos_options(&config)?);
    let stopping = state.stopping.clone();
    let stop_builds = tokio_util::sync::CancellationToken::new();
    let retention = ops::retention::Retention {
        audit_days: config.audit_retention_days,
        build_log_days: config.build_log_retention_days,
    };
    tokio::spawn(ops::retention::run(
        db.clone(),
        retention,
        stop_builds.clone(),
    ));
    if !config.builds.base_check_interval.is_zero() {
        tokio::spawn(ops::base_updates::run(
            state.clone(),
            config.builds.base_check_interval,
            stop_builds.clone(),
        ));
    }
    let queue = tokio::spawn(builds.run(db, secret, stop_builds.clone()));
    let app = crate::router::router_with(
        state,
        AllowedOrigin(config.public_origin()),
        crate::deadline::RequestTimeout(config.request_timeout),
    );
    let listener = crate::listener::bind(config.listen).await?;
    tracing::info!(address = %config.listen, "Kiln is serving on http://{}", config.listen);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown({
        // The lead is given up at once, so that another replica drives builds while this
        // one lets its requests finish; live log streams end at once (their viewers resume
        // on another replica from the last line they got).
        let stop_builds = stop_builds.clone();
        async move {
            shutdown_signal().await;
            stop_builds.cancel();
            stopping.cancel();
        }
    })
    .await?;
    stop_builds.cancel();
    match queue.await {
        Ok(Err(e)) => tracing::error!(error = %e, "the build queue stopped with an error"),
        Err(e) => tracing::error!(error = %e, "the build queue panicked"),
        Ok(Ok(())) => {}
    }
    tracing::info!("stopped");
    Ok(())
}

/// `kiln kube render`: an example build's objects, its smoke test's Pod and pull secret, and
/// the build Pods' NetworkPolicy, one YAML document each (JSON is YAML).
fn render_build(config: &Config, namespace: &str) -> Result<(), CliError> {
    let registry = config
        .builds
        .build_registry
        .clone()
        .unwrap_or_else(|| "registry.example.org/kiln".into());
    let settings = config.build_settings(registry);
    let kube = config.kube_settings(namespace).map_err(CliError::Config)?;
    let ca = match &settings.ca_bundle {
        Some(path) => Some(std::fs::read_to_string(path)?),
        None => None,
    };
    use app::backend::builder::kubernetes::objects;
    let build = objects::sample(&kube, &settings, ca.as_deref());
    // The smoke test's Pod and its pull secret, for the example build's pushed image.
    let job = objects::sample_job(&settings);
    let pushed = format!(
        "{}@sha256:{}",
        job.target
            .rsplit_once(':')
            .map_or(job.target.as_str(), |(repo, _)| repo),
        "1".repeat(64)
    );
    let mut docs = vec![
        serde_json::to_string_pretty(&build.job),
        serde_json::to_string_pretty(&build.config_map),
        serde_json::to_string_pretty(&build.secret),
        serde_json::to_string_pretty(&objects::network_policy(&kube)),
        serde_json::to_string_pretty(&objects::smoke_pod(
            &job,
            &kube,
            &pushed,
            settings.smoke_timeout,
        )),
    ];
    if let Some(secret) = objects::smoke_pull_secret(&job, &kube) {
        docs.push(serde_json::to_string_pretty(&secret));
    }
    for doc in docs {
        println!("---\n{}", doc.map_err(|e| CliError::Config(e.to_string()))?);
    }
    // The pull secret Kiln keeps for each credential in each listed namespace (an example).
    use app::backend::builder::kubernetes::pull_secrets::Wanted;
    let example = Wanted::new(
        "example-registry",
        "registry.example.org",
        "robot",
        "example",
    );
    for namespace in &kube.pull_secret_namespaces {
        let secret = serde_json::to_string_pretty(&example.secret(namespace, None));
        println!(
            "---\n{}",
            secret.map_err(|e| CliError::Config(e.to_string()))?
        );
    }
    Ok(())
}

/// Leptos's settings from cargo-leptos's environment, with Kiln's own address.
fn leptos_options(config: &Config) -> Result<LeptosOptions, CliError> {
    let mut options = get_configuration(None)
        .map_err(|e| CliError::Config(e.to_string()))?
        .leptos_options;
    options.site_addr = config.listen;
    if options.output_name.is_empty() {
        options.output_name = "kiln".into();
    }
    Ok(options)
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests finish before the process exits.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// `kiln kube build-cache`: a build Pod's layer cache, served until the Pod ends.
async fn build_cache(
    repository: &str,
    auth_file: &std::path::Path,
    insecure: bool,
    ca_file: Option<std::path::PathBuf>,
    listen: &str,
) -> Result<(), CliError> {
    use app::backend::builder::cache_proxy;
    let upstream =
        cache_proxy::Upstream::from_auth_file(repository, auth_file, insecure, ca_file.as_deref())
            .await
            .map_err(CliError::Config)?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("serving the layer cache {repository} on {listen}");
    cache_proxy::serve(
        listener,
        std::sync::Arc::new(upstream),
        // BuildKit exports the cache at the end of the build it runs.
        cache_proxy::Access::ReadWrite,
    )
    .ended()
    .await;
    Ok(())
}
