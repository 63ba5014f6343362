//! ward's web dashboard and JSON API over the embedded store.
//!
//! Server-rendered HTML (no client framework; one small script for live
//! updates over server-sent events), SVG charts drawn on the server, a JSON
//! API described in `openapi.yaml`, and Prometheus metrics.
//!
//! # Guarantees
//! * Every page and API route except `/login`, the static files and
//!   `/api/openapi.yaml` needs a session or the admin bearer secret (see
//!   [`auth`] for sessions, CSRF and rate limits). `/metrics` needs them too.
//! * Responses carry a strict Content-Security-Policy (no inline script or
//!   style), `X-Frame-Options: DENY`, `nosniff` and `no-referrer`; signed-in
//!   pages are `Cache-Control: no-store`.
//! * Store work runs on the blocking pool, never on the async executor.
//! * Metrics labels come from closed vocabularies (alert categories,
//!   finding kinds, severities, a capped set of device categories): never
//!   addresses.
#![forbid(unsafe_code)]

pub mod api;
pub mod auth;
pub mod html;
mod live;
mod metrics;
mod pages;
#[cfg(feature = "tls")]
pub mod tls;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::watch;
use ward_store::{ChangeMarker, Store, StoreError};

use auth::{RateLimiter, Sessions};

/// Where `ward serve` listens unless told otherwise (loopback only).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8470";
/// How often the store is polled for new data (for live updates).
const POLL_EVERY: Duration = Duration::from_secs(2);
/// Live-update streams open at once at most.
const MAX_STREAMS: usize = 64;

/// Errors of the web layer.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("no randomness from the operating system: {0}")]
    Random(String),
    #[error("password hashing: {0}")]
    Hash(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("background task failed: {0}")]
    Task(String),
}

/// The client's address, as the listener saw it (for rate limiting).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

impl Connected<axum::serve::IncomingStream<'_, tokio::net::TcpListener>> for ClientAddr {
    fn connect_info(s: axum::serve::IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        ClientAddr(*s.remote_addr())
    }
}

/// Shared server state.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    store: Mutex<Store>,
    sessions: Mutex<Sessions>,
    limiter: Mutex<RateLimiter>,
    /// Set cookies with `Secure` (served over TLS).
    secure_cookies: bool,
    changes: watch::Sender<ChangeMarker>,
    shutdown: watch::Sender<bool>,
    streams: AtomicUsize,
    /// Accept only loopback `Host` headers (see [`AppState::set_loopback_only`]).
    loopback_only: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; go on with it.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl AppState {
    pub fn new(store: Store, secure_cookies: bool) -> AppState {
        let marker = store.change_marker().unwrap_or_default();
        AppState(Arc::new(Inner {
            store: Mutex::new(store),
            sessions: Mutex::new(Sessions::default()),
            limiter: Mutex::new(RateLimiter::default()),
            secure_cookies,
            changes: watch::channel(marker).0,
            shutdown: watch::channel(false).0,
            streams: AtomicUsize::new(0),
            loopback_only: AtomicBool::new(false),
        }))
    }

    /// Answer only requests whose `Host` is a loopback name or address.
    /// `ward serve` turns this on when it listens on loopback: a web page
    /// elsewhere cannot then reach the dashboard through DNS rebinding
    /// (its requests carry the attacker's host name).
    pub fn set_loopback_only(&self, on: bool) {
        self.0.loopback_only.store(on, Ordering::Relaxed);
    }

    /// Run `f` on the store on the blocking pool.
    pub async fn db<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.0.clone();
        tokio::task::spawn_blocking(move || f(&mut lock(&inner.store)))
            .await
            .map_err(|e| AppError::internal(WebError::Task(e.to_string())))?
            .map_err(AppError::from)
    }

    /// Re-read the change marker now and tell live pages if it moved.
    pub async fn refresh_marker(&self) {
        if let Ok(m) = self.db(|s| s.change_marker()).await {
            self.0.changes.send_if_modified(|cur| {
                let changed = *cur != m;
                *cur = m;
                changed
            });
        }
    }

    /// End live-update streams (so a graceful shutdown does not wait on them).
    pub fn begin_shutdown(&self) {
        let _ = self.0.shutdown.send(true);
    }
}

/// An error as the client sees it: a status and one sentence. Store and
/// internal errors are logged to stderr and shown as a generic message.
#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub message: String,
}

impl AppError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> AppError {
        AppError {
            status,
            message: message.into(),
        }
    }
    pub fn internal(e: impl std::fmt::Display) -> AppError {
        eprintln!("ward serve: internal error: {e}");
        AppError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
    pub fn not_found(what: &str) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, format!("no such {what}"))
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::BadStatus(_) => AppError::new(StatusCode::BAD_REQUEST, e.to_string()),
            e => AppError::internal(e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message }).to_string();
        (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    }
}

/// The client IP, when the listener provided one.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<ClientAddr>>()
        .map(|c| c.0 .0.ip())
}

/// A cookie's value from the request.
pub fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A signed-in request.
#[derive(Clone, Debug)]
pub struct Authed {
    /// The session's CSRF token (empty for bearer requests).
    pub csrf: String,
    /// Authenticated with `Authorization: Bearer` (no CSRF check needed).
    pub bearer: bool,
    pub session_id: Option<String>,
}

/// Why a request is not signed in; pages redirect to the login form, the
/// API answers 401 (or 429 when rate-limited).
pub enum AuthRejection {
    Login { next: String },
    Unauthorized,
    Limited(Duration),
    Error(AppError),
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        match self {
            AuthRejection::Login { next } => {
                Redirect::to(&format!("/login?next={}", html::url_enc(&next))).into_response()
            }
            AuthRejection::Unauthorized => {
                let mut r =
                    AppError::new(StatusCode::UNAUTHORIZED, "sign in first").into_response();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"ward\""),
                );
                r
            }
            AuthRejection::Limited(wait) => {
                let mut r = AppError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many failed attempts; wait",
                )
                .into_response();
                if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            AuthRejection::Error(e) => e.into_response(),
        }
    }
}

fn is_page(path: &str) -> bool {
    !(path.starts_with("/api/") || path == "/metrics" || path.starts_with("/events/"))
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let now = Instant::now();
        if let Some(id) = cookie(parts, auth::SESSION_COOKIE) {
            if let Some(s) = lock(&st.0.sessions).get(id, now) {
                return Ok(Authed {
                    csrf: s.csrf,
                    bearer: false,
                    session_id: Some(id.to_string()),
                });
            }
        }
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        if let Some(token) = bearer {
            let ip = client_ip(parts);
            lock(&st.0.limiter)
                .check(ip, now)
                .map_err(AuthRejection::Limited)?;
            let ok = st
                .db(move |s| {
                    Ok(s.credential(auth::ADMIN)?
                        .is_some_and(|h| auth::verify_secret(&token, &h)))
                })
                .await
                .map_err(AuthRejection::Error)?;
            if ok {
                return Ok(Authed {
                    csrf: String::new(),
                    bearer: true,
                    session_id: None,
                });
            }
            lock(&st.0.limiter).record_failure(ip, now);
            return Err(AuthRejection::Unauthorized);
        }
        let path = parts.uri.path();
        if is_page(path) && parts.method == axum::http::Method::GET {
            let next = parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into());
            Err(AuthRejection::Login { next })
        } else {
            Err(AuthRejection::Unauthorized)
        }
    }
}

impl Authed {
    /// Check a CSRF token sent with a state-changing request.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), AppError> {
        if self.bearer {
            return Ok(());
        }
        match sent {
            Some(t) if !self.csrf.is_empty() && auth::ct_eq(t, &self.csrf) => Ok(()),
            _ => Err(AppError::new(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token; reload the page and try again",
            )),
        }
    }
}

/// `localhost`, `127.0.0.1`, `[::1]` (any port).
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((name, _)) => name,
            None => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

async fn check_host(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if st.0.loopback_only.load(Ordering::Relaxed) {
        let host = req
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        if !is_loopback_host(host) {
            return AppError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "this dashboard answers only to localhost",
            )
            .into_response();
        }
    }
    next.run(req).await
}

async fn security_headers(req: Request, next: Next) -> Response {
    let static_file = req.uri().path().starts_with("/static/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !static_file && !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

const STYLE_CSS: &str = include_str!("../static/style.css");
const LIVE_JS: &str = include_str!("../static/live.js");
const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

fn static_file(ct: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, ct),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        body,
    )
        .into_response()
}

/// Every route.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/devices", get(pages::devices))
        .route("/devices/{id}", get(pages::device))
        .route("/alerts", get(pages::alerts))
        .route("/alerts/{id}/action", post(pages::alert_action))
        .route("/findings", get(pages::findings))
        .route("/suppressions/{id}/delete", post(pages::delete_suppression))
        .route(
            "/static/style.css",
            get(|| async { static_file("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route(
            "/static/live.js",
            get(|| async { static_file("text/javascript; charset=utf-8", LIVE_JS) }),
        )
        .route(
            "/api/openapi.yaml",
            get(|| async { static_file("application/yaml", OPENAPI_YAML) }),
        )
        .route("/events/stream", get(live::stream))
        .route("/api/session", get(api::session))
        .route("/api/devices", get(api::devices))
        .route("/api/devices/{id}", get(api::device))
        .route("/api/alerts", get(api::alerts))
        .route("/api/alerts/{id}/status", post(api::set_alert_status))
        .route("/api/findings", get(api::findings))
        .route("/api/suppressions", get(api::suppressions))
        .route(
            "/api/suppressions/{id}",
            axum::routing::delete(api::delete_suppression),
        )
        .route("/api/stats", get(api::stats))
        .route("/metrics", get(metrics::metrics))
        .layer(middleware::from_fn_with_state(state.clone(), check_host))
        .layer(middleware::from_fn(security_headers))
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

/// Poll the store for changes (another process writes it) and publish them
/// to live pages, until shutdown.
pub fn spawn_change_poller(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut shut = state.0.shutdown.subscribe();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(POLL_EVERY) => state.refresh_marker().await,
                _ = shut.changed() => return,
            }
        }
    })
}

/// Serve `state` on `listener` (plain HTTP) until `shutdown` resolves.
pub async fn serve_plain(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let poller = spawn_change_poller(state.clone());
    let app = router(state.clone()).into_make_service_with_connect_info::<ClientAddr>();
    let st = state.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            st.begin_shutdown();
        })
        .await?;
    state.begin_shutdown();
    let _ = poller.await;
    Ok(())
}

/// How `ward serve` runs.
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// PEM certificate chain and private key; HTTPS when set.
    pub tls: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

/// Whether binding `addr` exposes the dashboard beyond this machine.
pub fn is_exposed(addr: &SocketAddr) -> bool {
    !addr.ip().is_loopback()
}

/// Run the server on a current-thread runtime until Ctrl-C / SIGTERM.
/// Calls `on_listening` with the bound address once it accepts connections.
pub fn run(
    store: Store,
    opts: ServeOptions,
    on_listening: impl FnOnce(SocketAddr, bool),
) -> Result<(), WebError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.listen)
            .await
            .map_err(|source| WebError::Bind {
                addr: opts.listen,
                source,
            })?;
        let local = listener.local_addr()?;
        match opts.tls {
            #[cfg(feature = "tls")]
            Some((cert, key)) => {
                let config = tls::server_config(&cert, &key)?;
                let state = AppState::new(store, true);
                state.set_loopback_only(!is_exposed(&local));
                on_listening(local, true);
                tls::serve_tls(state, listener, config, shutdown_signal()).await
            }
            #[cfg(not(feature = "tls"))]
            Some(_) => Err(WebError::Tls(
                "this ward was built without the `tls` feature".into(),
            )),
            None => {
                let state = AppState::new(store, false);
                state.set_loopback_only(!is_exposed(&local));
                on_listening(local, false);
                serve_plain(state, listener, shutdown_signal()).await
            }
        }
    })
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `Infallible` helper for streams.
pub(crate) type NoError = Infallible;

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "localhost:8470",
            "127.0.0.1:8470",
            "[::1]:8470",
            "127.0.0.1",
            "LOCALHOST",
        ] {
            assert!(super::is_loopback_host(h), "{h}");
        }
        for h in [
            "evil.example",
            "evil.example:8470",
            "192.168.1.2:8470",
            "",
            "[::1",
            "localhost.evil.example",
        ] {
            assert!(!super::is_loopback_host(h), "{h}");
        }
    }
}
