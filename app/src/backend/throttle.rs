//! Slowing down repeated failed sign-ins: for an account name, across replicas, and for a
//! client address, in each replica.
//!
//! Every attempt is counted for its name before its password is checked, in one statement
//! that also refuses a locked name, so concurrent guesses cannot all pass a check made
//! before any of them was counted. The first few attempts cost nothing extra; after that
//! the name is locked for a time that doubles with each further one, up to five minutes. A
//! success clears it. Locking names alone would let anyone lock a known admin out and not
//! slow a guesser who tries many names, so each client address also has its share of
//! attempts a minute ([`Addresses`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::db::Conn;
use super::{Result, now_ms};

const FREE_FAILURES: i64 = 5;
const MAX_LOCK_MS: i64 = 5 * 60 * 1000;

/// Counts one attempt for `user_name`, before its password is checked; answers the
/// milliseconds it must wait instead when the name is locked (then nothing is counted).
/// Run it in a transaction of its own and commit before checking the password.
pub async fn attempt(conn: &mut Conn, user_name: &str) -> Result<Option<i64>> {
    let now = now_ms();
    let counted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO login_throttle (user_name, failures, locked_until) VALUES ($1, 1, 0)
         ON CONFLICT (user_name) DO UPDATE SET failures = login_throttle.failures + 1
         WHERE login_throttle.locked_until <= $2
         RETURNING failures",
    )
    .bind(user_name)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(failures) = counted else {
        let until: i64 =
            sqlx::query_scalar("SELECT locked_until FROM login_throttle WHERE user_name = $1")
                .bind(user_name)
                .fetch_one(&mut *conn)
                .await?;
        return Ok(Some((until - now).max(1)));
    };
    if let Some(lock) = lock_ms(failures) {
        sqlx::query("UPDATE login_throttle SET locked_until = $1 WHERE user_name = $2")
            .bind(now + lock)
            .bind(user_name)
            .execute(conn)
            .await?;
    }
    Ok(None)
}

pub async fn clear(conn: &mut Conn, user_name: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE user_name = $1")
        .bind(user_name)
        .execute(conn)
        .await?;
    Ok(())
}

/// Sign-in attempts per client address in this process: an address (an IPv6 one by its
/// /64, which one holder usually has whole) may start `per_minute` attempts in a minute;
/// a success gives its attempt back, so an office behind one address is slowed only by
/// its failures.
#[derive(Debug)]
pub struct Addresses {
    per_minute: u32,
    seen: Mutex<HashMap<IpAddr, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    count: u32,
}

const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; past it, expired windows go, and if every one is live, a
/// new address is not tracked (the name lock and the cap on password checks still hold).
const MAX_TRACKED: usize = 65_536;

impl Addresses {
    /// `per_minute` 0: no limit by address.
    pub fn new(per_minute: u32) -> Addresses {
        Addresses {
            per_minute,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt from `ip`; answers the seconds to wait instead when the address
    /// has used its share of this minute.
    pub fn attempt(&self, ip: IpAddr) -> Option<u64> {
        self.attempt_at(ip, Instant::now())
    }

    fn attempt_at(&self, ip: IpAddr, now: Instant) -> Option<u64> {
        if self.per_minute == 0 {
            return None;
        }
        let key = network_of(ip);
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= MAX_TRACKED && !seen.contains_key(&key) {
            seen.retain(|_, w| now.duration_since(w.started) < WINDOW);
            if seen.len() >= MAX_TRACKED {
                return None;
            }
        }
        let window = seen.entry(key).or_insert(Window {
            started: now,
            count: 0,
        });
        let age = now.duration_since(window.started);
        if age >= WINDOW {
            *window = Window {
                started: now,
                count: 0,
            };
        } else if window.count >= self.per_minute {
            return Some((WINDOW - age).as_secs().max(1));
        }
        window.count += 1;
        None
    }

    /// A sign-in from `ip` succeeded: its attempt does not count.
    pub fn succeeded(&self, ip: IpAddr) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(window) = seen.get_mut(&network_of(ip)) {
            window.count = window.count.saturating_sub(1);
        }
    }
}

/// The address an attempt counts against: an IPv4 address (also written as IPv6), or an
/// IPv6 address's /64.
fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

fn lock_ms(failures: i64) -> Option<i64> {
    let over = failures - FREE_FAILURES;
    (over >= 0).then(|| (1000i64 << over.min(20)).min(MAX_LOCK_MS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::db::testing::{conn, fresh_db};

    #[test]
    fn an_address_gets_its_share_a_minute_and_successes_give_attempts_back() {
        let limit = Addresses::new(3);
        let t0 = Instant::now();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limit.attempt_at(ip, t0), None);
        }
        assert_eq!(limit.attempt_at(ip, t0 + Duration::from_secs(15)), Some(45));
        // Another address is not slowed by this one.
        assert_eq!(limit.attempt_at("203.0.113.8".parse().unwrap(), t0), None);
        limit.succeeded(ip);
        assert_eq!(limit.attempt_at(ip, t0 + Duration::from_secs(16)), None);
        assert!(limit.attempt_at(ip, t0 + Duration::from_secs(17)).is_some());
        // A new minute, a new share.
        assert_eq!(limit.attempt_at(ip, t0 + WINDOW), None);
        assert_eq!(Addresses::new(0).attempt_at(ip, t0), None, "0: no limit");
    }

    #[test]
    fn ipv6_addresses_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let limit = Addresses::new(1);
        let t0 = Instant::now();
        assert_eq!(
            limit.attempt_at("2001:db8:1:2::1".parse().unwrap(), t0),
            None
        );
        assert!(
            limit
                .attempt_at("2001:db8:1:2:ffff::9".parse().unwrap(), t0)
                .is_some(),
            "the same /64"
        );
        assert_eq!(
            limit.attempt_at("2001:db8:1:3::1".parse().unwrap(), t0),
            None
        );
        assert_eq!(limit.attempt_at("198.51.100.1".parse().unwrap(), t0), None);
        assert!(
            limit
                .attempt_at("::ffff:198.51.100.1".parse().unwrap(), t0)
                .is_some()
        );
    }

    #[test]
    fn locks_double_and_are_capped() {
        assert_eq!(lock_ms(4), None);
        assert_eq!(lock_ms(5), Some(1000));
        assert_eq!(lock_ms(6), Some(2000));
        assert_eq!(lock_ms(100), Some(MAX_LOCK_MS));
    }

    #[tokio::test]
    async fn the_sixth_attempt_is_refused_and_success_clears_the_name() {
        let db = fresh_db().await;
        for _ in 0..5 {
            assert_eq!(attempt(&mut *conn(&db).await, "ann").await.unwrap(), None);
        }
        let wait = attempt(&mut *conn(&db).await, "ann")
            .await
            .unwrap()
            .expect("locked");
        assert!(wait > 0 && wait <= 1000, "{wait}");
        assert_eq!(
            attempt(&mut *conn(&db).await, "bob").await.unwrap(),
            None,
            "other names are not affected"
        );
        clear(&mut *conn(&db).await, "ann").await.unwrap();
        assert_eq!(attempt(&mut *conn(&db).await, "ann").await.unwrap(), None);
    }
}
