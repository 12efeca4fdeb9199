//! Connection secrets sealed at rest with AES-256-GCM under the server's key.

use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::error::{Result, SyncerError};

const NONCE_LEN: usize = 12;
/// Binds ciphertexts to their purpose, so a sealed secret cannot be replayed as another kind of
/// sealed value under the same key.
const AAD: &[u8] = b"sync-recover/connection-secret/v1";

/// Seals and opens connection secrets. The key is the server's 32-byte secrets key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> SecretBox {
        SecretBox {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)),
        }
    }

    /// base64(nonce || ciphertext+tag); a fresh random nonce each time.
    pub fn seal(&self, plain: &str) -> Result<String> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plain.as_bytes(),
                    aad: AAD,
                },
            )
            .map_err(|_| SyncerError::Inconsistent("secret encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    pub fn open(&self, sealed: &str) -> Result<String> {
        let bytes = STANDARD
            .decode(sealed)
            .map_err(|_| SyncerError::SecretUnreadable)?;
        if bytes.len() < NONCE_LEN + 16 {
            return Err(SyncerError::SecretUnreadable);
        }
        let (nonce, ct) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: AAD })
            .map_err(|_| SyncerError::SecretUnreadable)?;
        String::from_utf8(plain).map_err(|_| SyncerError::SecretUnreadable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_fresh_nonce_and_wrong_key() {
        let b = SecretBox::new([7; 32]);
        let a = b.seal("hunter2").unwrap();
        let c = b.seal("hunter2").unwrap();
        assert_ne!(a, c, "a fresh nonce every time");
        assert_eq!(b.open(&a).unwrap(), "hunter2");
        assert!(!a.contains("hunter2"));
        let other = SecretBox::new([8; 32]);
        assert!(matches!(other.open(&a), Err(SyncerError::SecretUnreadable)));
        assert!(matches!(b.open("AAAA"), Err(SyncerError::SecretUnreadable)));
        assert!(matches!(
            b.open("not base64!"),
            Err(SyncerError::SecretUnreadable)
        ));
    }
}
