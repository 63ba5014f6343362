//! Who may use the dashboard.
//!
//! * **One admin secret, never a default.** [`ensure_admin_secret`] makes a
//!   random 18-byte secret (24 base64url characters) on first start; only
//!   its argon2id hash is stored. The caller prints the secret once.
//! * **Sessions** are random 32-byte ids in an `HttpOnly; SameSite=Strict`
//!   cookie (`Secure` under TLS), kept in memory, bounded in number, with an
//!   idle and an absolute lifetime. Restarting the server signs everyone out.
//! * **CSRF:** every session has its own random token; every state-changing
//!   form carries it in a hidden field and every JSON POST in the
//!   `X-CSRF-Token` header, compared in constant time. The login form, which
//!   has no session yet, uses a double-submit cookie.
//! * **Rate limits** on failed logins (and failed bearer tokens): per client
//!   IP and for the whole server, in a sliding minute.
//! * API clients (Prometheus, scripts) may instead send
//!   `Authorization: Bearer <admin secret>`; those requests need no CSRF
//!   token because a browser never adds that header on its own.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use base64::Engine as _;
use ward_store::Store;

use crate::WebError;

/// The credential name of the one administrator.
pub const ADMIN: &str = "admin";
pub const SESSION_COOKIE: &str = "ward_session";
pub const LOGIN_COOKIE: &str = "ward_login";
/// A session ends after this long without a request…
pub const SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);
/// …and after this long in any case.
pub const SESSION_MAX: Duration = Duration::from_secs(7 * 24 * 3600);
/// Sessions kept at most; the least recently used is dropped beyond.
const MAX_SESSIONS: usize = 256;
/// Failed attempts allowed per client IP per minute.
pub const FAILS_PER_IP: usize = 5;
/// Failed attempts allowed for the whole server per minute.
pub const FAILS_GLOBAL: usize = 30;
const WINDOW: Duration = Duration::from_secs(60);
/// Client IPs tracked at most by the limiter.
const MAX_TRACKED_IPS: usize = 4096;

/// `n` random bytes as base64url (no padding).
pub fn random_token(n: usize) -> Result<String, WebError> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).map_err(|e| WebError::Random(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf))
}

/// argon2id (the crate's defaults: 19 MiB, 2 passes) with a random salt.
pub fn hash_secret(secret: &str) -> Result<String, WebError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| WebError::Random(e.to_string()))?;
    Ok(Argon2::default()
        .hash_password_with_salt(secret.as_bytes(), &salt)
        .map_err(|e| WebError::Hash(e.to_string()))?
        .to_string())
}

/// Whether `secret` matches the stored `hash` (a malformed hash never matches).
pub fn verify_secret(secret: &str, hash: &str) -> bool {
    // The parameters (memory, passes, salt) come from the stored hash.
    Argon2::default()
        .verify_password(secret.as_bytes(), hash)
        .is_ok()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Make the admin secret if the store has none. Returns the new secret —
/// the only time it exists in clear — or `None` when one was already set.
pub fn ensure_admin_secret(store: &mut Store) -> Result<Option<String>, WebError> {
    if store.credential(ADMIN)?.is_some() {
        return Ok(None);
    }
    reset_admin_secret(store).map(Some)
}

/// Replace the admin secret with a new random one and return it.
pub fn reset_admin_secret(store: &mut Store) -> Result<String, WebError> {
    let secret = random_token(18)?;
    let hash = hash_secret(&secret)?;
    store.set_credential(ADMIN, &hash, unix_now())?;
    Ok(secret)
}

/// Constant-time string equality (length is not secret).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[derive(Clone, Debug)]
pub struct Session {
    pub csrf: String,
    created: Instant,
    last_used: Instant,
}

/// The in-memory session table.
#[derive(Default)]
pub struct Sessions {
    map: HashMap<String, Session>,
}

impl Sessions {
    /// A new session; returns its id.
    pub fn create(&mut self, now: Instant) -> Result<(String, Session), WebError> {
        self.expire(now);
        if self.map.len() >= MAX_SESSIONS {
            if let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(_, s)| s.last_used)
                .map(|(k, _)| k.clone())
            {
                self.map.remove(&oldest);
            }
        }
        let id = random_token(32)?;
        let s = Session {
            csrf: random_token(32)?,
            created: now,
            last_used: now,
        };
        self.map.insert(id.clone(), s.clone());
        Ok((id, s))
    }

    /// The live session with this id, touched; expired ones are removed.
    pub fn get(&mut self, id: &str, now: Instant) -> Option<Session> {
        let s = self.map.get_mut(id)?;
        if now.duration_since(s.last_used) > SESSION_IDLE
            || now.duration_since(s.created) > SESSION_MAX
        {
            self.map.remove(id);
            return None;
        }
        s.last_used = now;
        Some(s.clone())
    }

    pub fn remove(&mut self, id: &str) {
        self.map.remove(id);
    }

    pub fn clear(&mut self) {
        self.map.clear();
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn expire(&mut self, now: Instant) {
        self.map.retain(|_, s| {
            now.duration_since(s.last_used) <= SESSION_IDLE
                && now.duration_since(s.created) <= SESSION_MAX
        });
    }
}

/// Failed-login limiter: sliding one-minute windows per IP and global.
#[derive(Default)]
pub struct RateLimiter {
    per_ip: HashMap<IpAddr, VecDeque<Instant>>,
    global: VecDeque<Instant>,
    /// Failures recorded since start (for `/metrics`).
    pub failures_total: u64,
    /// Attempts refused by the limiter since start.
    pub refused_total: u64,
}

fn trim(q: &mut VecDeque<Instant>, now: Instant) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= WINDOW) {
        q.pop_front();
    }
}

impl RateLimiter {
    /// `Err(retry_after)` when `ip` (or everyone) has failed too often.
    pub fn check(&mut self, ip: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        trim(&mut self.global, now);
        let wait = |q: &VecDeque<Instant>| {
            q.front()
                .map(|t| WINDOW.saturating_sub(now.duration_since(*t)))
                .unwrap_or(WINDOW)
        };
        if self.global.len() >= FAILS_GLOBAL {
            self.refused_total += 1;
            return Err(wait(&self.global));
        }
        if let Some(q) = ip.and_then(|ip| self.per_ip.get_mut(&ip)) {
            trim(q, now);
            if q.len() >= FAILS_PER_IP {
                let w = wait(q);
                self.refused_total += 1;
                return Err(w);
            }
        }
        Ok(())
    }

    pub fn record_failure(&mut self, ip: Option<IpAddr>, now: Instant) {
        self.failures_total += 1;
        self.global.push_back(now);
        if self.global.len() > FAILS_GLOBAL {
            self.global.pop_front();
        }
        let Some(ip) = ip else { return };
        if !self.per_ip.contains_key(&ip) && self.per_ip.len() >= MAX_TRACKED_IPS {
            self.per_ip.retain(|_, q| {
                trim(q, now);
                !q.is_empty()
            });
            if self.per_ip.len() >= MAX_TRACKED_IPS {
                // Still full: this IP is limited by the global window only.
                return;
            }
        }
        let q = self.per_ip.entry(ip).or_default();
        q.push_back(now);
        if q.len() > FAILS_PER_IP {
            q.pop_front();
        }
    }

    /// A success forgets the IP's failures.
    pub fn record_success(&mut self, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            self.per_ip.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_round_trip_and_mismatch() {
        let h = hash_secret("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_secret("correct horse", &h));
        assert!(!verify_secret("correct horsf", &h));
        assert!(!verify_secret("x", "not a hash"));
    }

    #[test]
    fn tokens_are_random_and_long_enough() {
        let a = random_token(18).unwrap();
        let b = random_token(18).unwrap();
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn limiter_blocks_an_ip_after_five_failures_for_a_minute() {
        let mut l = RateLimiter::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..FAILS_PER_IP {
            assert!(l.check(Some(ip), t0).is_ok());
            l.record_failure(Some(ip), t0);
        }
        assert!(l.check(Some(ip), t0).is_err());
        assert!(l.check(Some(other), t0).is_ok());
        assert!(l.check(Some(ip), t0 + WINDOW).is_ok());
    }

    #[test]
    fn limiter_global_window_stops_distributed_guessing() {
        let mut l = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..FAILS_GLOBAL {
            let ip: IpAddr = format!("198.51.100.{}", i % 250).parse().unwrap();
            l.record_failure(Some(ip), t0);
        }
        let fresh: IpAddr = "203.0.113.1".parse().unwrap();
        assert!(l.check(Some(fresh), t0).is_err());
    }

    #[test]
    fn sessions_expire_when_idle_and_are_bounded() {
        let mut s = Sessions::default();
        let t0 = Instant::now();
        let (id, sess) = s.create(t0).unwrap();
        assert_eq!(s.get(&id, t0).unwrap().csrf, sess.csrf);
        assert!(s
            .get(&id, t0 + SESSION_IDLE + Duration::from_secs(1))
            .is_none());
        for _ in 0..(MAX_SESSIONS + 10) {
            s.create(t0).unwrap();
        }
        assert!(s.len() <= MAX_SESSIONS);
    }

    #[test]
    fn ct_eq_compares() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "ab"));
    }
}
