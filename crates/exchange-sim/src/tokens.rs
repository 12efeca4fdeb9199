//! Access tokens the simulator has issued and when each expires. Kept apart from the token
//! endpoint (`token.rs`), which needs the shared state that holds this store.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;

pub struct TokenStore {
    lifetime: Duration,
    issued: Mutex<HashMap<String, Instant>>,
}

impl TokenStore {
    pub fn new(lifetime: Duration) -> TokenStore {
        TokenStore {
            lifetime,
            issued: Mutex::new(HashMap::new()),
        }
    }

    pub fn issue(&self) -> (String, Duration) {
        let mut rng = rand::thread_rng();
        let token: String = (0..48)
            .map(|_| {
                let c = rng.gen_range(0..62u8);
                char::from(match c {
                    0..=9 => b'0' + c,
                    10..=35 => b'a' + c - 10,
                    _ => b'A' + c - 36,
                })
            })
            .collect();
        // Real tokens are JWTs; a JWT-looking prefix keeps log readers from being surprised.
        let token = format!("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.sim.{token}");
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.insert(token.clone(), Instant::now() + self.lifetime);
        (token, self.lifetime)
    }

    pub fn is_valid(&self, token: &str) -> bool {
        let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.get(token).is_some_and(|exp| Instant::now() < *exp)
    }

    pub fn expire_all(&self) {
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        for exp in issued.values_mut() {
            *exp = now;
        }
    }
}
