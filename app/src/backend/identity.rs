//! Who is asking: a session cookie (local accounts and OpenID Connect sign-ins), an
//! identity proxy's headers, or a service token.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use ipnet::IpNet;

use super::token_cache::TokenActor;
use super::{BackendError, Db, Result, groups, launchable, sessions, tokens, users};
use crate::domain::{Actor, GroupName, Principal, ServiceToken, UserName};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Kiln's own accounts, signed in with a password.
    Local,
    /// A trusted proxy (oauth2-proxy and the like) names the user and their groups.
    Proxy,
    /// Kiln signs users in with an OpenID Connect provider itself; sessions as in `Local`.
    Oidc,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub mode: AuthMode,
    /// Header with the user's name, e.g. `X-Forwarded-User`.
    pub proxy_user_header: String,
    /// Header with the user's groups, comma separated, e.g. `X-Forwarded-Groups`.
    pub proxy_groups_header: String,
    /// Members of this proxy group are system admins.
    pub proxy_system_admin_group: Option<String>,
    /// Only requests from these addresses may speak for a user through headers.
    pub trusted_proxies: Vec<IpNet>,
    /// Mark the session cookie `Secure` (Kiln is served over https).
    pub secure_cookies: bool,
    pub session_ttl: Duration,
    /// How long a token bound to a provider-owned user (proxy or OIDC) acts with the
    /// groups of the user's last sign-in; after it, 403 until they sign in again.
    pub external_groups_ttl: Duration,
    /// The OpenID Connect provider, in `Oidc` mode.
    pub oidc: Option<Arc<super::oidc::Provider>>,
    /// Sign-in attempts each client address may start a minute (in each replica).
    pub sign_in_addresses: Arc<super::throttle::Addresses>,
}

impl AuthSettings {
    /// Local accounts, plain-http cookies and 12-hour sessions: the single-machine default.
    pub fn local() -> Self {
        AuthSettings {
            mode: AuthMode::Local,
            proxy_user_header: "X-Forwarded-User".into(),
            proxy_groups_header: "X-Forwarded-Groups".into(),
            proxy_system_admin_group: None,
            trusted_proxies: Vec::new(),
            secure_cookies: false,
            session_ttl: Duration::from_secs(12 * 3600),
            external_groups_ttl: Duration::from_secs(12 * 3600),
            oidc: None,
            sign_in_addresses: Arc::new(super::throttle::Addresses::new(30)),
        }
    }

    /// Settings Kiln refuses to serve with: proxy mode trusting nobody would either ignore
    /// every identity header or, configured carelessly later, believe anyone's.
    pub fn check(&self) -> std::result::Result<(), String> {
        if self.mode == AuthMode::Proxy && self.trusted_proxies.is_empty() {
            return Err(
                "KILN_AUTH_MODE=proxy needs KILN_TRUSTED_PROXIES: the addresses of the \
                 identity proxy, the only ones whose identity headers Kiln believes"
                    .into(),
            );
        }
        if self.mode == AuthMode::Oidc && self.oidc.is_none() {
            return Err("KILN_AUTH_MODE=oidc needs the provider: KILN_OIDC_ISSUER, \
                 KILN_OIDC_CLIENT_ID and KILN_PUBLIC_URL"
                .into());
        }
        Ok(())
    }

    fn trusts(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| self.trusted_proxies.iter().any(|net| net.contains(&ip)))
    }
}

/// The address a request comes from: its peer's, or, when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not a trusted proxy (each proxy appends
/// the address that called it; anything left of an untrusted one is the client's to say).
pub fn client_address(auth: &AuthSettings, headers: &HeaderMap, peer: IpAddr) -> IpAddr {
    if !auth.trusts(Some(peer)) {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut nearest = peer;
    for entry in forwarded.iter().rev() {
        let Ok(ip) = entry.parse::<IpAddr>() else {
            break;
        };
        nearest = ip;
        if !auth.trusts(Some(ip)) {
            break;
        }
    }
    nearest
}

/// The peer address of a request, as axum recorded it.
pub fn peer_of(parts: &http::request::Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// Resolves the actor of a request from its headers and the address it came from.
pub async fn resolve_actor(
    db: &Db,
    auth: &AuthSettings,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Actor> {
    Ok(resolve(db, auth, headers, peer).await?.0)
}

/// [`resolve`] for a request's head: its headers, and its peer address as axum recorded it.
pub async fn resolve_request(
    db: &Db,
    auth: &AuthSettings,
    parts: &http::request::Parts,
) -> Result<(Actor, Option<i64>)> {
    resolve(db, auth, &parts.headers, peer_of(parts)).await
}

/// [`resolve_actor`], also answering the `launch_version` counter when it was read to
/// find the actor (a service token's request), so the request need not read it again.
///
/// A service token (`Authorization: Bearer`) comes first; an unknown or revoked one is
/// refused rather than treated as anonymous, so a script learns why at once.
pub async fn resolve(
    db: &Db,
    auth: &AuthSettings,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<(Actor, Option<i64>)> {
    if let Some(secret) = tokens::bearer(headers) {
        let version = launchable::version(db).await?;
        return Ok((from_token(db, auth, secret, version).await?, Some(version)));
    }
    let actor = match auth.mode {
        AuthMode::Local | AuthMode::Oidc => from_session(db, headers).await?,
        AuthMode::Proxy => from_proxy(db, auth, headers, peer).await?,
    };
    Ok((actor, None))
}

/// Who a token speaks for, remembered against `launch_version`, which every change to
/// tokens, users and memberships bumps: a launch page's request costs one read of it.
/// The provider's confirmation of a user's groups ages with the clock, not the version,
/// so it is checked on every request, cached or not.
async fn from_token(db: &Db, auth: &AuthSettings, secret: &str, version: i64) -> Result<Actor> {
    let hash = super::secret_hash(secret);
    let grant = match db.token_actors.get(&hash, version) {
        Some(grant) => grant,
        None => {
            let grant = token_actor(db, secret).await?;
            db.token_actors.put(hash, version, grant.clone());
            grant
        }
    };
    let now = super::now_ms();
    if let Some(at) = grant.expires_at.filter(|at| *at <= now) {
        return Err(BackendError::TokenExpired {
            name: grant.token_name,
            at,
        });
    }
    if db.token_uses.due(grant.token_id) {
        tokens::touch(db, grant.token_id).await?;
    }
    if let Some(confirmed_at) = grant.groups_confirmed_at {
        let ttl = auth.external_groups_ttl.as_millis() as i64;
        if confirmed_at.is_none_or(|at| at + ttl <= now) {
            return Err(BackendError::GroupsExpired {
                user: grant.user,
                confirmed_at,
            });
        }
    }
    Ok(grant.actor)
}

async fn token_actor(db: &Db, secret: &str) -> Result<TokenActor> {
    let Some(grant) = tokens::grant(db, secret).await? else {
        return Err(BackendError::BadToken);
    };
    let Some(user_id) = grant.user_id else {
        return Ok(TokenActor {
            token_id: grant.id,
            token_name: grant.name.clone(),
            expires_at: grant.expires_at,
            user: String::new(),
            groups_confirmed_at: None,
            actor: Actor::Service(ServiceToken {
                name: grant.name,
                scope: grant.scope,
            }),
        });
    };
    let user = users::find_by_id(db, user_id)
        .await?
        .ok_or(BackendError::BadToken)?;
    if user.is_disabled() {
        return Err(BackendError::Disabled { user: user.name });
    }
    Ok(TokenActor {
        token_id: grant.id,
        token_name: grant.name.clone(),
        expires_at: grant.expires_at,
        user: user.name.clone(),
        groups_confirmed_at: user.is_external().then_some(user.groups_confirmed_at),
        actor: Actor::User(Principal {
            id: user.id,
            system_admin: user.is_system_admin(),
            memberships: groups::memberships_of(db, user.id).await?,
            name: user.name,
            token: Some(grant.scope),
        }),
    })
}

async fn from_session(db: &Db, headers: &HeaderMap) -> Result<Actor> {
    let token = sessions::token_from_headers(headers);
    let Some(token) = token else {
        return Ok(Actor::Anonymous);
    };
    let Some(user_id) = sessions::user_of(db, token).await? else {
        return Ok(Actor::Anonymous);
    };
    let Some(user) = users::find_by_id(db, user_id).await? else {
        return Ok(Actor::Anonymous);
    };
    if user.is_disabled() {
        return Ok(Actor::Anonymous);
    }
    Ok(Actor::User(Principal {
        id: user.id,
        system_admin: user.is_system_admin(),
        memberships: groups::memberships_of(db, user.id).await?,
        name: user.name,
        token: None,
    }))
}

async fn from_proxy(
    db: &Db,
    auth: &AuthSettings,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
) -> Result<Actor> {
    // A proxy that adds its header beside one the client sent (rather than replacing it)
    // would let the client choose which one counts: refused, whoever sends it.
    for name in [&auth.proxy_user_header, &auth.proxy_groups_header] {
        if headers.get_all(name.as_str()).iter().count() > 1 {
            return Err(BackendError::BadRequest(format!(
                "The request carries the {name} header more than once; a proxy must replace \
                 it, not add to it."
            )));
        }
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let Some(raw_user) = header(&auth.proxy_user_header).filter(|u| !u.is_empty()) else {
        return Ok(Actor::Anonymous);
    };
    if !auth.trusts(peer) {
        tracing::warn!(?peer, "identity header from an untrusted address ignored");
        return Ok(Actor::Anonymous);
    }
    let Ok(name) = UserName::parse("user", raw_user) else {
        tracing::warn!(
            user = raw_user,
            "identity proxy sent a user name Kiln cannot use"
        );
        return Ok(Actor::Anonymous);
    };
    let reported: Vec<&str> = header(&auth.proxy_groups_header)
        .map(|g| {
            g.split(',')
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let proxy_admin = auth
        .proxy_system_admin_group
        .as_deref()
        .is_some_and(|a| reported.contains(&a));
    let groups: Vec<GroupName> = reported
        .iter()
        .filter_map(|g| GroupName::parse("group", g).ok())
        .collect();

    let user = users::ensure_proxy_user(db, &name).await?;
    if user.is_disabled() {
        return Err(BackendError::Disabled { user: user.name });
    }
    // Written at most once a minute, and often enough that a token's groups do not expire
    // while their user keeps using Kiln through the proxy.
    let every = (auth.external_groups_ttl / 10).min(Duration::from_secs(60));
    users::confirm_external(db, user.id, proxy_admin, every).await?;
    Ok(Actor::User(Principal {
        id: user.id,
        system_admin: user.system_admin != 0 || proxy_admin,
        memberships: groups::sync_proxy_memberships(db, user.id, &groups).await?,
        name: user.name,
        token: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::{conn, fresh_db};
    use crate::domain::Role;

    fn proxy_settings() -> AuthSettings {
        AuthSettings {
            mode: AuthMode::Proxy,
            trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
            proxy_system_admin_group: Some("kiln-admins".into()),
            ..AuthSettings::local()
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[tokio::test]
    async fn proxy_headers_count_only_from_trusted_addresses() {
        let db = fresh_db().await;
        groups::create(
            &mut *conn(&db).await,
            &GroupName::parse("group", "ml").unwrap(),
        )
        .await
        .unwrap();
        let auth = proxy_settings();
        let h = headers(&[
            ("x-forwarded-user", "ann@example.org"),
            ("x-forwarded-groups", "ml, kiln-admins"),
        ]);

        let outsider = resolve_actor(&db, &auth, &h, Some("10.1.2.3".parse().unwrap()))
            .await
            .unwrap();
        assert_eq!(outsider, Actor::Anonymous);
        assert_eq!(
            resolve_actor(&db, &auth, &h, None).await.unwrap(),
            Actor::Anonymous
        );

        let Actor::User(ann) = resolve_actor(&db, &auth, &h, Some("127.0.0.1".parse().unwrap()))
            .await
            .unwrap()
        else {
            panic!("the trusted proxy's user should be signed in");
        };
        assert_eq!(ann.name, "ann@example.org");
        assert!(ann.system_admin);
        assert_eq!(
            ann.memberships
                .iter()
                .map(|m| (m.group.as_str(), m.role))
                .collect::<Vec<_>>(),
            [("ml", Role::Member)]
        );
    }

    #[tokio::test]
    async fn a_disabled_account_behind_the_proxy_is_refused_and_an_enabled_one_is_not() {
        let db = fresh_db().await;
        let auth = proxy_settings();
        let h = headers(&[("x-forwarded-user", "ann")]);
        let proxy = Some("127.0.0.1".parse().unwrap());
        assert!(matches!(
            resolve_actor(&db, &auth, &h, proxy).await,
            Ok(Actor::User(_))
        ));
        let ann = users::find(&db, "ann").await.unwrap().unwrap();
        users::set_disabled(&mut *conn(&db).await, ann.id, true)
            .await
            .unwrap();
        assert!(matches!(
            resolve_actor(&db, &auth, &h, proxy).await,
            Err(BackendError::Disabled { user }) if user == "ann"
        ));
        users::set_disabled(&mut *conn(&db).await, ann.id, false)
            .await
            .unwrap();
        assert!(matches!(
            resolve_actor(&db, &auth, &h, proxy).await,
            Ok(Actor::User(_))
        ));
    }

    #[tokio::test]
    async fn a_repeated_identity_header_is_refused_whoever_sends_it() {
        let db = fresh_db().await;
        let auth = proxy_settings();
        for header in ["x-forwarded-user", "x-forwarded-groups"] {
            let mut h = headers(&[("x-forwarded-user", "ann"), ("x-forwarded-groups", "ml")]);
            h.append(header, "root".parse().unwrap());
            assert_eq!(h.get_all(header).iter().count(), 2);
            for peer in ["127.0.0.1", "10.1.2.3"] {
                let refused = resolve_actor(&db, &auth, &h, Some(peer.parse().unwrap())).await;
                assert!(
                    matches!(&refused, Err(BackendError::BadRequest(m)) if m.contains("more than once")),
                    "{header} twice from {peer}: {refused:?}"
                );
            }
        }
    }

    #[test]
    fn proxy_mode_trusting_nobody_is_refused() {
        let nobody = AuthSettings {
            trusted_proxies: Vec::new(),
            ..proxy_settings()
        };
        assert!(nobody.check().unwrap_err().contains("KILN_TRUSTED_PROXIES"));
        assert!(proxy_settings().check().is_ok());
        assert!(AuthSettings::local().check().is_ok());
    }

    #[tokio::test]
    async fn local_mode_ignores_proxy_headers_and_reads_the_session() {
        let db = fresh_db().await;
        let auth = AuthSettings::local();
        let h = headers(&[("x-forwarded-user", "root")]);
        assert_eq!(
            resolve_actor(&db, &auth, &h, Some("127.0.0.1".parse().unwrap()))
                .await
                .unwrap(),
            Actor::Anonymous
        );

        let uid = users::create(
            &mut *conn(&db).await,
            &UserName::parse("user", "bo").unwrap(),
            "h",
            true,
        )
        .await
        .unwrap();
        let token = sessions::create(&mut *conn(&db).await, uid, Duration::from_secs(60))
            .await
            .unwrap();
        let h = headers(&[("cookie", &format!("theme=dark; kiln_session={token}"))]);
        let Actor::User(bo) = resolve_actor(&db, &auth, &h, None).await.unwrap() else {
            panic!("signed in")
        };
        assert_eq!((bo.name.as_str(), bo.system_admin), ("bo", true));
    }

    /// A token bound to a proxy user acts with the groups the proxy last confirmed, for
    /// `external_groups_ttl` only: then it is refused (also when its answer was cached)
    /// until the user's next request through the proxy confirms them again.
    #[tokio::test]
    async fn a_provider_users_token_holds_its_groups_for_the_ttl_only() {
        // However stale token answers may be (an hour), the proxy request confirming the
        // groups again is this replica's write: the token is good at once.
        let db = fresh_db()
            .await
            .with_max_staleness(Duration::from_secs(3600));
        let ml = GroupName::parse("group", "ml").unwrap();
        groups::create(&mut *conn(&db).await, &ml).await.unwrap();
        let mut auth = proxy_settings();
        let trusted = Some("127.0.0.1".parse().unwrap());
        let through_proxy = headers(&[("x-forwarded-user", "pat"), ("x-forwarded-groups", "ml")]);
        let Actor::User(pat) = resolve_actor(&db, &auth, &through_proxy, trusted)
            .await
            .unwrap()
        else {
            panic!("the proxy's user is signed in")
        };
        let secret = tokens::create(
            &mut *conn(&db).await,
            "root",
            &tokens::NewToken {
                name: GroupName::parse("name", "pat-hub").unwrap(),
                scope: crate::domain::TokenScope::Read,
                user_id: Some(pat.id),
                lifetime: None,
            },
        )
        .await
        .unwrap();
        let bearer = headers(&[("authorization", &format!("Bearer {secret}"))]);

        for _ in 0..2 {
            // Once read from the database, once from the cache.
            let Actor::User(by_token) = resolve_actor(&db, &auth, &bearer, None).await.unwrap()
            else {
                panic!("the token acts for pat")
            };
            assert_eq!(by_token.memberships.len(), 1);
        }

        // Pat's confirmation grows old (a while without coming through the proxy; seen as
        // another replica's write is once the staleness has passed): refused…
        sqlx::query("UPDATE users SET groups_confirmed_at = 0 WHERE name = 'pat'")
            .execute(&db.pool)
            .await
            .unwrap();
        db.launch_counter.written();
        let refused = resolve_actor(&db, &auth, &bearer, None).await;
        assert!(
            matches!(&refused, Err(BackendError::GroupsExpired { .. })),
            "{refused:?}"
        );
        // … until pat's next request through the proxy, and then at once.
        resolve_actor(&db, &auth, &through_proxy, trusted)
            .await
            .unwrap();
        let again = resolve_actor(&db, &auth, &bearer, None).await;
        assert!(again.is_ok(), "{again:?}");

        auth.external_groups_ttl = Duration::ZERO;
        let refused = resolve_actor(&db, &auth, &bearer, None).await;
        assert!(
            matches!(&refused, Err(BackendError::GroupsExpired { user, .. }) if user == "pat"),
            "{refused:?}"
        );
        // A local account's token has no provider to wait for.
        let local = users::create(
            &mut *conn(&db).await,
            &UserName::parse("user", "lo").unwrap(),
            "h",
            false,
        )
        .await
        .unwrap();
        let secret = tokens::create(
            &mut *conn(&db).await,
            "root",
            &tokens::NewToken {
                name: GroupName::parse("name", "lo-hub").unwrap(),
                scope: crate::domain::TokenScope::Read,
                user_id: Some(local),
                lifetime: None,
            },
        )
        .await
        .unwrap();
        let bearer = headers(&[("authorization", &format!("Bearer {secret}"))]);
        assert!(resolve_actor(&db, &auth, &bearer, None).await.is_ok());
    }

    #[test]
    fn the_client_address_is_the_nearest_untrusted_one() {
        let auth = AuthSettings {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..AuthSettings::local()
        };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let forwarded = |v: &str| headers(&[("x-forwarded-for", v)]);
        // Straight from the client: its own address, whatever it claims.
        assert_eq!(
            client_address(&auth, &forwarded("1.2.3.4"), ip("198.51.100.9")),
            ip("198.51.100.9")
        );
        // Through the ingress: the address the ingress saw, not what the client wrote before it.
        assert_eq!(
            client_address(&auth, &forwarded("1.2.3.4, 198.51.100.9"), ip("10.0.0.5")),
            ip("198.51.100.9")
        );
        // Through two proxies of ours.
        assert_eq!(
            client_address(
                &auth,
                &forwarded("1.2.3.4, 198.51.100.9, 10.0.0.7"),
                ip("10.0.0.5")
            ),
            ip("198.51.100.9")
        );
        // Garbage where an address should be: the nearest proxy that said something sane.
        assert_eq!(
            client_address(&auth, &forwarded("evil, 10.0.0.7"), ip("10.0.0.5")),
            ip("10.0.0.7")
        );
        assert_eq!(
            client_address(&auth, &HeaderMap::new(), ip("10.0.0.5")),
            ip("10.0.0.5")
        );
    }
}
