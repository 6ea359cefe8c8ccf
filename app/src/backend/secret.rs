//! The key that seals stored registry credentials: given in configuration, or generated
//! once into the data folder and read from there afterwards. A sealed value names the key
//! that sealed it (`k1:KEY-ID:…`, the id a hash of the key, not the key), so a rotation can
//! tell what is sealed under which key, and a value under another key fails clearly.

use std::path::Path;

use super::{BackendError, Result, hex};

#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// Parses 64 hex characters.
    pub fn from_hex(s: &str) -> Result<SecretKey> {
        let s = s.trim();
        let invalid = || {
            BackendError::Invalid(crate::domain::FieldError::setting(
                "secret_key",
                "must be 64 hexadecimal characters (32 bytes)",
            ))
        };
        if s.len() != 64 || !s.is_ascii() {
            return Err(invalid());
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| invalid())?;
        }
        Ok(SecretKey(key))
    }

    /// Reads `file`, or creates it (owner-only) with a new random key.
    pub fn load_or_create(file: &Path) -> Result<SecretKey> {
        let io = |e: std::io::Error| {
            BackendError::Internal(format!("secret key file {}: {e}", file.display()))
        };
        match std::fs::read_to_string(file) {
            Ok(text) => Self::from_hex(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                let mut key = [0u8; 32];
                getrandom::fill(&mut key).map_err(|e| BackendError::Internal(e.to_string()))?;
                write_private(file, &hex(&key)).map_err(io)?;
                tracing::info!(file = %file.display(), "generated a new secret key");
                Ok(SecretKey(key))
            }
            Err(e) => Err(io(e)),
        }
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// This key's public name: 16 hex digits of a hash of it (nothing about the key can be
    /// learnt from it).
    pub fn id(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(b"kiln-secret-key-id:");
        hasher.update(self.0);
        hex(&hasher.finalize())[..16].to_owned()
    }

    /// The id of the key that sealed `sealed`; `None` for values sealed before keys had
    /// ids (they open with the key that sealed them).
    pub fn sealed_by(sealed: &str) -> Option<&str> {
        sealed
            .strip_prefix(SEALED_PREFIX)
            .and_then(|rest| rest.split_once(':'))
            .map(|(id, _)| id)
    }

    /// Encrypts `plain` (XChaCha20-Poly1305, random nonce) bound to `context`, e.g. the
    /// credential's name, so a sealed value moved to another record does not open.
    pub fn seal(&self, plain: &str, context: &str) -> Result<String> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(self.0.as_ref().into());
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).map_err(|e| BackendError::Internal(e.to_string()))?;
        let sealed = cipher
            .encrypt(
                nonce.as_ref().into(),
                Payload {
                    msg: plain.as_bytes(),
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| BackendError::Internal("sealing failed".into()))?;
        Ok(format!(
            "{SEALED_PREFIX}{}:{}{}",
            self.id(),
            hex(&nonce),
            hex(&sealed)
        ))
    }

    /// Decrypts what [`SecretKey::seal`] made with the same key and context.
    pub fn open(&self, sealed: &str, context: &str) -> Result<String> {
        use chacha20poly1305::aead::{Aead, KeyInit, Payload};
        let broken = || {
            BackendError::Internal("a sealed secret does not open with the configured key".into())
        };
        let body = match Self::sealed_by(sealed) {
            Some(id) if id != self.id() => {
                return Err(BackendError::Internal(format!(
                    "a secret is sealed with key {id}, not with the configured key {}: \
                     configure that key, or rotate with `kiln secret rotate`",
                    self.id()
                )));
            }
            Some(id) => &sealed[SEALED_PREFIX.len() + id.len() + 1..],
            None => sealed,
        };
        let bytes = unhex(body).ok_or_else(broken)?;
        if bytes.len() < 24 {
            return Err(broken());
        }
        let (nonce, body) = bytes.split_at(24);
        let cipher = chacha20poly1305::XChaCha20Poly1305::new(self.0.as_ref().into());
        let plain = cipher
            .decrypt(
                nonce.into(),
                Payload {
                    msg: body,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| broken())?;
        String::from_utf8(plain).map_err(|_| broken())
    }
}

/// What sealed values start with, before the sealing key's id.
const SEALED_PREFIX: &str = "k1:";

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn write_private(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_kept_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir =
            std::env::temp_dir().join(format!("kiln-secret-{}", crate::backend::random_hex(4)));
        let file = dir.join("secret.key");
        let first = SecretKey::load_or_create(&file).unwrap();
        let again = SecretKey::load_or_create(&file).unwrap();
        assert_eq!(first.bytes(), again.bytes());
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_context() {
        let key = SecretKey::from_hex(&"11".repeat(32)).unwrap();
        let sealed = key.seal("hunter2", "registry-a").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_ne!(
            sealed,
            key.seal("hunter2", "registry-a").unwrap(),
            "a fresh nonce each time"
        );
        assert_eq!(key.open(&sealed, "registry-a").unwrap(), "hunter2");
        assert!(key.open(&sealed, "registry-b").is_err());
        let other = SecretKey::from_hex(&"22".repeat(32)).unwrap();
        assert!(other.open(&sealed, "registry-a").is_err());
        assert!(key.open("zz", "registry-a").is_err());
    }

    #[test]
    fn a_malformed_key_names_the_setting() {
        assert!(SecretKey::from_hex(&"ab".repeat(32)).is_ok());
        let err = SecretKey::from_hex("not hex").unwrap_err().to_string();
        assert!(err.starts_with("secret_key:"), "{err}");
        assert!(SecretKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
