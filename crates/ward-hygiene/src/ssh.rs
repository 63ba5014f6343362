//! SSH password logins for the active audit, over `russh` (pure Rust;
//! its `ring` backend, which the tree already links for TLS).
//!
//! Guarantees:
//! - **one login attempt per TCP connection**, like the other audit
//!   checks, so a lock-out counter sees the fewest failures;
//! - **bounded in time**: the whole attempt (key exchange, one
//!   authentication, disconnect) runs under one deadline, and the
//!   connection is dropped when it passes;
//! - **no trust is stored**: any host key is accepted for the length of one
//!   attempt and only its SHA-256 fingerprint is kept, as evidence of which
//!   server answered (an audit compares nothing with earlier runs);
//! - the password is sent only inside the encrypted session, as the SSH
//!   `password` method or, when a server offers only
//!   `keyboard-interactive` (OpenSSH with PAM), as the answer to its
//!   password prompt; nothing else is sent (no channel is ever opened).
//!
//! The algorithm lists add the old ones embedded devices still use
//! (`diffie-hellman-group1/14-sha1`, `ssh-rsa`, CBC ciphers, `hmac-sha1`)
//! after the modern defaults, since an audit has to reach old firmware;
//! nothing secret of ours rides on the session.

use std::borrow::Cow;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, AuthResult, Handle, KeyboardInteractiveAuthResponse};
use russh::keys::{Algorithm, EcdsaCurve, HashAlg, PublicKeyOrCertificate};
use russh::{cipher, kex, mac, Disconnect, MethodKind, Preferred};

/// What one login attempt established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The server accepted the pair.
    Accepted,
    /// The server refused it; `methods` are the ones it still offers.
    Refused { methods: Vec<String> },
    /// The server offers neither `password` nor `keyboard-interactive`:
    /// passwords cannot be tried at all.
    NoPasswordMethod { methods: Vec<String> },
    /// Key exchange, I/O or the deadline failed (the text says which).
    Failed(String),
}

/// The host key a server showed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostKey {
    /// `ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa` …
    pub algorithm: String,
    /// `SHA256:…` as `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

/// Records the host key and accepts it for this one connection.
struct Recorder {
    seen: Arc<Mutex<Option<HostKey>>>,
}

impl client::Handler for Recorder {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let (algorithm, fingerprint) = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => (
                key.algorithm().as_str().to_string(),
                key.fingerprint(HashAlg::Sha256).to_string(),
            ),
            PublicKeyOrCertificate::Certificate(c) => (
                c.algorithm().as_str().to_string(),
                c.public_key().fingerprint(HashAlg::Sha256).to_string(),
            ),
        };
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(HostKey {
            algorithm,
            fingerprint,
        });
        Ok(true)
    }
}

const KEX: &[kex::Name] = &[
    kex::CURVE25519,
    kex::CURVE25519_PRE_RFC_8731,
    kex::ECDH_SHA2_NISTP256,
    kex::ECDH_SHA2_NISTP384,
    kex::ECDH_SHA2_NISTP521,
    kex::DH_GEX_SHA256,
    kex::DH_G16_SHA512,
    kex::DH_G14_SHA256,
    // Old firmware (Dropbear before 2016, OpenSSH before 7.x builds).
    kex::DH_G14_SHA1,
    kex::DH_GEX_SHA1,
    kex::DH_G1_SHA1,
    kex::EXTENSION_SUPPORT_AS_CLIENT,
    kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
];

const KEYS: &[Algorithm] = &[
    Algorithm::Ed25519,
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP256,
    },
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP384,
    },
    Algorithm::Ecdsa {
        curve: EcdsaCurve::NistP521,
    },
    Algorithm::Rsa {
        hash: Some(HashAlg::Sha512),
    },
    Algorithm::Rsa {
        hash: Some(HashAlg::Sha256),
    },
    Algorithm::Rsa { hash: None },
];

const CIPHERS: &[cipher::Name] = &[
    cipher::CHACHA20_POLY1305,
    cipher::AES_256_GCM,
    cipher::AES_128_GCM,
    cipher::AES_256_CTR,
    cipher::AES_192_CTR,
    cipher::AES_128_CTR,
    cipher::AES_256_CBC,
    cipher::AES_192_CBC,
    cipher::AES_128_CBC,
];

const MACS: &[mac::Name] = &[
    mac::HMAC_SHA512_ETM,
    mac::HMAC_SHA256_ETM,
    mac::HMAC_SHA512,
    mac::HMAC_SHA256,
    mac::HMAC_SHA1_ETM,
    mac::HMAC_SHA1,
];

/// One SSH service being audited. Each attempt runs on a runtime of its
/// own, dropped when the attempt returns: the connection's tasks and
/// socket end with it, whatever state the server left them in (the audit's
/// worker threads stay blocking).
pub struct Client {
    config: Arc<client::Config>,
    /// The host key of the latest attempt that got that far.
    pub host_key: Option<HostKey>,
}

/// An attempt's runtime could not be built (out of file descriptors).
#[derive(Debug, thiserror::Error)]
#[error("cannot start the SSH client runtime: {0}")]
pub struct RuntimeError(#[from] std::io::Error);

fn method_names(m: &[MethodKind]) -> Vec<String> {
    m.iter().map(|k| <&str>::from(k).to_string()).collect()
}

/// What pre-2016 firmware offers at best (Dropbear 2014, OpenSSH 6):
/// SHA-1 Diffie-Hellman, `ssh-rsa` signatures, CTR/CBC and `hmac-sha1`.
const LEGACY_KEX: &[kex::Name] = &[kex::DH_G14_SHA1, kex::DH_GEX_SHA1, kex::DH_G1_SHA1];
const LEGACY_KEYS: &[Algorithm] = &[Algorithm::Rsa { hash: None }];
const LEGACY_CIPHERS: &[cipher::Name] = &[
    cipher::AES_128_CTR,
    cipher::AES_128_CBC,
    cipher::AES_256_CBC,
];
const LEGACY_MACS: &[mac::Name] = &[mac::HMAC_SHA1];

impl Client {
    /// The audit's client: modern algorithms first, then the legacy ones.
    pub fn new(io_timeout: Duration) -> Self {
        Self::with(io_timeout, KEX, KEYS, CIPHERS, MACS)
    }

    /// A client that offers *only* the legacy algorithms, so a test against
    /// a current server can prove that those code paths (SHA-1 DH, RSA/SHA-1
    /// host-key signatures, `hmac-sha1`) really complete a login.
    pub fn legacy_only(io_timeout: Duration) -> Self {
        Self::with(
            io_timeout,
            LEGACY_KEX,
            LEGACY_KEYS,
            LEGACY_CIPHERS,
            LEGACY_MACS,
        )
    }

    fn with(
        io_timeout: Duration,
        kex: &'static [kex::Name],
        keys: &'static [Algorithm],
        ciphers: &'static [cipher::Name],
        macs: &'static [mac::Name],
    ) -> Self {
        let config = client::Config {
            client_id: russh::SshId::Standard(Cow::Borrowed("SSH-2.0-ward_audit")),
            inactivity_timeout: Some(io_timeout),
            preferred: Preferred {
                kex: Cow::Borrowed(kex),
                key: Cow::Borrowed(keys),
                cipher: Cow::Borrowed(ciphers),
                mac: Cow::Borrowed(macs),
                ..Preferred::DEFAULT
            },
            nodelay: true,
            ..client::Config::default()
        };
        Client {
            config: Arc::new(config),
            host_key: None,
        }
    }

    /// Try `user`/`password` over `stream` (connected, not yet spoken to),
    /// all of it within `budget`.
    pub fn try_password(
        &mut self,
        stream: TcpStream,
        user: &str,
        password: &str,
        budget: Duration,
    ) -> Attempt {
        let seen = Arc::new(Mutex::new(None));
        let handler = Recorder {
            seen: Arc::clone(&seen),
        };
        let config = Arc::clone(&self.config);
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return Attempt::Failed(RuntimeError(e).to_string()),
        };
        let attempt = rt.block_on(async move {
            let work = async {
                stream.set_nonblocking(true).map_err(russh::Error::from)?;
                let tcp = tokio::net::TcpStream::from_std(stream)?;
                let mut h = client::connect_stream(config, tcp, handler).await?;
                let r = login(&mut h, user, password).await;
                let _ = h.disconnect(Disconnect::ByApplication, "", "en").await;
                r
            };
            match tokio::time::timeout(budget, work).await {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => Attempt::Failed(e.to_string()),
                Err(_) => Attempt::Failed(format!("no answer within {budget:?}")),
            }
        });
        if let Some(k) = seen.lock().unwrap_or_else(|e| e.into_inner()).take() {
            self.host_key = Some(k);
        }
        attempt
    }
}

async fn login(
    h: &mut Handle<Recorder>,
    user: &str,
    password: &str,
) -> Result<Attempt, russh::Error> {
    let methods = match h.authenticate_password(user, password).await? {
        AuthResult::Success => return Ok(Attempt::Accepted),
        AuthResult::Failure {
            remaining_methods, ..
        } => remaining_methods,
    };
    let names = method_names(&methods);
    if methods.contains(&MethodKind::Password) {
        return Ok(Attempt::Refused { methods: names });
    }
    if !methods.contains(&MethodKind::KeyboardInteractive) {
        return Ok(Attempt::NoPasswordMethod { methods: names });
    }
    // Keyboard-interactive: answer prompts that ask for a password (at
    // most a few rounds: a server asking more is not a password login).
    let mut reply = h
        .authenticate_keyboard_interactive_start(user, None)
        .await?;
    for _ in 0..4 {
        match reply {
            KeyboardInteractiveAuthResponse::Success => return Ok(Attempt::Accepted),
            KeyboardInteractiveAuthResponse::Failure {
                remaining_methods, ..
            } => {
                return Ok(Attempt::Refused {
                    methods: method_names(&remaining_methods),
                })
            }
            KeyboardInteractiveAuthResponse::InfoRequest { prompts, .. } => {
                if prompts.len() > 1
                    || prompts
                        .iter()
                        .any(|p| p.echo || !p.prompt.to_ascii_lowercase().contains("password"))
                {
                    // An OTP, a second factor or a question we cannot answer.
                    return Ok(Attempt::NoPasswordMethod { methods: names });
                }
                let answers = prompts.iter().map(|_| password.to_string()).collect();
                reply = h.authenticate_keyboard_interactive_respond(answers).await?;
            }
        }
    }
    Ok(Attempt::Refused { methods: names })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that offers only `keyboard-interactive` and asks one
    /// non-echoed "Password:" question, as OpenSSH with PAM does (russh's
    /// own server side: no OpenSSH server is in the lab).
    struct KiServer;

    impl russh::server::Handler for KiServer {
        type Error = russh::Error;

        async fn auth_keyboard_interactive<'a>(
            &'a mut self,
            user: &str,
            _submethods: &str,
            response: Option<russh::server::Response<'a>>,
        ) -> Result<russh::server::Auth, Self::Error> {
            use russh::server::Auth;
            Ok(match response {
                None => Auth::Partial {
                    name: Cow::Borrowed(""),
                    instructions: Cow::Borrowed(""),
                    prompts: Cow::Owned(vec![(Cow::Borrowed("Password: "), false)]),
                },
                Some(mut r) => {
                    let answer = r.next();
                    if user == "pi" && answer.as_deref() == Some(b"raspberry".as_slice()) {
                        Auth::Accept
                    } else {
                        Auth::reject()
                    }
                }
            })
        }
    }

    /// Serve `n` connections of `KiServer` on a loopback listener.
    fn ki_server(n: usize) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let seed = [7u8; 32];
        let key = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&seed);
        let config = Arc::new(russh::server::Config {
            methods: russh::MethodSet::from(&[MethodKind::KeyboardInteractive][..]),
            keys: vec![russh::keys::PrivateKey::from(key)],
            auth_rejection_time: Duration::from_millis(10),
            auth_rejection_time_initial: Some(Duration::ZERO),
            ..Default::default()
        });
        let t = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            for _ in 0..n {
                let (s, _) = l.accept().unwrap();
                s.set_nonblocking(true).unwrap();
                let cfg = Arc::clone(&config);
                rt.block_on(async move {
                    let s = tokio::net::TcpStream::from_std(s).unwrap();
                    if let Ok(session) = russh::server::run_stream(cfg, s, KiServer).await {
                        let _ = session.await;
                    }
                });
            }
        });
        (addr, t)
    }

    #[test]
    fn keyboard_interactive_answers_the_password_prompt() {
        let (addr, t) = ki_server(2);
        let mut c = Client::new(Duration::from_secs(2));
        let wrong = c.try_password(
            TcpStream::connect(addr).unwrap(),
            "pi",
            "raspberry1",
            Duration::from_secs(5),
        );
        assert!(matches!(wrong, Attempt::Refused { .. }), "{wrong:?}");
        let right = c.try_password(
            TcpStream::connect(addr).unwrap(),
            "pi",
            "raspberry",
            Duration::from_secs(5),
        );
        assert_eq!(right, Attempt::Accepted);
        assert_eq!(c.host_key.as_ref().unwrap().algorithm, "ssh-ed25519");
        t.join().unwrap();
    }

    #[test]
    fn a_silent_server_fails_within_the_budget() {
        // A listener that never speaks SSH: the attempt must end by the
        // deadline, not hang.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let s = TcpStream::connect(addr).unwrap();
        let mut c = Client::new(Duration::from_millis(300));
        let t = std::time::Instant::now();
        let a = c.try_password(s, "root", "x", Duration::from_millis(400));
        assert!(matches!(a, Attempt::Failed(_)), "{a:?}");
        assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
        assert!(c.host_key.is_none());
        drop(l);
    }

    #[test]
    fn a_non_ssh_server_is_a_failure_not_a_panic() {
        use std::io::Write;
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            if let Ok((mut c, _)) = l.accept() {
                let _ = c.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n\xff\xfe\x00garbage");
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let s = TcpStream::connect(addr).unwrap();
        let mut c = Client::new(Duration::from_millis(500));
        let a = c.try_password(s, "root", "x", Duration::from_secs(2));
        assert!(matches!(a, Attempt::Failed(_)), "{a:?}");
        let _ = t.join();
    }
}
