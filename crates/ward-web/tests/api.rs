//! The dashboard's HTTP surface, through the router (no sockets): auth,
//! login, CSRF, rate limits, JSON shapes, escaping, headers, metrics.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use argon2::password_hash::PasswordHasher;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use axum::Router;
use futures_util::StreamExt;
use serde_json::Value;
use tower::ServiceExt;
use ward_core::event::{DeviceRecord, Evidence};
use ward_core::{Alert, AlertCategory, Event, EventType, Finding, FindingKind, MacAddr, Timestamp};
use ward_store::{AlertStatus, Store};
use ward_web::{router, AppState, ClientAddr};

const SECRET: &str = "test-secret-0123456789";
const CAM: MacAddr = MacAddr([0x00, 0x40, 0x8c, 0x11, 0x22, 0x33]);

fn ts(s: i64) -> Timestamp {
    Timestamp::from_secs(1_714_521_600 + s)
}

fn events() -> Vec<Event> {
    let mut dev = Event::new(ts(1), EventType::Device);
    dev.device = Some(DeviceRecord {
        mac: Some(CAM),
        ips: vec!["192.168.1.30".parse().unwrap()],
        vendor: Some("Axis Communications AB".into()),
        hostname: Some("<script>alert(1)</script>".into()),
        category: Some("camera".into()),
        model: None,
        confidence: Some(0.9),
        evidence: vec![Evidence {
            source: "oui".into(),
            value: "00:40:8c Axis".into(),
        }],
        first_seen: ts(0),
        last_seen: ts(60),
        reason: "new".into(),
        random_mac: false,
        pkts_sent: 100,
        bytes_sent: 10_000,
        pkts_received: 50,
        bytes_received: 5_000,
        services: vec!["TCP/23".into()],
        protocols: vec![],
    });
    let mut evidence = BTreeMap::new();
    evidence.insert("ports".to_string(), serde_json::json!(200));
    let alert = Event::alert(
        ts(50),
        Alert {
            category: AlertCategory::Recon,
            signature: "tcp-port-scan".into(),
            severity: 2,
            confidence: 0.9,
            summary: "192.168.1.66 scanned 200 TCP ports of the camera".into(),
            evidence,
            devices: vec![CAM.to_string()],
            attacker: Some("192.168.1.66".parse().unwrap()),
            victims: vec!["192.168.1.30".parse().unwrap()],
            first_seen: ts(40),
            last_seen: ts(50),
            count: 200,
            detector: "recon".into(),
        },
    );
    let finding = Event::finding(
        ts(30),
        Finding {
            kind: FindingKind::RiskyService,
            protocol: "telnet".into(),
            severity: 2,
            summary: "The camera has Telnet open".into(),
            username: None,
            secret: None,
            secret_redacted: false,
            outcome: None,
            device: Some(CAM.to_string()),
            evidence: BTreeMap::new(),
            remedy: Some("Turn Telnet off in the camera's settings".into()),
        },
    );
    let mut flow = Event::new(ts(120), EventType::Flow).with_endpoints(
        Some(("192.168.1.30".parse().unwrap(), 50000)),
        Some(("203.0.113.5".parse().unwrap(), 443)),
        Some(6),
    );
    flow.src_mac = Some(CAM);
    flow.flow = Some(ward_core::event::FlowRecord {
        pkts_toserver: 30,
        pkts_toclient: 30,
        bytes_toserver: 3000,
        bytes_toclient: 9000,
        start: ts(0),
        end: ts(120),
        state: "closed".into(),
        reason: "shutdown".into(),
        tcp_flags: None,
        tcp_flags_ts: None,
        tcp_flags_tc: None,
        app_proto: Some("tls".into()),
        vlan: None,
    });
    vec![dev, alert, finding, flow]
}

/// A router over a fresh store whose admin secret is [`SECRET`], hashed
/// with deliberately cheap argon2 parameters so debug-build tests stay fast
/// (verification reads the parameters from the stored hash).
fn app() -> (tempfile::TempDir, AppState, Router) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(dir.path().join("ward.db")).unwrap();
    store.ingest(&events()).unwrap();
    let params = argon2::Params::new(64, 1, 1, None).unwrap();
    let a2 = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let hash = a2
        .hash_password_with_salt(SECRET.as_bytes(), b"0123456789abcdef")
        .unwrap()
        .to_string();
    store.set_credential("admin", &hash, 0).unwrap();
    let state = AppState::new(store, false);
    (dir, state.clone(), router(state))
}

fn from(ip: &str) -> ConnectInfo<ClientAddr> {
    ConnectInfo(ClientAddr(SocketAddr::new(ip.parse().unwrap(), 40000)))
}

async fn send(app: &Router, mut req: Request<Body>) -> Response {
    if req.extensions().get::<ConnectInfo<ClientAddr>>().is_none() {
        req.extensions_mut().insert(from("127.0.0.1"));
    }
    app.clone().oneshot(req).await.unwrap()
}

async fn body_text(r: Response) -> String {
    let b = axum::body::to_bytes(r.into_body(), 1 << 22).await.unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

async fn body_json(r: Response) -> Value {
    serde_json::from_str(&body_text(r).await).unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn set_cookies(r: &Response) -> Vec<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

fn cookie_value(set: &[String], name: &str) -> Option<String> {
    set.iter().find_map(|c| {
        c.split(';')
            .next()?
            .strip_prefix(&format!("{name}="))
            .map(str::to_string)
    })
}

/// The login form's token and cookie.
async fn login_form(app: &Router) -> (String, String) {
    let r = send(app, get("/login")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let cookie = cookie_value(&set_cookies(&r), "ward_login").unwrap();
    let html = body_text(r).await;
    let token = html
        .split(r#"name="csrf" value=""#)
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    (token, cookie)
}

async fn try_login(app: &Router, ip: &str, password: &str) -> Response {
    let (token, cookie) = login_form(app).await;
    let body = format!(
        "password={}&csrf={token}&next=%2Fdevices",
        ward_web::html::url_enc(password)
    );
    let mut req = Request::post("/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("ward_login={cookie}"))
        .body(Body::from(body))
        .unwrap();
    req.extensions_mut().insert(from(ip));
    send(app, req).await
}

/// Sign in; returns the session cookie and its CSRF token.
async fn login(app: &Router) -> (String, String) {
    let r = try_login(app, "127.0.0.1", SECRET).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "/devices");
    let cookies = set_cookies(&r);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("ward_session="))
        .unwrap();
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Strict"), "{session}");
    assert!(
        !session.contains("Secure"),
        "plain HTTP must not set Secure"
    );
    let sid = cookie_value(&cookies, "ward_session").unwrap();
    assert!(sid.len() >= 43, "session id of 32 random bytes");
    let r = send(
        app,
        Request::get("/api/session")
            .header(header::COOKIE, format!("ward_session={sid}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let csrf = body_json(r).await["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    (format!("ward_session={sid}"), csrf)
}

fn authed(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn everything_but_login_needs_authentication() {
    let (_d, _s, app) = app();
    for uri in [
        "/api/devices",
        "/api/devices/x",
        "/api/alerts",
        "/api/findings",
        "/api/stats",
        "/api/session",
        "/metrics",
        "/events/stream",
    ] {
        let r = send(&app, get(uri)).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{uri}");
    }
    for uri in ["/", "/devices", "/alerts", "/findings", "/devices/x"] {
        let r = send(&app, get(uri)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{uri}");
        assert!(r.headers()[header::LOCATION]
            .to_str()
            .unwrap()
            .starts_with("/login?next="));
    }
    let r = send(
        &app,
        Request::post("/api/alerts/1/status")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"status":"muted"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A made-up session id is no session.
    let r = send(&app, authed("/api/devices", "ward_session=AAAA")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    for uri in [
        "/api/openapi.yaml",
        "/static/style.css",
        "/static/live.js",
        "/login",
    ] {
        let r = send(&app, get(uri)).await;
        assert_eq!(r.status(), StatusCode::OK, "{uri}");
    }
}

#[tokio::test]
async fn login_sets_a_session_and_logout_ends_it() {
    let (_d, _s, app) = app();
    let r = try_login(&app, "127.0.0.1", "wrong").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(cookie_value(&set_cookies(&r), "ward_session").is_none());
    let (cookie, csrf) = login(&app).await;
    let r = send(&app, authed("/", &cookie)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(html.contains("Network security score"));

    // Logout needs the CSRF token too.
    let logout = |csrf: String| {
        Request::post("/logout")
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={csrf}")))
            .unwrap()
    };
    let r = send(&app, logout("nope".into())).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(&app, logout(csrf)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = send(&app, authed("/api/devices", &cookie)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_form_without_its_cookie_is_rejected() {
    let (_d, _s, app) = app();
    let (token, _cookie) = login_form(&app).await;
    let r = send(
        &app,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("password={SECRET}&csrf={token}")))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn failed_logins_are_rate_limited_per_ip() {
    let (_d, _s, app) = app();
    for _ in 0..ward_web::auth::FAILS_PER_IP {
        let r = try_login(&app, "192.0.2.7", "guess").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right secret is refused now, from that address.
    let r = try_login(&app, "192.0.2.7", SECRET).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key(header::RETRY_AFTER));
    // Another address still gets in.
    let r = try_login(&app, "192.0.2.8", SECRET).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Bearer guesses count against the same limiter.
    for _ in 0..ward_web::auth::FAILS_PER_IP {
        let mut req = Request::get("/api/stats")
            .header(header::AUTHORIZATION, "Bearer nope")
            .body(Body::empty())
            .unwrap();
        req.extensions_mut().insert(from("192.0.2.9"));
        assert_eq!(send(&app, req).await.status(), StatusCode::UNAUTHORIZED);
    }
    let mut req = Request::get("/api/stats")
        .header(header::AUTHORIZATION, format!("Bearer {SECRET}"))
        .body(Body::empty())
        .unwrap();
    req.extensions_mut().insert(from("192.0.2.9"));
    assert_eq!(
        send(&app, req).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn state_changes_need_the_csrf_token() {
    let (_d, state, app) = app();
    let (cookie, csrf) = login(&app).await;
    let id = body_json(send(&app, authed("/api/alerts", &cookie)).await).await["alerts"][0]["id"]
        .as_i64()
        .unwrap();
    let post = |token: Option<&str>, body: &str| {
        let mut b = Request::post(format!("/api/alerts/{id}/status"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            b = b.header("X-CSRF-Token", t);
        }
        b.body(Body::from(body.to_string())).unwrap()
    };
    let r = send(&app, post(None, r#"{"status":"muted"}"#)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = send(&app, post(Some("forged"), r#"{"status":"muted"}"#)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let status = |state: AppState| async move {
        state
            .db(move |s| s.alert(id))
            .await
            .unwrap()
            .unwrap()
            .status
    };
    assert_eq!(status(state.clone()).await, AlertStatus::Open);

    // The form route too.
    let r = send(
        &app,
        Request::post(format!("/alerts/{id}/action"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("action=mute"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(status(state.clone()).await, AlertStatus::Open);

    let r = send(&app, post(Some(&csrf), r#"{"status":"bogus"}"#)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = send(
        &app,
        post(Some(&csrf), r#"{"status":"muted","note":"my own scanner"}"#),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let row = body_json(r).await;
    assert_eq!(row["status"], "muted");
    assert_eq!(row["note"], "my own scanner");
    assert_eq!(status(state.clone()).await, AlertStatus::Muted);

    // The form with the token works and redirects back.
    let r = send(
        &app,
        Request::post(format!("/alerts/{id}/action"))
            .header(header::COOKIE, &cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "action=normal&csrf={csrf}&note=fine&back=%2F%2Fevil.example"
            )))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], format!("/#alert-{id}"));
    assert_eq!(status(state.clone()).await, AlertStatus::Normal);
    let rules = state.db(|s| s.suppressions()).await.unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].subject.as_deref(), Some("192.168.1.66"));

    // The rule is listed, and removing it needs the token as well.
    let v = body_json(send(&app, authed("/api/suppressions", &cookie)).await).await;
    assert_eq!(v["count"], 1);
    let rule = v["suppressions"][0]["id"].as_i64().unwrap();
    let delete = |token: Option<&str>| {
        let mut b =
            Request::delete(format!("/api/suppressions/{rule}")).header(header::COOKIE, &cookie);
        if let Some(t) = token {
            b = b.header("X-CSRF-Token", t);
        }
        b.body(Body::empty()).unwrap()
    };
    assert_eq!(
        send(&app, delete(None)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&app, delete(Some(&csrf))).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&app, delete(Some(&csrf))).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(state.db(|s| s.suppressions()).await.unwrap().is_empty());
}

/// Every path in openapi.yaml is routed with the documented method (a
/// missing route would answer axum's empty 404 or a 405).
#[tokio::test]
async fn every_documented_route_exists() {
    let (_d, _s, app) = app();
    let (cookie, csrf) = login(&app).await;
    let doc = include_str!("../openapi.yaml");
    let mut path = None;
    let mut checked = 0;
    for line in doc.lines() {
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = Some(format!("/{}", p.replace("{id}", "1")));
            continue;
        }
        let Some(p) = &path else { continue };
        let method = match line.trim_end() {
            "    get:" => "GET",
            "    post:" => "POST",
            "    delete:" => "DELETE",
            _ => continue,
        };
        if p == "/events/stream" {
            continue;
        }
        let body = if method == "POST" {
            r#"{"status":"open"}"#
        } else {
            ""
        };
        let req = Request::builder()
            .method(method)
            .uri(p.as_str())
            .header(header::COOKIE, &cookie)
            .header("X-CSRF-Token", &csrf)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let r = send(&app, req).await;
        let status = r.status();
        let text = body_text(r).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {p}");
        assert!(
            status != StatusCode::NOT_FOUND || text.contains("error"),
            "{method} {p} is not routed"
        );
        checked += 1;
    }
    assert!(checked >= 10, "parsed only {checked} operations");
}

#[tokio::test]
async fn bearer_secret_works_for_api_and_metrics() {
    let (_d, _s, app) = app();
    let bearer = |uri: &str| {
        Request::get(uri)
            .header(header::AUTHORIZATION, format!("Bearer {SECRET}"))
            .body(Body::empty())
            .unwrap()
    };
    let r = send(&app, bearer("/metrics")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let text = body_text(r).await;
    assert!(
        text.contains(r#"ward_devices{category="camera"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"ward_alerts_open{category="recon",severity="2"} 1"#),
        "{text}"
    );
    assert!(text.contains(r#"ward_findings_open{kind="risky-service"} 1"#));
    assert!(text.contains("ward_security_score "));
    // No addresses as label values.
    assert!(!text.contains("192.168."), "{text}");
    assert!(!text.contains("00:40:8c"), "{text}");
    // Bearer writes need no CSRF token (browsers never add the header).
    let r = send(
        &app,
        Request::post("/api/alerts/1/status")
            .header(header::AUTHORIZATION, format!("Bearer {SECRET}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"status":"acknowledged"}"#))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn json_shapes_match_the_openapi_document() {
    let (_d, _s, app) = app();
    let (cookie, _) = login(&app).await;
    let v = body_json(send(&app, authed("/api/devices?q=axis&sort=name", &cookie)).await).await;
    assert_eq!(v["count"], 1);
    let d = &v["devices"][0];
    for key in [
        "id",
        "mac",
        "vendor",
        "hostname",
        "category",
        "ips",
        "evidence",
        "first_seen",
        "last_seen",
        "risk",
        "open_alerts",
        "findings",
    ] {
        assert!(d.get(key).is_some(), "device lacks {key}: {d}");
    }
    assert_eq!(d["risk"], 20);
    assert_eq!(d["open_alerts"], 1);
    assert!(d["first_seen"].as_str().unwrap().ends_with('Z'));

    let id = d["id"].as_str().unwrap();
    let v = body_json(
        send(
            &app,
            authed(
                &format!("/api/devices/{}", ward_web::html::url_enc(id)),
                &cookie,
            ),
        )
        .await,
    )
    .await;
    for key in ["device", "history", "findings", "alerts", "traffic"] {
        assert!(v.get(key).is_some(), "detail lacks {key}");
    }
    assert_eq!(v["alerts"][0]["signature"], "tcp-port-scan");
    assert_eq!(v["findings"][0]["kind"], "risky-service");

    let r = send(&app, authed("/api/devices/nope", &cookie)).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(body_json(r).await["error"].is_string());

    let v = body_json(send(&app, authed("/api/alerts?status=active", &cookie)).await).await;
    assert_eq!(v["count"], 1);
    let a = &v["alerts"][0];
    for key in [
        "id",
        "category",
        "signature",
        "severity",
        "summary",
        "evidence",
        "status",
        "first_seen",
        "last_seen",
        "attacker",
        "victims",
        "count",
        "detector",
    ] {
        assert!(a.get(key).is_some(), "alert lacks {key}");
    }
    assert_eq!(a["evidence"]["ports"], 200);
    let r = send(&app, authed("/api/alerts?status=bogus", &cookie)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = send(&app, authed("/api/devices?sort=bogus", &cookie)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let v = body_json(send(&app, authed("/api/findings", &cookie)).await).await;
    assert_eq!(v["count"], 1);
    assert_eq!(
        v["findings"][0]["remedy"],
        "Turn Telnet off in the camera's settings"
    );

    let v = body_json(send(&app, authed("/api/stats", &cookie)).await).await;
    assert_eq!(v["penalty"], 20);
    assert_eq!(v["score"], ward_store::security_score(20));
    assert_eq!(v["devices"], 1);
}

#[tokio::test]
async fn pages_escape_what_came_from_the_network() {
    let (_d, _s, app) = app();
    let (cookie, _) = login(&app).await;
    let id = ward_web::html::url_enc(&CAM.to_string());
    for uri in ["/".to_string(), "/devices".into(), format!("/devices/{id}")] {
        let r = send(&app, authed(&uri, &cookie)).await;
        assert_eq!(r.status(), StatusCode::OK, "{uri}");
        let h = r.headers();
        assert!(h[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        let html = body_text(r).await;
        assert!(!html.contains("<script>alert(1)"), "{uri} unescaped");
        if uri != "/" {
            assert!(
                html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
                "{uri}"
            );
        }
    }
    let html = body_text(send(&app, authed(&format!("/devices/{id}"), &cookie)).await).await;
    assert!(
        html.contains("Turn Telnet off"),
        "what to do lists the remedy"
    );
    assert!(html.contains(r#"class="area""#), "traffic chart drawn");
    let html = body_text(send(&app, authed("/alerts", &cookie)).await).await;
    assert!(html.contains("scanned 200 TCP ports"));
    assert!(html.contains(r#"value="normal""#));
}

#[tokio::test]
async fn live_stream_sends_the_change_marker() {
    let (_d, state, app) = app();
    let (cookie, _) = login(&app).await;
    let r = send(&app, authed("/events/stream", &cookie)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = r.into_body().into_data_stream();
    let first = body.next().await.unwrap().unwrap();
    let text = String::from_utf8(first.to_vec()).unwrap();
    assert!(text.starts_with("event: change"), "{text}");
    assert!(text.contains(r#""batch_id":1"#), "{text}");
    // A new batch → a new event.
    state.db(|s| s.ingest(&events()).map(|_| ())).await.unwrap();
    state.refresh_marker().await;
    let next = body.next().await.unwrap().unwrap();
    let text = String::from_utf8(next.to_vec()).unwrap();
    assert!(text.contains(r#""batch_id":2"#), "{text}");
    state.begin_shutdown();
    assert!(body.next().await.is_none(), "stream ends at shutdown");
}

#[tokio::test]
async fn loopback_only_refuses_foreign_host_names() {
    let (_d, state, app) = app();
    state.set_loopback_only(true);
    let with_host = |host: &str| {
        Request::get("/login")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(&app, with_host("127.0.0.1:8470")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&app, with_host("localhost:8470")).await.status(),
        StatusCode::OK
    );
    // A DNS-rebinding page sends its own host name.
    assert_eq!(
        send(&app, with_host("rebind.evil.example:8470"))
            .await
            .status(),
        StatusCode::MISDIRECTED_REQUEST
    );
}
