//! Access tokens the simulator has issued, when each expires and which app roles it carries.
//! Kept apart from the token endpoint (`token.rs`), which needs the shared state that holds
//! this store.
//!
//! Tokens are JWT-shaped (`base64url(header).base64url(payload).signature`) with the claims an
//! Entra ID app-only token for Graph has (`aud`, `tid`, `appid`, `roles`, `exp`, ...), so a
//! client can read its roles as it would from a real one. The signature is random: clients do
//! not verify access tokens meant for Graph, and the simulator looks tokens up by value.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use serde_json::json;

struct Issued {
    expires: Instant,
    roles: Vec<String>,
}

pub struct TokenStore {
    lifetime: Duration,
    issued: Mutex<HashMap<String, Issued>>,
}

/// What a token says about its app.
pub struct Claims<'a> {
    pub tenant: &'a str,
    pub app_id: &'a str,
    pub roles: &'a [String],
}

/// A stable GUID-shaped tenant id for a tenant name: real `tid` claims are GUIDs.
pub fn tenant_id(tenant: &str) -> String {
    let h = crate::compose::fnv(tenant.to_ascii_lowercase().as_bytes());
    let l = crate::compose::fnv(format!("tid:{tenant}").as_bytes());
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        h >> 32,
        (h >> 16) & 0xffff,
        h & 0xfff,
        (l >> 48) & 0xfff,
        l & 0xffff_ffff_ffff
    )
}

fn random_chars(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| {
            let c = rng.gen_range(0..62u8);
            char::from(match c {
                0..=9 => b'0' + c,
                10..=35 => b'a' + c - 10,
                _ => b'A' + c - 36,
            })
        })
        .collect()
}

impl TokenStore {
    pub fn new(lifetime: Duration) -> TokenStore {
        TokenStore {
            lifetime,
            issued: Mutex::new(HashMap::new()),
        }
    }

    pub fn issue(&self, claims: &Claims) -> (String, Duration) {
        let now = crate::dates::now();
        let exp = now + i64::try_from(self.lifetime.as_secs()).unwrap_or(i64::MAX / 2);
        let tid = tenant_id(claims.tenant);
        let header = json!({"typ": "JWT", "alg": "RS256", "kid": "exchange-sim"});
        let payload = json!({
            "aud": "https://graph.microsoft.com",
            "iss": format!("https://sts.windows.net/{tid}/"),
            "iat": now,
            "nbf": now,
            "exp": exp,
            "appid": claims.app_id,
            "appidacr": "1",
            "idp": format!("https://sts.windows.net/{tid}/"),
            "idtyp": "app",
            "oid": tenant_id(claims.app_id),
            "roles": claims.roles,
            "sub": tenant_id(claims.app_id),
            "tid": tid,
            "ver": "1.0",
        });
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            random_chars(43)
        );
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.insert(
            token.clone(),
            Issued {
                expires: Instant::now() + self.lifetime,
                roles: claims.roles.to_vec(),
            },
        );
        (token, self.lifetime)
    }

    pub fn is_valid(&self, token: &str) -> bool {
        self.roles(token).is_some()
    }

    /// The roles of a token that is still valid.
    pub fn roles(&self, token: &str) -> Option<Vec<String>> {
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued
            .get(token)
            .filter(|t| Instant::now() < t.expires)
            .map(|t| t.roles.clone())
    }

    pub fn expire_all(&self) {
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        for t in issued.values_mut() {
            t.expires = now;
        }
    }
}

/// An opaque random id (upload sessions use it in their URL).
pub fn opaque_id(len: usize) -> String {
    random_chars(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_jwt_shaped_and_carry_roles() {
        let store = TokenStore::new(Duration::from_secs(60));
        let roles = vec!["Mail.ReadWrite".to_string()];
        let (t, _) = store.issue(&Claims {
            tenant: "example.com",
            app_id: "app",
            roles: &roles,
        });
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(payload["roles"][0], "Mail.ReadWrite");
        assert_eq!(payload["aud"], "https://graph.microsoft.com");
        assert_eq!(store.roles(&t), Some(roles));
        store.expire_all();
        assert!(!store.is_valid(&t));
    }
}
