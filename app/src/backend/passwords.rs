//! Password hashing with argon2id, off the async runtime, a few at a time: each holds
//! ~19 MiB, so a burst of sign-ins waits for a slot (briefly) instead of taking the
//! process's memory. The hashing runs on a few threads of its own: on the runtime's
//! blocking pool each of many threads would keep its own 19 MiB in its memory arena.

use std::sync::mpsc;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::{BackendError, Result};

/// The hash of a random password nobody has, verified when the user is unknown so that
/// unknown and known names take the same time.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_blocking(&generate()).expect("hashing the decoy password"))
}

/// Hashes and verifications running at once: one per core, at least two.
fn slots() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
}

static SLOTS: LazyLock<Semaphore> = LazyLock::new(|| Semaphore::new(slots()));

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads, one per slot, taking jobs in turn.
static WORKERS: LazyLock<mpsc::Sender<Job>> = LazyLock::new(|| {
    let (jobs, queue) = mpsc::channel::<Job>();
    let queue = Arc::new(Mutex::new(queue));
    for i in 0..slots() {
        let queue = queue.clone();
        std::thread::Builder::new()
            .name(format!("kiln-passwords-{i}"))
            .spawn(move || {
                loop {
                    let job = queue.lock().unwrap_or_else(|e| e.into_inner()).recv();
                    match job {
                        // A job that panics loses its answer (its caller is told), not
                        // the thread.
                        Ok(job) => {
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                        Err(_) => break,
                    }
                }
            })
            .expect("starting a password thread");
    }
    jobs
});

/// Runs `work` on a hashing thread (the caller holds a slot).
async fn on_worker<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let (answer, answered) = tokio::sync::oneshot::channel();
    WORKERS
        .send(Box::new(move || {
            let _ = answer.send(work());
        }))
        .map_err(|_| BackendError::Internal("the password threads are gone".into()))?;
    answered
        .await
        .map_err(|_| BackendError::Internal("a password thread failed".into()))
}

/// How long a sign-in waits for a slot before it is told to try again.
const SLOT_WAIT: Duration = Duration::from_secs(2);

/// Every slot stayed taken for [`SLOT_WAIT`]: the caller should try again in a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

pub async fn hash(password: String) -> Result<String> {
    let _slot = SLOTS
        .acquire()
        .await
        .map_err(|e| BackendError::Internal(e.to_string()))?;
    on_worker(move || hash_blocking(&password)).await?
}

fn hash_blocking(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| BackendError::Internal(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| BackendError::Internal(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| BackendError::Internal(format!("hashing a password: {e}")))
}

/// Whether `password` matches `stored`; `None` (no such user, or no local password)
/// costs the same as a wrong password and is never a match. `Busy` when no slot freed up
/// in time.
pub async fn verify(password: String, stored: Option<String>) -> std::result::Result<bool, Busy> {
    let Ok(Ok(_slot)) = tokio::time::timeout(SLOT_WAIT, SLOTS.acquire()).await else {
        return Err(Busy);
    };
    Ok(on_worker(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| decoy_hash().to_owned());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false))
}

/// A password for a new account: 20 characters from an alphabet without look-alikes.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).expect("the operating system's random source failed");
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let h = hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert_eq!(
            verify("correct horse".into(), Some(h.clone())).await,
            Ok(true)
        );
        assert_eq!(verify("correct horse!".into(), Some(h)).await, Ok(false));
        assert_eq!(verify("anything".into(), None).await, Ok(false));
    }

    #[tokio::test]
    async fn a_job_that_panics_loses_its_answer_not_its_thread() {
        for _ in 0..slots() + 1 {
            assert!(on_worker(|| panic!("a broken job")).await.is_err());
        }
        assert_eq!(on_worker(|| 2 + 2).await.unwrap(), 4);
    }

    #[test]
    fn generated_passwords_differ() {
        assert_ne!(generate(), generate());
        assert_eq!(generate().len(), 20);
    }
}
