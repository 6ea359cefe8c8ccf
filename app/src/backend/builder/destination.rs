//! Where Kiln may connect when somebody names a base image: the outside world, the build
//! registry, and the registries inside the network that the operator listed; never, on a
//! user's word, an address inside the platform's network (loopback, private ranges,
//! link-local such as the cloud metadata service, cluster-internal names).

use std::net::IpAddr;
use std::time::Duration;

/// How long a registry's name may take to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether an address is inside a network rather than on the internet.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                // shared address space (carrier-grade NAT), often a cluster's
                || (a == 100 && (64..128).contains(&b))
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link-local
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}

/// Refuses a registry (`host[:port]`, as an image reference names it) whose host is or
/// resolves to an internal address, unless it is in `allowed`. Says why in Kiln's words.
pub async fn check(registry: &str, allowed: &[String]) -> Result<(), String> {
    if allowed.iter().any(|a| a.eq_ignore_ascii_case(registry)) {
        return Ok(());
    }
    let (host, port) = host_and_port(registry);
    let addresses: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            let lookup = tokio::net::lookup_host((host, port));
            match tokio::time::timeout(RESOLVE_TIMEOUT, lookup).await {
                Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                _ => return Err("its registry's name could not be resolved.".into()),
            }
        }
    };
    if addresses.is_empty() {
        return Err("its registry's name could not be resolved.".into());
    }
    if addresses.into_iter().any(is_internal) {
        return Err(format!(
            "its registry {registry} is inside this network, where Kiln does not connect on \
             a user's word; your platform's operator can allow it (KILN_INTERNAL_REGISTRIES)."
        ));
    }
    Ok(())
}

/// `host:port`, `[v6]:port`, or a bare host (HTTPS's port).
fn host_and_port(registry: &str) -> (&str, u16) {
    if let Some(rest) = registry.strip_prefix('[') {
        let (host, after) = rest.split_once(']').unwrap_or((rest, ""));
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (host, port.unwrap_or(443));
    }
    match registry.rsplit_once(':') {
        Some((host, port)) => (host, port.parse().unwrap_or(443)),
        None => (registry, 443),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_told_from_the_internet() {
        for inside in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(inside.parse().unwrap()), "{inside}");
        }
        for outside in ["140.82.112.3", "8.8.8.8", "2606:4700::1111", "100.128.0.1"] {
            assert!(!is_internal(outside.parse().unwrap()), "{outside}");
        }
    }

    #[tokio::test]
    async fn internal_registries_are_refused_unless_listed_and_nothing_is_connected() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let ours = format!("127.0.0.1:{port}");
        for registry in [
            ours.as_str(),
            &format!("localhost:{port}"),
            "10.0.0.1",
            "169.254.169.254",
            "[::1]:5000",
            "localhost",
        ] {
            let why = check(registry, &["registry.example.org".into()])
                .await
                .unwrap_err();
            assert!(why.contains("inside this network"), "{registry}: {why}");
        }
        let connected = tokio::time::timeout(Duration::from_millis(300), listener.accept()).await;
        assert!(connected.is_err(), "nothing may connect while checking");
        // Listed by the operator: allowed.
        check(&ours, std::slice::from_ref(&ours)).await.unwrap();
        assert_eq!(host_and_port("[::1]:5000"), ("::1", 5000));
        assert_eq!(host_and_port("ghcr.io"), ("ghcr.io", 443));
    }
}
