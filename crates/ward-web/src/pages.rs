//! The HTML pages: sign-in, overview, inventory, device, alerts, findings.

use std::collections::BTreeSet;
use std::fmt::Write;
use std::time::Instant;

use axum::extract::{Path, Query, State};
use axum::http::header::{self, HeaderValue};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use ward_core::Timestamp;
use ward_store::{AlertRow, AlertStatus, ChangeMarker, DeviceRow, FindingRow};

use crate::api::{change_alert_status, AlertParams, DeviceParams, FindingParams};
use crate::auth::{self, LOGIN_COOKIE, SESSION_COOKIE};
use crate::html::{self, esc, layout, url_enc, when, Nav, PageCtx};
use crate::{client_ip, cookie, lock, AppError, AppState, Authed};

/// An error shown as a page.
pub struct PageError(AppError);

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = format!(
            r#"<h1>{}</h1><p>{}</p><p><a href="/">Back to the overview</a></p>"#,
            self.0.status.as_u16(),
            esc(&self.0.message)
        );
        (self.0.status, Html(layout("Error", Nav::None, None, &body))).into_response()
    }
}

type PageResult = Result<Html<String>, PageError>;

pub fn marker_string(m: &ChangeMarker) -> String {
    format!(
        "{}-{}-{}-{}",
        m.batch_id, m.max_alert_id, m.devices, m.open_alerts
    )
}

async fn ctx(st: &AppState, auth: &Authed) -> Result<PageCtx, AppError> {
    let m = st.db(|s| s.change_marker()).await?;
    Ok(PageCtx {
        csrf: auth.csrf.clone(),
        marker: marker_string(&m),
    })
}

/// Only local paths may be redirect targets (no `//host`, no schemes).
pub fn safe_next(next: &str) -> String {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control())
        && next.len() <= 512;
    if ok {
        next.to_string()
    } else {
        "/".into()
    }
}

fn cookie_header(st: &AppState, name: &str, value: &str, path: &str, max_age: u64) -> String {
    format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if st.0.secure_cookies { "; Secure" } else { "" }
    )
}

// ---------------------------------------------------------------- sign-in

#[derive(Debug, Default, Deserialize)]
pub struct NextParam {
    pub next: Option<String>,
}

fn login_page(
    st: &AppState,
    status: StatusCode,
    next: &str,
    message: Option<&str>,
) -> Result<Response, PageError> {
    let token = auth::random_token(32).map_err(AppError::internal)?;
    let msg = message
        .map(|m| format!(r#"<p class="error" role="alert">{}</p>"#, esc(m)))
        .unwrap_or_default();
    let body = format!(
        r#"<section class="login"><h1>Sign in to ward</h1>{msg}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="{token}"><input type="hidden" name="next" value="{next}">
<label for="password">Admin secret</label>
<input type="password" id="password" name="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button></form>
<p class="muted">The secret was printed once when <code>ward serve</code> first started.
Lost it? Run <code>ward serve --reset-password</code>.</p></section>"#,
        next = esc(&safe_next(next)),
    );
    let set = cookie_header(st, LOGIN_COOKIE, &token, "/login", 1800);
    Ok((
        status,
        AppendHeaders([(header::SET_COOKIE, set)]),
        Html(layout("Sign in", Nav::None, None, &body)),
    )
        .into_response())
}

pub async fn login_form(
    State(st): State<AppState>,
    Query(p): Query<NextParam>,
) -> Result<Response, PageError> {
    login_page(&st, StatusCode::OK, p.next.as_deref().unwrap_or("/"), None)
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub csrf: String,
    pub next: Option<String>,
}

pub async fn login(
    State(st): State<AppState>,
    parts: Parts,
    Form(f): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(f.next.as_deref().unwrap_or("/"));
    let ip = client_ip(&parts);
    let now = Instant::now();
    if let Err(wait) = lock(&st.0.limiter).check(ip, now) {
        let mut r = login_page(
            &st,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            Some(&format!(
                "Too many failed attempts. Try again in {} seconds.",
                wait.as_secs().max(1)
            )),
        )?;
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let form_ok = cookie(&parts, LOGIN_COOKIE).is_some_and(|c| auth::ct_eq(c, &f.csrf));
    if !form_ok {
        return login_page(
            &st,
            StatusCode::FORBIDDEN,
            &next,
            Some("The sign-in form expired. Please try again."),
        );
    }
    let password = f.password;
    let ok = st
        .db(move |s| {
            Ok(s.credential(auth::ADMIN)?
                .is_some_and(|h| auth::verify_secret(&password, &h)))
        })
        .await?;
    if !ok {
        lock(&st.0.limiter).record_failure(ip, now);
        return login_page(
            &st,
            StatusCode::UNAUTHORIZED,
            &next,
            Some("That secret is not right."),
        );
    }
    lock(&st.0.limiter).record_success(ip);
    let (id, _) = lock(&st.0.sessions)
        .create(now)
        .map_err(AppError::internal)?;
    let session = cookie_header(&st, SESSION_COOKIE, &id, "/", auth::SESSION_MAX.as_secs());
    let clear = cookie_header(&st, LOGIN_COOKIE, "", "/login", 0);
    Ok((
        AppendHeaders([(header::SET_COOKIE, session), (header::SET_COOKIE, clear)]),
        Redirect::to(&next),
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    auth: Authed,
    State(st): State<AppState>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    auth.check_csrf(Some(&f.csrf))?;
    if let Some(id) = &auth.session_id {
        lock(&st.0.sessions).remove(id);
    }
    let clear = cookie_header(&st, SESSION_COOKIE, "", "/", 0);
    Ok((
        AppendHeaders([(header::SET_COOKIE, clear)]),
        Redirect::to("/login"),
    )
        .into_response())
}

// ---------------------------------------------------------------- overview

pub async fn overview(auth: Authed, State(st): State<AppState>) -> PageResult {
    let c = ctx(&st, &auth).await?;
    let (o, alerts, risky) = st
        .db(|s| {
            let o = s.overview()?;
            let alerts = s.alerts(&ward_store::AlertQuery {
                statuses: vec![AlertStatus::Open, AlertStatus::Acknowledged],
                limit: 5,
                ..Default::default()
            })?;
            let risky = s.devices(&ward_store::DeviceQuery {
                min_risk: Some(1),
                sort: ward_store::DeviceSort::Risk,
                descending: true,
                limit: 5,
                ..Default::default()
            })?;
            Ok((o, alerts, risky))
        })
        .await?;
    let grade = match o.score {
        90.. => "good",
        60..=89 => "fair",
        _ => "poor",
    };
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<section class="hero"><div class="score {grade}" aria-label="security score">{score}</div>
<div><h1>Network security score</h1>
<p>{verdict}</p>
<p class="muted">100 means nothing is open. Each active alert or finding adds penalty points by severity
(critical 25, high 10, medium 4, low 1); every 50 points halve the score. Now: {penalty} points.</p>
<p class="muted">Data up to {until} · {batches} batches stored{last}</p></div></section>"#,
        score = o.score,
        verdict = match grade {
            "good" => "Nothing serious is open.",
            "fair" => "A few problems need attention.",
            _ => "Serious problems need attention now.",
        },
        penalty = o.penalty,
        until = o.data_until.map(when).unwrap_or_else(|| "—".into()),
        batches = o.batches,
        last = o
            .last_ingest_unix
            .map(|t| format!(" · last write {}", html::when_unix(t)))
            .unwrap_or_default(),
    );
    let sev = &o.active_alerts_by_severity;
    let _ = write!(
        b,
        r#"<div class="cards">
<a class="card" href="/devices"><span class="n">{devices}</span><span>devices</span></a>
<a class="card" href="/alerts"><span class="n">{active}</span><span>active alerts ({c} critical, {h} high)</span></a>
<a class="card" href="/findings"><span class="n">{findings}</span><span>findings</span></a>
<div class="card"><span class="n">{packets}</span><span>packets analysed</span></div></div>"#,
        devices = o.devices,
        active = sev.iter().sum::<u64>(),
        c = sev[0],
        h = sev[1],
        findings = o.findings,
        packets = o.latest_stats.as_ref().map(|s| s.packets).unwrap_or(0),
    );
    let _ = write!(
        b,
        r#"<div class="grid2"><section><h2>Traffic over time</h2>{}</section><section><h2>Devices by category</h2>{}</section></div>"#,
        html::traffic_chart(&o.traffic, "network traffic per minute"),
        html::bar_chart(&o.devices_by_category, "devices by category"),
    );
    if !o.anomaly_scores.is_empty() {
        let _ = write!(
            b,
            r#"<section><h2>Anomaly scores</h2>{}</section>"#,
            html::score_chart(&o.anomaly_scores, "anomaly scores of anomaly alerts")
        );
    }
    b.push_str(r#"<div class="grid2"><section><h2>Latest active alerts</h2>"#);
    if alerts.is_empty() {
        b.push_str(r#"<p class="muted">No active alerts.</p>"#);
    } else {
        b.push_str("<ul class=\"plain\">");
        for a in &alerts {
            let _ = write!(
                b,
                r#"<li>{} <a href="/alerts#alert-{}">{}</a> <span class="muted">{}</span></li>"#,
                html::severity_badge(a.severity),
                a.id,
                esc(&a.summary),
                when(a.last_seen)
            );
        }
        b.push_str("</ul>");
    }
    b.push_str(r#"</section><section><h2>Riskiest devices</h2>"#);
    if risky.is_empty() {
        b.push_str(r#"<p class="muted">No device has an open problem.</p>"#);
    } else {
        b.push_str("<ul class=\"plain\">");
        for d in &risky {
            let _ = write!(
                b,
                r#"<li>{} <a href="/devices/{}">{}</a> <span class="muted">{}</span></li>"#,
                html::risk_badge(d.risk),
                url_enc(&d.id),
                esc(&d.display_name()),
                esc(d.category.as_deref().unwrap_or("unknown"))
            );
        }
        b.push_str("</ul>");
    }
    b.push_str("</section></div>");
    Ok(Html(layout("Overview", Nav::Overview, Some(&c), &b)))
}

// ---------------------------------------------------------------- inventory

fn option(value: &str, label: &str, selected: bool) -> String {
    format!(
        r#"<option value="{}"{}>{}</option>"#,
        esc(value),
        if selected { " selected" } else { "" },
        esc(label)
    )
}

pub async fn devices(
    auth: Authed,
    State(st): State<AppState>,
    Query(p): Query<DeviceParams>,
) -> PageResult {
    let c = ctx(&st, &auth).await?;
    let q = p.to_query()?;
    let q2 = q.clone();
    let (rows, cats) = st
        .db(move |s| Ok((s.devices(&q2)?, s.categories()?)))
        .await?;
    let mut b = String::from("<h1>Devices</h1>");
    let _ = write!(
        b,
        r#"<form method="get" action="/devices" class="filters" role="search">
<input type="search" name="q" value="{q}" placeholder="name, IP, MAC, vendor…" aria-label="search">
<select name="category" aria-label="category">{cats}</select>
<select name="min_risk" aria-label="risk">{risks}</select>
<select name="sort" aria-label="sort by">{sorts}</select>
<select name="order" aria-label="order">{orders}</select>
<button type="submit">Apply</button></form>"#,
        q = esc(q.search.as_deref().unwrap_or("")),
        cats = std::iter::once(option("", "all categories", q.category.is_none()))
            .chain(cats.iter().map(|(cat, n)| option(
                cat,
                &format!("{cat} ({n})"),
                q.category.as_deref() == Some(cat)
            )))
            .collect::<String>(),
        risks = [
            ("", "any risk"),
            ("1", "risk ≥ 1"),
            ("10", "risk ≥ 10"),
            ("40", "risk ≥ 40")
        ]
        .iter()
        .map(|(v, l)| option(
            v,
            l,
            q.min_risk.map(|r| r.to_string()).as_deref().unwrap_or("") == *v
        ))
        .collect::<String>(),
        sorts = [
            ("risk", "by risk"),
            ("name", "by name"),
            ("category", "by category"),
            ("last_seen", "by last seen"),
            ("first_seen", "by first seen"),
            ("traffic", "by traffic"),
        ]
        .iter()
        .map(|(v, l)| option(v, l, q.sort.as_str() == *v))
        .collect::<String>(),
        orders = [
            option("desc", "descending", q.descending),
            option("asc", "ascending", !q.descending)
        ]
        .concat(),
    );
    if rows.is_empty() {
        b.push_str(r#"<p class="muted">No devices match.</p>"#);
    } else {
        let _ = write!(
            b,
            r#"<p class="muted">{} device(s)</p><table class="list"><thead><tr><th>Device</th><th>Category</th><th>Vendor</th><th>Addresses</th><th>Risk</th><th>Alerts</th><th>Findings</th><th>Traffic</th><th>Last seen</th></tr></thead><tbody>"#,
            rows.len()
        );
        for d in &rows {
            device_row(&mut b, d);
        }
        b.push_str("</tbody></table>");
    }
    Ok(Html(layout("Devices", Nav::Devices, Some(&c), &b)))
}

fn device_row(b: &mut String, d: &DeviceRow) {
    let _ = write!(
        b,
        r#"<tr><td><a href="/devices/{href}">{name}</a></td><td>{cat}</td><td>{vendor}</td><td><code>{ips}</code>{mac}</td><td>{risk}</td><td>{alerts}</td><td>{findings}</td><td class="nowrap">{traffic}</td><td class="nowrap">{seen}</td></tr>"#,
        href = url_enc(&d.id),
        name = esc(&d.display_name()),
        cat = esc(d.category.as_deref().unwrap_or("unknown")),
        vendor = esc(d.vendor.as_deref().unwrap_or("—")),
        ips = esc(&d.ips.iter().take(3).cloned().collect::<Vec<_>>().join(", ")),
        mac = d
            .mac
            .as_deref()
            .map(|m| format!("<br><code class=\"muted\">{}</code>", esc(m)))
            .unwrap_or_default(),
        risk = html::risk_badge(d.risk),
        alerts = d.open_alerts,
        findings = d.findings,
        traffic = html::bytes(d.bytes_sent.saturating_add(d.bytes_received)),
        seen = when(d.last_seen),
    );
}

// ---------------------------------------------------------------- device

fn advice(category: &str) -> &'static str {
    match category {
        "recon" => "Something scanned this device. If the scanner is not yours, find it by its address and take it off the network.",
        "bruteforce" => "Someone is guessing passwords. Give the device a strong, unique password and make sure it is not reachable from the internet (check port forwards on your router).",
        "dos" => "A flood is involved. Check your router for port forwards to this device; if the device is the source, unplug it.",
        "botnet" => "The device behaves like part of a botnet. Disconnect it, reset it to factory settings, update its firmware and change its password before reconnecting.",
        "spoofing" => "Someone is impersonating another device on your network. Look for a device you do not recognise and remove it.",
        "exploit" => "An exploit attempt was seen. Update the device's firmware; if it answered, treat it as compromised.",
        "anomaly" => "The device behaves unusually. If nothing changed on your side (an update, a new use), look closer.",
        "policy" => "The device breaks a rule you set.",
        "new-device" => "A new device joined. If you do not recognise it, change your Wi-Fi password.",
        _ => "Look at the evidence below and decide whether this is expected.",
    }
}

pub async fn device(
    auth: Authed,
    State(st): State<AppState>,
    Path(id): Path<String>,
) -> PageResult {
    let c = ctx(&st, &auth).await?;
    let detail = st
        .db(move |s| s.device_detail(&id))
        .await?
        .ok_or_else(|| AppError::not_found("device"))?;
    let d = &detail.device;
    let mut b = String::new();
    let _ = write!(
        b,
        r#"<p class="crumbs"><a href="/devices">Devices</a> ›</p><h1>{name} {risk}</h1><p class="muted">{cat} · {vendor}</p>"#,
        name = esc(&d.display_name()),
        risk = html::risk_badge(d.risk),
        cat = esc(d.category.as_deref().unwrap_or("unknown category")),
        vendor = esc(d.vendor.as_deref().unwrap_or("unknown vendor")),
    );
    let dd = |k: &str, v: &str| format!("<dt>{}</dt><dd>{}</dd>", esc(k), esc(v));
    let mut ident = String::new();
    ident.push_str(&dd("Id", &d.id));
    if let Some(m) = &d.mac {
        ident.push_str(&dd(
            "MAC",
            &format!(
                "{m}{}",
                if d.random_mac {
                    " (locally administered, probably randomised)"
                } else {
                    ""
                }
            ),
        ));
    }
    ident.push_str(&dd("IP addresses", &d.ips.join(", ")));
    for (k, v) in [
        ("Hostname", &d.hostname),
        ("Vendor", &d.vendor),
        ("Model", &d.model),
        ("Category", &d.category),
    ] {
        if let Some(v) = v {
            ident.push_str(&dd(k, v));
        }
    }
    if let Some(cf) = d.confidence {
        ident.push_str(&dd("Confidence", &format!("{:.0} %", cf * 100.0)));
    }
    ident.push_str(&dd("First seen", &when(d.first_seen)));
    ident.push_str(&dd("Last seen", &when(d.last_seen)));
    if !d.services.is_empty() {
        ident.push_str(&dd("Services", &d.services.join(", ")));
    }
    if !d.protocols.is_empty() {
        ident.push_str(&dd("Uses", &d.protocols.join(", ")));
    }
    ident.push_str(&dd(
        "Traffic",
        &format!(
            "sent {} in {} packets, received {} in {} packets",
            html::bytes(d.bytes_sent),
            d.pkts_sent,
            html::bytes(d.bytes_received),
            d.pkts_received
        ),
    ));
    let mut evidence = String::new();
    if d.evidence.is_empty() {
        evidence.push_str(r#"<p class="muted">No identity evidence yet.</p>"#);
    } else {
        evidence.push_str(
            "<table class=\"kv\"><thead><tr><th>Source</th><th>Observed</th></tr></thead><tbody>",
        );
        for e in &d.evidence {
            let _ = write!(
                evidence,
                "<tr><td>{}</td><td><code>{}</code></td></tr>",
                esc(&e.source),
                esc(&e.value)
            );
        }
        evidence.push_str("</tbody></table>");
    }
    let _ = write!(
        b,
        r#"<div class="grid2"><section><h2>Identity</h2><dl>{ident}</dl></section><section><h2>Why we think so</h2>{evidence}</section></div>"#
    );

    // What to do: remedies of findings, then advice per active alert kind.
    let mut todo: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for f in &detail.findings {
        if let Some(r) = &f.remedy {
            if seen.insert(r.clone()) {
                todo.push(esc(r));
            }
        }
    }
    for a in detail.alerts.iter().filter(|a| a.status.is_active()) {
        let attacker = a
            .attacker
            .as_ref()
            .is_some_and(|ip| *ip == d.id || d.ips.contains(ip));
        let adv = if attacker {
            "This device attacks others. If you do not recognise it, block it on your router or take it off the network; if it is yours, check it for malware, reset it to factory settings and change its passwords."
        } else {
            advice(&a.category)
        };
        if seen.insert(adv.to_string()) {
            todo.push(esc(adv));
        }
    }
    b.push_str("<section><h2>What to do</h2>");
    if todo.is_empty() {
        b.push_str(r#"<p class="muted">Nothing needs doing for this device.</p>"#);
    } else {
        b.push_str("<ol>");
        for t in todo {
            let _ = write!(b, "<li>{t}</li>");
        }
        b.push_str("</ol>");
    }
    b.push_str("</section>");
    let _ = write!(
        b,
        "<section><h2>Traffic</h2>{}</section>",
        html::traffic_chart(&detail.traffic, "traffic of this device per minute")
    );
    b.push_str("<section><h2>Findings</h2>");
    findings_table(&mut b, &detail.findings, None);
    b.push_str("</section><section><h2>Alerts</h2>");
    if detail.alerts.is_empty() {
        b.push_str(r#"<p class="muted">No alerts involve this device.</p>"#);
    }
    let back = format!("/devices/{}", url_enc(&d.id));
    for a in &detail.alerts {
        alert_card(&mut b, a, &c.csrf, &back);
    }
    b.push_str("</section>");

    // Timeline: identity changes, alerts and findings, newest first.
    let mut tl: Vec<(Timestamp, String)> = Vec::new();
    for h in &detail.history {
        let text = if h.field == "first-seen" {
            "First seen on the network".to_string()
        } else {
            match &h.old_value {
                Some(old) => format!(
                    "{} changed from “{}” to “{}”",
                    h.field,
                    old,
                    h.new_value.as_deref().unwrap_or("")
                ),
                None => format!(
                    "{} identified as “{}”",
                    h.field,
                    h.new_value.as_deref().unwrap_or("")
                ),
            }
        };
        tl.push((h.ts, esc(&text)));
    }
    for a in &detail.alerts {
        tl.push((
            a.first_seen,
            format!(
                r#"{} <a href="/alerts#alert-{}">{}</a>"#,
                html::severity_badge(a.severity),
                a.id,
                esc(&a.summary)
            ),
        ));
    }
    for f in &detail.findings {
        tl.push((
            f.first_seen,
            format!(
                r#"{} finding: {}"#,
                html::severity_badge(f.severity),
                esc(&f.summary)
            ),
        ));
    }
    tl.sort_by_key(|e| std::cmp::Reverse(e.0));
    b.push_str("<section><h2>Timeline</h2><ul class=\"timeline\">");
    for (t, text) in tl.iter().take(200) {
        let _ = write!(
            b,
            r#"<li><span class="muted">{}</span> {text}</li>"#,
            when(*t)
        );
    }
    b.push_str("</ul></section>");
    Ok(Html(layout(&d.display_name(), Nav::Devices, Some(&c), &b)))
}

// ---------------------------------------------------------------- alerts

fn device_link(id: &str) -> String {
    format!(r#"<a href="/devices?q={}">{}</a>"#, url_enc(id), esc(id))
}

fn alert_card(b: &mut String, a: &AlertRow, csrf: &str, back: &str) {
    let mut who = Vec::new();
    if let Some(att) = &a.attacker {
        who.push(format!("from {}", device_link(att)));
    }
    if !a.devices.is_empty() {
        who.push(format!(
            "devices {}",
            a.devices
                .iter()
                .take(8)
                .map(|d| device_link(d))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if !a.victims.is_empty() {
        who.push(format!(
            "targets {}{}",
            a.victims
                .iter()
                .take(8)
                .map(|d| device_link(d))
                .collect::<Vec<_>>()
                .join(", "),
            if a.victims.len() > 8 { " …" } else { "" }
        ));
    }
    let mut ev = String::new();
    for (k, v) in &a.evidence {
        let v = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let _ = write!(
            ev,
            "<tr><td>{}</td><td><code>{}</code></td></tr>",
            esc(k),
            esc(&v)
        );
    }
    let _ = write!(
        b,
        r#"<article class="alert st-{status}" id="alert-{id}">
<div class="head">{sev} <span class="cat">{cat}</span> <strong class="summary">{summary}</strong> <span class="badge st">{status}</span></div>
<p class="meta">{first} – {last} · {count} event{plural} · <code>{sig}</code> by {det} · confidence {conf:.0} %</p>
<p class="meta">{who}</p>{note}
<details><summary>Evidence</summary><table class="kv"><tbody>{ev}</tbody></table></details>
<form method="post" action="/alerts/{id}/action" class="actions">
<input type="hidden" name="csrf" value="{csrf}"><input type="hidden" name="back" value="{back}">
<input type="text" name="note" maxlength="500" placeholder="note (optional)" aria-label="note">
<button type="submit" name="action" value="acknowledge">Acknowledge</button>
<button type="submit" name="action" value="mute">Mute</button>
<button type="submit" name="action" value="normal" title="Close it and mark repeats from the same source as normal">This is normal</button>
<button type="submit" name="action" value="reopen">Reopen</button>
</form></article>"#,
        status = a.status.as_str(),
        id = a.id,
        sev = html::severity_badge(a.severity),
        cat = esc(&a.category),
        summary = esc(&a.summary),
        first = when(a.first_seen),
        last = when(a.last_seen),
        count = a.count,
        plural = if a.count == 1 { "" } else { "s" },
        sig = esc(&a.signature),
        det = esc(&a.detector),
        conf = a.confidence * 100.0,
        who = who.join(" · "),
        note = a
            .note
            .as_deref()
            .map(|n| format!(r#"<p class="note">Note: {}</p>"#, esc(n)))
            .unwrap_or_default(),
        csrf = esc(csrf),
        back = esc(back),
    );
}

pub async fn alerts(
    auth: Authed,
    State(st): State<AppState>,
    Query(p): Query<AlertParams>,
) -> PageResult {
    let c = ctx(&st, &auth).await?;
    let q = p.to_query("active")?;
    let (rows, rules) = st
        .db(move |s| Ok((s.alerts(&q)?, s.suppressions()?)))
        .await?;
    let current = p.status.clone().unwrap_or_else(|| "active".into());
    let mut b = String::from("<h1>Alerts</h1><nav class=\"tabs\">");
    for (v, l) in [
        ("active", "Active"),
        ("open", "New"),
        ("acknowledged", "Acknowledged"),
        ("muted", "Muted"),
        ("normal", "Normal"),
        ("all", "All"),
    ] {
        let _ = write!(
            b,
            r#"<a href="/alerts?status={v}"{}>{l}</a>"#,
            if current == v {
                r#" class="current""#
            } else {
                ""
            }
        );
    }
    b.push_str("</nav>");
    if rows.is_empty() {
        b.push_str(r#"<p class="muted">No alerts here.</p>"#);
    }
    let back = format!("/alerts?status={}", url_enc(&current));
    for a in &rows {
        alert_card(&mut b, a, &c.csrf, &back);
    }
    if !rules.is_empty() {
        b.push_str("<section><h2>“This is normal” rules</h2><p class=\"muted\">New alerts matching a rule arrive already marked normal.</p><table class=\"list\"><thead><tr><th>Signature</th><th>Source</th><th>Note</th><th>Since</th><th></th></tr></thead><tbody>");
        for r in &rules {
            let _ = write!(
                b,
                r#"<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td class="nowrap">{}</td><td><form method="post" action="/suppressions/{}/delete"><input type="hidden" name="csrf" value="{}"><button type="submit" class="secondary">Remove</button></form></td></tr>"#,
                esc(&r.signature),
                esc(r.subject.as_deref().unwrap_or("anyone")),
                esc(r.note.as_deref().unwrap_or("")),
                html::when_unix(r.created_unix),
                r.id,
                esc(&c.csrf),
            );
        }
        b.push_str("</tbody></table></section>");
    }
    Ok(Html(layout("Alerts", Nav::Alerts, Some(&c), &b)))
}

#[derive(Debug, Default, Deserialize)]
pub struct AlertAction {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub action: String,
    pub note: Option<String>,
    pub back: Option<String>,
}

pub async fn alert_action(
    auth: Authed,
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<AlertAction>,
) -> Result<Response, PageError> {
    auth.check_csrf(Some(&f.csrf))?;
    let status = match f.action.as_str() {
        "acknowledge" => AlertStatus::Acknowledged,
        "mute" => AlertStatus::Muted,
        "normal" => AlertStatus::Normal,
        "reopen" => AlertStatus::Open,
        _ => {
            return Err(AppError::new(StatusCode::BAD_REQUEST, "unknown action").into());
        }
    };
    change_alert_status(&st, id, status, f.note).await?;
    let back = safe_next(f.back.as_deref().unwrap_or("/alerts"));
    Ok(Redirect::to(&format!("{back}#alert-{id}")).into_response())
}

pub async fn delete_suppression(
    auth: Authed,
    State(st): State<AppState>,
    Path(id): Path<i64>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, PageError> {
    auth.check_csrf(Some(&f.csrf))?;
    if !st.db(move |s| s.remove_suppression(id)).await? {
        return Err(AppError::not_found("rule").into());
    }
    Ok(Redirect::to("/alerts").into_response())
}

// ---------------------------------------------------------------- findings

fn findings_table(
    b: &mut String,
    rows: &[FindingRow],
    names: Option<&std::collections::BTreeMap<String, String>>,
) {
    let with_device = names.is_some();
    if rows.is_empty() {
        b.push_str(r#"<p class="muted">No findings.</p>"#);
        return;
    }
    let _ = write!(
        b,
        r#"<table class="list"><thead><tr><th>Severity</th><th>Finding</th>{}<th>Protocol</th><th>User</th><th>Seen</th><th>What to do</th></tr></thead><tbody>"#,
        if with_device { "<th>Device</th>" } else { "" }
    );
    for f in rows {
        let dev = if with_device {
            format!(
                "<td>{}</td>",
                f.device
                    .as_deref()
                    .map(|d| {
                        let name = names.and_then(|n| n.get(d)).map_or(d, |n| n.as_str());
                        format!(r#"<a href="/devices/{}">{}</a>"#, url_enc(d), esc(name))
                    })
                    .unwrap_or_else(|| "—".into())
            )
        } else {
            String::new()
        };
        let _ = write!(
            b,
            r#"<tr><td>{sev}</td><td><strong>{kind}</strong><br>{summary}{outcome}</td>{dev}<td>{proto}</td><td>{user}</td><td class="nowrap">{count}× · {last}</td><td>{remedy}</td></tr>"#,
            sev = html::severity_badge(f.severity),
            kind = esc(&f.kind),
            summary = esc(&f.summary),
            outcome = f
                .outcome
                .as_deref()
                .map(|o| format!(r#" <span class="muted">(login {})</span>"#, esc(o)))
                .unwrap_or_default(),
            proto = esc(&f.protocol),
            user = esc(f.username.as_deref().unwrap_or("—")),
            count = f.count,
            last = when(f.last_seen),
            remedy = esc(f.remedy.as_deref().unwrap_or("")),
        );
    }
    b.push_str("</tbody></table>");
}

pub async fn findings(
    auth: Authed,
    State(st): State<AppState>,
    Query(p): Query<FindingParams>,
) -> PageResult {
    let c = ctx(&st, &auth).await?;
    let q = p.to_query();
    let (rows, names) = st
        .db(move |s| {
            let rows = s.findings(&q)?;
            // Names for the device column (ids are MACs or IPs).
            let names: std::collections::BTreeMap<String, String> = s
                .devices(&ward_store::DeviceQuery {
                    limit: ward_store::MAX_LIMIT,
                    ..Default::default()
                })?
                .into_iter()
                .map(|d| (d.id.clone(), d.display_name()))
                .collect();
            Ok((rows, names))
        })
        .await?;
    let mut b = String::from(
        "<h1>Findings</h1><p class=\"muted\">Weaknesses seen in the traffic: passwords sent in clear, default or weak credentials, insecure protocols and services.</p>",
    );
    findings_table(&mut b, &rows, Some(&names));
    Ok(Html(layout("Findings", Nav::Findings, Some(&c), &b)))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_redirects() {
        assert_eq!(safe_next("/devices?q=a"), "/devices?q=a");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next("/a\r\nSet-Cookie: x"), "/");
    }
}
